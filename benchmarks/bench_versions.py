"""Benchmark script: bench_storefront on two versions of the code, interleaved, as ratios.

Run: `PYTHONPATH=platform:. .venv/bin/python benchmarks/bench_versions.py --base REV`
(options: `--rounds 3 --seconds 3 --sizes 2000,100000`). Extracts commit REV with
`git archive` into a temporary directory, then runs this tree's bench_storefront.py
(`--json`) alternately on REV's packages and on this tree's, `rounds` times each, so both
versions meet the same machine load; prints the median CPU rate of each and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TREE = HERE.parent


def _extract(revision: str, into: Path) -> None:
    archive = subprocess.run(
        ["git", "-C", str(TREE), "archive", revision], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def _run(tree: Path, seconds: float, sizes: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": f"{tree / 'platform'}{os.pathsep}{tree}"}
    command = [sys.executable, str(HERE / "bench_storefront.py"), "--json", "--no-plain"]
    command += ["--seconds", str(seconds), "--sizes", sizes]
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    rates: dict[str, float] = json.loads(output.stdout.strip().splitlines()[-1])
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--sizes", default="2000,100000")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"base": [], "head": []}
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        _extract(args.base, base)
        for number in range(1, args.rounds + 1):
            for label, tree in (("base", base), ("head", TREE)):
                print(f"round {number}/{args.rounds}: {label}", file=sys.stderr, flush=True)
                runs[label].append(_run(tree, args.seconds, args.sizes))
    print(f"| per CPU second, median of {args.rounds} | {args.base} | this tree | ratio |")
    print("|---|---|---|---|")
    for name in runs["head"][0]:
        head = statistics.median(run[name] for run in runs["head"])
        base_rate = statistics.median(run[name] for run in runs["base"])
        print(f"| {name} | {base_rate:,.1f} | {head:,.1f} | {head / base_rate:.2f}x |")


if __name__ == "__main__":
    main()
