"""Can-i-deploy without a broker: verify today's providers against today's pacts and the
pacts of the latest release tag, and print a consumer x provider matrix.

Run: `python -m contracts.deploy_matrix` (exit 1 when any cell fails). No Pact Broker runs
offline here, so the matrix is built from this run's verification results.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from contracts.harness.pacts import PACT_DIR
from contracts.harness.provider import (
    is_message_pact,
    today_http_sources,
    today_message_sources,
    verify_as_customer,
)
from contracts.harness.seeding import CHECKOUT_PEERS
from contracts.harness.served import ServedProvider
from contracts.harness.verify import Seed, Verdict, verify_messages
from contracts.providers import (
    test_verify_auth,
    test_verify_coupon,
    test_verify_gateway,
    test_verify_order,
    test_verify_payment,
    test_verify_product,
)

REPO = PACT_DIR.parent.parent


@dataclass(frozen=True)
class ProviderCheck:
    seeds: dict[str, Seed]
    produce: Callable[[ServedProvider], Callable[[str], dict]] | None = None
    # The registered services the provider calls while serving or seeding a state.
    peers: tuple[str, ...] = ()
    # Serve every member on its own port (the gateway reaches its subgraphs over HTTP).
    loopback: bool = False
    # How HTTP pacts are replayed: by default with a forwarded customer.
    verify_http: Callable[
        [ServedProvider, dict[str, Seed], list[tuple[str, str]]], list[Verdict]
    ] = verify_as_customer


PROVIDERS: dict[str, ProviderCheck] = {
    "auth": ProviderCheck(test_verify_auth.SEEDS, test_verify_auth.produce_with),
    "coupon": ProviderCheck(test_verify_coupon.SEEDS),
    "gateway": ProviderCheck(
        test_verify_gateway.SEEDS,
        peers=test_verify_gateway.PEERS,
        loopback=True,
        verify_http=test_verify_gateway.verify_as_signed_in_customer,
    ),
    "order": ProviderCheck(
        test_verify_order.SEEDS, test_verify_order.produce_with, peers=CHECKOUT_PEERS
    ),
    "payment": ProviderCheck(
        test_verify_payment.SEEDS, verify_http=test_verify_payment.verify_as_merchant
    ),
    "product": ProviderCheck(test_verify_product.SEEDS),
}


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
    return done.stdout if done.returncode == 0 else ""


def latest_release_tag() -> str | None:
    """The newest tag by version order, or None when the repository has no tags."""
    tags = _git("tag", "--list", "--sort=-version:refname").split()
    return tags[0] if tags else None


def pacts_at(tag: str, into: Path) -> Path:
    """Write the pacts committed at `tag` into `into`; returns that directory."""
    for name in _git("ls-tree", "--name-only", f"{tag}:contracts/pacts").split():
        if name.endswith(".json"):
            (into / name).write_text(_git("show", f"{tag}:contracts/pacts/{name}"))
    return into


def verify_provider(name: str, directories: dict[str, Path]) -> list[Verdict]:
    """Every pact naming `name`, from each labelled directory, against today's provider."""
    check = PROVIDERS[name]
    verdicts: list[Verdict] = []
    with ServedProvider(name, peers=check.peers, loopback=check.loopback) as served:
        for label, directory in directories.items():
            http = [(label, p) for _, p in today_http_sources(name, directory)]
            verdicts += check.verify_http(served, check.seeds, http) if http else []
            messages = [(label, p) for _, p in today_message_sources(name, directory)]
            if messages and check.produce is not None:
                verdicts += verify_messages(name, messages, check.produce(served))
    return verdicts


def unverifiable(directories: dict[str, Path]) -> list[Verdict]:
    """Pacts whose provider has no verification here: a failing cell, never a silent gap."""
    from contracts.harness.verify import pact_parties

    missing = []
    for label, directory in directories.items():
        for path in sorted(directory.glob("*.json")):
            consumer, provider = pact_parties(path)
            if provider not in PROVIDERS:
                verdict = Verdict(consumer, provider, label, ["no provider verification"])
                missing.append(verdict)
            elif is_message_pact(path) and PROVIDERS[provider].produce is None:
                missing.append(Verdict(consumer, provider, label, ["no message producer"]))
    return missing


def matrix(verdicts: list[Verdict]) -> str:
    consumers = sorted({v.consumer for v in verdicts})
    providers = sorted({v.provider for v in verdicts})
    cells: dict[tuple[str, str], list[str]] = {}
    for v in verdicts:
        cells.setdefault((v.consumer, v.provider), []).append(
            f"{v.source}:{'ok' if v.passed else 'FAIL'}"
        )
    width = max([len(p) for p in providers] + [24])
    lines = ["consumer \\ provider".ljust(20) + "".join(p.ljust(width) for p in providers)]
    for c in consumers:
        row = "".join(" ".join(cells.get((c, p), ["-"])).ljust(width) for p in providers)
        lines.append(c.ljust(20) + row)
    return "\n".join(lines)


def run(tag: str | None) -> tuple[list[Verdict], str]:
    with tempfile.TemporaryDirectory() as tmp:
        directories = {"today": PACT_DIR}
        note = f"release tag {tag}" if tag else "no release tag: today's pacts only"
        if tag:
            directories[tag] = pacts_at(tag, Path(tmp))
        verdicts = unverifiable(directories)
        for name in PROVIDERS:
            verdicts += verify_provider(name, directories)
    return verdicts, f"{note}\n{matrix(verdicts)}"


def main() -> int:
    verdicts, report = run(latest_release_tag())
    print(report)
    for verdict in verdicts:
        if not verdict.passed:
            print("\n" + verdict.message())
    return 0 if all(v.passed for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
