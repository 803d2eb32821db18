"""compose.yaml as `docker-compose config` resolves it, and the Dockerfile's entry point."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"


def secrets_env_file(folder: Path, *, leave_out: str | None = None) -> Path:
    """`estore secrets > .env`, as the compose file's header tells a user to do."""
    printed = subprocess.run(
        [sys.executable, "-m", "estore.cli", "secrets"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    kept = [line for line in printed if leave_out is None or not line.startswith(f"{leave_out}=")]
    path = folder / ".env"
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return path


def env_file_values(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines())
    return {name: value.strip('"') for name, value in pairs}


def docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        raise AssertionError("docker-compose is not installed (apt-get install docker-compose)")
    return found


def resolve(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` of compose.yaml, interpolated from this env file alone.

    Naming the file keeps a developer's own `.env` beside compose.yaml out of the test.
    """
    return subprocess.run(
        [
            docker_compose(),
            "--project-directory",
            str(ROOT),
            "--env-file",
            str(env_file),
            "-f",
            str(COMPOSE_FILE),
            "config",
            *args,
        ],
        env={"PATH": "/usr/bin:/bin"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@dataclass(frozen=True)
class ComposeService:
    name: str
    spec: dict[str, Any]

    @property
    def environment(self) -> dict[str, str]:
        return {key: str(value) for key, value in (self.spec.get("environment") or {}).items()}

    @property
    def depends_on(self) -> dict[str, str]:
        listed = self.spec.get("depends_on") or {}
        return {name: entry["condition"] for name, entry in listed.items()}

    @property
    def command(self) -> list[str]:
        return list(self.spec.get("command") or [])


def resolved(env_file: Path) -> dict[str, ComposeService]:
    done = resolve(env_file)
    if done.returncode != 0:
        raise AssertionError(f"docker-compose config refused compose.yaml: {done.stderr}")
    document = yaml.safe_load(done.stdout)
    return {name: ComposeService(name, spec) for name, spec in document["services"].items()}


def image_entrypoint() -> list[str]:
    """The Dockerfile's ENTRYPOINT (exec form), what every service's command follows."""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("ENTRYPOINT "):
            entry: list[str] = json.loads(line.removeprefix("ENTRYPOINT "))
            return entry
    raise AssertionError("the Dockerfile has no ENTRYPOINT")
