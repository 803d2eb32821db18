"""Benchmark: the highest request rate the served cluster sustains with p95 under 500 ms, for a
browse mix and a checkout mix, and where the serving process spends its time.

Run: .venv/bin/python benchmarks/bench_load.py [--steps 4,8,16,32,64] [--seconds 12] [--profile]

One staged cluster (`loadtests.serve`, free ports) serves every step. Each step is a headless
Locust run holding N users with short think times (0.1-0.3 s); users double until p95 passes
500 ms or more than 1% of requests fail. The last passing step's rate is the figure. With
--profile, py-spy samples the serving process during the checkout mix's last passing load and
the busiest functions (own time and inclusive) are printed.
"""

from __future__ import annotations

import argparse
import csv
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

from loadtests import config  # noqa: E402
from loadtests.run import LOCUSTFILE, READY, _env, _read_tagged, served_cluster  # noqa: E402
from loadtests.scenario import SCENARIOS  # noqa: E402

P95_LIMIT_MS = 500.0
MAX_FAILURE_RATIO = 0.01
MIXES = {"browse": "{ browser = 1 }", "checkout": "{ shopper = 1 }"}


def step_scenario(folder: Path, mix: str, users: int, seconds: float) -> Path:
    base = (SCENARIOS / "sale_day.toml").read_text()
    sale = base[base.index("[sale]") : base.index("[gates]")]
    text = (
        f'name = "bench"\nseed = 7\nshopper_accounts = 120\nmix = {MIXES[mix]}\n'
        f'[[phases]]\nname = "hold"\nduration_s = {seconds}\nusers = {users}\nramp_s = 1\n'
        "[think_time]\nmin_s = 0.1\nmax_s = 0.3\n" + re.sub(r"stock = \d+", "stock = 100000", sale)
        # Plenty of stock: the benchmark measures throughput, not the sell-out.
    )
    path = folder / f"{mix}-{users}.toml"
    path.write_text(text)
    return path


def run_step(fixtures: Path, host: str, scenario: Path, out: Path) -> dict[str, Any]:
    env = _env(config.environment(str(scenario), fixtures, None, 1.0, 1.0))
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", host]
    command += ["--headless", "--only-summary", "--loglevel", "ERROR", "--csv", str(out)]
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=300)
    with Path(f"{out}_stats.csv").open() as f:
        total = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    requests = int(total["Request Count"])
    return {
        "rps": float(total["Requests/s"]),
        "p95": float(total["95%"]),
        "fail": int(total["Failure Count"]) / requests if requests else 1.0,
    }


def profile(pid: int, seconds: float, out: Path) -> None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    raw = out / "profile.txt"
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
    parser.add_argument("--steps", default="16,64,128,256,512")
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench_load_"))
    fixtures = work / "fixtures.json"
    with served_cluster("sale_day", fixtures, auto_ports=True) as server:
        assert server.stdout
        ready = _read_tagged(server.stdout, READY, 90)
        print(f"serving {ready['services']} at {ready['gateway_url']}")
        best: dict[str, tuple[int, dict[str, Any]]] = {}
        for mix in MIXES:
            for users in steps:
                scenario = step_scenario(work, mix, users, args.seconds)
                result = run_step(fixtures, ready["gateway_url"], scenario, work / f"{mix}{users}")
                ok = result["p95"] <= P95_LIMIT_MS and result["fail"] <= MAX_FAILURE_RATIO
                print(
                    f"{mix:8} {users:4} users  {result['rps']:7.1f} req/s  "
                    f"p95 {result['p95']:6.0f} ms  failures {100 * result['fail']:.2f}%"
                    + ("" if ok else "  <- over the limit")
                )
                if not ok:
                    break
                best[mix] = (users, result)
        for mix, (users, result) in best.items():
            print(
                f"{mix}: {result['rps']:.1f} req/s sustained at {users} users, p95 "
                f"{result['p95']:.0f} ms"
            )
        if args.profile and "checkout" in best:
            users = best["checkout"][0]
            scenario = step_scenario(work, "checkout", users, args.seconds + 5)
            runner = _background_step(fixtures, ready["gateway_url"], scenario, work / "prof")
            time.sleep(3)  # let Locust spawn its users before sampling starts
            profile(server.pid, args.seconds, work)
            runner.wait(timeout=120)


def _background_step(
    fixtures: Path, host: str, scenario: Path, out: Path
) -> subprocess.Popen[bytes]:
    env = _env(config.environment(str(scenario), fixtures, None, 1.0, 1.0))
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", host]
    command += ["--headless", "--only-summary", "--loglevel", "ERROR", "--csv", str(out)]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


if __name__ == "__main__":
    main()
