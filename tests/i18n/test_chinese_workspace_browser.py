"""An agent whose language is Chinese sees the inbox, a ticket, the board and the reports in Chinese (a real browser)."""

from __future__ import annotations

import re

from contactcenter.contact import TicketType
from contactcenter.pipeline.run import ingest
from tests.browser import screenshot_path
from tests.factories import make_inbound
from tests.web.workspace_helpers import PASSWORD, add_agent

# What may stay in Latin letters on a Chinese page: abbreviations Chinese
# support staff use as they are, time zone names, and the test's own data.
ALLOWED = {"SLA", "API", "UTC", "CST", "CC", "general"}
EMAIL = re.compile(r"[\w.+-]+@[\w.-]+")


def english_words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z]{2,}", EMAIL.sub(" ", text))) - ALLOWED


async def test_an_agent_switched_to_chinese_sees_every_page_in_chinese(browser, client, hub, database_url):
    await add_agent(hub, email="zhang@example.cn", name="张伟", role="supervisor", language="zh-CN", timezone="Asia/Shanghai")
    await ingest(hub, make_inbound(email="wang@example.cn", name="王芳", subject="订单没收到", text="我的订单还没到。"))
    complaint = await ingest(hub, make_inbound(email="li@example.cn", name="李雷", subject="发票有误", text="发票金额不对。", ticket_type=TicketType.COMPLAINT))
    engine = database_url.partition(":")[0].partition("+")[0]

    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = await context.new_page()
    await page.goto(str(client.make_url("/login?next=/agent")))
    await page.fill("input[name=email]", "zhang@example.cn")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/agent")

    pages = {
        "inbox": ("/agent", "收件箱"),
        "ticket": (f"/agent/tickets/{complaint.reference}", "回复客户"),
        "board": ("/supervisor", "队列看板"),
        "reports": ("/supervisor/reports", "首次回复时间中位数"),
    }
    for name, (path, heading) in pages.items():
        await page.goto(str(client.make_url(path)))
        await page.wait_for_load_state("domcontentloaded")
        text = await page.inner_text("body")
        title = await page.title()
        assert heading in text, f"{name}: {heading} missing"
        assert english_words(text + " " + title) == set(), f"{name} still shows English: {sorted(english_words(text + ' ' + title))}"
        assert await page.get_attribute("html", "lang") == "zh-CN"
        await page.screenshot(path=screenshot_path(f"zh-{name}-{engine}"), full_page=True)

    # Times are in the agent's zone (Asia/Shanghai), written the Chinese way.
    await page.goto(str(client.make_url(f"/agent/tickets/{complaint.reference}")))
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d CST", await page.inner_text("aside"))
    # The board's open complaints: the complaint with its age.
    await page.goto(str(client.make_url("/supervisor")))
    row = await page.inner_text(f'[data-complaint="{complaint.reference}"]')
    assert "发票有误" in row and "李雷" in row and re.search(r"\d+(秒|分钟)", row)
    await context.close()
