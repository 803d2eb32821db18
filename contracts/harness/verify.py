"""Provider verification: replay each consumer's pact against the provider's real app.

`verify()` of Pact Python raises a bare RuntimeError; the verifier's own output and JSON
results say which interaction failed and why, so they are turned into a `Verdict` whose
message names consumer, provider and interaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pact import Verifier

from contracts.harness.served import ServedProvider

log = logging.getLogger(__name__)

Seed = Callable[[ServedProvider, dict[str, Any]], Awaitable[None]]
MessageProducer = Callable[[], Awaitable[dict[str, Any]]]


@dataclass
class Verdict:
    """The outcome of verifying one consumer's pact against one provider."""

    consumer: str
    provider: str
    source: str
    failed: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def passed(self) -> bool:
        return not self.failed

    def message(self) -> str:
        if self.passed:
            return f"{self.consumer} -> {self.provider}: verified ({self.source})"
        lines = [f"{self.consumer} -> {self.provider} ({self.source}): contract broken"]
        lines += [f"  interaction {name!r} failed" for name in self.failed]
        return "\n".join([*lines, self.output])


def pact_parties(path: Path | str, text: str | None = None) -> tuple[str, str]:
    body = json.loads(text if text is not None else Path(path).read_text())
    return body["consumer"]["name"], body["provider"]["name"]


def pacts_for(provider: str, directory: Path) -> list[Path]:
    """The pact files in `directory` whose provider is `provider`, sorted for stable output."""
    return sorted(p for p in directory.glob("*.json") if pact_parties(p)[1] == provider)


def _failed_interactions(verifier: Verifier) -> list[str]:
    try:
        results = verifier.results
    except Exception:  # the core had nothing to report: the raw output still says why
        return []
    names: list[str] = []
    for error in results.get("errors", []):
        name = error.get("interaction") or error.get("description") or "?"
        names.append(str(name))
    return names


def _run(verifier: Verifier, consumer: str, provider: str, source: str) -> Verdict:
    verdict = Verdict(consumer, provider, source)
    try:
        verifier.verify()
    except RuntimeError:
        verdict.failed = _failed_interactions(verifier) or ["(unknown interaction)"]
    verdict.output = verifier.output(strip_ansi=True)
    return verdict


def state_handler(
    served: ServedProvider, seeds: Mapping[str, Seed], errors: list[str]
) -> Callable[..., None]:
    """Pact calls this on its own thread; stores are reset and seeded on the server's loop.

    A handler that raises makes the Pact core wait on the callback for a long time, so a
    failed seed is recorded in `errors` (reported in the verdict) and never raised here.
    """

    def handle(state: str, parameters: dict[str, Any] | None = None, **_: Any) -> None:
        async def prepare() -> None:
            await served.reset()
            if state not in seeds:
                raise KeyError(f"provider {served.provider} has no state {state!r}")
            await seeds[state](served, dict(parameters or {}))

        try:
            served.run(prepare())
        except Exception as exc:
            errors.append(f"provider state {state!r} {parameters}: {type(exc).__name__}: {exc}")

    return handle


def verify_http(
    served: ServedProvider,
    sources: Iterable[tuple[str, str]],
    seeds: Mapping[str, Seed],
    headers: Mapping[str, str] | None = None,
) -> list[Verdict]:
    """Verify each (label, pact file path) against the served provider; one verdict each."""
    host = urlsplit(served.url).hostname
    verdicts = []
    for source, path in sources:
        consumer, provider = pact_parties(path)
        state_errors: list[str] = []
        verifier = (
            Verifier(provider, host=host)
            .add_transport(url=served.url)
            .add_source(path)
            .state_handler(state_handler(served, seeds, state_errors), teardown=False)
            .set_request_timeout(10_000)
            .set_coloured_output(enabled=False)
        )
        for name, value in (headers or {}).items():
            verifier.add_custom_header(name, value)
        verdict = _run(verifier, consumer, provider, source)
        if state_errors:
            verdict.failed += state_errors
        verdicts.append(verdict)
    return verdicts


def verify_messages(
    provider: str,
    sources: Iterable[tuple[str, str]],
    produce: Callable[[str], dict[str, Any]],
) -> list[Verdict]:
    """Verify message pacts: `produce(description)` publishes through the real code."""

    def handler(name: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        body = produce(name)
        return {
            "contents": json.dumps(body).encode(),
            "metadata": None,
            "content_type": "application/json",
        }

    verdicts = []
    for source, path in sources:
        consumer, _ = pact_parties(path)
        verifier = (
            Verifier(provider)
            .message_handler(handler)
            .add_source(path)
            .set_coloured_output(enabled=False)
        )
        verdicts.append(_run(verifier, consumer, provider, source))
    return verdicts
