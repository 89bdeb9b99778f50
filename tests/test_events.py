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
            # A burst crosses whole and in order, however it is packed into NOTIFY
            # payloads; an event too large for one keeps its kind.
            burst = [Event("interaction.created", {"interaction_id": n, "note": "x" * 40}) for n in range(300)]
            burst.insert(150, Event("ticket.updated", {"ticket_id": 1, "text": "y" * 9000}))
            one.bus.publish_all(burst)
            heard: list[Event] = []
            while len(heard) < len(burst):
                event = await asyncio.wait_for(received.get(), 15)
                if event.kind != "ticket.created":  # the tries above, still arriving
                    heard.append(event)
            assert [e.data.get("interaction_id") for e in heard] == [e.data.get("interaction_id") for e in burst]
            assert heard[150].kind == "ticket.updated" and heard[150].data == {}
            assert heard[0].data == {"interaction_id": 0, "note": "x" * 40}
    finally:
        for task in bridges:
            task.cancel()
        await asyncio.gather(*bridges, return_exceptions=True)
        await one.close()
        await two.close()
