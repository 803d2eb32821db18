"""Service clients: one per dependency, with a deadline, retries, a circuit breaker and metrics.

A call goes: build the request (outgoing headers from the providers) -> deadline over the
whole call -> attempt: breaker admission, faults, transport -> on a retryable failure of an
idempotent call, back off with seeded jitter on the injected clock and try again while the
deadline leaves room. 4xx answers are returned to the caller; 5xx answers, timeouts and
transport errors count against the breaker and surface as `DependencyError`s.

The client calls `transport.handle_async_request` itself rather than going through
`httpx.AsyncClient`: in-process, the AsyncClient layer (URL merging, cookies, auth, redirects,
reading the response back) costs more than the hop it wraps (benchmarks/bench_transport.py).
For the same reason the first attempt runs outside tenacity, whose per-call set-up costs
about 20 us; only a call that needs a retry enters the tenacity loop.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

from estore.kit.breaker import BreakerOpen, CircuitBreaker
from estore.kit.clients.errors import (
    CircuitOpenError,
    DependencyError,
    DependencyTimeout,
    DependencyUnavailable,
)
from estore.kit.clients.metrics import ClientMetrics
from estore.kit.clients.policy import FullJitter, RetryPolicy, StopBeforeDeadline, is_retryable
from estore.kit.clock import Clock, TimeoutScope, timeout_scope
from estore.kit.faults import Faults
from estore.kit.settings import ServiceSettings

HeaderProvider = Callable[[], Mapping[str, str]]
HeaderInput = Mapping[str, str] | Sequence[tuple[str, str]]
QueryValue = str | int | float | bool | None
QueryInput = Mapping[str, QueryValue | Sequence[QueryValue]]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUSES = frozenset({502, 503, 504})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
OUTCOMES = ("success", "client_error", "error", "unavailable", "timeout", "circuit_open")
DEFAULT_DEADLINE_SECONDS: float = ServiceSettings.model_fields["request_deadline_seconds"].default


class ServiceClient:
    """Calls one dependency: `await client.get("/api/v1/products/42")`."""

    def __init__(
        self,
        name: str,
        base_url: str,
        transport: httpx.AsyncBaseTransport,
        *,
        clock: Clock,
        breaker: CircuitBreaker | None = None,
        faults: Faults | None = None,
        metrics: ClientMetrics | None = None,
        header_providers: Sequence[HeaderProvider] = (),
        deadline: float = DEFAULT_DEADLINE_SECONDS,
        retry: RetryPolicy | None = None,
        seed: int = 0,
    ) -> None:
        base = httpx.URL(base_url)
        self.name = name
        self.base_url = str(base).rstrip("/")
        self.transport = transport
        self.breaker = breaker or CircuitBreaker(name, clock)
        self.faults = faults
        self.deadline = deadline
        self.retry = retry or RetryPolicy()
        self._clock = clock
        self._providers = tuple(header_providers)
        self._base_headers = {"host": base.netloc.decode("ascii"), "accept": "application/json"}
        self._rng = random.Random(f"{seed}:{name}")
        # Parsing a URL is the costliest part of building a request; services call the same
        # few paths over and over, and httpx.URL is immutable, so parsed URLs are shared.
        self._parse_url = functools.lru_cache(maxsize=2048)(httpx.URL)
        metrics = metrics or ClientMetrics(CollectorRegistry(auto_describe=True))
        metrics.track(self.breaker)
        # Resolving label children costs more than counting; resolve each once. Doing it
        # up front also shows every outcome, at zero, before the first call.
        self._outcomes = {
            outcome: metrics.requests.labels(dependency=name, outcome=outcome)
            for outcome in OUTCOMES
        }
        self._observe = metrics.seconds.labels(dependency=name).observe

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: QueryInput | None = None,
        headers: HeaderInput | None = None,
        idempotent: bool | None = None,
        deadline: float | None = None,
    ) -> httpx.Response:
        """Call the dependency; returns its answer when below 500, else raises.

        `idempotent` defaults to the method's nature, or True when `headers` carry an
        `Idempotency-Key`; only idempotent calls are retried. `deadline` (seconds)
        bounds the whole call, retries and backoff included.
        """
        method = method.upper()
        request = self.build_request(method, path, json=json, params=params, headers=headers)
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS or _has_idempotency_key(headers)
        budget = self.deadline if deadline is None else deadline
        started = self._clock.monotonic()
        try:
            response = await self._within_deadline(request, idempotent, budget)
        except DependencyError as exc:
            self._record(exc.outcome, started)
            raise
        self._record("success" if response.status_code < 400 else "client_error", started)
        return response

    def build_request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: QueryInput | None = None,
        headers: HeaderInput | None = None,
    ) -> httpx.Request:
        """The request `request()` would send, with every header the providers add."""
        url = self.base_url + path
        if params:
            url += ("&" if "?" in path else "?") + str(httpx.QueryParams(params))
        body = b"" if json is None else _dump_json(json)
        pairs = self._header_pairs(method, body, json is not None, headers)
        # A prepared stream skips httpx's body encoding; Host and Content-Length are set above.
        return httpx.Request(
            method, self._parse_url(url), headers=pairs, stream=httpx.ByteStream(body)
        )

    async def aclose(self) -> None:
        await self.transport.aclose()

    def _header_pairs(
        self, method: str, body: bytes, is_json: bool, extra: HeaderInput | None
    ) -> list[tuple[str, str]]:
        merged = dict(self._base_headers)
        for provider in self._providers:
            for key, value in provider().items():
                merged[key.lower()] = value
        if body or method in _BODY_METHODS:
            merged["content-length"] = str(len(body))
        if is_json:
            merged["content-type"] = "application/json"
        pairs = list(merged.items())
        if extra:
            # The caller's headers win; a list of pairs may repeat a name on purpose.
            items = extra.items() if isinstance(extra, Mapping) else extra
            own = [(key.lower(), value) for key, value in items]
            names = {key for key, _ in own}
            pairs = [pair for pair in pairs if pair[0] not in names] + own
        return pairs

    async def _within_deadline(
        self, request: httpx.Request, idempotent: bool, budget: float
    ) -> httpx.Response:
        scope = timeout_scope(self._clock, budget)
        try:
            async with scope:
                return await self._attempts(request, idempotent, budget, scope)
        except TimeoutError:
            if not scope.expired():
                raise
            raise DependencyTimeout(
                self.name, f"{request.method} {request.url.path}: no answer within {budget:g}s"
            ) from None

    async def _attempts(
        self, request: httpx.Request, idempotent: bool, budget: float, deadline: TimeoutScope
    ) -> httpx.Response:
        deadline_at = self._clock.monotonic() + budget
        try:
            return await self._attempt(request, deadline)
        except DependencyError as exc:
            if not (idempotent and exc.retryable and self.retry.attempts > 1):
                raise
            first = exc
            first_failure: DependencyError | None = exc
        try:
            async for attempt in self._retrying(deadline_at):
                with attempt:
                    if first_failure is not None:
                        # Replaying the first attempt's failure lets tenacity own every
                        # decision about the retries: whether, how long to wait, when to stop.
                        failure, first_failure = first_failure, None
                        raise failure
                    return await self._attempt(request, deadline)
        except DependencyError as exc:
            # A retry the breaker refused was not sent, but the attempts before it were.
            exc.maybe_sent = exc.maybe_sent or first.maybe_sent
            raise
        raise AssertionError("tenacity ends by returning or re-raising")

    def _retrying(self, deadline_at: float) -> AsyncRetrying:
        policy = self.retry
        return AsyncRetrying(
            stop=stop_after_attempt(policy.attempts) | StopBeforeDeadline(self._clock, deadline_at),
            wait=FullJitter(policy.backoff, policy.max_backoff, self._rng),
            retry=retry_if_exception(is_retryable),
            sleep=self._clock.sleep,
            reraise=True,
        )

    async def _attempt(self, request: httpx.Request, deadline: TimeoutScope) -> httpx.Response:
        try:
            ticket = self.breaker.before_call()
        except BreakerOpen as exc:
            raise CircuitOpenError(self.name, "circuit open", retry_after=exc.retry_after) from None
        try:
            response = await self._send(request)
        except asyncio.CancelledError:
            # Our deadline ran out: the dependency did not answer in time, a failure. Any
            # other cancellation is the caller going away, which says nothing about it.
            if deadline.expired():
                self.breaker.on_failure(ticket)
            else:
                self.breaker.on_abandon(ticket)
            raise
        except httpx.TimeoutException as exc:
            self.breaker.on_failure(ticket)
            raise DependencyTimeout(self.name, f"attempt timed out: {exc}", retryable=True) from exc
        except httpx.TransportError as exc:
            self.breaker.on_failure(ticket)
            raise DependencyUnavailable(
                self.name, f"{type(exc).__name__}: {exc}", retryable=True
            ) from exc
        except BaseException:
            self.breaker.on_abandon(ticket)
            raise
        if response.status_code >= 500:
            self.breaker.on_failure(ticket)
            raise self._server_error(response)
        self.breaker.on_success(ticket)
        return response

    async def _send(self, request: httpx.Request) -> httpx.Response:
        if self.retry.attempt_timeout is None:
            return await self._exchange(request)
        scope = timeout_scope(self._clock, self.retry.attempt_timeout)
        try:
            async with scope:
                return await self._exchange(request)
        except TimeoutError:
            if not scope.expired():
                raise
            raise httpx.ReadTimeout("attempt timeout", request=request) from None

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        # Faults act inside the attempt, so its timeout cuts an injected hang as a real one.
        if self.faults is not None and self.faults.armed(self.name):
            injected = await self.faults.apply(self.name, request, self._clock, self.transport)
            if injected is not None:
                return injected
        response = await self.transport.handle_async_request(request)
        # Socket transports leave this to AsyncClient; raise_for_status and errors need it.
        response.request = request
        if not response.is_closed:
            # A socket transport streams the body: read it whole and give back the connection.
            try:
                await response.aread()
            finally:
                await response.aclose()
        if self.faults is not None and self.faults.armed(self.name):
            self.faults.after(self.name, request, self._clock)
        return response

    def _server_error(self, response: httpx.Response) -> DependencyError:
        status = response.status_code
        reason = f"{response.request.method} {response.request.url.path} answered {status}"
        if status in RETRYABLE_STATUSES:
            return DependencyUnavailable(
                self.name, reason, status, retryable=True, response=response
            )
        return DependencyError(self.name, reason, status, response=response)

    def _record(self, outcome: str, started: float) -> None:
        self._outcomes[outcome].inc()
        self._observe(self._clock.monotonic() - started)

    def __repr__(self) -> str:
        return f"ServiceClient({self.name!r}, {self.base_url!r})"


def _has_idempotency_key(headers: HeaderInput | None) -> bool:
    if not headers:
        return False
    names = headers.keys() if isinstance(headers, Mapping) else (name for name, _ in headers)
    return any(name.lower() == "idempotency-key" for name in names)


def _dump_json(value: Any) -> bytes:
    # The same compact, strict encoding httpx uses for `json=`.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
