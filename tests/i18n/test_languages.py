"""Pages follow the reader's language; customers get acknowledgements and surveys in theirs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from contactcenter.db.models import Customer, Interaction
from contactcenter.surveys.schedule import send_due_surveys
from tests.factories import settings_with
from tests.surveys.test_email_survey import resolve
from tests.web.workspace_helpers import csrf_token

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}


@pytest.fixture
def settings(settings):
    return settings_with(settings, tickets={"auto_acknowledge": True})


async def test_public_pages_follow_accept_language_and_lang(client):
    contact = await client.get("/contact", headers=ZH)
    text = await contact.text()
    assert contact.status == 200 and '<html lang="zh-CN">' in text
    assert "联系我们" in text and "发送留言" in text and "Send message" not in text
    assert 'value="zh-CN" lang="zh-CN" selected' in text  # the answer's language starts at the page's
    login = await (await client.get("/login", headers=ZH)).text()
    assert "登录工作台" in login and "密码" in login and "Password" not in login
    english = await (await client.get("/contact", headers={"Accept-Language": "en-GB,en;q=0.9"})).text()
    assert "Send message" in english and "发送留言" not in english
    switched = await (await client.get("/contact?lang=zh-CN", headers={"Accept-Language": "en"})).text()
    assert "发送留言" in switched
    assert "Send message" in await (await client.get("/contact", headers={"Accept-Language": "de"})).text()


async def acknowledgement_of(hub, customer_id: int) -> Interaction:
    async with hub.sessions() as session:
        return await session.scalar(
            select(Interaction).where(Interaction.customer_id == customer_id, Interaction.meta["kind"].as_string() == "acknowledgement")
        )


async def test_a_chinese_customer_gets_chinese_and_an_english_one_english(hub, client, token):
    headers = {"Authorization": f"Bearer {token}"}
    wang = await client.post("/api/v1/contacts", json={"email": "wang@example.cn", "name": "王芳", "message": "订单没收到", "language": "zh-cn"}, headers=headers)
    lee = await client.post("/api/v1/contacts", json={"email": "lee@example.com", "name": "Lee", "message": "Where is my order?"}, headers=headers)
    assert wang.status == lee.status == 201
    wang, lee = await wang.json(), await lee.json()
    customer = await (await client.get(f"/api/v1/customers/{wang['customer_id']}", headers=headers)).json()
    assert customer["language"] == "zh-CN"

    chinese, english = await acknowledgement_of(hub, wang["customer_id"]), await acknowledgement_of(hub, lee["customer_id"])
    assert "王芳，您好" in chinese.text and f"创建了工单 {wang['reference']}" in chinese.text
    assert "Hello Lee," in english.text and "opened ticket" in english.text and "您好" not in english.text

    for result in (wang, lee):
        await resolve(hub, result["ticket_id"], ago=timedelta(hours=2))
    await send_due_surveys(hub)
    async with hub.sessions() as session:
        surveys = {
            i.customer_id: i for i in await session.scalars(select(Interaction).where(Interaction.meta["kind"].as_string() == "survey"))
        }
    assert "您对我们的服务满意吗" in surveys[wang["customer_id"]].text and "您对我们的服务满意吗" in surveys[wang["customer_id"]].html
    assert "How did we do?" in surveys[lee["customer_id"]].text

    # The survey page speaks the survey's language, whatever the browser says.
    token_path = surveys[wang["customer_id"]].html.split("/survey/", 1)[1].split('"', 1)[0].replace("&amp;", "&")
    page = await (await client.get(f"/survey/{token_path}", headers={"Accept-Language": "en"})).text()
    assert "您对我们的服务满意吗" in page and 'value="1"' in page


async def test_the_form_records_the_language_the_customer_chose(hub, client):
    page = await (await client.get("/contact", headers=ZH)).text()
    sent = await client.post(
        "/contact",
        data={"name": "李雷", "email": "lilei@example.cn", "message": "发票有误", "type": "complaint", "language": "zh-CN", "csrf_token": csrf_token(page)},
        headers=ZH,
    )
    text = await sent.text()
    assert sent.status == 200 and "谢谢，我们已收到您的留言" in text
    async with hub.sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.name == "李雷"))
    assert customer.language == "zh-CN"
    ack = await acknowledgement_of(hub, customer.id)
    assert "李雷，您好" in ack.text

    bad = await client.post("/contact", data={"email": "x@example.com", "message": "hi", "language": "not a language!", "csrf_token": csrf_token(page)})
    assert bad.status == 400 and "Please choose a language from the list." in await bad.text()


async def test_an_agents_reply_goes_out_in_a_frame_of_the_customers_language(hub, client, token):
    import email
    from email import policy

    from contactcenter.channels.email_compose import compose
    from contactcenter.contact import OutboundMessage
    from contactcenter.db.models import OutboxMessage

    headers = {"Authorization": f"Bearer {token}"}
    wang = await (await client.post("/api/v1/contacts", json={"email": "wang@example.cn", "message": "订单没收到", "language": "zh-CN"}, headers=headers)).json()
    reply = await client.post(f"/api/v1/tickets/{wang['reference']}/replies", json={"text": "今天发货。"}, headers=headers)
    assert reply.status == 201
    async with hub.sessions() as session:
        row = await session.get(OutboxMessage, (await reply.json())["outbox_id"])
    message = OutboundMessage.from_json(row.payload)
    assert message.language == "zh-CN"
    html = email.message_from_bytes(compose(message, hub.settings.email).data, policy=policy.default).get_body(("html",)).get_content()
    assert f"工单号：{wang['reference']}" in html and "今天发货。" in html
