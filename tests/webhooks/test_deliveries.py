"""A real local receiver hears signed events; a receiver that was down gets them once it is up."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time

import aiohttp
import pytest
from aiohttp import web

from contactcenter.contact import ChannelKind
from contactcenter.pipeline.run import ingest
from contactcenter.web.auth import create_api_token
from contactcenter.webhooks.worker import WebhookWorker
from tests.factories import make_inbound, settings_with
from tests.polling import eventually
from tests.web.workspace_helpers import add_agent, form_token, sign_in

TOLERANCE_SECONDS = 300


def verify(secret: str, header: str, body: bytes, now: float) -> bool:
    """The receiver's recipe of docs/webhooks.md, written from the document, not from the hub's code."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    if "t" not in parts or "v1" not in parts or not parts["t"].isdigit():
        return False
    if abs(now - int(parts["t"])) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


class Receiver:
    """An aiohttp server on loopback that keeps every verified event by id."""

    def __init__(self, secret: str = ""):
        self.secret = secret
        self.events: list[dict] = []
        self.refused = 0
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify(self.secret, request.headers.get("X-Contactcenter-Signature", ""), body, time.time()):
            self.refused += 1
            return web.Response(status=400)
        event = json.loads(body)
        if all(seen["id"] != event["id"] for seen in self.events):  # a receiver deduplicates by event id
            self.events.append(event)
        return web.Response(status=204)

    async def start(self, port: int) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def delivered(worker: WebhookWorker, http: aiohttp.ClientSession, condition) -> bool:
    """One round of the worker, then whether the receiver has what the test waits for."""
    await worker.deliver_due(http)
    return condition()


@pytest.fixture
def settings(settings):
    return settings_with(settings, outbox={"backoff_base_seconds": 0.05, "backoff_max_seconds": 0.2})


@pytest.fixture
async def receiver():
    receiver = Receiver()
    yield receiver
    await receiver.stop()


async def subscribe(client, auth, url: str, events: list[str]) -> dict:
    response = await client.post("/api/v1/webhooks", json={"url": url, "events": events}, headers=auth)
    assert response.status == 201, await response.text()
    return await response.json()


async def test_a_new_contact_reaches_the_receiver_signed(client, hub, auth, receiver):
    port = free_port()
    await receiver.start(port)
    sub = await subscribe(client, auth, f"http://127.0.0.1:{port}/hook", ["ticket.created"])
    receiver.secret = sub["secret"]
    result = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email="erin@example.com", subject="Hello", text="Where is it?"))
    worker = WebhookWorker(hub)
    async with aiohttp.ClientSession() as http:
        await eventually(lambda: delivered(worker, http, lambda: receiver.events), what="the signed ticket.created")
    assert receiver.refused == 0
    assert [(e["type"], e["data"]["ticket_id"]) for e in receiver.events] == [("ticket.created", result.ticket_id)]
    attempts = await (await client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=auth)).json()
    assert [(a["event"], a["status_code"], a["error"]) for a in attempts["items"]] == [("ticket.created", 204, "")]


async def test_a_receiver_with_another_secret_refuses_the_signature(client, hub, auth, receiver):
    port = free_port()
    await receiver.start(port)
    sub = await subscribe(client, auth, f"http://127.0.0.1:{port}/hook", ["ticket.created"])
    receiver.secret = sub["secret"] + "x"
    await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email="erin@example.com", text="Hi"))
    async with aiohttp.ClientSession() as http:
        await WebhookWorker(hub).deliver_due(http)
    assert receiver.refused == 1 and receiver.events == []
    attempts = await (await client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=auth)).json()
    assert [(a["status_code"], a["error"], a["delivery_status"]) for a in attempts["items"]] == [(400, "HTTP 400", "pending")]


async def test_a_receiver_that_was_down_gets_each_event_once_when_it_is_up(client, hub, auth, receiver):
    port = free_port()
    sub = await subscribe(client, auth, f"http://127.0.0.1:{port}/hook", ["ticket.created", "interaction.created"])
    receiver.secret = sub["secret"]
    contact = make_inbound(channel=ChannelKind.EMAIL, email="erin@example.com", subject="Down", text="Is anyone there?")
    await ingest(hub, contact)
    await ingest(hub, contact)  # the provider's retry: one contact, so no new events
    worker = WebhookWorker(hub)
    async with aiohttp.ClientSession() as http:
        assert await worker.deliver_due(http) == 2
        down = await (await client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=auth)).json()
        assert len(down["items"]) == 2 and all(a["status_code"] is None and a["error"] for a in down["items"])
        await receiver.start(port)
        await eventually(lambda: delivered(worker, http, lambda: len(receiver.events) == 2), what="both events after the receiver came up")
        for _ in range(3):
            await worker.deliver_due(http)
    assert sorted(e["type"] for e in receiver.events) == ["interaction.created", "ticket.created"]
    attempts = await (await client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=auth)).json()
    answered = [a for a in attempts["items"] if a["status_code"] == 204]
    assert sorted(a["event_id"] for a in answered) == sorted(e["id"] for e in receiver.events)  # once per event id


