"""The `estore` command: serve the whole system, one service, or seed the stores."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping
from importlib.metadata import entry_points
from types import FrameType
from typing import Any, TextIO

import click
import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from estore.cluster import SERVICES, Cluster, build_service, cluster_secrets
from estore.gateway.settings import GatewaySettings
from estore.kit.bootstrap import Wiring
from estore.kit.infra import Infra
from estore.kit.logview import LogStream, format_line, span_tree
from estore.kit.observability import SpanLogExporter, configure_logging
from estore.kit.settings import SERVICE_PORTS, ServiceSettings
from estore.kit.testing import free_ports
from estore.processes import ChildFailed, Supervisor, redis_for_processes, service_children
from estore.seed import (
    DEFAULT_PRODUCTS,
    DEMO_USERS,
    SeedReport,
    seed,
    seed_service_while_serving,
    seed_while_serving,
)

# The testbed's harness (chaos, sim, report) registers its commands here, so that `estore`
# never imports harness code: a command is loaded only when the group is built.
COMMAND_GROUP = "estore.commands"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class _HarnessGroup(click.Group):
    """The CLI group, with commands from the `estore.commands` entry points added on demand.

    Listing reads only the entry points' names; a harness module is imported only when its
    own command is asked for, so `estore up` never pays for the harness.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        harness = {point.name for point in entry_points(group=COMMAND_GROUP)}
        return sorted({*super().list_commands(ctx), *harness})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        own = super().get_command(ctx, name)
        if own is not None:
            return own
        for point in entry_points(group=COMMAND_GROUP, name=name):
            try:
                command: click.Command = point.load()
            except ImportError as error:
                return _unavailable(name, error)
            return command
        return None


def _unavailable(name: str, error: ImportError) -> click.Command:
    """A stand-in for a harness command whose code cannot be imported: it says why."""

    @click.command(name=name, help=f"(unavailable: {error})")
    def command() -> None:
        raise click.ClickException(
            f"`estore {name}` needs the testbed's harness, which failed to import: {error}. "
            "Install the project with `make test` (or `pip install -e '.[dev]'`)."
        )

    return command


