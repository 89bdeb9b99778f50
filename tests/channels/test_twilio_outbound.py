"""Outbound SMS through the outbox to the Twilio stand-in, and the status callbacks after it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from contactcenter.db.models import ContactPoint, Interaction, OutboxMessage, Ticket
from contactcenter.outbound.outbox import OutboxWorker
from tests.factories import settings_with
from tests.polling import eventually
from tests.twilio_standin import (  # noqa: F401
    ACCOUNT_SID,
    HUB_NUMBER,
    PUBLIC_URL,
    params,
    post_signed,
    standin,
    twilio_settings,
)

DANA = "+12065550143"
STATUS = "/webhooks/twilio/sms/status"


@pytest.fixture
def settings(settings, standin):
    return twilio_settings(settings, standin.url)


async def open_sms_ticket(client, hub) -> Ticket:
    response = await post_signed(client, "/webhooks/twilio/sms", params("sms_inbound_basic"))
    assert response.status == 200
    async with hub.sessions() as session:
        return (await session.scalars(select(Ticket))).one()


async def reply(client, auth, ticket: Ticket, text: str = "Your parcel left our warehouse today.") -> dict:
    response = await client.post(f"/api/v1/tickets/{ticket.id}/replies", json={"text": text}, headers=auth)
    assert response.status == 201, await response.text()
    return await response.json()


async def deliver_until_settled(hub, outbox_id: int, timeout: float = 30.0) -> OutboxMessage:
    """Run the outbox (as its worker would) until the message is sent or given up."""
    worker = OutboxWorker(hub)

    async def settled() -> OutboxMessage | None:
        await worker.deliver_due()
        async with hub.sessions() as session:
            row = await session.get_one(OutboxMessage, outbox_id)
        return row if row.status in ("sent", "failed") else None

    return await eventually(settled, timeout, f"outbox message {outbox_id} sent or given up", interval=0.01)


async def interaction(hub, interaction_id: int) -> Interaction:
    async with hub.sessions() as session:
        return await session.get_one(Interaction, interaction_id)


async def test_agent_reply_reaches_twilio_with_the_right_fields(client, auth, hub, standin):
    ticket = await open_sms_ticket(client, hub)
    sent = await reply(client, auth, ticket)
    row = await deliver_until_settled(hub, sent["outbox_id"])
    assert row.status == "sent" and row.attempts == 1
    [request] = standin.accepted
    assert request == {
        "To": DANA,
        "From": HUB_NUMBER,
        "Body": "Your parcel left our warehouse today.",
        "StatusCallback": f"{PUBLIC_URL}{STATUS}?interaction={sent['id']}",
        "Sid": request["Sid"],
    }
    outbound = await interaction(hub, sent["id"])
    assert (outbound.provider_id, outbound.delivery_status) == (request["Sid"], "queued")


async def test_messaging_service_is_the_sender_when_configured(client, auth, hub, standin):
    hub.settings = settings_with(hub.settings, twilio={"messaging_service_sid": "MG0d4bce0ddab3c8e053cadc7c66e283c8"})
    sent = await reply(client, auth, await open_sms_ticket(client, hub), "x" * 1500)  # long texts are Twilio's to split
    await deliver_until_settled(hub, sent["outbox_id"])
    [request] = standin.accepted
    assert request["MessagingServiceSid"] == "MG0d4bce0ddab3c8e053cadc7c66e283c8" and "From" not in request
    assert len(request["Body"]) == 1500
    assert (await interaction(hub, sent["id"])).delivery_status == "accepted"


async def test_status_callbacks_move_the_delivery_status_forward_only(client, auth, hub, standin):
    sent = await reply(client, auth, await open_sms_ticket(client, hub))
    await deliver_until_settled(hub, sent["outbox_id"])
    sid = standin.accepted[0]["Sid"]
    path = f"{STATUS}?interaction={sent['id']}"
    for name in ("message_status_sent", "message_status_delivered", "message_status_sent"):  # the last one late
        response = await post_signed(client, path, params(name, MessageSid=sid, SmsSid=sid))
        assert response.status == 204
    outbound = await interaction(hub, sent["id"])
    assert outbound.delivery_status == "delivered"
    assert [r["status"] for r in outbound.meta["delivery_reports"]] == ["sent", "delivered", "sent"]


async def test_undelivered_records_the_error_code(client, auth, hub, standin):
    sent = await reply(client, auth, await open_sms_ticket(client, hub))
    await deliver_until_settled(hub, sent["outbox_id"])
    sid = standin.accepted[0]["Sid"]
    await post_signed(client, STATUS, params("message_status_undelivered", MessageSid=sid, SmsSid=sid))
    outbound = await interaction(hub, sent["id"])
    assert (outbound.delivery_status, outbound.meta["error_code"]) == ("undelivered", "30003")


async def test_a_report_before_the_outbox_wrote_the_sid_is_kept(client, auth, hub, standin):
    """Twilio can call back before our own commit; the callback URL names the interaction."""

    async def report_delivered_at_once(message: dict[str, str]) -> None:
        path = message["StatusCallback"].removeprefix(PUBLIC_URL)
        delivered = params("message_status_delivered", MessageSid=message["Sid"], SmsSid=message["Sid"])
        assert (await post_signed(client, path, delivered)).status == 204

    standin.on_accepted = report_delivered_at_once
    sent = await reply(client, auth, await open_sms_ticket(client, hub))
    await deliver_until_settled(hub, sent["outbox_id"])
    outbound = await interaction(hub, sent["id"])
    assert (outbound.provider_id, outbound.delivery_status) == (standin.accepted[0]["Sid"], "delivered")


async def test_a_report_for_an_unknown_message_changes_nothing(client, hub):
    response = await post_signed(client, STATUS, params("message_status_failed"))
    assert response.status == 204
    async with hub.sessions() as session:
        assert list(await session.scalars(select(Interaction))) == []


async def test_failures_are_retried_with_backoff_then_sent(client, auth, hub, standin):
    standin.fail_next("500", "429")
    sent = await reply(client, auth, await open_sms_ticket(client, hub))
    row = await deliver_until_settled(hub, sent["outbox_id"])
    assert row.status == "sent" and row.attempts == 3
    assert [a["result"] for a in row.attempt_log] == ["failed", "failed", "sent"]
    assert "500" in row.attempt_log[0]["error"] and "429" in row.attempt_log[1]["error"]
    assert len(standin.requests) == 3 and len(standin.accepted) == 1
    assert (await interaction(hub, sent["id"])).delivery_status == "queued"


async def test_a_timeout_is_retried(client, auth, hub, standin):
    hub.settings = settings_with(hub.settings, twilio={"request_timeout": 0.3})
    standin.fail_next("timeout")
    sent = await reply(client, auth, await open_sms_ticket(client, hub))
    await OutboxWorker(hub).deliver_due()  # the stand-in holds this request past the timeout
    async with hub.sessions() as session:
        row = await session.get_one(OutboxMessage, sent["outbox_id"])
    assert (row.status, row.attempts) == ("pending", 1) and "did not answer within 0.3 s" in row.last_error
    hub.settings = settings_with(hub.settings, twilio={"request_timeout": 10.0})
    row = await deliver_until_settled(hub, sent["outbox_id"])
    assert row.status == "sent" and row.attempts == 2 and len(standin.accepted) == 1


async def test_an_outage_ends_in_a_recorded_failure(client, auth, hub, standin):
    standin.fail_always("500")
    sent = await reply(client, auth, await open_sms_ticket(client, hub))
    row = await deliver_until_settled(hub, sent["outbox_id"])
    assert row.status == "failed" and row.attempts == hub.settings.outbox.max_attempts == len(standin.requests)
    assert (await interaction(hub, sent["id"])).delivery_status == "failed"


async def test_twilio_opt_out_error_is_final_and_marks_the_number(client, auth, hub, standin):
    standin.opted_out.add(DANA)
    ticket = await open_sms_ticket(client, hub)
    sent = await reply(client, auth, ticket)
    row = await deliver_until_settled(hub, sent["outbox_id"])
    assert row.status == "failed" and row.attempts == 1 and "21610" in row.last_error
    async with hub.sessions() as session:
        assert (await session.scalars(select(ContactPoint.opted_out))).one() is True
    refused = await client.post(f"/api/v1/tickets/{ticket.id}/replies", json={"text": "Hello?"}, headers=auth)
    assert refused.status == 409 and (await refused.json())["error"]["code"] == "opted_out"
    assert len(standin.requests) == 1


async def test_an_invalid_number_is_final_and_not_logged_whole(client, auth, hub, standin, caplog):
    standin.invalid.add(DANA)
    sent = await reply(client, auth, await open_sms_ticket(client, hub))
    row = await deliver_until_settled(hub, sent["outbox_id"])
    assert row.status == "failed" and row.attempts == 1 and "21211" in row.last_error
    assert DANA not in row.last_error and DANA not in caplog.text
    assert (await interaction(hub, sent["id"])).delivery_status == "failed"


async def test_an_opted_out_number_is_never_sent_to(client, auth, hub, standin):
    ticket = await open_sms_ticket(client, hub)
    queued = await reply(client, auth, ticket)  # queued while the customer could still be reached
    response = await post_signed(client, "/webhooks/twilio/sms", params("sms_inbound_basic", MessageSid="SM" + "9" * 32, Body="STOP"))
    assert response.status == 200
    row = await deliver_until_settled(hub, queued["outbox_id"])
    assert row.status == "failed" and "opted out" in row.last_error
    refused = await client.post(f"/api/v1/tickets/{ticket.id}/replies", json={"text": "Still there?"}, headers=auth)
    assert refused.status == 409
    assert standin.requests == []


async def test_status_callback_with_21610_marks_the_number(client, auth, hub, standin):
    sent = await reply(client, auth, await open_sms_ticket(client, hub))
    await deliver_until_settled(hub, sent["outbox_id"])
    sid = standin.accepted[0]["Sid"]
    await post_signed(client, STATUS, params("message_status_failed", MessageSid=sid, SmsSid=sid, ErrorCode="21610"))
    async with hub.sessions() as session:
        assert (await session.scalars(select(ContactPoint.opted_out))).one() is True


async def test_unconfigured_twilio_fails_without_retrying(client, auth, hub, standin):
    hub.settings = settings_with(hub.settings, twilio={"phone_number": ""})
    sent = await reply(client, auth, await open_sms_ticket(client, hub))
    row = await deliver_until_settled(hub, sent["outbox_id"])
    assert row.status == "failed" and row.attempts == 1 and "not configured" in row.last_error
    assert standin.requests == []


async def test_the_stand_in_refuses_what_twilio_refuses(aiohttp_client, standin):
    """The stand-in is only worth its tests if it checks like Twilio: auth, account, fields."""
    import aiohttp

    session = await aiohttp_client(standin.app)
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    good = {"Authorization": aiohttp.encode_basic_auth(ACCOUNT_SID, standin.auth_token)}
    wrong = {"Authorization": aiohttp.encode_basic_auth(ACCOUNT_SID, "wrong")}
    cases = [
        (wrong, {"To": DANA, "From": HUB_NUMBER, "Body": "x"}, 401, 20003),
        (good, {"From": HUB_NUMBER, "Body": "x"}, 400, 21604),
        (good, {"To": DANA, "Body": "x"}, 400, 21603),
        (good, {"To": "12", "From": HUB_NUMBER, "Body": "x"}, 400, 21211),
        (good, {"To": DANA, "From": HUB_NUMBER, "Body": "x" * 1601}, 400, 21617),
    ]
    for headers, data, status, code in cases:
        response = await session.post(path, headers=headers, data=data)
        assert (response.status, (await response.json())["code"]) == (status, code)
    other = await session.post(path.replace(ACCOUNT_SID, "AC" + "0" * 32), headers=good, data={"To": DANA, "From": HUB_NUMBER, "Body": "x"})
    assert other.status == 404
    assert standin.accepted == []
