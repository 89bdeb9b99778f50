"""The report rows follow the tickets, customers and calls; days and hours are the viewer's.

The fixture is test_report_summary.py's (times in UTC there). Seen from
Asia/Shanghai (UTC+8, no daylight saving), the week of 2026-11-02 runs from
2026-11-01 16:00 to 2026-11-08 16:00 UTC, and the six tickets open on:

  A Mon 10:00 UTC -> Mon 18:00      D Fri 16:00 -> Sat 00:00
  B Mon 16:30     -> Tue 00:30      E Wed 08:00 -> Wed 16:00
  C Sat 12:00     -> Sat 20:00      F Thu 12:00 -> Thu 20:00

so by day 1 1 1 1 0 2 0. Resolved: A Mon 16:00 UTC -> Tue 00:00, B Tue 17:00 ->
Wed 01:00, E Wed 12:00 -> Wed 20:00 (C after the range): the backlog at each
day's end is 1 1 0 1 1 3 3. Business times do not move with the viewer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from contactcenter.db.models import Customer, Interaction, ReportRow, Ticket
from contactcenter.reports.filters import parse_report_filter, zone_offsets
from contactcenter.reports.rows import refresh_all
from contactcenter.voice.calls import merge_call_facts
from tests.reports.test_report_summary import RANGE, load_fixture, supervisor_headers
from tests.web.workspace_helpers import add_agent, sign_in


async def summary(client, headers, query: str = "") -> dict:
    response = await client.get(f"/api/v1/reports/summary?{RANGE}&{query}", headers=headers)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_days_and_hours_are_cut_in_the_viewers_time_zone(client, hub):
    await load_fixture(hub)
    headers = await supervisor_headers(hub)
    body = await summary(client, headers, "tz=Asia/Shanghai")
    assert body["timezone"] == "Asia/Shanghai" and body["filters"]["tz"] == "Asia/Shanghai"
    assert [d["count"] for d in body["volume"]["by_day"]] == [1, 1, 1, 1, 0, 2, 0]
    heat = body["volume"]["by_weekday_hour"]
    assert (heat[0][18], heat[1][0], heat[2][16], heat[3][20], heat[5][0], heat[5][20]) == (1, 1, 1, 1, 1, 1)
    assert sum(map(sum, heat)) == 6
    assert [d["count"] for d in body["resolved_by_day"]] == [0, 1, 2, 0, 0, 0, 0]
    assert [d["open"] for d in body["backlog"]] == [1, 1, 0, 1, 1, 3, 3]
    assert body["first_response"] == {"median_seconds": 1800, "p90_seconds": 5760, "count": 5}
    assert (await client.get(f"/api/v1/reports/summary?{RANGE}&tz=Mars/Olympus", headers=headers)).status == 400


async def test_the_page_reads_in_the_signed_in_supervisors_zone(client, hub):
    await load_fixture(hub)
    await add_agent(hub, email="mei@example.com", name="Mei", role="supervisor", timezone="Asia/Shanghai")
    await sign_in(client, email="mei@example.com")
    page = await (await client.get(f"/supervisor/reports?{RANGE}")).text()
    assert "China (Shanghai) Time" in page
    csv_days = await (await client.get(f"/supervisor/reports?{RANGE}&format=csv&table=days")).text()
    assert [line.split(",")[1] for line in csv_days.split("\r\n")[1:] if line] == ["1", "1", "1", "1", "0", "2", "0"]


def test_a_zones_offsets_change_at_its_daylight_saving_moments():
    start = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(2026, 12, 31, tzinfo=UTC).timestamp())
    offsets = zone_offsets("Europe/Berlin", start, end)
    assert [o for _, o in offsets] == [3600, 7200, 3600]
    assert offsets[1][0] == int(datetime(2026, 3, 29, 1, 0, tzinfo=UTC).timestamp())
    assert offsets[2][0] == int(datetime(2026, 10, 25, 1, 0, tzinfo=UTC).timestamp())
    assert zone_offsets("Asia/Kolkata", start, end)[0][1] == 19800 and len(zone_offsets("UTC", start, end)) == 1
    wanted = parse_report_filter({"from": "2026-03-29", "to": "2026-03-29", "tz": "Europe/Berlin"}, datetime(2026, 4, 1, tzinfo=UTC))
    assert (wanted.end - wanted.start).total_seconds() == 23 * 3600  # the day the clocks go forward


async def test_rows_follow_reassignment_customer_changes_and_call_times(client, hub):
    ada = await load_fixture(hub)
    bob = await add_agent(hub, email="bob@example.com", name="Bob")
    headers = await supervisor_headers(hub)
    before = await summary(client, headers)
    assert {a["agent_id"]: a["tickets"] for a in before["agents"]} == {ada: 2}
    async with hub.sessions() as session, session.begin():
        e = await session.scalar(select(Ticket).where(Ticket.subject == "E"))
        e.assignee_id = bob
        customer = await session.get(Customer, e.customer_id)
        customer.tier = "gold"
        call = Interaction(ticket_id=e.id, customer_id=e.customer_id, channel="voice", direction="inbound", meta={"call": {"status": "ringing"}},
                           created_at=e.created_at)
        session.add(call)
    after = await summary(client, headers)
    assert {a["agent_id"]: a["tickets"] for a in after["agents"]} == {ada: 2, bob: 1}
    assert {t["tier"]: t["tickets"] for t in after["tiers"]} == {"VIP": 2, "gold": 1, "": 3}
    assert [a for a in after["agents"] if a["agent_id"] == bob][0]["calls"] == 0
    # The call ends: its talk time is written on the call alone, as voice/connect.py does.
    async with hub.sessions() as session, session.begin():
        call = await session.scalar(select(Interaction).where(Interaction.channel == "voice"))
        merge_call_facts(call, {"talk_seconds": 240})
    (row,) = [a for a in (await summary(client, headers))["agents"] if a["agent_id"] == bob]
    assert (row["calls"], row["average_handle_seconds"]) == (1, 240)
    assert (await summary(client, headers, f"agent_id={bob}"))["volume"]["total"] == 1


async def test_the_worker_backfills_rows_and_a_late_commit_inside_the_margin_is_seen(hub):
    await load_fixture(hub)
    assert await refresh_all(hub) == 7  # every ticket, G too (the rows hold all; reports pick the range)
    assert await refresh_all(hub) == 0
    async with hub.sessions() as session, session.begin():
        # A transaction that stamped its ticket a minute before the mark and committed after it.
        newest = await session.scalar(select(func.max(Ticket.updated_at)))
        await session.execute(
            update(Ticket).where(Ticket.subject == "F").values(updated_at=newest - timedelta(minutes=1), first_responded_at=newest)
        )
    assert await refresh_all(hub) == 1
    async with hub.sessions() as session:
        f = await session.scalar(select(Ticket.id).where(Ticket.subject == "F"))
        assert (await session.get(ReportRow, f)).first_response_seconds is not None
