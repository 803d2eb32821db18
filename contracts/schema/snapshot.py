"""The gateway's API schema snapshot: print it, compare it, and update it on purpose.

`python -m contracts.schema.snapshot` compares the schema the gateway composes today with
the committed contracts/schema/api.graphql: it lists breaking changes (exit 1) and dangerous
ones. `python -m contracts.schema.snapshot --update` writes today's schema as the snapshot,
after printing what that update accepts; commit it with the change that needed it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path

from graphql import (
    GraphQLSchema,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
    print_schema,
)

from contracts.harness.served import FAST_HASHING
from estore.cluster import SERVICES, Cluster
from estore.kit.bootstrap import Wiring

SNAPSHOT = Path(__file__).resolve().parent / "api.graphql"
UPDATE_COMMAND = "python -m contracts.schema.snapshot --update"


@dataclass
class SchemaDiff:
    """What changed from the snapshot to today's schema, as `TYPE: description` lines."""

    breaking: list[str] = field(default_factory=list)
    dangerous: list[str] = field(default_factory=list)
    identical: bool = True

    def report(self) -> str:
        lines = [f"breaking: {b}" for b in self.breaking]
        lines += [f"dangerous: {d}" for d in self.dangerous]
        if not lines and not self.identical:
            lines.append(f"only safe additions; the snapshot is behind ({UPDATE_COMMAND})")
        return "\n".join(lines) or "identical to the snapshot"


async def composed_sdl() -> str:
    """The API schema (what clients query) of a gateway composed over today's subgraphs."""
    names = ["gateway", *SERVICES["gateway"].dependencies]
    cluster = Cluster(Wiring(), services=names, overrides=FAST_HASHING)
    await cluster.start()
    try:
        gateway = await cluster.apps["gateway"].state.runtime.current()
        return print_schema(gateway.supergraph.api_schema) + "\n"
    finally:
        await cluster.stop()


def diff(old: str | GraphQLSchema, new: str | GraphQLSchema) -> SchemaDiff:
    before = build_schema(old) if isinstance(old, str) else old
    after = build_schema(new) if isinstance(new, str) else new
    return SchemaDiff(
        breaking=[f"{c.type.name}: {c.description}" for c in find_breaking_changes(before, after)],
        dangerous=[
            f"{c.type.name}: {c.description}" for c in find_dangerous_changes(before, after)
        ],
        identical=print_schema(before) == print_schema(after),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="write today's schema as snapshot")
    args = parser.parse_args(argv)
    today = asyncio.run(composed_sdl())
    if not SNAPSHOT.exists():
        print(f"no snapshot yet at {SNAPSHOT}")
        changes = SchemaDiff(breaking=[] if args.update else ["no snapshot to compare with"])
    else:
        changes = diff(SNAPSHOT.read_text(), today)
        print(changes.report())
    if args.update:
        SNAPSHOT.write_text(today)
        print(f"snapshot written: {SNAPSHOT}")
        return 0
    return 1 if changes.breaking else 0


if __name__ == "__main__":
    sys.exit(main())
