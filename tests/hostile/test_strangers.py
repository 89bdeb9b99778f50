"""Issue 19: the form is not a spam or SMS-pumping cannon, and a stranger cannot write into a customer's ticket."""

from __future__ import annotations

import re

from contactcenter.db.models import Interaction, OutboxMessage, Ticket
from tests.factories import settings_with
from tests.hostile.conftest import (
    assert_nothing_half_written_or_lost,
    assert_outbound_only_to_own_identifiers,
    deliver_all,
    post_form,
    rows,
    send_sms,
)


async def test_a_form_with_only_a_typed_phone_number_sends_no_sms(client, hub, standin):
    for number in ("+252612345678", "+8613812345678", "+447911123456", "+14155550123"):
        response = await post_form(client, phone=number, message="call me")
        assert response.status == 200
    await deliver_all(hub)
    assert await rows(hub, OutboxMessage) == []
    assert standin.requests == []
    assert len(await rows(hub, Ticket)) == 4
    await assert_nothing_half_written_or_lost(hub)


async def test_a_typed_address_gets_at_most_one_mail_an_hour(client, hub, relay):
    for i in range(4):
        response = await post_form(client, email="someone@example.org", subject=f"spam {i}", message="buy now")
        assert response.status == 200
    await deliver_all(hub)
    assert [rcpts for _, rcpts in relay.envelopes] == [["someone@example.org"]]
    assert len(await rows(hub, Ticket)) == 4  # every contact is kept; only the mail is capped


async def test_one_form_sender_cannot_mail_many_addresses(client, hub, relay):
    hub.settings = settings_with(hub.settings, tickets={"acknowledgements_per_client_per_hour": 2})
    for i in range(4):
        assert (await post_form(client, email=f"target{i}@example.org", message="hi")).status == 200
    await deliver_all(hub)
    assert len(relay.messages) == 2


async def test_sms_acknowledgements_only_to_numbers_that_wrote_in_listed_countries(client, hub, standin):
    await send_sms(client, From="+252612345678", MessageSid="SM" + "1" * 32)  # Somalia: not a listed country
    await send_sms(client, From="+12065550143", MessageSid="SM" + "2" * 32)
    await deliver_all(hub)
    assert [o.recipient for o in await rows(hub, OutboxMessage)] == ["+12065550143"]
    await assert_outbound_only_to_own_identifiers(hub)


async def test_a_form_naming_a_customers_address_opens_its_own_ticket_and_shows_only_that_reference(client, hub, relay):
    mail = await post_form(client, email="erin@example.com", subject="My order", message="Where is it?")
    erins = re.search(r'data-reference="(CC-\d{6})"', await mail.text()).group(1)
    stranger = await post_form(client, email="erin@example.com", subject="Re: My order", message=f"Please cancel {erins}")
    page = await stranger.text()
    shown = set(re.findall(r"CC-\d{6}", page))
    [first, second] = await rows(hub, Ticket)
    assert first.reference == erins and shown == {second.reference}
    assert second.customer_id == first.customer_id  # on the same customer, flagged as an unverified match
    [original] = await rows(hub, Interaction, Interaction.ticket_id == first.id, Interaction.direction == "inbound")
    assert original.text == "Where is it?"
    [typed] = await rows(hub, Interaction, Interaction.ticket_id == second.id, Interaction.direction == "inbound")
    assert typed.match_evidence == "claimed"


async def test_with_confirmation_required_a_typed_address_gets_only_the_link_until_it_clicks(client, hub, relay):
    hub.settings = settings_with(hub.settings, tickets={"confirm_claimed_addresses": True})
    response = await post_form(client, name="Mallory", email="frank@example.com", subject="Your account is locked", message="click evil.test")
    assert response.status == 200
    await deliver_all(hub)
    [confirmation] = relay.messages
    text = confirmation.get_body(("plain",)).get_content()
    assert "locked" not in str(confirmation["Subject"]) and "locked" not in text and "evil.test" not in text and "Mallory" not in text
    link = re.search(r"https://hub\.example\.test(/contact/confirm/\S+)", text).group(1)
    assert (await client.get(link)).status == 200  # a scanner following the link confirms nothing
    assert len(await rows(hub, OutboxMessage)) == 1
    confirmed = await client.post(link)
    assert confirmed.status == 200
    [ticket] = await rows(hub, Ticket)
    assert re.findall(r"CC-\d{6}", await confirmed.text()) == [ticket.reference] * 2
    assert (await client.post(link)).status == 200  # a second click sends nothing more
    await deliver_all(hub)
    assert len(relay.messages) == 2 and ticket.reference in str(relay.messages[1]["Subject"])
    assert (await client.post(link[:-3] + "abc")).status == 404
