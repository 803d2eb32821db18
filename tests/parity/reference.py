"""The Node reference implementations, driven from Python: Apollo composition and Apollo Gateway.

Both live in this folder's small npm project; `npm ci --prefix tests/parity` installs them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from estore.cluster import Cluster

PARITY_DIR = Path(__file__).resolve().parent
INSTALL_COMMAND = "npm ci --prefix tests/parity"
REQUIRED_PACKAGES = ("@apollo/composition", "@apollo/gateway", "@apollo/server", "graphql")
START_GUARD_SECONDS = 30
SDL_QUERY = "{ _service { sdl } }"


class ReferenceError(Exception):
    """The Node reference failed; the message carries what it printed."""


def missing_reference() -> str | None:
    """Why the reference cannot run here (and how to fix it), or None when it can."""
    if shutil.which("node") is None:
        return "node is not on PATH: install Node.js 20 or newer"
    absent = [p for p in REQUIRED_PACKAGES if not (PARITY_DIR / "node_modules" / p).is_dir()]
    if absent:
        return (
            f"the parity suite's Node packages are not installed ({', '.join(absent)} missing); "
            f"run `{INSTALL_COMMAND}` from the repository root"
        )
    return None


def apollo_compose(sdls: Mapping[str, str], urls: Mapping[str, str] | None = None) -> Any:
    """Apollo's composition of {name: sdl}: {supergraphSdl, apiSchema, hints} or {errors}."""
    payload = json.dumps({"subgraphs": dict(sdls), "urls": dict(urls or {})})
    done = subprocess.run(
        ["node", str(PARITY_DIR / "compose.mjs")],
        input=payload,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise ReferenceError(f"compose.mjs exited {done.returncode}: {done.stderr}") from None


def apollo_compose_many(graphs: Mapping[str, tuple[Mapping[str, str], Mapping[str, str]]]) -> Any:
    """Apollo's composition of each {graph: (sdls, urls)} in one Node run: {graph: output}."""
    payload = {
        name: {"subgraphs": dict(sdls), "urls": dict(urls)} for name, (sdls, urls) in graphs.items()
    }
    done = subprocess.run(
        ["node", str(PARITY_DIR / "compose.mjs")],
        input=json.dumps({"graphs": payload}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise ReferenceError(f"compose.mjs exited {done.returncode}: {done.stderr}") from None


async def fetch_sdls(urls: Mapping[str, str]) -> dict[str, str]:
    """Each running subgraph's own `_service { sdl }`, keyed by subgraph name."""
    sdls: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=10) as client:
        for name, url in urls.items():
            response = await client.post(url, json={"query": SDL_QUERY})
            sdls[name] = response.json()["data"]["_service"]["sdl"]
    return sdls


@asynccontextmanager
async def apollo_gateway(supergraph_sdl: str, port: int, signing_key: str) -> AsyncIterator[str]:
    """Apollo Gateway serving `supergraph_sdl` on 127.0.0.1:port; yields its GraphQL URL.

    `signing_key` is the subgraphs' internal key: Apollo signs each subgraph request with it.
    """
    with tempfile.TemporaryDirectory(prefix="parity-") as folder:
        path = Path(folder) / "supergraph.graphql"
        path.write_text(supergraph_sdl, encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            "node",
            str(PARITY_DIR / "gateway.mjs"),
            str(path),
            str(port),
            cwd=PARITY_DIR,
            env={
                **_node_env(),
                "NODE_ENV": "production",
                "ESTORE_INTERNAL_SIGNING_KEY": signing_key,
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            yield await _until_ready(process)
        finally:
            await _stop(process)


@asynccontextmanager
async def apollo_gateways(supergraphs: Mapping[str, str]) -> AsyncIterator[dict[str, str]]:
    """One Node process serving Apollo Gateway over each {graph: supergraph SDL}.

    Yields {graph: GraphQL URL}; the subgraphs are called at the URLs the supergraphs name.
    """
    with tempfile.TemporaryDirectory(prefix="parity-graphs-") as folder:
        path = Path(folder) / "graphs.json"
        path.write_text(json.dumps(dict(supergraphs)), encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            "node",
            str(PARITY_DIR / "graphs.mjs"),
            str(path),
            cwd=PARITY_DIR,
            env={**_node_env(), "NODE_ENV": "production"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            yield json.loads(await _until_ready(process))
        finally:
            await _stop(process)


def _node_env() -> dict[str, str]:
    # Apollo reports usage only with APOLLO_KEY; make sure none leaks in from the shell.
    return {k: v for k, v in os.environ.items() if not k.startswith("APOLLO_")}


async def _until_ready(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None and process.stderr is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), START_GUARD_SECONDS)
    except TimeoutError:
        line = b""
    text = line.decode().strip()
    if not text.startswith("ready "):
        await _stop(process)
        errors = (await process.stderr.read()).decode()
        raise ReferenceError(f"Apollo Gateway did not start: {text} {errors}")
    return text.removeprefix("ready ")


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 5)
    except TimeoutError:
        process.kill()
        await process.wait()


def signing_key_of(cluster: Cluster) -> str:
    """The internal key a cluster's services share, for a gateway placed beside them."""
    key = cluster.infras["auth"].settings.internal_signing_key
    assert key is not None
    return key.get_secret_value()
