"""The gateway's own subscriptions: orderStatusChanged, fed by the order service's live notices.

The order service calls `bus.notify("order:status", {order_id, customer_id, status, reason,
at})` on every status change. One listener per gateway (the hub, on the process's
broadcaster) routes each notice to the subscriptions watching that order, so a thousand
sockets cost one Redis subscription. Notices are live, not durable: a subscriber sees the
changes made while it is subscribed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    execute,
    extend_schema,
    parse,
)
from graphql.execution.values import get_argument_values, get_variable_values

from estore.gateway.errors import CompositionError
from estore.kit.clock import Clock
from estore.kit.events import EventBus
from estore.kit.events.catalog import OrderStatusNotice
from estore.kit.identity import STAFF, Caller

log = logging.getLogger(__name__)

ORDER_STATUS_CHANNEL = OrderStatusNotice.NAME
ROOT_FIELD = "orderStatusChanged"
# The hub hands each notice on at once, so its own inbox fills only if the loop is starved;
# then it is cut off and listens again (these notices may be lost, the orders are not).
HUB_BACKLOG = 1000

SUBSCRIPTION_SDL = '''
"""A change of an order's status, pushed as it happens."""
type OrderStatusEvent {
  orderId: ID!
  customerId: ID!
  "The order's new status, as the order service names it (e.g. confirmed, cancelled)."
  status: String!
  reason: String
  "When the change happened, ISO-8601 UTC."
  at: String!
}

type Subscription {
  "Status changes of one order: its owner, support and admins may watch."
  orderStatusChanged(orderId: ID!): OrderStatusEvent!
}

extend schema { subscription: Subscription }
'''


def with_subscriptions(api_schema: GraphQLSchema) -> GraphQLSchema:
    """The composed API schema plus the gateway's own Subscription type."""
    try:
        return extend_schema(api_schema, parse(SUBSCRIPTION_SDL))
    except (GraphQLError, TypeError) as exc:
        raise CompositionError(
            f"the gateway's Subscription/OrderStatusEvent types clash with a subgraph's: {exc}"
        ) from exc


def event_of(message: Mapping[str, Any]) -> dict[str, Any]:
    """A notice from the order service as the OrderStatusEvent it becomes."""
    return {
        "orderId": str(message.get("order_id", "")),
        "customerId": str(message.get("customer_id", "")),
        "status": str(message.get("status", "")),
        "reason": message.get("reason"),
        "at": str(message.get("at", "")),
    }


def may_watch(caller: Caller, message: Mapping[str, Any]) -> bool:
    return str(message.get("customer_id")) == caller.user_id or bool(caller.roles & STAFF)


class OrderStatusHub:
    """One listener on `order:status`, fanning notices out to per-subscription queues."""

    def __init__(self, bus: EventBus, clock: Clock, queue_size: int = 100) -> None:
        self._bus = bus
        self._clock = clock
        self._queue_size = queue_size
        self._watchers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._listening = asyncio.Event()
        self._attempted = asyncio.Event()

    async def start(self) -> None:
        """Listen from now on; returns once subscribed, so no later notice is missed.

        With Redis away it returns after the first failed attempt and keeps retrying in the
        background: the gateway serves queries meanwhile, and `listening` tells readiness.
        """
        self._attempted = asyncio.Event()
        self._task = asyncio.create_task(self._run(self._listening))
        waiter = asyncio.create_task(self._attempted.wait())
        try:
            await asyncio.wait({self._task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            await asyncio.gather(waiter, return_exceptions=True)

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def watching(self, order_id: str) -> int:
        return len(self._watchers.get(order_id, ()))

    async def until_watching(self, order_id: str, count: int) -> None:
        """Wait until `count` subscriptions watch the order (tests and probes need this)."""
        while self.watching(order_id) != count:
            self._changed.clear()
            await self._changed.wait()

    @asynccontextmanager
    async def watch(self, order_id: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._queue_size)
        self._watchers.setdefault(order_id, set()).add(queue)
        self._changed.set()
        try:
            yield queue
        finally:
            queues = self._watchers.get(order_id, set())
            queues.discard(queue)
            if not queues:
                self._watchers.pop(order_id, None)
            self._changed.set()

    def dispatch(self, message: Any) -> int:
        """Hand a notice to every watcher of its order; returns how many got it."""
        if not isinstance(message, dict):
            log.warning("order:status notice is not an object: %r", message)
            return 0
        delivered = 0
        for queue in list(self._watchers.get(str(message.get("order_id")), ())):
            try:
                queue.put_nowait(message)
                delivered += 1
            except asyncio.QueueFull:
                # A watcher that cannot keep up loses notices rather than stalling the others.
                log.warning("order:status watcher is behind; notice dropped")
        return delivered

    async def _run(self, listening: asyncio.Event) -> None:
        failures = 0
        while True:
            try:
                async with self._bus.listen(ORDER_STATUS_CHANNEL, HUB_BACKLOG) as notices:
                    listening.set()
                    self._attempted.set()
                    failures = 0
                    async for notice in notices:
                        self.dispatch(notice.message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                listening.clear()
                self._attempted.set()
                failures += 1
                log.warning("order:status listener failed (%s); listening again", exc)
                await self._clock.sleep(min(30.0, 0.5 * 2 ** min(failures, 6)))


@dataclass(frozen=True)
class Subscription:
    """A validated orderStatusChanged operation, ready to run once per notice."""

    schema: GraphQLSchema
    document: DocumentNode
    operation_name: str | None
    variables: dict[str, Any]
    order_id: str

    def result(self, message: Mapping[str, Any]) -> dict[str, Any]:
        outcome = execute(
            self.schema,
            self.document,
            root_value={ROOT_FIELD: event_of(message)},
            variable_values=self.variables,
            operation_name=self.operation_name,
        )
        assert isinstance(outcome, ExecutionResult)  # the root value resolves synchronously
        return dict(outcome.formatted)


def subscription_of(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> Subscription | list[GraphQLError]:
    """The Subscription a validated subscription operation asks for, or why it cannot run."""
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), dict(variables or {})
    )
    if isinstance(coerced, list):
        return coerced
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    node = _root_field(operation.selection_set, fragments)
    subscription_type = schema.subscription_type
    if node is None or subscription_type is None or node.name.value != ROOT_FIELD:
        return [GraphQLError(f"Only the {ROOT_FIELD} subscription is served")]
    arguments = get_argument_values(subscription_type.fields[ROOT_FIELD], node, coerced)
    return Subscription(
        schema, document, operation_name, dict(coerced.coerced), str(arguments["orderId"])
    )


def _root_field(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> FieldNode | None:
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            return node
        inner = (
            node.selection_set
            if isinstance(node, InlineFragmentNode)
            else fragments[node.name.value].selection_set  # type: ignore[attr-defined]
        )
        found = _root_field(inner, fragments)
        if found is not None:
            return found
    return None
