"""Threading of email contacts: participants, closed tickets, acknowledgement limits."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from contactcenter.contact import ChannelKind
from contactcenter.db.models import ContactPoint, Interaction, OutboxMessage, Ticket, utcnow
from contactcenter.hub import Hub
from contactcenter.pipeline.run import ingest
from tests.factories import BOB_EMAIL, make_inbound, settings_with


def _mail(**kwargs):
    return make_inbound(channel=ChannelKind.EMAIL, provider_id=kwargs.pop("provider_id", None), **kwargs)


async def _close(hub: Hub, ticket_id: int, days_ago: float) -> None:
    async with hub.sessions() as session, session.begin():
        ticket = await session.get_one(Ticket, ticket_id)
        ticket.status = "closed"
        ticket.closed_at = utcnow() - timedelta(days=days_ago)


async def test_reply_reopens_a_recently_closed_ticket(hub: Hub) -> None:
    first = await ingest(hub, _mail(provider_id="<a@x>"))
    await _close(hub, first.ticket_id, days_ago=1)
    again = await ingest(hub, _mail(provider_id="<b@x>", thread_hints=("<a@x>",)))
    assert again.ticket_id == first.ticket_id and not again.ticket_created
    async with hub.sessions() as session:
        assert (await session.get_one(Ticket, first.ticket_id)).status == "open"


async def test_reply_long_after_closing_opens_a_linked_ticket(hub: Hub) -> None:
    first = await ingest(hub, _mail(provider_id="<a@x>"))
    await _close(hub, first.ticket_id, days_ago=hub.settings.tickets.reopen_days + 1)
    later = await ingest(hub, _mail(provider_id="<b@x>", thread_hints=(first.reference,)))
    assert later.ticket_created and later.ticket_id != first.ticket_id
    async with hub.sessions() as session:
        new = await session.get_one(Ticket, later.ticket_id)
        old = await session.get_one(Ticket, first.ticket_id)
    assert new.parent_id == first.ticket_id and old.status == "closed"


async def test_message_id_of_someone_elses_ticket_does_not_join_it(hub: Hub) -> None:
    first = await ingest(hub, _mail(provider_id="<a@x>"))
    other = await ingest(hub, _mail(provider_id="<b@x>", email=BOB_EMAIL, thread_hints=("<a@x>", first.reference)))
    assert other.ticket_created and other.ticket_id != first.ticket_id


async def test_acknowledgements_per_address_are_limited(hub: Hub) -> None:
    hub.settings = settings_with(hub.settings, tickets={"auto_acknowledge": True, "acknowledgements_per_hour": 2})
    for n in range(4):
        result = await ingest(hub, _mail(provider_id=f"<{n}@x>", subject=f"Matter {n}"))
        assert result.ticket_created
    async with hub.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


async def test_a_reply_from_a_tagged_address_verifies_the_folded_contact_point(hub: Hub) -> None:
    hub.settings = settings_with(hub.settings, tickets={"auto_acknowledge": True})
    first = await ingest(hub, _mail(provider_id="<t1@x>", email="alice+shop@gmail.com"))
    async with hub.sessions() as session:
        ack_id = await session.scalar(
            select(Interaction.provider_id).where(Interaction.ticket_id == first.ticket_id, Interaction.direction == "outbound")
        )
    reply = await ingest(hub, _mail(provider_id="<t2@x>", email="alice+shop@gmail.com", thread_hints=(ack_id,)))
    assert reply.ticket_id == first.ticket_id
    async with hub.sessions() as session:
        point = await session.scalar(select(ContactPoint))
        interaction = await session.get_one(Interaction, reply.interaction_id)
    assert (point.value, point.evidence) == ("alice@gmail.com", "verified")
    assert interaction.match_evidence == "verified"
