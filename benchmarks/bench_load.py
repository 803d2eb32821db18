"""Benchmark: the highest request rate the served cluster sustains with p95 under 500 ms, for a
browse mix and a checkout mix, and where the serving process spends its time.

Run: .venv/bin/python benchmarks/bench_load.py [--steps 4,8,16,32,64] [--seconds 12] [--profile]
         [--modes one,processes] [--mixes browse,checkout]

One staged cluster (`loadtests.serve`, free ports) serves every step. Each step is a headless
Locust run holding N users with short think times (0.1-0.3 s), every visitor on the gateway's
GraphQL; users grow until p95 passes 500 ms or more than 1% of requests fail. The last passing
step's rate is the figure (saga outcome events are not requests and are left out). The served
stage has plenty of sale stock and coupon room, so checkouts mostly confirm. With --profile,
py-spy samples the serving process (every service and the gateway share it) at each mix's last
passing load and the busiest functions (own time and inclusive) are printed. Locust runs on the
same two cores as the cluster, so the figures are for this machine with its load generator.

`--modes` serves the cluster once per mode, one after the other in the same run, and ends with
the modes side by side: `one` is one process for every service (`estore up`), `processes` one
process per service on a redis-server (`estore up --processes`). --profile samples only the
`one` mode's process.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtests.gates import OUTCOME_TYPE  # noqa: E402
from loadtests.run import (  # noqa: E402
    LOCUSTFILE,
    PROCESSES_START_S,
    READY,
    _env,
    _read_tagged,
    served_cluster,
)
from loadtests.scenario import SCENARIOS  # noqa: E402

P95_LIMIT_MS = 500.0
MAX_FAILURE_RATIO = 0.01
MIXES = {"browse": "{ browser = 1 }", "checkout": "{ shopper = 1 }"}


def plentiful_sale() -> str:
    """The sale day with plenty of sale stock and coupon room: the benchmark measures
    throughput, not the sell-out."""
    text = (SCENARIOS / "sale_day.toml").read_text()
    text = re.sub(r"max_redemptions = \d+", "max_redemptions = 1000000", text)
    return re.sub(r"stock = \d+", "stock = 100000", text)


def served_scenario(folder: Path) -> Path:
    path = folder / "served.toml"
    path.write_text(plentiful_sale())
    return path


def step_scenario(folder: Path, mix: str, users: int, seconds: float) -> Path:
    base = plentiful_sale()
    sale = base[base.index("[sale]") : base.index("[gates]")]
    text = (
        f'name = "bench"\nseed = 7\nshopper_accounts = 120\nmix = {MIXES[mix]}\n'
        f'[[phases]]\nname = "hold"\nduration_s = {seconds}\nusers = {users}\nramp_s = 1\n'
        "[think_time]\nmin_s = 0.1\nmax_s = 0.3\n" + sale
    )
    path = folder / f"{mix}-{users}.toml"
    path.write_text(text)
    return path


def locust_step(host: str, scenario: Path) -> list[str]:
    """A headless Locust run of one step; its master stages the step's sale (a no-op after
    the first step) as any Locust run against a running cluster does."""
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", host]
    return [*command, "--scenario", str(scenario), "--headless", "--only-summary"]


def run_step(host: str, scenario: Path, out: Path) -> dict[str, Any]:
    command = [*locust_step(host, scenario), "--loglevel", "ERROR", "--json-file", str(out)]
    subprocess.run(command, cwd=ROOT, env=_env({}), capture_output=True, timeout=300)
    return summarize(json.loads(Path(f"{out}.json").read_text()))


def summarize(stats: list[dict[str, Any]]) -> dict[str, Any]:
    """Rate, p95 and failure ratio of the HTTP/WS requests; saga outcome events (which repeat
    each checkout's time) are left out, as the gates leave them out."""
    entries = [e for e in stats if e["method"] != OUTCOME_TYPE and e["num_requests"]]
    requests = sum(e["num_requests"] for e in entries)
    if not requests:
        return {"rps": 0.0, "p95": float("inf"), "fail": 1.0, "ops": {}}
    times: Counter[float] = Counter()
    for entry in entries:
        times.update({float(ms): n for ms, n in entry["response_times"].items()})
    span = max(e["last_request_timestamp"] for e in entries) - min(e["start_time"] for e in entries)
    return {
        "rps": requests / max(span, 1e-9),
        "p95": _percentile(times, 0.95),
        "fail": sum(e["num_failures"] for e in entries) / requests,
        "ops": {e["name"]: e["num_requests"] for e in entries},
    }


def _percentile(times: Counter[float], share: float) -> float:
    rank, seen = share * sum(times.values()), 0
    for ms in sorted(times):
        seen += times[ms]
        if seen >= rank:
            return ms
    return max(times)


def profile(pid: int, seconds: float, out: Path) -> None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    raw = out.with_suffix(".profile.txt")
    command = [spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-f", "raw"]
    subprocess.run([*command, "-o", str(raw), "--nonblocking"], capture_output=True, timeout=120)
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [_label(f) for f in stack.split(";")]
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    print(f"\nprofile of the serving process ({total} samples): own time")
    for frame, n in own.most_common(15):
        print(f"  {100 * n / total:5.1f}%  {frame}")
    print("inclusive (repository code only)")
    mine = [(f, n) for f, n in inclusive.most_common(400) if "(estore/" in f]
    for frame, n in mine[:15]:
        print(f"  {100 * n / total:5.1f}%  {frame}")


def _label(frame: str) -> str:
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").split("/site-packages/")[-1].split(str(ROOT) + "/")[-1]
    return f"{name} ({where})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="4,8,16,32,64")
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--modes", default="one", help="one, processes, or both: one,processes")
    parser.add_argument("--mixes", default=",".join(MIXES))
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    mixes = args.mixes.split(",")
    work = Path(tempfile.mkdtemp(prefix="bench_load_"))
    results = {mode: bench_mode(mode, mixes, steps, args, work) for mode in args.modes.split(",")}
    print("\nside by side: highest step with p95 under 500 ms (rate, p95, users)")
    for mix in mixes:
        row = "  ".join(f"{mode}: {_figure(best[mix])}" for mode, best in results.items())
        print(f"  {mix:8} {row}")


def bench_mode(
    mode: str, mixes: list[str], steps: list[int], args: argparse.Namespace, work: Path
) -> dict[str, tuple[int, dict[str, Any]] | None]:
    processes = mode == "processes"
    scenario = str(served_scenario(work))
    with served_cluster(scenario, auto_ports=True, processes=processes) as server:
        assert server.stdout
        ready = _read_tagged(server.stdout, READY, PROCESSES_START_S if processes else 90)
        print(f"== {mode}: serving {ready['services']} at {ready['gateway_url']}")
        best = {mix: climb(mix, steps, args.seconds, ready["gateway_url"], work) for mix in mixes}
        for mix, found in best.items():
            if found is None:
                print(f"{mix}: no step held p95 under {P95_LIMIT_MS:.0f} ms")
                continue
            users, result = found
            ops = ", ".join(f"{name} {count}" for name, count in result["ops"].items())
            print(
                f"{mix}: {result['rps']:.1f} req/s sustained at {users} users, p95 "
                f"{result['p95']:.0f} ms ({ops})"
            )
        for mix, found in best.items():
            if args.profile and not processes and found is not None:
                scenario = step_scenario(work, mix, found[0], args.seconds + 12)
                runner = _background_step(ready["gateway_url"], scenario)
                time.sleep(10)  # let Locust stage (a no-op) and spawn before sampling
                print(f"\n== {mix} mix at {found[0]} users")
                profile(server.pid, args.seconds, work / mix)
                runner.wait(timeout=120)
    return best


def _figure(found: tuple[int, dict[str, Any]] | None) -> str:
    if found is None:
        return "no step passed"
    users, result = found
    return f"{result['rps']:6.1f} req/s, p95 {result['p95']:4.0f} ms, {users:3} users"


def climb(
    mix: str, steps: list[int], seconds: float, host: str, work: Path
) -> tuple[int, dict[str, Any]] | None:
    """The last step (users, result) that held p95 and the failure ratio; None if none did."""
    best = None
    for users in steps:
        scenario = step_scenario(work, mix, users, seconds)
        result = run_step(host, scenario, work / f"{mix}{users}")
        ok = result["p95"] <= P95_LIMIT_MS and result["fail"] <= MAX_FAILURE_RATIO
        print(
            f"{mix:8} {users:4} users  {result['rps']:7.1f} req/s  "
            f"p95 {result['p95']:6.0f} ms  failures {100 * result['fail']:.2f}%"
            + ("" if ok else "  <- over the limit")
        )
        if not ok:
            break
        best = (users, result)
    return best


def _background_step(host: str, scenario: Path) -> subprocess.Popen[bytes]:
    command = [*locust_step(host, scenario), "--loglevel", "ERROR"]
    return subprocess.Popen(
        command, cwd=ROOT, env=_env({}), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


if __name__ == "__main__":
    main()
