"""Step record_consent: STOP/START from the channel land on the number, before anything is queued."""

from __future__ import annotations

from sqlalchemy import select

from contactcenter.contact import ChannelKind
from contactcenter.db.models import AuditEvent, ContactPoint, OutboxMessage
from contactcenter.pipeline.run import ingest
from tests.factories import ALICE_PHONE, make_inbound, settings_with


def sms(consent: str | None = None, **extra):
    metadata = {"sms_consent": consent} if consent else {}
    return make_inbound(channel=ChannelKind.SMS, email=None, phone=ALICE_PHONE, evidence="verified", metadata=metadata, **extra)


async def point(hub) -> ContactPoint:
    async with hub.sessions() as session:
        return (await session.scalars(select(ContactPoint))).one()


async def test_opt_out_from_a_new_number_is_on_record_before_the_acknowledgement(hub):
    hub.settings = settings_with(hub.settings, tickets={"auto_acknowledge": True})
    await ingest(hub, sms("opt_out", text="STOP"))
    assert (await point(hub)).opted_out is True
    async with hub.sessions() as session:
        assert list(await session.scalars(select(OutboxMessage))) == []  # acknowledge saw the opt-out
        [event] = await session.scalars(select(AuditEvent).where(AuditEvent.action != "ticket.routed"))
    assert (event.action, event.actor) == ("sms.opt_out", "system")


async def test_opt_in_lifts_the_opt_out(hub):
    await ingest(hub, sms("opt_out"))
    await ingest(hub, sms("opt_in"))
    assert (await point(hub)).opted_out is False


async def test_ordinary_messages_and_unknown_values_change_nothing(hub):
    await ingest(hub, sms())
    await ingest(hub, sms("maybe"))
    assert (await point(hub)).opted_out is False


async def test_a_repeat_delivery_does_not_apply_again(hub):
    await ingest(hub, sms("opt_out", provider_id="SM1"))
    await ingest(hub, sms("opt_in", provider_id="SM2"))
    await ingest(hub, sms("opt_out", provider_id="SM1"))  # Twilio retrying the old STOP
    assert (await point(hub)).opted_out is False


async def test_a_number_that_opted_out_earlier_gets_no_acknowledgement(hub):
    await ingest(hub, sms("opt_out", text="STOP"))
    hub.settings = settings_with(hub.settings, tickets={"auto_acknowledge": True})
    result = await ingest(hub, make_inbound(channel=ChannelKind.API, email=None, phone=ALICE_PHONE))
    assert result.ticket_created
    async with hub.sessions() as session:
        assert list(await session.scalars(select(OutboxMessage))) == []
