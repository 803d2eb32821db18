"""`estore report` as a command: bad input gets one clear line and exit 2; --artifacts judges
what is there; a step that cannot run is shown as not run with the reason."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from reports import baseline as baseline_module
from reports import parts
from reports.cli import report
from reports.gather import Evidence, gather
from tests.reports.plant import Artifacts, build, campaign_json

POLICY = Path(__file__).resolve().parents[2] / "reports" / "policy.toml"


@pytest.fixture(scope="module")
def clean_campaign() -> str:
    return campaign_json()


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(report, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_an_unknown_rule_is_one_clear_error_and_exit_2(tmp_path: Path):
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY.read_text() + "\n[rules.every_thing_fine]\nwhy = 'hope'\n")
    code, _, err = invoke("--policy", str(policy), "--out", str(tmp_path / "out"))
    assert code == 2
    assert (
        err.strip() == f"error: policy {policy}: unknown setting or rule 'rules.every_thing_fine'"
    )
    assert not (tmp_path / "out").exists()


def test_a_bad_threshold_is_one_clear_error_and_exit_2(tmp_path: Path):
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY.read_text().replace("min_headroom = 0.2", "min_headroom = 'lots'"))
    code, _, err = invoke("--policy", str(policy), "--out", str(tmp_path / "out"))
    assert code == 2
    assert "rules.capacity_headroom.min_headroom" in err and "'lots'" in err
    assert len(err.strip().splitlines()) == 1


def test_a_negative_threshold_is_refused(tmp_path: Path):
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY.read_text().replace("alpha = 0.01", "alpha = -1"))
    code, _, err = invoke("--policy", str(policy), "--out", str(tmp_path / "out"))
    assert code == 2
    assert "rules.no_latency_regression.alpha: Input should be greater than 0" in err


def test_an_unknown_optional_part_is_refused(tmp_path: Path):
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY.read_text().replace('optional = ["benchmarks"]', 'optional = ["x"]'))
    code, _, err = invoke("--policy", str(policy), "--out", str(tmp_path / "out"))
    assert code == 2
    assert "unknown optional part(s) x" in err


def test_a_missing_baseline_is_one_clear_error_and_exit_2(tmp_path: Path):
    code, _, err = invoke("--baseline", str(tmp_path / "nope.json"), "--out", str(tmp_path))
    assert code == 2
    assert err.strip() == (
        f"error: baseline {tmp_path / 'nope.json'}: no such report file and no such git tag"
    )


def test_a_baseline_that_is_not_a_report_is_refused(tmp_path: Path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"kind": "chaos-campaign"}))
    code, _, err = invoke("--baseline", str(other), "--out", str(tmp_path / "out"))
    assert code == 2
    assert "is not a report.json of `estore report`" in err


def test_artifacts_are_judged_and_all_four_outputs_written(tmp_path: Path, clean_campaign: str):
    artifacts = Artifacts(tmp_path).clean(clean_campaign)
    code, out, _ = invoke("--artifacts", str(artifacts.parts), "--out", str(tmp_path / "out"))
    assert code == 0, out
    assert "verdict: GO" in out
    [folder] = (tmp_path / "out").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == [
        "junit.xml", "report.html", "report.json", "report.png", "summary.md",
    ]  # fmt: skip
    assert "## Resilience report: **GO**" in (folder / "summary.md").read_text()


def test_a_baseline_stored_at_a_git_tag_is_read(
    tmp_path: Path, clean_campaign: str, monkeypatch: pytest.MonkeyPatch
):
    earlier = build(Artifacts(tmp_path / "a").clean(clean_campaign), tmp_path / "a" / "out")
    repo = tmp_path / "repo"
    (repo / "reports").mkdir(parents=True)
    (repo / "reports" / "baseline.json").write_text(json.dumps(earlier))

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "release")
    git("tag", "v1.0")
    monkeypatch.setattr(baseline_module, "ROOT", repo)
    loaded, label = baseline_module.load_baseline("v1.0")
    assert label == "tag v1.0"
    assert loaded == earlier
    git("tag", "v0.9", "HEAD")
    git("rm", "-q", "reports/baseline.json")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "drop")
    git("tag", "v1.1")
    with pytest.raises(baseline_module.BaselineError, match="the tag stores no reports/baseline"):
        baseline_module.load_baseline("v1.1")


def test_a_step_whose_command_is_not_installed_is_not_run_with_the_reason(tmp_path: Path):
    step = parts.Step("sim", "validate", ["true"], lambda: parts._estore_command("no-such-command"))
    run = parts.run_step(step, tmp_path)
    assert run.status == "not run"
    assert run.reason == (
        "the `estore no-such-command` command is not installed (no estore.commands entry point)"
    )


def test_a_step_that_crashes_is_not_run_with_its_last_output(tmp_path: Path):
    step = parts.Step("sim", "capacity", ["sh", "-c", "echo model exploded; exit 3"])
    run = parts.run_step(step, tmp_path)
    assert (run.status, run.exit_code) == ("ran", 3)
    ev = Evidence(report_dir=tmp_path, parts_dir=tmp_path, seed=1, commit="c", commands={})
    gather(ev, [step], {step.id: run})
    assert ev.capacity is None
    assert ev.reasons["sim/capacity"] == "exit code 3: model exploded"