@click.group(cls=_HarnessGroup)
def main() -> None:
    """E-Storefront: an e-commerce backend and the testbed around it."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--seed/--no-seed", "with_seed", default=True, help="Load the demo data first.")
@click.option("--products", default=DEFAULT_PRODUCTS, show_default=True, help="Catalog size.")
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, writable=True),
    help="Write every service's log lines and spans to this one file (read it with "
    "`estore logs` and `estore trace`).",
)
@click.option(
    "--log-level",
    envvar="LOG_LEVEL",
    default="WARNING",
    show_default=True,
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
)
@click.option(
    "--log-json/--log-console",
    envvar="LOG_JSON",
    default=True,
    show_default=True,
    help="One JSON object a line (what `estore logs` reads), or text for a person.",
)
@click.option(
    "--processes",
    is_flag=True,
    help="One process per service (as deployed), so the cluster uses every core; events go "
    "through REDIS_URL, or a redis-server started for the run.",
)
@click.option(
    "--ports",
    type=click.Choice(["fixed", "auto"]),
    default="fixed",
    show_default=True,
    help="Serve on 3000, 3011-3016 and 3020, or on free ports (the banner names them).",
)
def up(
    host: str,
    with_seed: bool,
    products: int,
    log_file: str | None,
    log_level: str,
    log_json: bool,
    processes: bool,
    ports: str,
) -> None:
    """Serve every service on its port, on in-process fake stores, until Ctrl-C."""
    chosen = _ports(ports)
    if processes:
        if log_file:
            raise click.UsageError("--log-file needs one process; with --processes drop it")
        settings = {"log_level": log_level, "log_json": log_json}
        _up_processes(host, products if with_seed else None, chosen, settings)
        return
    configure_logging(log_level, json=log_json, file=log_file)
    wiring = Wiring(span_exporter=SpanLogExporter()) if log_file else Wiring()
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(_up(wiring, host, with_seed, products, chosen))
    click.echo("estore: stopped cleanly")


def _ports(choice: str) -> dict[str, int]:
    if choice == "fixed":
        return {name: SERVICE_PORTS[name] for name in SERVICES}
    return dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))


def _up_processes(
    host: str, products: int | None, ports: dict[str, int], settings: Mapping[str, object]
) -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    with redis_for_processes(os.environ.get("REDIS_URL"), click.echo) as redis_url:
        children = service_children(host, ports, redis_url, products=products, settings=settings)
        supervisor = Supervisor(children)
        seeding = "" if products is None else f"; seeding demo data ({products} products)"
        click.echo(f"estore: starting {len(children)} processes, events on {redis_url}{seeding}")
        try:
            supervisor.start()
            _print_banner({name: f"http://{host}:{port}" for name, port in ports.items()})
            supervisor.watch()
        except ChildFailed as failure:
            raise click.ClickException(f"{failure}; the other services were stopped") from None
        except KeyboardInterrupt:
            pass
        finally:
            supervisor.stop()
    click.echo("estore: stopped cleanly")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


async def _up(
    wiring: Wiring, host: str, with_seed: bool, products: int, ports: dict[str, int]
) -> None:
    cluster = Cluster(wiring, served=True, ports=ports)
    ready = asyncio.Event()
    serving = asyncio.create_task(cluster.serve(host, ready))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, serving.cancel)
    await asyncio.wait([serving, asyncio.create_task(ready.wait())], return_when="FIRST_COMPLETED")
    if serving.done():
        serving.result()
        return
    if with_seed:
        click.echo(f"estore: seeding demo data ({products} products) ...")
        _print_seeding(await seed_while_serving(cluster, products))
    _print_banner({n: f"http://{host}:{i.settings.port}" for n, i in cluster.infras.items()})
    with contextlib.suppress(asyncio.CancelledError):
        await serving


def _print_seeding(outcome: SeedReport | str) -> None:
    if isinstance(outcome, str):
        click.echo(
            f"estore: seeding failed, still serving what is there "
            f"(/health/ready says why): {outcome}",
            err=True,
        )
        return
    for line in outcome.lines():
        click.echo(f"  {line}")


def _print_banner(urls: Mapping[str, str]) -> None:
    click.echo("estore: serving (Ctrl-C to stop)")
    for name, url in urls.items():
        click.echo(f"  {name:<9} {url}")
    click.echo("demo accounts (email / password / role):")
    for user in DEMO_USERS:
        click.echo(f"  {user.email:<24} {user.password:<18} {user.role}")


@main.command()
@click.argument("name", type=click.Choice(sorted(SERVICES)))
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option(
    "--allow-fakes",
    is_flag=True,
    help="Run on in-memory stores when MONGODB_URI / REDIS_URL are unset (data vanishes on exit).",
)
@click.option(
    "--seed/--no-seed",
    "with_seed",
    default=False,
    help="Seed this service's own share of the demo data once serving (auth: the accounts, "
    "category: the tree, product: the products); readiness waits for it.",
)
@click.option("--products", default=DEFAULT_PRODUCTS, show_default=True, help="Catalog size.")
def serve(name: str, host: str, allow_fakes: bool, with_seed: bool, products: int) -> None:
    """Run one service alone, configured only by the environment (the deployed mode)."""
    settings = _deployed_settings(name, allow_fakes)
    if isinstance(settings, GatewaySettings) and (refusal := settings.supergraph_refusal()):
        raise click.ClickException(f"{name}: {refusal}")
    configure_logging(settings.log_level, json=settings.log_json, service=name)
    if settings.mongodb_uri is None or settings.redis_url is None:
        click.echo(
            f"estore: WARNING {name} runs on in-memory fake stores (--allow-fakes): "
            "its data vanishes when it stops",
            err=True,
        )
    app, infra = build_service(SERVICES[name], Wiring())
    click.echo(f"estore: {name} serving on http://{host}:{settings.port}")
    options: dict[str, Any] = {
        "host": host,
        "port": settings.port,
        "log_level": "warning",
        "log_config": None,
        "proxy_headers": False,
    }
    if with_seed:
        server = uvicorn.Server(uvicorn.Config(app, **options))
        asyncio.run(_serve_seeding(server, app, infra, products))
    else:
        uvicorn.run(app, **options)


async def _serve_seeding(server: uvicorn.Server, app: FastAPI, infra: Infra, products: int) -> None:
    """Serves, and seeds the service's share once its start-up has run; stopping ends both."""

    async def seed_once_started() -> None:
        # Uvicorn offers a flag, not an event, for "started" (after the app's start-up ran).
        while not server.started:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        outcome = await seed_service_while_serving(app, infra, products)
        if isinstance(outcome, str):
            click.echo(f"estore: {infra.settings.service} seeding failed: {outcome}", err=True)

    seeding = asyncio.create_task(seed_once_started())
    try:
        await server.serve()
    finally:
        seeding.cancel()
        await asyncio.gather(seeding, return_exceptions=True)


