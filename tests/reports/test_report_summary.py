"""Report figures against a fixture whose answers were worked out by hand.

The queue `general` counts in the `office` calendar: Monday to Friday,
09:00-17:00 UTC. Week of Monday 2026-11-02:

  ticket  created        first answer      resolved          first resp.  resolution
  A (VIP) Mon 10:00      Mon 10:30         Mon 16:00          1800 s      21600 s
  B (VIP) Mon 16:30      Tue 09:30         Tue 17:00          3600 s      30600 s
  C       Sat 12:00      Mon+1 09:15       Mon+1 09:45         900 s       2700 s
  D       Fri 16:00      Mon+1 10:00       -                  7200 s          -
  E       Wed 08:00      Wed 09:10         Wed 12:00           600 s      10800 s
  F       Thu 12:00      -                 -                     -            -
  G       Tue 2026-11-10 (outside the range)

First response, sorted 600 900 1800 3600 7200: median 1800; p90 at rank
0.9 x 4 = 3.6: 3600 + 0.6 x 3600 = 5760. Resolution, sorted 2700 10800 21600
30600: median (10800 + 21600) / 2 = 16200; p90 at rank 2.7: 21600 + 0.7 x 9000
= 27900. Wall-clock time would give other numbers (B's first answer: 17 h).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from sqlalchemy import select

from contactcenter.db.models import Agent, Customer, Queue, Ticket
from contactcenter.reports.ticket_times import fill_ticket_times
from contactcenter.web.auth import create_api_token
from tests.web.workspace_helpers import add_agent, sign_in

RANGE = "from=2026-11-02&to=2026-11-08"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


FIXTURE = [
    # name, tier, created, answered, resolved, assigned to Ada
    ("A", "VIP", "2026-11-02 10:00", "2026-11-02 10:30", "2026-11-02 16:00", True),
    ("B", "VIP", "2026-11-02 16:30", "2026-11-03 09:30", "2026-11-03 17:00", True),
    ("C", "", "2026-11-07 12:00", "2026-11-09 09:15", "2026-11-09 09:45", False),
    ("D", "", "2026-11-06 16:00", "2026-11-09 10:00", None, False),
    ("E", "", "2026-11-04 08:00", "2026-11-04 09:10", "2026-11-04 12:00", False),
    ("F", "", "2026-11-05 12:00", None, None, False),
    ("G", "", "2026-11-10 10:00", "2026-11-10 10:05", None, False),
]


async def load_fixture(hub) -> int:
    ada = await add_agent(hub, email="ada@example.com", name="Ada")
    async with hub.sessions() as session, session.begin():
        queue = await session.scalar(select(Queue).where(Queue.name == "general"))
        if queue is None:
            queue = Queue(name="general", sla_policy="standard", calendar="office")
            session.add(queue)
            await session.flush()
        for i, (name, tier, created, answered, resolved, mine) in enumerate(FIXTURE):
            customer = Customer(name=f"Customer {name}", tier=tier, segments=["retail"] if tier else [], lifetime_value=5000 if tier else 10)
            session.add(customer)
            await session.flush()
            ticket = Ticket(customer_id=customer.id, subject=name, channel="email" if i % 2 else "sms", queue_id=queue.id,
                            created_at=at(created), last_activity_at=at(created), assignee_id=ada if mine else None)
            session.add(ticket)
            await session.flush()
            ticket.first_responded_at = at(answered) if answered else None
            ticket.resolved_at = at(resolved) if resolved else None
            ticket.status = "resolved" if resolved else "open"
            if name == "B":
                # Kept figures for some tickets (the background fill), computed on the fly for the rest.
                await session.flush()
                await fill_ticket_times(session, hub.settings)
    return ada


async def supervisor_headers(hub) -> dict[str, str]:
    async with hub.sessions() as session, session.begin():
        return {"Authorization": f"Bearer {await create_api_token(session, 'reports', 'supervisor')}"}


async def test_medians_and_p90_in_business_time_match_the_hand_computed_figures(client, hub):
    ada = await load_fixture(hub)
    headers = await supervisor_headers(hub)
    response = await client.get(f"/api/v1/reports/summary?{RANGE}", headers=headers)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["first_response"] == {"median_seconds": 1800, "p90_seconds": 5760, "count": 5}
    assert body["resolution"] == {"median_seconds": 16200, "p90_seconds": 27900, "count": 4}
    assert body["volume"]["total"] == 6 and body["volume"]["by_channel"] == {"email": 3, "sms": 3}
    assert [d["count"] for d in body["volume"]["by_day"]] == [2, 0, 1, 1, 1, 1, 0]
    assert body["volume"]["by_weekday_hour"][0][10] == 1 and body["volume"]["by_weekday_hour"][5][12] == 1
    assert set(body) >= {"volume", "first_response", "resolution", "sla", "complaints", "csat"}
    assert body["csat"] == {"responses": 0, "average": None, "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}}
    (row,) = [a for a in body["agents"] if a["agent_id"] == ada]
    assert row["first_response"]["median_seconds"] == 2700 and row["handled"] == 2
    assert body["tiers"][0]["tier"] == "VIP" and body["tiers"][0]["resolution"]["median_seconds"] == 26100
    # Backlog: nothing open before; resolved A Mon, B Tue, E Wed (C resolves after the range).
    assert [d["open"] for d in body["backlog"]] == [1, 0, 0, 1, 2, 3, 3]

    async def csv_rows(table: str) -> list[list[str]]:
        answer = await client.get(f"/api/v1/reports/summary?{RANGE}&format=csv&table={table}", headers=headers)
        assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/csv")
        return list(csv.reader(io.StringIO(await answer.text())))

    summary = dict(await csv_rows("summary"))
    assert (summary["first_response_median_seconds"], summary["first_response_p90_seconds"]) == ("1800", "5760")
    assert (summary["resolution_median_seconds"], summary["resolution_p90_seconds"]) == ("16200", "27900")
    default = await client.get(f"/api/v1/reports/summary?{RANGE}&format=csv", headers=headers)
    assert list(csv.reader(io.StringIO(await default.text())))[0] == ["figure", "value"]


async def test_every_tables_csv_has_the_numbers_of_the_page_and_the_api(client, hub):
    await load_fixture(hub)
    await add_agent(hub, email="sam@example.com", role="supervisor")
    headers = await supervisor_headers(hub)
    api = await (await client.get(f"/api/v1/reports/summary?{RANGE}", headers=headers)).json()
    await sign_in(client, email="sam@example.com")
    page = await (await client.get(f"/supervisor/reports?{RANGE}")).text()
    assert "<svg" in page and "<script src=\"http" not in page
    assert 'id="csat-empty"' in page
    tables = re.findall(r'<table[^>]*data-table="(\w+)">(.*?)</table>', page, re.DOTALL)
    assert {name for name, _ in tables} == {"summary", "channels", "days", "heatmap", "agents", "tiers", "segments"}
    for name, html in tables:
        shown = [re.findall(r'data-value="([^"]*)"', row) for row in re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>")[1], re.DOTALL)]
        shown = [row for row in shown if row]
        link = re.search(rf'href="([^"]+table={name})" data-csv="{name}"', page).group(1).replace("&amp;", "&")
        rows = list(csv.reader(io.StringIO(await (await client.get(link)).text())))[1:]
        if name == "heatmap":  # the page labels rows with <th>, the CSV with a first column
            rows = [row[1:] for row in rows]
        assert shown == rows, name
    by_name = dict(list(csv.reader(io.StringIO(await (await client.get(f"/supervisor/reports?{RANGE}&format=csv&table=summary")).text())))[1:])
    assert by_name["tickets"] == str(api["volume"]["total"])
    assert by_name["sla_met"] == str(api["sla"]["met"]) and by_name["complaints_opened"] == str(api["complaints"]["opened"])
    assert float(by_name["resolution_p90_seconds"]) == api["resolution"]["p90_seconds"]


async def test_agents_get_403_on_reports_and_bad_ranges_get_400(client, hub):
    await add_agent(hub, email="ada@example.com")
    await sign_in(client)
    assert (await client.get("/supervisor/reports")).status == 403
    async with hub.sessions() as session, session.begin():
        agent_token = await create_api_token(session, "agent", "agent")
    assert (await client.get("/api/v1/reports/summary", headers={"Authorization": f"Bearer {agent_token}"})).status == 403
    headers = await supervisor_headers(hub)
    for query in ("from=2026-13-01", "from=2026-11-09&to=2026-11-01", "from=2020-01-01&to=2026-01-01", "channel=pigeon", "table=nope&format=csv"):
        assert (await client.get(f"/api/v1/reports/summary?{query}", headers=headers)).status == 400, query


async def test_filters_narrow_the_figures(client, hub):
    ada = await load_fixture(hub)
    headers = await supervisor_headers(hub)

    async def total(query: str) -> int:
        return (await (await client.get(f"/api/v1/reports/summary?{RANGE}&{query}", headers=headers)).json())["volume"]["total"]

    assert await total("tier=VIP") == 2
    assert await total("segment=retail") == 2
    assert await total(f"agent_id={ada}") == 2
    assert await total("channel=sms") == 3
    assert await total("queue=general") == 6 and await total("queue=nowhere") == 0
    assert await total("type=complaint") == 0
    async with hub.sessions() as session:
        assert await session.scalar(select(Agent.id).where(Agent.id == ada)) == ada


async def test_kept_times_are_cleared_when_a_ticket_reopens_and_filled_again(hub):
    from contactcenter.actions import do_set_status
    from contactcenter.reports.ticket_times import fill_all

    await load_fixture(hub)
    assert await fill_all(hub) == 4  # C, D, E, G (A and B were kept already; F has no times)
    async with hub.sessions() as session, session.begin():
        ticket = await session.scalar(select(Ticket).where(Ticket.subject == "E"))
        assert (ticket.first_response_seconds, ticket.resolution_seconds) == (600, 10800)
        do_set_status(session, ticket, "open", actor="system")
        assert ticket.resolution_seconds is None and ticket.first_response_seconds == 600
        do_set_status(session, ticket, "resolved", actor="system", now=at("2026-11-04 13:00"))
    assert await fill_all(hub) == 1
    async with hub.sessions() as session:
        assert (await session.scalar(select(Ticket.resolution_seconds).where(Ticket.subject == "E"))) == 14400


async def test_the_report_page_in_a_browser(browser, client, hub, database_url):
    from tests.browser import screenshot_path
    from tests.web.workspace_helpers import PASSWORD

    await load_fixture(hub)
    await add_agent(hub, email="sam@example.com", name="Sam", role="supervisor")
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(str(client.make_url(f"/login?next=/supervisor/reports?{RANGE.replace('&', '%26')}")))
    await page.fill("input[name=email]", "sam@example.com")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_selector("#chart-volume rect")
    assert await page.inner_text("#median-first-response") == "30m"
    assert await page.locator("#chart-volume rect").count() == 7
    engine = database_url.partition(":")[0].partition("+")[0]
    await page.screenshot(path=screenshot_path(f"reports-{engine}"), full_page=True)
    await context.close()
