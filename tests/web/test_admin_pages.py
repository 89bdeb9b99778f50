"""The admin's pages: people, API tokens, the audit log; agents and supervisors get 403."""

from __future__ import annotations

import re

from sqlalchemy import select

from contactcenter.db.models import Agent
from tests.browser import screenshot_path
from tests.web.workspace_helpers import PASSWORD, add_agent, form_token, sign_in

FORM = {"email": "lin@example.com", "name": "Lin Wei", "role": "agent", "phone": "+8613800138000", "skills": "billing=3",
        "capacity": "voice=1,sms=3", "language": "zh-CN", "timezone": "Asia/Shanghai", "password": "correct horse battery"}


async def test_changing_skills_and_role_is_audited_and_shown_in_the_audit_page(client, hub):
    await add_agent(hub, email="root@example.com", name="Root", role="admin")
    await sign_in(client, email="root@example.com")
    token = await form_token(client, "/admin/people")
    created = await client.post("/admin/people", data={**FORM, "csrf_token": token}, allow_redirects=False)
    assert created.status == 303, await created.text()
    lin = int(re.search(r"/admin/people/(\d+)", created.headers["Location"]).group(1))
    edit = await (await client.get(f"/admin/people/{lin}")).text()
    assert 'value="billing=3"' in edit and 'value="+8613800138000"' in edit
    saved = await client.post(
        f"/admin/people/{lin}",
        data={**FORM, "password": "", "skills": "billing=5,refunds=2", "role": "supervisor", "active": "on", "csrf_token": token},
        allow_redirects=False,
    )
    assert saved.status == 303
    async with hub.sessions() as session:
        agent = await session.get(Agent, lin)
    assert (agent.skills, agent.role, agent.active) == ({"billing": 5, "refunds": 2}, "supervisor", True)

    page = await (await client.get(f"/admin/audit?entity=agent&entity_id={lin}")).text()
    rows = re.findall(r'<tr data-audit="\d+">(.*?)</tr>', page, re.DOTALL)
    assert len(rows) == 2 and "agent.updated" in rows[0] and "agent.created" in rows[1]  # newest first
    details = rows[0].replace("&#34;", '"')
    assert '"role": {"from": "agent", "to": "supervisor"}' in details
    assert '"skills": {"from": {"billing": 3}, "to": {"billing": 5, "refunds": 2}}' in details
    others = await (await client.get("/admin/audit?actor=agent:999")).text()
    assert "Nothing recorded with these filters." in others
    bad = await client.post(f"/admin/people/{lin}", data={**FORM, "password": "", "phone": "12345", "csrf_token": token})
    assert bad.status == 400 and "E.164" in await bad.text()


async def test_tokens_are_created_once_shown_and_revoked(client, hub):
    await add_agent(hub, email="root@example.com", name="Root", role="admin")
    await sign_in(client, email="root@example.com")
    token = await form_token(client, "/admin/tokens")
    page = await (await client.post("/admin/tokens", data={"csrf_token": token, "name": "crm sync", "role": "intake"})).text()
    secret = re.search(r'<code id="new-token">([^<]+)</code>', page).group(1)
    headers = {"Authorization": f"Bearer {secret}"}
    contact = {"external_id": "x1", "email": "dana@example.com", "message": "hi"}
    assert (await client.post("/api/v1/contacts", json=contact, headers=headers)).status == 201
    token_id = re.search(r'<tr data-token="(\d+)">', page).group(1)
    listed = await (await client.get("/admin/tokens")).text()
    assert secret not in listed  # shown only once
    revoked = await client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": token}, allow_redirects=False)
    assert revoked.status == 303
    assert (await client.post("/api/v1/contacts", json={**contact, "external_id": "x2"}, headers=headers)).status == 401
    audit = await (await client.get("/admin/audit?entity=apitoken")).text()
    assert "token.revoked" in audit and "token.created" in audit


async def test_agents_and_supervisors_get_403_on_admin_pages(client, hub):
    await add_agent(hub, email="ada@example.com")
    await add_agent(hub, email="sam@example.com", role="supervisor")
    for email in ("ada@example.com", "sam@example.com"):
        client.session.cookie_jar.clear()
        await sign_in(client, email=email)
        for path in ("/admin/people", "/admin/people/1", "/admin/tokens", "/admin/audit"):
            assert (await client.get(path)).status == 403, (email, path)
        token = await form_token(client, "/agent")
        assert (await client.post("/admin/people", data={**FORM, "csrf_token": token})).status == 403
    async with hub.sessions() as session:
        assert await session.scalar(select(Agent).where(Agent.email == "lin@example.com")) is None


async def test_the_people_page_in_a_browser(browser, client, hub, database_url):
    await add_agent(hub, email="root@example.com", name="Root Admin", role="admin")
    await add_agent(hub, email="ada@example.com", name="Ada Agent", skills={"billing": 3}, phone="+14155550100")
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(str(client.make_url("/login?next=/admin/people")))
    await page.fill("input[name=email]", "root@example.com")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url("**/admin/people")
    await page.fill("#f-email", "lin@example.com")
    await page.fill("#f-name", "Lin Wei")
    await page.fill("#f-skills", "refunds=4")
    await page.click("form[action='/admin/people'] button[type=submit]")
    await page.wait_for_url("**/admin/people/*")
    await page.goto(str(client.make_url("/admin/people")))
    assert "refunds=4" in await page.inner_text("#people")
    engine = database_url.partition(":")[0].partition("+")[0]
    await page.screenshot(path=screenshot_path(f"people-{engine}"), full_page=True)
    await page.goto(str(client.make_url("/admin/audit")))
    await page.screenshot(path=screenshot_path(f"audit-{engine}"), full_page=True)
    await context.close()