def _deployed_settings(name: str, allow_fakes: bool) -> ServiceSettings:
    """The service's settings from the environment, or one line saying everything wrong."""
    try:
        settings = SERVICES[name].settings.load()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise click.ClickException(f"{name}: bad settings: {problems}") from None
    missing = settings.missing_for_deployment(allow_fakes=allow_fakes)
    if missing:
        fakes = "" if allow_fakes else " (or pass --allow-fakes to run on in-memory stores)"
        raise click.ClickException(f"{name}: set {', '.join(missing)} in the environment{fakes}")
    return settings


@main.command(name="seed")
@click.option("--products", default=DEFAULT_PRODUCTS, show_default=True, help="Catalog size.")
def seed_command(products: int) -> None:
    """Fill the stores named by MONGODB_URI / REDIS_URL with the demo data."""
    configure_logging("WARNING", json=True)
    report = asyncio.run(_seed_once(products))
    for line in report.lines():
        click.echo(line)


async def _seed_once(products: int) -> SeedReport:
    cluster = Cluster()
    await cluster.start()
    try:
        if cluster.infras["auth"].settings.mongodb_uri is None:
            click.echo(
                "note: MONGODB_URI is unset, so this seeds in-memory fakes that vanish on exit",
                err=True,
            )
        return await seed(cluster, products)
    finally:
        await cluster.stop()


@main.command()
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--trace", "trace_id", help="Only the lines of this trace id (32 hex digits).")
@click.option("--service", help="Only the lines of this service.")
def logs(file: TextIO, trace_id: str | None, service: str | None) -> None:
    """Print a log file's lines in time order, across services (`estore up --log-file`)."""
    stream = LogStream.read(file)
    chosen = stream.lines(trace_id=trace_id, service=service)
    for record in chosen:
        click.echo(format_line(record))
    _summarise(len(chosen), "line", stream.skipped, trace_id)


@main.command()
@click.argument("trace_id")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def trace(trace_id: str, file: TextIO) -> None:
    """Print one request's span tree across services, from a log file with spans."""
    stream = LogStream.read(file)
    spans = stream.spans(trace_id)
    for line in span_tree(spans):
        click.echo(line)
    _summarise(len(spans), "span", stream.skipped, trace_id)


def _summarise(count: int, noun: str, skipped: int, trace_id: str | None) -> None:
    scope = f" of trace {trace_id}" if trace_id else ""
    summary = f"{count} {noun}{'' if count == 1 else 's'}{scope}"
    if skipped:
        summary += f"; {skipped} line{'' if skipped == 1 else 's'} not JSON, skipped"
    click.echo(summary, err=True)
    if count == 0:
        raise SystemExit(1)


@main.command(name="secrets")
def print_secrets() -> None:
    """Print fresh secrets for a deployment, as environment lines."""
    values = cluster_secrets()
    pem = values["jwt_private_key"].replace("\n", "\\n")
    click.echo(f'JWT_PRIVATE_KEY="{pem}"')
    click.echo(f"INTERNAL_SIGNING_KEY={values['internal_signing_key']}")
    click.echo(f"PAYMENT_SECRET_KEY={values['payment_secret_key']}")


if __name__ == "__main__":
    sys.exit(main())