async def test_a_subscription_that_keeps_failing_is_paused_until_resumed(client, hub, auth, receiver):
    port = free_port()
    sub = await subscribe(client, auth, f"http://127.0.0.1:{port}/hook", ["ticket.created"])
    receiver.secret = sub["secret"]
    for n in range(10):
        await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email=f"p{n}@example.com", text="Hi"))
    worker = WebhookWorker(hub)
    async with aiohttp.ClientSession() as http:
        await worker.deliver_due(http)
        listed = await (await client.get("/api/v1/webhooks", headers=auth)).json()
        assert [s["status"] for s in listed["items"]] == ["paused"]
        await receiver.start(port)
        assert await worker.deliver_due(http) == 0  # nothing goes to a paused subscription
        resumed = await client.post(f"/api/v1/webhooks/{sub['id']}/resume", headers=auth)
        assert (await resumed.json())["status"] == "active"
        await eventually(lambda: delivered(worker, http, lambda: len(receiver.events) == 10), what="the backlog after resuming")


async def test_bad_subscriptions_are_refused_and_agents_may_not_subscribe(client, hub, auth):
    bad = await client.post("/api/v1/webhooks", json={"url": "ftp://x", "events": ["ticket.exploded"]}, headers=auth)
    assert bad.status == 400
    assert set((await bad.json())["error"]["fields"]) == {"url", "events"}
    async with hub.sessions() as session, session.begin():
        agent_token = await create_api_token(session, "agent", "agent")
    refused = await client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["ticket.created"]},
                                headers={"Authorization": f"Bearer {agent_token}"})
    assert refused.status == 403
    assert (await client.delete("/api/v1/webhooks/99", headers=auth)).status == 404


async def test_an_agent_change_and_a_reply_are_heard_by_their_subscribers_only(client, hub, auth, receiver):
    port = free_port()
    await receiver.start(port)
    sub = await subscribe(client, auth, f"http://127.0.0.1:{port}/hook", ["ticket.updated", "interaction.created"])
    receiver.secret = sub["secret"]
    result = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email="erin@example.com", text="Hi"))
    changed = await client.patch(f"/api/v1/tickets/{result.ticket_id}", json={"priority": 4}, headers=auth)
    assert changed.status == 200
    replied = await client.post(f"/api/v1/tickets/{result.ticket_id}/replies", json={"text": "On it."}, headers=auth)
    assert replied.status == 201, await replied.text()
    worker = WebhookWorker(hub)
    async with aiohttp.ClientSession() as http:
        await eventually(lambda: delivered(worker, http, lambda: len(receiver.events) == 3), what="three events")
    assert sorted(e["type"] for e in receiver.events) == ["interaction.created", "interaction.created", "ticket.updated"]
    assert all(e["data"]["ticket_id"] == result.ticket_id for e in receiver.events)


async def test_admins_see_a_paused_webhook_and_resume_it_from_the_tokens_page(client, hub, auth):
    sub = await subscribe(client, auth, f"http://127.0.0.1:{free_port()}/hook", ["ticket.created"])
    for n in range(10):
        await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email=f"q{n}@example.com", text="Hi"))
    async with aiohttp.ClientSession() as http:
        await WebhookWorker(hub).deliver_due(http)
    await add_agent(hub, email="root@example.com", name="Root", role="admin")
    await sign_in(client, email="root@example.com")
    page = await (await client.get("/admin/tokens")).text()
    assert "is paused" in page and f'data-webhook="{sub["id"]}" class="warning"' in page
    token = await form_token(client, "/admin/tokens")
    assert (await client.post(f"/admin/webhooks/{sub['id']}/resume", data={}, allow_redirects=False)).status == 403
    resumed = await client.post(f"/admin/webhooks/{sub['id']}/resume", data={"csrf_token": token}, allow_redirects=False)
    assert resumed.status == 303
    page = await (await client.get("/admin/tokens")).text()
    assert "is paused" not in page
    audit = await (await client.get("/api/v1/audit?entity=webhooksubscription", headers=auth)).json()
    assert [e["action"] for e in audit["items"]] == ["webhook.resumed", "webhook.created"]
