"""Every service refuses malformed and oversized bodies in the one error shape (issue 17)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from estore.cluster import SERVICES, Cluster
from estore.kit.graphql import GRAPHQL_PATH
from estore.services.order.settings import OrderSettings

pytestmark = pytest.mark.asyncio(loop_scope="module")

JSON = {"content-type": "application/json"}
GRAPHQL_SERVICES = ["gateway", "auth", "product", "order", "category", "coupon"]
DEEP = b"[" * 100_000 + b"]" * 100_000
MIB = 1024 * 1024


@pytest.fixture(scope="module")
async def cluster(fast_hashing: dict[str, int]) -> AsyncIterator[Cluster]:
    built = Cluster(overrides=fast_hashing)
    await built.start()
    yield built
    await built.stop()


async def post(cluster: Cluster, service: str, path: str, body: bytes) -> httpx.Response:
    async with cluster.client(service) as client:
        return await client.post(path, content=body, headers=JSON)


def refused(answer: httpx.Response, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    message: str = error["message"]
    return message


@pytest.mark.parametrize("service", GRAPHQL_SERVICES)
@pytest.mark.parametrize("body", [b"null", b"1", b'"x"'])
async def test_a_json_scalar_on_graphql_is_a_400(
    cluster: Cluster, service: str, body: bytes
) -> None:
    message = refused(await post(cluster, service, GRAPHQL_PATH, body), 400, "bad_request")
    assert "must be a JSON object" in message


@pytest.mark.parametrize("service", GRAPHQL_SERVICES)
async def test_json_nested_100k_deep_is_a_400_on_graphql(cluster: Cluster, service: str) -> None:
    body = b'{"query": ' + DEEP + b"}"
    message = refused(await post(cluster, service, GRAPHQL_PATH, body), 400, "bad_request")
    assert message == "body nests too deeply to parse as JSON"


@pytest.mark.parametrize("service", GRAPHQL_SERVICES)
async def test_deep_variables_in_a_graphql_get_are_a_400(cluster: Cluster, service: str) -> None:
    params = {"query": "{ __typename }", "variables": "[" * 5000 + "]" * 5000}
    async with cluster.client(service) as client:
        answer = await client.get(GRAPHQL_PATH, params=params)
    assert answer.status_code == 400, answer.text
    assert "nests too deeply" in answer.text


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("order", "/api/v1/orders"),
        ("order", GRAPHQL_PATH),
        ("ticket", "/api/v1/tickets"),
        ("payment", "/api/v1/charges"),
    ],
)
async def test_invalid_utf8_and_deep_json_on_rest_and_graphql_are_400s(
    cluster: Cluster, service: str, path: str
) -> None:
    utf8 = refused(await post(cluster, service, path, b'{"x": "\xff\xfe"}'), 400, "bad_request")
    assert utf8 == "body is not UTF-8: byte 0xff at 7"
    refused(await post(cluster, service, path, DEEP), 400, "bad_request")


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_a_body_over_a_mebibyte_is_a_413_on_every_service(
    cluster: Cluster, service: str
) -> None:
    body = json.dumps({"query": "{ __typename }", "pad": "x" * MIB}).encode()
    message = refused(await post(cluster, service, GRAPHQL_PATH, body), 413, "too_large")
    assert message == f"request body is larger than the limit of {MIB} bytes"


async def test_the_gateway_refuses_20_mb_with_413_and_still_answers_a_normal_request(
    cluster: Cluster,
) -> None:
    refused(await post(cluster, "gateway", GRAPHQL_PATH, b"x" * (20 * MIB)), 413, "too_large")
    answer = await post(cluster, "gateway", GRAPHQL_PATH, b'{"query": "{ __typename }"}')
    assert answer.json() == {"data": {"__typename": "Query"}}


async def test_the_limit_is_a_setting_read_from_max_body_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "2048")
    assert OrderSettings.load().max_body_bytes == 2048
    small = Cluster(services=["category"], overrides={"max_body_bytes": 64})
    body = json.dumps({"query": "{ __typename }", "pad": "x" * 40}).encode()
    refused(await post(small, "category", GRAPHQL_PATH, body), 413, "too_large")
