"""compose.yaml is a valid file whose services get exactly what the code reads from them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from estore.cli import main
from estore.cluster import SERVICES
from tests.deploy.compose_file import (
    env_file_values,
    image_entrypoint,
    resolve,
    resolved,
    secrets_env_file,
)

# What compose adds around the system itself: stores, the trace stack.
INFRASTRUCTURE = {"mongo", "redis", "otel-collector", "jaeger"}
# One-shot jobs on the same image: (name, the estore command it runs).
JOBS = {"seed": "seed"}
# Dependencies both ways (category lists a category's products): the later one waits for a
# started peer only, or compose could never start either.
CYCLE_BREAKS = {("category", "product"), ("product", "category")}


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return secrets_env_file(tmp_path_factory.mktemp("compose"))


@pytest.fixture(scope="module")
def services(env_file: Path) -> dict:
    return resolved(env_file)


def test_every_service_of_the_system_has_a_container(services: dict) -> None:
    assert set(SERVICES) | INFRASTRUCTURE <= set(services)
    assert image_entrypoint() == ["estore"]
    for name in SERVICES:
        assert services[name].command == ["serve", name]


def test_every_variable_given_to_a_service_is_one_its_settings_read(services: dict) -> None:
    for name, spec in SERVICES.items():
        read = {field.upper() for field in spec.settings.model_fields}
        given = set(services[name].environment)
        assert given <= read, f"{name} is given variables it never reads: {given - read}"


def test_every_service_has_its_stores_peers_secrets_and_port(services: dict) -> None:
    for name, spec in SERVICES.items():
        env = services[name].environment
        settings = spec.settings.load(**{key.lower(): value for key, value in env.items()})
        assert settings.missing_for_deployment(allow_fakes=False) == [], name
        assert settings.port == int(env["PORT"])
        for peer in (*spec.dependencies, *spec.external):
            host = settings.service_url(peer).removeprefix("http://").split(":")[0]
            assert host == peer, f"{name} reaches {peer} at {host}"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http://otel-collector:4318")


def test_the_secrets_reach_the_services_as_estore_secrets_printed_them(
    services: dict, env_file: Path
) -> None:
    printed = env_file_values(env_file)
    for name in ("order", "payment"):
        given = services[name].environment["PAYMENT_SECRET_KEY"]
        assert given == printed["PAYMENT_SECRET_KEY"], name
    # The PEM is one line with \n escapes in .env; auth must read a usable key out of compose.
    env = services["auth"].environment
    settings = SERVICES["auth"].settings.load(jwt_private_key=env["JWT_PRIVATE_KEY"])
    assert settings.jwt_private_key is not None
    load_pem_private_key(settings.jwt_private_key.get_secret_value().encode(), password=None)


def test_a_service_starts_only_after_its_stores_and_peers_are_healthy(services: dict) -> None:
    for name, spec in SERVICES.items():
        waits = services[name].depends_on
        assert waits["mongo"] == waits["redis"] == "service_healthy", name
        assert "healthcheck" in services[name].spec, name
        for peer in spec.dependencies:
            if (name, peer) in CYCLE_BREAKS and peer not in waits:
                assert waits.get(peer, "none") != "service_healthy"
                continue
            expected = "service_started" if (name, peer) in CYCLE_BREAKS else "service_healthy"
            assert waits.get(peer) == expected, f"{name} waits for {peer}: {waits.get(peer)}"


def test_compose_refuses_to_start_without_the_secrets(tmp_path: Path) -> None:
    done = resolve(secrets_env_file(tmp_path, leave_out="PAYMENT_SECRET_KEY"))
    assert done.returncode != 0
    assert "PAYMENT_SECRET_KEY" in done.stderr


def test_the_seed_job_runs_once_on_the_stores_the_services_use(services: dict) -> None:
    assert set(services) == set(SERVICES) | INFRASTRUCTURE | set(JOBS)
    for job, command in JOBS.items():
        spec = services[job]
        assert spec.command == [command] and command in main.commands
        assert spec.spec["restart"] == "no"
        assert spec.depends_on == {"mongo": "service_healthy", "redis": "service_healthy"}
        stores = {key: spec.environment[key] for key in ("MONGODB_URI", "REDIS_URL")}
        for name in SERVICES:
            served = services[name].environment
            assert {key: served[key] for key in stores} == stores, f"{job} and {name}"


def test_spans_go_from_the_services_through_the_collector_to_jaeger(services: dict) -> None:
    collector = services["otel-collector"].spec
    [mount] = collector["volumes"]  # compose v1 writes it short: source:target:mode
    source, target = mount.split(":")[:2]
    assert target in " ".join(collector["command"]), "the collector reads another file"
    config = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
    pipeline = config["service"]["pipelines"]["traces"]
    received = config["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    for name in SERVICES:
        endpoint = services[name].environment["OTEL_EXPORTER_OTLP_ENDPOINT"]
        assert endpoint.rsplit(":", 1)[1] == received.rsplit(":", 1)[1], name
    assert pipeline["receivers"] == ["otlp"]
    [exporter] = pipeline["exporters"]
    host = config["exporters"][exporter]["endpoint"].split(":")[0]
    assert host == "jaeger" and "jaeger" in services
    assert "16686:16686" in {
        f"{p['published']}:{p['target']}" for p in services["jaeger"].spec["ports"]
    }
