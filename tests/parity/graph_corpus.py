"""The corpus of federated graphs both gateways are run on, one folder per graph.

`graphs/<graph>/` holds each subgraph's SDL (`<subgraph>.graphql`), `graph.py` with the
subgraphs' data (`DATA`) and the questions asked (`ASKS`), and `supergraph.graphql`, which
`@apollo/composition` composed from the SDLs (`python -m tests.parity.graph_corpus` rewrites
it; a parity test fails while it is stale). `refused/<graph>/` holds graphs the gateway must
refuse at start-up: their SDLs, their supergraph and `refusal.txt`, the words the refusal
must contain (the directive and where it is used). `invalid/<graph>/` holds subgraphs that do
not compose at all: Apollo's composition and ours must both refuse them.

The supergraphs name their subgraphs at `PLACEHOLDER/<graph>/<subgraph>/graphql`; a test
replaces the placeholder with where it serves them.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PARITY_DIR = Path(__file__).resolve().parent
GRAPHS_DIR = PARITY_DIR / "graphs"
REFUSED_DIR = GRAPHS_DIR / "refused"
INVALID_DIR = GRAPHS_DIR / "invalid"
PLACEHOLDER = "http://subgraphs.corpus.invalid"
SUPERGRAPH = "supergraph.graphql"


@dataclass(frozen=True)
class Ask:
    """One request; `clean`: no error expected (False: at least one), so that a case cannot
    pass by both gateways failing alike."""

    name: str
    query: str
    variables: dict[str, Any] | None = None
    clean: bool = True


@dataclass(frozen=True)
class CorpusGraph:
    name: str
    folder: Path
    sdls: dict[str, str]
    data: dict[str, Any] = field(default_factory=dict)
    asks: tuple[Ask, ...] = ()

    def urls(self, base: str = PLACEHOLDER) -> dict[str, str]:
        return {name: f"{base}/{self.name}/{name}/graphql" for name in self.sdls}

    def supergraph(self, base: str = PLACEHOLDER) -> str:
        text = (self.folder / SUPERGRAPH).read_text(encoding="utf-8")
        return text.replace(PLACEHOLDER, base)

    @property
    def refusal(self) -> str:
        return (self.folder / "refusal.txt").read_text(encoding="utf-8").strip()


def _sdls(folder: Path) -> dict[str, str]:
    return {
        path.stem: path.read_text(encoding="utf-8")
        for path in sorted(folder.glob("*.graphql"))
        if path.name != SUPERGRAPH
    }


def _module(path: Path) -> Any:
    name = f"corpus_graph_{path.parent.name}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_graph(folder: Path) -> CorpusGraph:
    definition = folder / "graph.py"
    if not definition.exists():
        return CorpusGraph(folder.name, folder, _sdls(folder))
    module = _module(definition)
    return CorpusGraph(folder.name, folder, _sdls(folder), module.DATA, tuple(module.ASKS))


def served_graphs() -> dict[str, CorpusGraph]:
    """The graphs both gateways serve, by name."""
    folders = sorted(p for p in GRAPHS_DIR.iterdir() if (p / "graph.py").exists())
    return {folder.name: load_graph(folder) for folder in folders}


def refused_graphs() -> dict[str, CorpusGraph]:
    """The graphs our gateway must refuse, by name."""
    folders = sorted(REFUSED_DIR.iterdir()) if REFUSED_DIR.is_dir() else []
    return {p.name: load_graph(p) for p in folders if p.is_dir()}


def invalid_graphs() -> dict[str, CorpusGraph]:
    """Subgraph sets that must not compose, by name."""
    return {p.name: load_graph(p) for p in sorted(INVALID_DIR.iterdir()) if p.is_dir()}


def compose_corpus() -> None:
    """Write each corpus graph's supergraph.graphql as Apollo composes it."""
    from tests.parity.reference import apollo_compose

    for graph in [*served_graphs().values(), *refused_graphs().values()]:
        composed = apollo_compose(graph.sdls, graph.urls())
        if "errors" in composed:
            raise SystemExit(f"{graph.name} does not compose: {composed['errors']}")
        (graph.folder / SUPERGRAPH).write_text(composed["supergraphSdl"], encoding="utf-8")
        print(f"composed {graph.name}")


if __name__ == "__main__":
    compose_corpus()
