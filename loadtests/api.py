"""The storefront's public GraphQL API as the load run's staff uses it: staging before the run
and reading the invariants after it, outside Locust's statistics (plain `requests`)."""

from __future__ import annotations

from typing import Any

import requests

TIMEOUT_S = 30.0


class ApiError(RuntimeError):
    """The cluster refused or could not be reached; the message is one line for the console."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class Api:
    """One client of the gateway at `host`; `sign_in` keeps the token for later calls."""

    def __init__(self, host: str) -> None:
        self.host = host.rstrip("/")
        self._session = requests.Session()

    def call(self, name: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        body: dict[str, Any] = {"operationName": name, "query": query, "variables": variables or {}}
        try:
            response = self._session.post(f"{self.host}/graphql", json=body, timeout=TIMEOUT_S)
        except requests.ConnectionError:
            raise ApiError(f"cannot reach {self.host}: is the cluster running there?") from None
        except requests.Timeout:
            raise ApiError(f"{self.host} did not answer {name} within {TIMEOUT_S:g} s") from None
        try:
            payload = response.json()
        except ValueError:
            raise ApiError(
                f"{self.host} answered {name} with HTTP {response.status_code}, not GraphQL"
            ) from None
        errors = payload.get("errors") if isinstance(payload, dict) else None
        if errors:
            code = str((errors[0].get("extensions") or {}).get("code") or "")
            raise ApiError(f"{name}: {code or 'error'}: {errors[0].get('message')}", code.lower())
        return payload["data"]

    def sign_in(self, email: str, password: str) -> None:
        try:
            data = self.call("Login", LOGIN, {"email": email, "password": password})
        except ApiError as exc:
            raise ApiError(f"the sign-in of {email} at {self.host} was refused ({exc})") from None
        self._session.headers["Authorization"] = f"Bearer {data['login']['accessToken']}"


LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken user { id roles } }
}"""
