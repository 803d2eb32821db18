"""One command for a load run: serve the staged cluster, run Locust against it, check invariants.

    python -m loadtests.run                       # web UI on http://127.0.0.1:8089
    python -m loadtests.run --headless --time-scale 0.1 --user-scale 0.1 [--workers 1]
    python -m loadtests.run --processes           # one process per service: every core serves

Every run writes Locust's CSV, HTML and JSON plus gates.json and invariants.json under
reports/load/<timestamp>/. The exit code: 0 all good, 3 when a gate (or an invariant read
through the API) failed, 4 when an invariant read on the stores failed, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from estore.kit.identity import Role
from estore.kit.settings import SERVICE_PORTS
from estore.kit.testing import free_ports
from loadtests.api import Api, ApiError
from loadtests.scenario import load_scenario
from loadtests.serve import BASELINE, READY, REPORT
from loadtests.stage import demo, stage

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
SERVE_START_S = 90.0
# Eight processes importing cold and seeding on two cores, beside whatever else runs.
PROCESSES_START_S = 240.0
CHECK_S = 60.0
INVARIANTS_FAILED = 4
BAD_INPUT = 2


def _read_tagged(stream: IO[str], tag: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            raise RuntimeError(f"the serving process ended before {tag}")
        if line.startswith(tag + " "):
            parsed: dict[str, Any] = json.loads(line[len(tag) + 1 :])
            return parsed
    raise TimeoutError(f"no {tag} within {timeout_s} s")


@contextmanager
def served_cluster(
    scenario: str, auto_ports: bool, processes: bool = False
) -> Iterator[subprocess.Popen[str]]:
    command = [sys.executable, "-m", "loadtests.serve", "--scenario", scenario]
    command += ["--ports", "auto" if auto_ports else "fixed"]
    command += ["--processes"] if processes else []
    # Its own session: a Ctrl-C that ends the web UI's run must not end the cluster too, whose
    # stores the invariant check reads afterwards (it stops on `quit`).
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=_env({}),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None and process.stdin:
            process.stdin.write("quit\n")
            process.stdin.flush()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _env(extra: dict[str, str]) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **extra}


def ask(process: subprocess.Popen[str], command: str, answer: str) -> dict[str, Any]:
    assert process.stdin and process.stdout
    process.stdin.write(command + "\n")
    process.stdin.flush()
    return _read_tagged(process.stdout, answer, CHECK_S)


def locust_commands(
    args: argparse.Namespace, host: str, ticket_url: str, out: Path
) -> list[list[str]]:
    """The master (or the standalone process) first, then any workers."""
    base = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", host]
    lead = [*base, "--loglevel", "WARNING", "--exit-code-on-error", "3"]
    lead += ["--scenario", args.scenario, "--time-scale", repr(args.time_scale)]
    lead += ["--user-scale", repr(args.user_scale), "--report-dir", str(out)]
    lead += ["--ticket-url", ticket_url]
    # Every run, headless or in the web UI, ends with Locust's CSV, HTML and JSON reports.
    lead += ["--csv", str(out / "locust"), "--html", str(out / "report.html")]
    lead += ["--json-file", str(out / "stats")]
    if args.headless:
        lead += ["--headless", "--only-summary"]
    else:
        lead += ["--web-host", "127.0.0.1", "--web-port", str(args.web_port)]
    if not args.workers:
        return [lead]
    [master_port] = free_ports(1)
    port = str(master_port)
    lead += ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", port]
    lead += ["--expect-workers", str(args.workers)]
    worker = [*base, "--worker", "--master-host", "127.0.0.1", "--master-port", port]
    return [lead] + [[*worker, "--loglevel", "WARNING"] for _ in range(args.workers)]


def run_locust(commands: list[list[str]], env: dict[str, str], timeout_s: float) -> int:
    with ExitStack() as stack:
        processes = [stack.enter_context(subprocess.Popen(c, cwd=ROOT, env=env)) for c in commands]
        try:
            code = processes[0].wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            processes[0].send_signal(signal.SIGINT)  # as Ctrl-C: Locust writes its reports
            code = processes[0].wait(timeout=60)
        except KeyboardInterrupt:
            # Ctrl-C reached Locust too (one process group): it judges and reports, then ends.
            code = processes[0].wait(timeout=60)
        for worker in processes[1:]:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.terminate()
        return code


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="sale_day", help="name or path of the scenario")
    parser.add_argument("--headless", action="store_true", help="no web UI; write reports")
    parser.add_argument("--time-scale", type=float, default=1.0, help="compress the phases")
    parser.add_argument("--user-scale", type=float, default=1.0, help="scale the population")
    parser.add_argument("--workers", type=int, default=0, help="Locust workers (0: standalone)")
    parser.add_argument("--web-port", type=int, default=8089)
    parser.add_argument(
        "--ports",
        choices=["fixed", "auto"],
        default="fixed",
        help="serve on 3000/3011-3016/3020, or on free ports",
    )
    parser.add_argument(
        "--processes",
        action="store_true",
        help="serve one process per service (estore up --processes), so every core serves; "
        "the stores are then each in its own process, and only the API's invariants are read",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "load")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        scenario = load_scenario(args.scenario).scaled(time=args.time_scale, users=args.user_scale)
    except (OSError, ValueError) as exc:
        print(f"load: scenario {args.scenario!r} cannot be read: {str(exc).splitlines()[0]}")
        return BAD_INPUT
    taken = [] if args.ports == "auto" else taken_ports(args)
    if taken:
        print(
            f"load: ports {', '.join(map(str, taken))} are taken. If `make up` serves there, "
            "load that cluster with `.venv/bin/locust -f loadtests/locustfile.py --host "
            "http://127.0.0.1:3000`; else stop what serves there, or run this with --ports auto "
            "(and --web-port N)"
        )
        return BAD_INPUT
    with served_cluster(args.scenario, args.ports == "auto", args.processes) as server:
        assert server.stdout
        start_s = PROCESSES_START_S if args.processes else SERVE_START_S
        ready = _read_tagged(server.stdout, READY, start_s)
        print(f"load: serving {ready['services']}; visitors use GraphQL via {ready['gateway_url']}")
        try:
            stage(Api(ready["gateway_url"]), scenario, demo(Role.ADMIN), ready["urls"]["ticket"])
        except ApiError as exc:
            print(f"load: staging failed: {exc}")
            return BAD_INPUT
        ask(server, "baseline", BASELINE)
        out = args.out / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out.mkdir(parents=True)
        if not args.headless:
            print(f"load: web UI on http://127.0.0.1:{args.web_port} (Ctrl-C ends the run)")
        # The web UI runs until Ctrl-C; a headless run ends with the scenario.
        limit = scenario.duration_s + 60 if args.headless else 24 * 3600
        commands = locust_commands(args, ready["gateway_url"], ready["urls"]["ticket"], out)
        code = run_locust(commands, _env({}), limit)
        report = ask(server, "check", REPORT)
    report["api"] = _api_report(out)
    (out / "invariants.json").write_text(json.dumps(report, indent=2))
    _print_summary(out, code, report)
    if code == 0 and not report["passed"]:
        return INVARIANTS_FAILED
    return code


def taken_ports(args: argparse.Namespace) -> list[int]:
    """The fixed ports (the cluster's and the web UI's) something already listens on."""
    wanted = [*SERVICE_PORTS.values()] + ([] if args.headless else [args.web_port])
    taken = []
    for port in sorted(set(wanted)):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                taken.append(port)
    return taken


def _api_report(out: Path) -> dict[str, Any] | None:
    """What the Locust master checked through the API (it wrote invariants.json first)."""
    path = out / "invariants.json"
    return json.loads(path.read_text()) if path.exists() else None


def _print_summary(out: Path, code: int, report: dict[str, Any]) -> None:
    print(f"load: Locust exit code {code} (gates: {out / 'gates.json'})")
    for check in report["checks"]:
        state = "ok" if check["passed"] else "FAILED: " + "; ".join(check["violations"][:3])
        print(f"load: invariant {check['name']}: {state}")
    not_checked = report.get("not_checked", {})
    if not_checked:
        why = "; ".join(sorted(set(not_checked.values())))
        print(f"load: not checked on the stores ({why}): {', '.join(not_checked)}")
    if report["totals"]:
        print(f"load: totals {json.dumps(report['totals'])}")
    print(f"load: results in {out}")


if __name__ == "__main__":
    sys.exit(main())
