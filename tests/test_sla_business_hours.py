"""SLA clocks in a calendar that closes: nights, weekends, holidays, a DST change.

A target of "4 working hours" means working hours: a ticket that waits on the
customer over a weekend does not lose the weekend, and it does not gain it
either. Every due time here is what an agent in the London office would read on
the ticket. The queue's calendar is Europe/London, Monday to Friday 09:00-17:00,
closed on 25 and 28 December 2026; the policy promises a first answer within 4
working hours and a resolution within 12, and calls a ticket at risk once half
a target is gone.

The tickets are built at fixed moments (the clocks start as the router starts
them) and the pause is the one the ticket records; the SLA timer does the rest,
as it does in `contactcenter serve`.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from contactcenter.db.models import Queue, Ticket
from contactcenter.hub import Hub
from contactcenter.routing.sla import queue_sla, start_clocks
from contactcenter.routing.sla_timer import check_sla
from tests.routing_factories import hub_with_queues, make_ticket

LONDON = ZoneInfo("Europe/London")

OFFICE = """
[calendars.london]
timezone = "Europe/London"
hours = { mon = ["09:00-17:00"], tue = ["09:00-17:00"], wed = ["09:00-17:00"], thu = ["09:00-17:00"], fri = ["09:00-17:00"] }
holidays = ["2026-12-25", "2026-12-28"]

[sla.policies.office]
first_response_hours = { normal = 4 }
resolution_hours = { normal = 12 }
at_risk_ratio = 0.5
breach_raise_priority = false
breach_move_to_queue = ""

[routing.queues.london]
skills = []
sla_policy = "office"
calendar = "london"
"""


def london(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock moment in the London office in 2026."""
    return datetime(2026, month, day, hour, minute, tzinfo=LONDON)


@pytest.fixture
async def office_hub(tmp_path, monkeypatch, database_url):
    monkeypatch.chdir(tmp_path)
    async with hub_with_queues(tmp_path, database_url, OFFICE) as hub:
        yield hub


async def open_ticket(hub: Hub, created: datetime) -> int:
    """A normal-priority ticket in the London queue, its clocks started at `created`."""
    async with hub.sessions() as session, session.begin():
        ticket = await make_ticket(session, "london", now=created)
        queue = await session.get_one(Queue, ticket.queue_id)
        start_clocks(ticket, queue_sla(hub.settings, queue), created)
        return ticket.id


async def wait_on_customer(hub: Hub, ticket_id: int, paused: datetime, resumed: datetime) -> None:
    """The agent set the ticket pending at `paused`; the customer wrote back at `resumed`."""
    async with hub.sessions() as session, session.begin():
        ticket = await session.get_one(Ticket, ticket_id)
        ticket.status = "pending"
        ticket.sla_paused_at = paused
        ticket.status = "open"
        ticket.sla_resumed_at = resumed
    await check_sla(hub, resumed)


async def due_times(hub: Hub, ticket_id: int) -> tuple[datetime, datetime]:
    async with hub.sessions() as session:
        ticket = await session.get_one(Ticket, ticket_id)
        return ticket.first_response_due_at.astimezone(LONDON), ticket.resolution_due_at.astimezone(LONDON)


# Each row: opened, set pending, customer answered; then the first-answer and
# resolution due times the agent must see afterwards. Each pause is an hour or
# two of working time, however long it is on the wall.
PAUSES = {
    # Friday 15:30 to Monday 09:30: 1.5 h on Friday, 0.5 h on Monday; the
    # resolution, due Monday 16:00 before the pause, moves past Monday's close.
    "over a weekend": (
        london(11, 27, 12), london(11, 27, 15, 30), london(11, 30, 9, 30),
        london(11, 30, 10), london(12, 1, 10),
    ),
    # Tuesday 16:00 to Wednesday 09:30: one working hour and a half.
    "overnight": (
        london(12, 1, 14), london(12, 1, 16), london(12, 2, 9, 30),
        london(12, 2, 11, 30), london(12, 3, 11, 30),
    ),
    # Christmas Eve 16:00 to Tuesday 29th 10:00: the 25th and 28th are
    # holidays, the weekend is closed; one hour each side.
    "over Christmas": (
        london(12, 24, 13), london(12, 24, 16), london(12, 29, 10),
        london(12, 29, 11), london(12, 30, 11),
    ),
    # London leaves summer time on Sunday 25 October: Friday's hours are
    # 08:00-16:00 UTC, Monday's 09:00-17:00 UTC, and the wall shows 17:00 both days.
    "over the end of summer time": (
        london(10, 23, 12), london(10, 23, 15, 30), london(10, 26, 9, 30),
        london(10, 26, 10), london(10, 27, 10),
    ),
}


@pytest.mark.parametrize(
    ("opened", "paused", "resumed", "first_due", "resolution_due"), list(PAUSES.values()), ids=list(PAUSES)
)
async def test_a_pause_moves_both_due_times_by_the_working_hours_it_took(
    office_hub, opened, paused, resumed, first_due, resolution_due
):
    ticket_id = await open_ticket(office_hub, opened)
    await wait_on_customer(office_hub, ticket_id, paused, resumed)
    assert await due_times(office_hub, ticket_id) == (first_due, resolution_due)


async def test_a_ticket_paused_over_a_weekend_is_due_on_tuesday_not_monday(office_hub):
    # Opened Friday noon: 12 working hours run to Monday 16:00. Pending from
    # Friday 15:30 to Monday 09:30 (two working hours): Tuesday 10:00, not the
    # Monday 18:00 a plain two hours later would give, when the office is shut.
    ticket_id = await open_ticket(office_hub, london(11, 27, 12))
    assert (await due_times(office_hub, ticket_id))[1] == london(11, 30, 16)
    await wait_on_customer(office_hub, ticket_id, london(11, 27, 15, 30), london(11, 30, 9, 30))
    resolution_due = (await due_times(office_hub, ticket_id))[1]
    assert resolution_due == london(12, 1, 10)
    assert resolution_due.strftime("%A") == "Tuesday"


async def test_a_ticket_due_first_thing_monday_is_at_risk_once_friday_closes(office_hub):
    # Opened Friday 15:00: two working hours on Friday, two on Monday, due
    # Monday 11:00. At Friday's close half of the four hours is left: at risk,
    # though the wall clock still shows more than two days to go.
    ticket_id = await open_ticket(office_hub, london(11, 27, 15))
    assert (await due_times(office_hub, ticket_id))[0] == london(11, 30, 11)
    assert await check_sla(office_hub, london(11, 27, 16)) == []  # three working hours left
    events = await check_sla(office_hub, london(11, 27, 18))
    assert [(e.kind, e.data["ticket_id"], e.data["clock"]) for e in events] == [("sla.at_risk", ticket_id, "first_response")]
    async with office_hub.sessions() as session:
        assert (await session.get_one(Ticket, ticket_id)).sla_state == "at_risk"
