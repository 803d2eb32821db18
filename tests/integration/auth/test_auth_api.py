"""The auth service in the in-process cluster: REST, GraphQL, JWKS, identity and limits."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest

from estore.cluster import Cluster
from estore.kit.identity import CALLER_HEADER, CLIENT_HEADER, Caller, Role
from tests.callers import ADMIN, BOB, SUPPORT, as_caller, as_gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")

ALICE = {"email": "Alice@Example.com", "password": "correct horse 1", "name": "Alice"}


@pytest.fixture
async def auth(fresh: Cluster) -> Any:
    async with fresh.client("auth") as client:
        yield client


async def register(auth: httpx.AsyncClient, **changes: str) -> dict[str, Any]:
    response = await auth.post("/api/v1/auth/register", json={**ALICE, **changes})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_register_returns_tokens_and_the_account(auth: httpx.AsyncClient) -> None:
    body = await register(auth)
    assert body["token_type"] == "Bearer"
    assert body["user"]["email"] == "Alice@Example.com"
    assert body["user"]["roles"] == ["customer"]
    me = await auth.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["id"] == body["user"]["id"]


async def test_emails_are_unique_whatever_their_case(auth: httpx.AsyncClient) -> None:
    await register(auth)
    again = await auth.post("/api/v1/auth/register", json={**ALICE, "email": "alice@EXAMPLE.COM"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"name": ""}, "name"),
    ],
)
async def test_bad_registration_says_which_field_is_wrong(
    auth: httpx.AsyncClient, changes: dict[str, str], field: str
) -> None:
    response = await auth.post("/api/v1/auth/register", json={**ALICE, **changes})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unprocessable"
    assert field in error["message"]
    assert any(field in d["loc"] for d in error["details"])


async def test_malformed_json_gets_the_common_error_shape(auth: httpx.AsyncClient) -> None:
    response = await auth.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400  # not JSON at all: not a 422 about its fields
    assert response.json()["error"]["code"] == "bad_request"
    assert response.json()["error"]["message"].startswith("body is not JSON: ")


async def test_login_with_a_wrong_password_is_refused(auth: httpx.AsyncClient) -> None:
    await register(auth)
    response = await auth.post(
        "/api/v1/auth/login", json={"email": ALICE["email"], "password": "wrong password"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_refresh_rotates_and_a_reused_token_revokes_the_session(
    auth: httpx.AsyncClient,
) -> None:
    first = (await register(auth))["refresh_token"]
    rotated = await auth.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first

    replay = await auth.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert replay.status_code == 401
    assert "revoked" in replay.json()["error"]["message"]
    # The thief's replay ended the session for the holder of the newer token too.
    after = await auth.post("/api/v1/auth/refresh", json={"refresh_token": second})
    assert after.status_code == 401


async def test_logout_ends_the_session(auth: httpx.AsyncClient) -> None:
    token = (await register(auth))["refresh_token"]
    assert (
        await auth.post("/api/v1/auth/logout", json={"refresh_token": token})
    ).status_code == 204
    refreshed = await auth.post("/api/v1/auth/refresh", json={"refresh_token": token})
    assert refreshed.status_code == 401


async def test_logout_revokes_the_access_token_before_it_expires(auth: httpx.AsyncClient) -> None:
    ended = await register(auth)
    login = {"email": ALICE["email"], "password": ALICE["password"]}
    other = (await auth.post("/api/v1/auth/login", json=login)).json()
    bearer = {"Authorization": f"Bearer {ended['access_token']}"}
    assert (await auth.get("/api/v1/auth/me", headers=bearer)).status_code == 200
    await auth.post("/api/v1/auth/logout", json={"refresh_token": ended["refresh_token"]})
    assert (await auth.get("/api/v1/auth/me", headers=bearer)).status_code == 401
    still = {"Authorization": f"Bearer {other['access_token']}"}
    assert (await auth.get("/api/v1/auth/me", headers=still)).status_code == 200, "other session"


async def test_jwks_publishes_the_signing_key(auth: httpx.AsyncClient) -> None:
    tokens = await register(auth)
    jwks = (await auth.get("/.well-known/jwks.json")).json()
    kid = jwt.get_unverified_header(tokens["access_token"])["kid"]
    assert kid in {key["kid"] for key in jwks["keys"]}
    assert "d" not in jwks["keys"][0], "the private part must never be published"


async def test_a_forged_internal_identity_is_refused(auth: httpx.AsyncClient) -> None:
    response = await auth.get("/api/v1/auth/me", headers={CALLER_HEADER: "v1.e30.AAAA"})
    assert response.status_code == 401


async def test_an_internal_identity_signed_with_another_key_is_refused(
    auth: httpx.AsyncClient, fresh: Cluster
) -> None:
    from estore.kit.identity import InternalIdentity

    body = await register(auth)
    caller = Caller(user_id=body["user"]["id"], email=ALICE["email"], roles=frozenset({Role.ADMIN}))
    forger = InternalIdentity(b"x" * 32, fresh.infras["auth"].clock, 60)
    response = await auth.get("/api/v1/auth/me", headers={CALLER_HEADER: forger.sign(caller)})
    assert response.status_code == 401
    genuine = fresh.infras["auth"].internal_identity.sign(caller)
    assert (await auth.get("/api/v1/auth/me", headers={CALLER_HEADER: genuine})).status_code == 200


async def test_customers_cannot_read_other_accounts(auth: httpx.AsyncClient) -> None:
    alice = await register(auth)
    bob = await register(auth, email="bob@example.com", name="Bob")
    response = await auth.get(
        f"/api/v1/users/{alice['user']['id']}",
        headers={"Authorization": f"Bearer {bob['access_token']}"},
    )
    assert response.status_code == 403


GRAPHQL_REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) { accessToken user { id email roles } }
}"""


