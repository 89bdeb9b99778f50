"""Events reach every hub process that shares a PostgreSQL database."""

from __future__ import annotations

import asyncio


from contactcenter.events import Event, EventBus, PostgresEventBridge
from contactcenter.hub import Hub


async def test_in_process_subscribers_get_events_in_order():
    bus = EventBus()
    async with bus.subscribe() as queue:
        bus.publish_all([Event("a"), Event("b")])
        assert [(await queue.get()).kind for _ in range(2)] == ["a", "b"]


async def test_events_cross_processes_through_listen_notify(pg_database, settings):
    one, two = Hub.create(settings, pg_database), Hub.create(settings, pg_database)
    bridges = [asyncio.create_task(PostgresEventBridge(h.bus, h.engine).run()) for h in (one, two)]
    try:
        async with two.bus.subscribe() as received, one.bus.subscribe() as echoed:
            # The bridges connect in the background; publish until the other side hears.
            async def first_remote() -> Event:
                while True:
                    one.bus.publish(Event("ticket.created", {"ticket_id": 7}))
                    try:
                        return await asyncio.wait_for(received.get(), 0.2)
                    except TimeoutError:
                        continue

            event = await asyncio.wait_for(first_remote(), 15)
            assert (event.kind, event.data, bool(event.origin)) == ("ticket.created", {"ticket_id": 7}, True)
            # Process one does not get its own events back from PostgreSQL.
            while not echoed.empty():
                assert echoed.get_nowait().origin == ""
    finally:
        for task in bridges:
            task.cancel()
        await asyncio.gather(*bridges, return_exceptions=True)
        await one.close()
        await two.close()
