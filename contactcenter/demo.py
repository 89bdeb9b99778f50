"""Demo data: a small, believable contact center for a newcomer to click through.

Contacts go through the real ingest pipeline, so the demo shows what the hub
really does with them. Loading it twice changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from contactcenter.contact import ChannelKind, InboundContact, TicketType, typed_identities
from contactcenter.db.models import Agent, Customer, utcnow
from contactcenter.hub import Hub
from contactcenter.pipeline.route import get_or_create_queue
from contactcenter.pipeline.run import ingest
from contactcenter.web.auth import create_api_token, hash_password

DEMO_PASSWORD = "demo-password"
AGENTS = (
    ("ada@demo.example", "Ada Lovelace", "agent", {"billing": 3, "general": 4}),
    ("grace@demo.example", "Grace Hopper", "agent", {"technical": 5, "general": 3}),
    ("sam@demo.example", "Sam Supervisor", "supervisor", {"general": 5, "billing": 5, "technical": 5}),
    ("li@demo.example", "李娜", "supervisor", {"general": 4, "billing": 3}),
)
# People whose workspace is in Chinese, with times in Shanghai's zone.
CHINESE = {"li@demo.example"}
CONTACTS = (
    ("alice@example.com", "+14155550100", "Alice Example", "Invoice shows the wrong amount", "I was charged twice for October. Can you refund one of them?", "complaint"),
    ("bob@example.org", "", "Bob Sample", "How do I change my address?", "I moved last week; where do I update my delivery address?", "question"),
    ("", "+442071838750", "Chloé Dupont", "Call me back please", "Please call me back about my contract renewal.", "request"),
    ("dan@example.net", "", "Dan Demo", "App crashes on start", "Since the update the app closes right after it opens.", "question"),
    ("wangfang@example.cn", "", "王芳", "快递一直没到", "我十天前下的订单还没有收到，请帮忙查一下。", "complaint"),
)


async def load_demo(hub: Hub) -> None:
    async with hub.sessions() as session, session.begin():
        if await session.scalar(select(Agent.id).where(Agent.email == AGENTS[0][0])):
            # The token was shown once, when the demo was loaded; say how to get another.
            print("demo data is loaded already; for a new API token run: contactcenter create-token NAME --role admin")
            return
        for name in ("general", "billing", "technical"):
            await get_or_create_queue(session, name)
        for email, name, role, skills in AGENTS:
            session.add(
                Agent(
                    email=email,
                    name=name,
                    role=role,
                    skills=skills,
                    capacity={"email": 6, "sms": 3, "voice": 1, "web": 6, "api": 6},
                    presence="available",
                    password_hash=await hash_password(DEMO_PASSWORD),
                    language="zh-CN" if email in CHINESE else "en",
                    timezone="Asia/Shanghai" if email in CHINESE else "",
                )
            )
        token = await create_api_token(session, "demo", "admin")

    now = utcnow()
    for i, (email, phone, name, subject, text, kind) in enumerate(CONTACTS):
        await ingest(
            hub,
            InboundContact(
                channel=ChannelKind.WEB,
                provider_id=f"demo:{i}",
                identities=typed_identities(email, phone),
                received_at=now - timedelta(minutes=10 * (len(CONTACTS) - i)),
                display_name=name,
                subject=subject,
                text=text,
                ticket_type=TicketType(kind),
                source_address="web",
                # What the form's language choice records: she gets her answers in Chinese.
                language="zh-CN" if any("\u4e00" <= ch <= "\u9fff" for ch in name) else "en",
                language_chosen=True,
            ),
        )
    async with hub.sessions() as session:
        customers = len(list(await session.scalars(select(Customer.id))))
    print(f"demo loaded: 3 queues, {len(AGENTS)} agents (password {DEMO_PASSWORD!r}; li@demo.example works in Chinese), {customers} customers")
    print("demo API token (admin):")
    print(token)
