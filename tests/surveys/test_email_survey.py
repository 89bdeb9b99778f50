"""A resolved email ticket gets one survey mail; its one-click link opens the page that records the answer."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from contactcenter.actions import do_set_status
from contactcenter.contact import ChannelKind
from contactcenter.db.models import Interaction, Survey, Ticket, utcnow
from contactcenter.pipeline.run import ingest
from contactcenter.surveys.schedule import choose_skip_reason, send_due_surveys
from tests.factories import settings_with
from tests.mail import Relay, deliver_until
from tests.factories import make_inbound
from tests.web.workspace_helpers import csrf_token

LINK = re.compile(r"https?://[^\s\"<>]+/survey/([A-Za-z0-9_-]+)\?rating=(\d)")


@pytest.fixture
def relay():
    relay = Relay().start()
    yield relay
    relay.stop()


@pytest.fixture
def settings(settings, relay):
    return settings_with(settings, email={"relay_host": "127.0.0.1", "relay_port": relay.port, "relay_tls": "none"})


async def resolve(hub, ticket_id: int, status: str = "resolved", ago: timedelta = timedelta(0)) -> Ticket:
    """Move the ticket to `status` as if that happened `ago` (the survey timer then runs at the real now)."""
    async with hub.sessions() as session, session.begin():
        ticket = await session.get(Ticket, ticket_id)
        do_set_status(session, ticket, status, actor="token:1", now=utcnow() - ago)
        return ticket


async def surveys_sent(hub) -> int:
    async with hub.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Survey).where(Survey.status != "skipped"))


async def test_a_resolved_email_ticket_gets_one_survey_and_the_answer_lands_on_the_ticket(hub, client, auth, relay):
    result = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email="dana@example.com", evidence="verified", subject="Broken zip"))
    delay = timedelta(minutes=hub.settings.csat.delay_minutes)
    await resolve(hub, result.ticket_id, ago=delay - timedelta(seconds=30))
    assert await send_due_surveys(hub) == []  # not yet: 30 seconds to go
    assert await surveys_sent(hub) == 0
    await resolve(hub, result.ticket_id, "open")
    await resolve(hub, result.ticket_id, ago=delay)
    await send_due_surveys(hub)
    await deliver_until(hub, relay, 1)
    mail = relay.messages[0]
    assert mail["To"] == "dana@example.com" and result.reference in mail["Subject"]
    assert mail["Auto-Submitted"]  # auto-responders must not answer it
    html = mail.get_body(("html",)).get_content()
    links = LINK.findall(html)
    assert [rating for _, rating in links] == ["1", "2", "3", "4", "5"]
    token = links[3][0]
    assert {t for t, _ in links} == {token} and len(token) >= 32

    page = await client.get(f"/survey/{token}?rating=4")
    text = await page.text()
    assert page.status == 200 and 'value="4" checked' in text and "checked" not in text.replace('value="4" checked', "")
    # Opening the link records nothing: mail scanners open every link.
    async with hub.sessions() as session:
        assert (await session.scalar(select(Survey))).status == "sent"

    answer = await client.post(f"/survey/{token}", data={"rating": "4", "comment": "Quick and kind.", "csrf_token": csrf_token(text)})
    assert answer.status == 200 and "4" in await answer.text()
    body = await (await client.get(f"/api/v1/tickets/{result.reference}", headers=auth)).json()
    assert body["status"] == "resolved"  # answering does not reopen it
    assert body["csat"]["rating"] == 4 and body["csat"]["comment"] == "Quick and kind." and body["csat"]["channel"] == "email"
    assert body["csat"]["answered_at"]
    answers = [i for i in body["interactions"] if i["metadata"].get("kind") == "csat_answer"]
    assert [(a["direction"], a["text"]) for a in answers] == [("inbound", "Quick and kind.")]

    again = await client.post(f"/survey/{token}", data={"rating": "1", "csrf_token": csrf_token(text)})
    assert again.status == 200
    async with hub.sessions() as session:
        assert (await session.scalar(select(Survey))).rating == 4  # the first answer stands

    # Reopened and resolved again: no second survey.
    await resolve(hub, result.ticket_id, "open")
    await resolve(hub, result.ticket_id, ago=delay * 2)
    await send_due_surveys(hub)
    assert await surveys_sent(hub) == 1
    async with hub.sessions() as session:
        kinds = list(await session.scalars(select(Interaction.meta["kind"].as_string()).where(Interaction.direction == "outbound")))
    assert kinds == ["survey"]


async def test_a_ticket_reopened_before_the_delay_gets_no_survey_then(hub):
    result = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email="erin@example.com", evidence="verified"))
    await resolve(hub, result.ticket_id, ago=timedelta(hours=2))
    await resolve(hub, result.ticket_id, "open")
    await send_due_surveys(hub)
    assert await surveys_sent(hub) == 0


async def test_one_survey_per_customer_within_the_window(hub):
    first = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email="fay@example.com", evidence="verified", subject="One"))
    second = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email="fay@example.com", evidence="verified", subject="Two"))
    assert first.ticket_id != second.ticket_id
    await resolve(hub, first.ticket_id, ago=timedelta(hours=2))
    await resolve(hub, second.ticket_id, ago=timedelta(hours=2))
    await send_due_surveys(hub)
    async with hub.sessions() as session:
        decided = sorted((s.ticket_id, s.status, s.reason) for s in await session.scalars(select(Survey)))
    assert decided == [(first.ticket_id, "sent", ""), (second.ticket_id, "skipped", "recent_survey")]


async def test_unknown_and_malformed_tokens_get_a_clear_404(client):
    assert (await client.get("/survey/" + "A" * 32)).status == 404
    assert (await client.get("/survey/" + "x" * 200)).status == 404
    missing = await client.post("/survey/" + "A" * 32, data={"rating": "5"})
    assert missing.status == 404


async def test_a_post_without_the_pages_token_or_rating_is_refused(hub, client):
    result = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email="gus@example.com", evidence="verified"))
    await resolve(hub, result.ticket_id, ago=timedelta(hours=2))
    await send_due_surveys(hub)
    async with hub.sessions() as session:
        payload = (await session.scalar(select(Interaction).where(Interaction.direction == "outbound"))).html
    token = LINK.findall(payload)[0][0]
    forged = await client.post(f"/survey/{token}", data={"rating": "1"})
    assert forged.status == 400
    page = await (await client.get(f"/survey/{token}")).text()
    no_rating = await client.post(f"/survey/{token}", data={"comment": "hm", "csrf_token": csrf_token(page)})
    assert no_rating.status == 400 and "1 to 5" in await no_rating.text()
    async with hub.sessions() as session:
        assert (await session.scalar(select(Survey))).status == "sent"


def test_the_skip_rules():
    base = dict(queue_allows=True, target="a@example.com", automated_only=False, opted_out=False, surveyed_recently=False)
    assert choose_skip_reason(**base) == ""
    assert choose_skip_reason(**{**base, "queue_allows": False}) == "queue_off"
    assert choose_skip_reason(**{**base, "target": None}) == "no_address"
    assert choose_skip_reason(**{**base, "automated_only": True}) == "automated_sender"
    assert choose_skip_reason(**{**base, "opted_out": True}) == "opted_out"
    assert choose_skip_reason(**{**base, "surveyed_recently": True}) == "recent_survey"


async def test_no_survey_for_automated_senders_or_queues_that_turned_it_off(hub, settings, database_url, tmp_path):
    auto = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email="noreply@shop.example", evidence="verified", is_automated=True))
    await resolve(hub, auto.ticket_id, ago=timedelta(hours=2))
    await send_due_surveys(hub)
    async with hub.sessions() as session:
        assert (await session.scalar(select(Survey))).reason == "automated_sender"

    from contactcenter.hub import Hub

    off = settings_with(settings, routing={"queues": {"general": settings.routing.queues["general"].__class__(skills=[], sla_policy="standard", calendar="office", csat=False)}})
    quiet = Hub.create(off, database_url)
    try:
        human = await ingest(quiet, make_inbound(channel=ChannelKind.EMAIL, email="hal@example.com", evidence="verified"))
        await resolve(quiet, human.ticket_id, ago=timedelta(hours=2))
        await send_due_surveys(quiet)
        async with quiet.sessions() as session:
            reasons = dict((s.ticket_id, s.reason) for s in await session.scalars(select(Survey)))
    finally:
        await quiet.close()
    assert reasons[human.ticket_id] == "queue_off"
