"""The gateway service in front of the auth subgraph: login, identity at the edge, HTTP rules."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from estore.cluster import Cluster
from estore.kit.identity import CALLER_HEADER, Caller, Role
from tests.integration.gateway.service_helpers import PASSWORD, account, gateway_cluster, graphql

pytestmark = pytest.mark.asyncio(loop_scope="module")

ME = "{ me { id email } }"


@pytest.fixture(scope="module")
async def cluster() -> AsyncIterator[Cluster]:
    async with gateway_cluster(["auth"], "auth") as built:
        yield built


@pytest.fixture
async def gateway(cluster: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    async with cluster.client("gateway") as client:
        yield client


async def test_a_customer_registers_and_logs_in_through_the_gateway_then_sees_me(
    gateway: httpx.AsyncClient,
) -> None:
    register = """mutation ($input: RegisterInput!) { register(input: $input) { user { id } } }"""
    form = {"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}
    registered = await graphql(gateway, register, {"input": form})
    assert registered.status_code == 200, registered.text
    login = await graphql(
        gateway,
        "mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
        {"e": form["email"], "p": PASSWORD},
    )
    token = login.json()["data"]["login"]["accessToken"]
    me = await graphql(gateway, ME, token=token)
    user_id = registered.json()["data"]["register"]["user"]["id"]
    assert me.json() == {"data": {"me": {"id": user_id, "email": form["email"]}}}


async def test_a_client_sent_caller_header_is_dropped_so_anonymous_stays_anonymous(
    cluster: Cluster, gateway: httpx.AsyncClient
) -> None:
    admin_id, _ = await account(cluster, "forged-admin@example.com", Role.ADMIN)
    # A genuinely signed header: a subgraph would accept it, so only the gateway can stop it.
    forged = cluster.infras["auth"].internal_identity.sign(
        Caller(user_id=admin_id, email="forged-admin@example.com", roles=frozenset({Role.ADMIN}))
    )
    answer = await graphql(gateway, ME, headers={CALLER_HEADER: forged})
    assert answer.status_code == 200
    assert answer.json() == {"data": {"me": None}}


async def test_a_client_sent_caller_header_never_overrides_the_bearer(
    cluster: Cluster, gateway: httpx.AsyncClient
) -> None:
    bob_id, bob_token = await account(cluster, "bob@example.com")
    alice_id, _ = await account(cluster, "alice@example.com")
    forged = cluster.infras["auth"].internal_identity.sign(
        Caller(user_id=alice_id, email="alice@example.com")
    )
    answer = await graphql(gateway, ME, token=bob_token, headers={CALLER_HEADER: forged})
    assert answer.json()["data"]["me"]["id"] == bob_id


async def test_a_garbage_caller_header_is_ignored_not_refused(gateway: httpx.AsyncClient) -> None:
    answer = await graphql(gateway, ME, headers={CALLER_HEADER: "v1.not.signed"})
    assert answer.status_code == 200
    assert answer.json() == {"data": {"me": None}}


async def test_logins_through_the_gateway_count_against_the_client_it_saw(
    gateway: httpx.AsyncClient, cluster: Cluster
) -> None:
    # The client claims a new address each time (both headers); the gateway vouches only for
    # the peer it saw, so the per-client login limit still stops the spray.
    redis = cluster.infras["auth"].redis
    for key in await redis.keys("auth:login:*"):
        await redis.delete(key)  # earlier logins in this module count against the same peer
    login = 'mutation($e: String!) { login(email: $e, password: "guess") { accessToken } }'
    codes = []
    for n in range(31):
        claimed = f"10.9.0.{n}"
        answer = await graphql(
            gateway,
            login,
            {"e": f"spray{n}@example.com"},
            headers={"X-Forwarded-For": claimed, "X-Estore-Client": claimed},
        )
        codes.append(answer.json()["errors"][0]["extensions"]["code"])
    assert codes == ["UNAUTHORIZED"] * 30 + ["RATE_LIMITED"]


async def test_a_bad_bearer_token_is_a_401_in_the_kit_error_shape(
    gateway: httpx.AsyncClient,
) -> None:
    answer = await graphql(gateway, ME, token="not-a-jwt")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["error"]["code"] == "unauthorized"
    assert "invalid bearer token" in answer.json()["error"]["message"]


async def test_an_unparsable_document_is_a_400_with_its_location(
    gateway: httpx.AsyncClient,
) -> None:
    answer = await graphql(gateway, "{ me { id ")
    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert error["locations"] == [{"line": 1, "column": 11}]


async def test_a_validation_error_is_a_200_with_errors_and_no_data(
    gateway: httpx.AsyncClient,
) -> None:
    answer = await graphql(gateway, "{ nope }")
    assert answer.status_code == 200
    body = answer.json()
    assert "data" not in body
    assert body["errors"][0]["message"] == "Cannot query field 'nope' on type 'Query'."
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "body is not JSON"),
        (b"[1]", "body must be a JSON object"),
    ],
)
async def test_a_body_that_is_no_json_object_is_a_400_in_the_kit_error_shape(
    gateway: httpx.AsyncClient, body: bytes, problem: str
) -> None:
    answer = await gateway.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert problem in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"query": ""}', "'query' must be a non-empty string"),
        (b'{"query": "{ me { id } }", "variables": [1]}', "'variables' must be an object"),
    ],
)
async def test_a_malformed_request_is_a_400_that_says_what_is_wrong(
    gateway: httpx.AsyncClient, body: bytes, problem: str
) -> None:
    answer = await gateway.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert problem in answer.json()["errors"][0]["message"]


async def test_queries_may_be_sent_with_get_but_mutations_may_not(
    gateway: httpx.AsyncClient,
) -> None:
    query = await gateway.get("/graphql", params={"query": "{ me { id } }"})
    assert query.json() == {"data": {"me": None}}
    mutation = await gateway.get(
        "/graphql", params={"query": 'mutation { logout(refreshToken: "x") }'}
    )
    assert mutation.status_code == 405
    assert mutation.headers["allow"] == "POST"


def auth_calls(cluster: Cluster) -> float:
    registry = cluster.infras["gateway"].telemetry.registry
    labels = {"dependency": "auth", "outcome": "success"}
    return registry.get_sample_value("estore_dependency_requests_total", labels) or 0.0


async def test_too_many_aliases_are_refused_before_any_subgraph_is_called(
    cluster: Cluster, gateway: httpx.AsyncClient
) -> None:
    query = "{ " + " ".join(f"a{n}: me {{ id }}" for n in range(31)) + " }"
    before = auth_calls(cluster)
    answer = await graphql(gateway, query)
    assert answer.status_code == 200
    [error] = answer.json()["errors"]
    assert error["extensions"]["code"] == "MAX_ALIASES_EXCEEDED"
    assert "31 aliases" in error["message"]
    assert auth_calls(cluster) == before


async def test_introspection_is_served_by_default(gateway: httpx.AsyncClient) -> None:
    answer = await graphql(gateway, "{ __schema { subscriptionType { name } } }")
    assert answer.json() == {"data": {"__schema": {"subscriptionType": {"name": "Subscription"}}}}


async def test_health_reports_the_gateway_and_each_subgraph(gateway: httpx.AsyncClient) -> None:
    health = await gateway.get("/health")
    assert health.json() == {
        "status": "ok",
        "service": "gateway",
        "composed": True,
        "subgraphs": {"auth": "up"},
    }
    ready = await gateway.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["composed"] == "up"


async def test_health_shows_a_subgraph_down_while_the_gateway_stays_live(
    cluster: Cluster, gateway: httpx.AsyncClient
) -> None:
    cluster.wiring.faults.inject_outage("auth")
    try:
        health = await gateway.get("/health")
    finally:
        cluster.wiring.faults.clear()
    assert health.status_code == 200
    assert health.json()["subgraphs"]["auth"].startswith("down")


async def test_only_admins_may_recompose(cluster: Cluster, gateway: httpx.AsyncClient) -> None:
    _, customer = await account(cluster, "carol@example.com")
    _, admin = await account(cluster, "root@example.com", Role.ADMIN)
    anonymous = await gateway.post("/admin/recompose")
    forbidden = await gateway.post(
        "/admin/recompose", headers={"Authorization": f"Bearer {customer}"}
    )
    allowed = await gateway.post("/admin/recompose", headers={"Authorization": f"Bearer {admin}"})
    assert (anonymous.status_code, forbidden.status_code) == (401, 403)
    assert allowed.status_code == 200
    assert allowed.json() == {"status": "composed", "subgraphs": ["auth"]}


async def test_after_logout_the_access_token_is_refused_at_the_gateway(
    gateway: httpx.AsyncClient,
) -> None:
    form = {"email": "leaver@example.com", "password": PASSWORD, "name": "Leaver"}
    register = (
        "mutation ($input: RegisterInput!) { register(input: $input) { accessToken refreshToken } }"
    )
    tokens = (await graphql(gateway, register, {"input": form})).json()["data"]["register"]
    assert (await graphql(gateway, ME, token=tokens["accessToken"])).json()["data"]["me"]
    logout = "mutation ($t: String!) { logout(refreshToken: $t) }"
    logged_out = await graphql(
        gateway, logout, {"t": tokens["refreshToken"]}, token=tokens["accessToken"]
    )
    assert logged_out.json() == {"data": {"logout": True}}
    refused = await graphql(gateway, ME, token=tokens["accessToken"])
    assert refused.status_code == 401
    assert "session has ended" in refused.json()["error"]["message"]
