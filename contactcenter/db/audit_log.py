"""Reading the audit log: who changed what, when, newest first, filtered.

One query for the API (`GET /api/v1/audit`) and the admin page; pages go
backwards by id (`before_id`), which stays right while new events arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import false, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import AuditEvent
from contactcenter.db.queries import MAX_ID
from contactcenter.errors import InputError

ENTITIES = ("agent", "ticket", "customer", "queue", "apitoken", "webhooksubscription")


@dataclass(frozen=True, slots=True)
class AuditFilter:
    entity: str = ""
    entity_id: int | None = None
    actor: str = ""
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive


def parse_audit_filter(query: dict[str, str]) -> AuditFilter:
    """From query parameters; `from`/`to` are dates (whole UTC days, `to` included) or ISO times."""
    entity = query.get("entity", "").strip().lower()
    if entity and entity not in ENTITIES:
        raise InputError(f"entity must be one of {', '.join(ENTITIES)}", fields={"entity": "unknown entity"})
    entity_id = None
    if raw := query.get("entity_id", "").strip():
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise InputError("entity_id must be a whole number", fields={"entity_id": "must be a whole number"})
        entity_id = int(raw)
    actor = query.get("actor", "").strip()
    if len(actor) > 100 or not actor.isprintable():
        raise InputError("actor is like agent:3, token:2 or system", fields={"actor": "not an actor"})
    start = _moment(query.get("from", ""), "from", end=False)
    end = _moment(query.get("to", ""), "to", end=True)
    return AuditFilter(entity=entity, entity_id=entity_id, actor=actor, start=start, end=end)


def _moment(text: str, name: str, *, end: bool) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1 if end else 0), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{name} must be a date like 2026-03-01 or an ISO time", fields={name: "not a date"}) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def audit_events(session: AsyncSession, wanted: AuditFilter, *, limit: int, before_id: int | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if wanted.entity:
        query = query.where(AuditEvent.subject_type == wanted.entity)
    if wanted.entity_id is not None:
        query = query.where(AuditEvent.subject_id == wanted.entity_id if wanted.entity_id <= MAX_ID else false())
    if wanted.actor:
        query = query.where(AuditEvent.actor == wanted.actor)
    if wanted.start:
        query = query.where(AuditEvent.at >= wanted.start)
    if wanted.end:
        query = query.where(AuditEvent.at < wanted.end)
    if before_id is not None:
        query = query.where(AuditEvent.id < min(before_id, MAX_ID))
    return list(await session.scalars(query))


def audit_json(event: AuditEvent) -> dict[str, object]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "entity": event.subject_type,
        "entity_id": event.subject_id,
        "details": event.details,
    }