async def graphql(
    auth: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, token: str = ""
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await auth.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_graphql_register_and_me(auth: httpx.AsyncClient) -> None:
    registered = await graphql(auth, GRAPHQL_REGISTER, {"input": ALICE})
    user = registered["data"]["register"]["user"]
    assert user["roles"] == ["CUSTOMER"]
    token = registered["data"]["register"]["accessToken"]
    me = await graphql(auth, "{ me { id name email } }", token=token)
    assert me["data"]["me"] == {"id": user["id"], "name": "Alice", "email": ALICE["email"]}
    anonymous = await graphql(auth, "{ me { id } }")
    assert anonymous["data"]["me"] is None


async def test_graphql_register_and_login_show_the_new_owner_their_email(
    auth: httpx.AsyncClient,
) -> None:
    registered = await graphql(auth, GRAPHQL_REGISTER, {"input": ALICE})
    assert registered["data"]["register"]["user"]["email"] == ALICE["email"]
    login = """mutation($email: String!, $password: String!) {
      login(email: $email, password: $password) { user { email } }
    }"""
    logged_in = await graphql(auth, login, {"email": ALICE["email"], "password": ALICE["password"]})
    assert logged_in["data"]["login"]["user"]["email"] == ALICE["email"]


async def test_graphql_bad_input_says_what_is_wrong(auth: httpx.AsyncClient) -> None:
    body = await graphql(auth, GRAPHQL_REGISTER, {"input": {**ALICE, "password": "short"}})
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "password" in error["message"]


USER_ENTITIES = """query($r: [_Any!]!) {
  _entities(representations: $r) { ... on User { id name email roles } }
}"""


async def entities(
    auth: httpx.AsyncClient, user_id: str, headers: dict[str, str]
) -> dict[str, Any]:
    reps = {"r": [{"__typename": "User", "id": user_id}]}
    response = await auth.post(
        "/graphql", json={"query": USER_ENTITIES, "variables": reps}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_user_entities_answer_no_client_that_calls_auth_directly(
    auth: httpx.AsyncClient,
) -> None:
    alice = await register(auth)
    token = {"Authorization": f"Bearer {alice['access_token']}"}
    for headers in ({}, token, {CLIENT_HEADER: "c1.forged.c2ln"}):
        body = await entities(auth, alice["user"]["id"], headers)
        assert body["data"] is None, headers
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_user_entities_show_private_fields_only_to_the_owner_and_staff(
    auth: httpx.AsyncClient, fresh: Cluster
) -> None:
    alice = await register(auth)
    user_id = alice["user"]["id"]
    public = {"id": user_id, "name": "Alice", "email": None, "roles": None}
    anonymous = await entities(auth, user_id, as_gateway(fresh))
    assert anonymous["data"]["_entities"] == [public]
    someone_else = await entities(auth, user_id, as_caller(fresh, BOB))
    assert someone_else["data"]["_entities"] == [public]
    owner = Caller(user_id=user_id, email=ALICE["email"], roles=frozenset({Role.CUSTOMER}))
    private = {**public, "email": ALICE["email"], "roles": ["CUSTOMER"]}
    for who in (owner, SUPPORT, ADMIN):
        seen = await entities(auth, user_id, as_caller(fresh, who))
        assert seen["data"]["_entities"] == [private], who.user_id


async def test_health_ready_and_metrics(auth: httpx.AsyncClient) -> None:
    assert (await auth.get("/health")).json() == {"status": "ok", "service": "auth"}
    ready = await auth.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["mongo"] == "up"
    await auth.get("/api/v1/users/nobody")
    metrics = (await auth.get("/metrics")).text
    assert (
        'estore_http_requests_total{method="GET",route="/api/v1/users/{user_id}",status="401"}'
        in metrics
    )


@pytest.mark.parametrize("header", ["X-Forwarded-For", "X-Estore-Client"])
async def test_a_client_cannot_dodge_the_per_client_limit_with_made_up_addresses(
    auth: httpx.AsyncClient, header: str
) -> None:
    # Each attempt names another account (so the per-account limit never bites) and claims
    # another address; only the gateway's signed header may name a client, so all count here.
    statuses = []
    for n in range(31):
        response = await auth.post(
            "/api/v1/auth/login",
            json={"email": f"nobody{n}@example.com", "password": "guess"},
            headers={header: f"10.0.{n // 250}.{n % 250}"},
        )
        statuses.append(response.status_code)
    assert statuses == [401] * 30 + [429]


async def test_the_address_the_gateway_signs_is_the_one_limited(
    auth: httpx.AsyncClient, fresh: Cluster
) -> None:
    identity = fresh.infras["auth"].internal_identity
    wrong = {"email": "nobody@example.com", "password": "guess"}
    for n in range(30):
        client = {"X-Estore-Client": identity.sign_client("203.0.113.7")}
        other = {"email": f"someone{n}@example.com", "password": "guess"}
        assert (
            await auth.post("/api/v1/auth/login", json=other, headers=client)
        ).status_code == 401
    blocked = await auth.post(
        "/api/v1/auth/login",
        json=wrong,
        headers={"X-Estore-Client": identity.sign_client("203.0.113.7")},
    )
    elsewhere = await auth.post(
        "/api/v1/auth/login",
        json=wrong,
        headers={"X-Estore-Client": identity.sign_client("198.51.100.9")},
    )
    assert (blocked.status_code, elsewhere.status_code) == (429, 401)
