"""Stores: one world of fakes per process, and listeners that cannot starve commands."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from estore.kit.clock import FakeClock
from estore.kit.events import EventBus
from estore.kit.stores import MAX_REDIS_CONNECTIONS, Stores


async def test_services_in_one_process_share_one_world_of_fakes() -> None:
    stores = Stores()
    await stores.database(None, "auth_db")["users"].insert_one({"_id": "u1"})
    await stores.redis(None).set("seen", "yes")
    assert await stores.mongo(None)["auth_db"]["users"].find_one({"_id": "u1"}) == {"_id": "u1"}
    await stores.reset()
    assert await stores.redis(None).get("seen") is None
    await stores.close()


async def test_more_listeners_than_the_command_pool_holds_leave_commands_working() -> None:
    stores = Stores()
    redis = stores.redis(None)
    bus = EventBus(
        "ticket",
        redis,
        stores.database(None, "ticket_db"),
        FakeClock(),
        broadcaster=stores.broadcaster(None),
    )
    listeners = MAX_REDIS_CONNECTIONS + 20
    async with AsyncExitStack() as stack:
        streams = [
            await stack.enter_async_context(bus.listen(f"ticket:{n}")) for n in range(listeners)
        ]
        # All listeners share one connection, so plain commands still get one.
        await redis.set("still", "working")
        assert await redis.get("still") == b"working"
        assert await bus.notify("ticket:7", {"body": "hello"}) == 1
        notice = await asyncio.wait_for(anext(streams[7]), timeout=5)
        assert notice.message == {"body": "hello"}
    await stores.close()
