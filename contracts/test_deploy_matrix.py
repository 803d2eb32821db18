"""The can-i-deploy check: every cell of the consumer x provider matrix is verified."""

from __future__ import annotations

from pathlib import Path

from contracts.deploy_matrix import latest_release_tag, matrix, run, unverifiable
from contracts.harness.verify import Verdict


def test_every_consumer_provider_pair_can_deploy_today_and_against_the_last_release() -> None:
    verdicts, report = run(latest_release_tag())
    print(report)
    assert verdicts
    broken = [v.message() for v in verdicts if not v.passed]
    assert not broken, report + "\n\n" + "\n\n".join(broken)


def test_the_matrix_marks_a_failed_pair_and_leaves_unrelated_cells_empty() -> None:
    verdicts = [
        Verdict("order", "product", "today"),
        Verdict("order", "payment", "today", ["a request to charge a card"]),
        Verdict("gateway", "auth", "today"),
    ]
    lines = matrix(verdicts).splitlines()
    order = next(line for line in lines if line.startswith("order"))
    gateway = next(line for line in lines if line.startswith("gateway"))
    assert "today:FAIL" in order and "today:ok" in order
    assert gateway.count("-") == 2


def test_a_pact_for_a_provider_without_verification_fails_its_cell(tmp_path: Path) -> None:
    pact = '{"consumer": {"name": "web"}, "provider": {"name": "nowhere"}, "interactions": []}'
    (tmp_path / "web-nowhere.json").write_text(pact)
    [verdict] = unverifiable({"today": tmp_path})
    assert not verdict.passed
    assert "web -> nowhere" in verdict.message()


def test_the_pacts_of_a_release_are_read_from_git_and_verified_beside_todays() -> None:
    # No release is tagged yet, so the last commit stands in for one: the path is the same.
    verdicts, report = run("HEAD")
    assert report.startswith("release tag HEAD")
    released = {(v.consumer, v.provider) for v in verdicts if v.source == "HEAD"}
    today = {(v.consumer, v.provider) for v in verdicts if v.source == "today"}
    assert released and released <= today
    assert all(v.passed for v in verdicts), report
