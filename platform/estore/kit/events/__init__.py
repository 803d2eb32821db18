"""Durable domain events on Redis Streams (outbox, consumer groups) and live pub/sub notices.

Wiring: the cluster builds one `EventBus(service, redis, db, clock)` per service, the service
subscribes its handlers, and its app starts the bus on startup and stops it on shutdown.
"""

from estore.kit.events.broadcast import Broadcaster, Inbox, InboxClosed, Notification
from estore.kit.events.bus import EventBus, EventBusStats
from estore.kit.events.consumer import Handler, dead_letter_stream
from estore.kit.events.model import Backoff, Event

__all__ = [
    "Backoff",
    "Broadcaster",
    "Event",
    "EventBus",
    "EventBusStats",
    "Handler",
    "Inbox",
    "InboxClosed",
    "Notification",
    "dead_letter_stream",
]
