"""The outbox: retries with backoff, records every attempt, survives kill -9."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import ClassVar

from sqlalchemy import select, update

from contactcenter.contact import ChannelKind, OutboundMessage, SendReceipt
from contactcenter.db.models import Interaction, OutboxMessage, utcnow
from contactcenter.errors import ChannelSendError
from contactcenter.outbound.outbox import OutboxWorker, backoff
from contactcenter.web.auth import create_api_token
from tests.factories import ALICE_PHONE, settings_with
from tests.hubprocess import HubProcess
from tests.polling import eventually
from tests.sink_channel import Sink, SinkChannel


async def queue_reply(client, auth, text: str = "We are on it.") -> dict:
    created = await client.post("/api/v1/contacts", json={"phone": ALICE_PHONE, "message": "help"}, headers=auth)
    ticket_id = (await created.json())["ticket_id"]
    reply = await client.post(f"/api/v1/tickets/{ticket_id}/replies", json={"text": text}, headers=auth)
    assert reply.status == 201, await reply.text()
    return await reply.json()


async def outbox_row(hub) -> OutboxMessage:
    async with hub.sessions() as session:
        return await session.scalar(select(OutboxMessage))


async def test_reply_is_retried_with_backoff_then_delivered(aiohttp_server, client, auth, hub):
    hub.settings = settings_with(hub.settings, outbox={"backoff_base_seconds": 0.0})
    sink = Sink()
    server = await aiohttp_server(sink.app())
    hub.channels["sms"] = SinkChannel(str(server.make_url("/")))
    reply = await queue_reply(client, auth)
    worker = OutboxWorker(hub)

    sink.failing = True
    await worker.deliver_due()
    await worker.deliver_due()
    row = await outbox_row(hub)
    assert (row.status, row.attempts, [a["result"] for a in row.attempt_log]) == ("pending", 2, ["failed", "failed"])

    sink.failing = False
    await worker.deliver_due()
    row = await outbox_row(hub)
    assert (row.status, row.attempts, row.provider_id) == ("sent", 3, "SINK1")
    assert [a["text"] for a in sink.delivered] == ["We are on it."]
    async with hub.sessions() as session:
        interaction = await session.get(Interaction, reply["id"])
    assert interaction.delivery_status == "delivered" and interaction.provider_id == "SINK1"


async def test_gives_up_after_max_attempts_and_on_permanent_errors(aiohttp_server, client, auth, hub):
    hub.settings = settings_with(hub.settings, outbox={"backoff_base_seconds": 0.0, "max_attempts": 2})
    sink = Sink()
    sink.failing = True
    hub.channels["sms"] = SinkChannel(str((await aiohttp_server(sink.app())).make_url("/")))
    reply = await queue_reply(client, auth)
    worker = OutboxWorker(hub)
    for _ in range(4):
        await worker.deliver_due()
    row = await outbox_row(hub)
    assert (row.status, row.attempts, len(sink.attempts)) == ("failed", 2, 2)
    async with hub.sessions() as session:
        assert (await session.get(Interaction, reply["id"])).delivery_status == "failed"


async def test_backoff_grows_and_is_capped(settings):
    delays = [backoff(settings.outbox, n).total_seconds() for n in range(1, 20)]
    base, cap = settings.outbox.backoff_base_seconds, settings.outbox.backoff_max_seconds
    assert base * 0.75 <= delays[0] <= base * 1.25
    assert delays[3] > delays[0]
    assert max(delays) <= cap * 1.25


async def test_a_send_cut_short_is_offered_again_after_its_lease(aiohttp_server, client, auth, hub):
    sink = Sink()
    hub.channels["sms"] = SinkChannel(str((await aiohttp_server(sink.app())).make_url("/")))
    await queue_reply(client, auth)
    # A worker claimed the row and died before recording anything.
    async with hub.sessions() as session, session.begin():
        await session.execute(update(OutboxMessage).values(status="sending", attempts=1, lease_until=utcnow() + timedelta(minutes=5)))
    await OutboxWorker(hub).deliver_due()
    assert sink.attempts == []  # its lease still runs: not offered twice
    async with hub.sessions() as session, session.begin():
        await session.execute(update(OutboxMessage).values(lease_until=utcnow() - timedelta(seconds=1)))
    await OutboxWorker(hub).deliver_due()
    assert len(sink.delivered) == 1 and (await outbox_row(hub)).status == "sent"


async def test_messages_queued_before_kill_9_are_sent_once_after_restart(aiohttp_server, database_url, tmp_path):
    sink = Sink()
    sink.failing = True
    server = await aiohttp_server(sink.app())
    hub_process = HubProcess(
        tmp_path,
        database_url,
        {"outbox": {"backoff_base_seconds": 0.1, "backoff_max_seconds": 0.5, "poll_seconds": 0.1, "lease_seconds": 1.0}, "tickets": {"auto_acknowledge": False}},
        module="tests.sink_channel",
        env={"CC_TEST_SINK_URL": str(server.make_url("/"))},
    )
    import aiohttp

    from contactcenter.hub import Hub
    from contactcenter.settings import load_settings

    observer = Hub.create(load_settings(environ={}), database_url)
    try:
        async with hub_process, aiohttp.ClientSession(hub_process.url) as http:
            async with observer.sessions() as session, session.begin():
                auth = {"Authorization": f"Bearer {await create_api_token(session, 't', 'admin')}"}
            for i in range(5):
                created = await (await http.post("/api/v1/contacts", json={"phone": f"+1415555010{i}", "message": "hi"}, headers=auth)).json()
                reply = await http.post(f"/api/v1/tickets/{created['ticket_id']}/replies", json={"text": f"reply {i}"}, headers=auth)
                assert reply.status == 201
            # Every message has been tried (and refused) at least once: they are queued, not lost.
            await eventually(lambda: len({a["text"] for a in sink.attempts}) == 5, what="first attempts")
            await hub_process.kill()

            sink.failing = False
            await hub_process.start()

            async def all_sent() -> bool:
                async with observer.sessions() as session:
                    statuses = list(await session.scalars(select(OutboxMessage.status)))
                return statuses == ["sent"] * 5

            await eventually(all_sent, what="all five sent after restart")
            assert Counter(a["text"] for a in sink.delivered) == Counter(f"reply {i}" for i in range(5))
    finally:
        await observer.close()



async def test_a_message_sent_just_before_a_kill_is_not_sent_again(aiohttp_server, client, auth, hub, monkeypatch):
    """Killed after the provider took the message: the next process neither sends it again nor loses its record.

    On SQLite the record is the outbox journal's line, which the killed process
    never applied; the next claim applies it first. On PostgreSQL it is the
    transaction written right after the send.
    """
    sink = Sink()
    hub.channels["sms"] = SinkChannel(str((await aiohttp_server(sink.app())).make_url("/")))
    await queue_reply(client, auth)
    killed = OutboxWorker(hub)

    async def killed_before_applying() -> None:
        pass

    monkeypatch.setattr(killed, "_apply_journal", killed_before_applying)
    await killed.deliver_due()
    assert len(sink.delivered) == 1
    async with hub.sessions() as session, session.begin():
        await session.execute(update(OutboxMessage).values(lease_until=utcnow() - timedelta(seconds=1)))  # its lease ran out

    await OutboxWorker(hub).deliver_due()  # the next process
    row = await outbox_row(hub)
    assert (row.status, row.provider_id, len(sink.delivered)) == ("sent", "SINK1", 1)
    assert [a["result"] for a in row.attempt_log] == ["sent"]


class RefusedRelay:
    """Sends as the email channel does: aiosmtplib connects through `asyncio.wait_for`.

    The test decides when the connection fails (`refuse`), so that the failure
    and the worker's cancel land in one loop iteration.
    """

    kind: ClassVar[ChannelKind] = ChannelKind.SMS
    can_send: ClassVar[bool] = True

    def __init__(self) -> None:
        self.connecting = asyncio.Event()
        self.connection: asyncio.Future[None] | None = None

    def setup(self, app) -> None:
        pass

    async def send(self, message: OutboundMessage) -> SendReceipt:
        self.connection = asyncio.get_running_loop().create_future()
        self.connecting.set()
        try:
            await asyncio.wait_for(self.connection, 60)
        except OSError as exc:
            raise ChannelSendError(f"relay unreachable: {exc}", retryable=True) from exc
        raise AssertionError("the relay never accepts")

    def refuse(self) -> None:
        assert self.connection is not None
        self.connection.set_exception(ConnectionRefusedError(111, "Connect call failed"))


async def test_the_worker_stops_when_cancelled_as_a_send_fails(client, auth, hub):
    """On Python 3.11 `wait_for` then raises the send's error instead of CancelledError.

    The worker went on to its next pass and serve's cleanup, which awaits it,
    never ended: the hub did not stop after SIGTERM (events.stop_requested).
    """
    relay = hub.channels["sms"] = RefusedRelay()
    await queue_reply(client, auth)
    worker = asyncio.create_task(OutboxWorker(hub).run())
    try:
        await asyncio.wait_for(relay.connecting.wait(), 15)
        relay.refuse()
        worker.cancel()  # the same loop iteration: the worker has not seen the refusal yet
        done, _ = await asyncio.wait({worker}, timeout=15)
        assert done, "the cancelled outbox worker is still running"
        assert worker.cancelled()
    finally:
        worker.cancel()
    row = await outbox_row(hub)
    assert (row.status, [a["result"] for a in row.attempt_log]) == ("pending", ["failed"])  # the failure was recorded first
