"""Everything held on a customer, as one JSON document (`GET /api/v1/customers/{id}/export`)."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db import queries
from contactcenter.surveys.summary import csat_of
from contactcenter.db.models import (
    Attachment,
    AttachmentBlob,
    AuditEvent,
    ContactPoint,
    Customer,
    Interaction,
    MergeRecord,
    OutboxMessage,
    PortalLink,
    PortalSession,
    Ticket,
)
from contactcenter.privacy.scope import merge_family
from contactcenter.web.serialize import contact_point_json, customer_json, interaction_json, iso, merge_record_json, ticket_json

FORMAT = "contactcenter.customer-export/1"


async def export_customer(session: AsyncSession, customer_id: int) -> dict[str, Any]:
    """The customer and every record merged with it: contact points, tickets, interactions with
    their attachments (base64), messages we sent them, merges, portal sign-ins and the audit entries about all of it."""
    await queries.get_customer(session, customer_id)  # NotFoundError → 404
    ids = await merge_family(session, customer_id)
    customers = list(await session.scalars(select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id)))
    points = list(await session.scalars(select(ContactPoint).where(ContactPoint.customer_id.in_(ids)).order_by(ContactPoint.id)))
    tickets = list(await session.scalars(select(Ticket).where(Ticket.customer_id.in_(ids)).order_by(Ticket.id)))
    ticket_ids = [t.id for t in tickets]
    interactions = list(
        await session.scalars(
            select(Interaction)
            .where(or_(Interaction.customer_id.in_(ids), Interaction.ticket_id.in_(ticket_ids)))
            .order_by(Interaction.created_at, Interaction.id)
        )
    )
    interaction_ids = [i.id for i in interactions]
    attachments = await queries.attachments_by_interaction(session, interaction_ids)
    blobs = await _blobs(session, [a.sha256 for found in attachments.values() for a in found])
    outbox = list(
        await session.scalars(select(OutboxMessage).where(OutboxMessage.interaction_id.in_(interaction_ids)).order_by(OutboxMessage.id))
    )
    merges = list(
        await session.scalars(
            select(MergeRecord)
            .where(or_(MergeRecord.survivor_id.in_(ids), MergeRecord.merged_id.in_(ids)))
            .order_by(MergeRecord.id)
        )
    )
    audit = await audit_events_about(session, ids, [p.id for p in points], ticket_ids, interaction_ids)
    links = list(await session.scalars(select(PortalLink).where(PortalLink.customer_id.in_(ids)).order_by(PortalLink.id)))
    portal_sessions = list(await session.scalars(select(PortalSession).where(PortalSession.customer_id.in_(ids)).order_by(PortalSession.id)))
    surveys = await csat_of(session, ticket_ids)
    names = await queries.queue_names(session)
    points_of: dict[int, list[ContactPoint]] = {}
    for point in points:
        points_of.setdefault(point.customer_id, []).append(point)
    return {
        "format": FORMAT,
        "customer_id": customer_id,
        "customers": [
            {**customer_json(c, points_of.get(c.id, [])), "notes": c.notes, "language": c.language} for c in customers
        ],
        "contact_points": [contact_point_json(p) | {"customer_id": p.customer_id} for p in points],
        "tickets": [ticket_json(t, names.get(t.queue_id), surveys.get(t.id)) | {"tags": t.tags, "resolution": t.resolution} for t in tickets],
        "interactions": [
            interaction_json(i, attachments.get(i.id, []))
            | {"attachments": [_attachment(a, blobs) for a in attachments.get(i.id, [])]}
            for i in interactions
        ],
        "messages_sent": [
            {
                "id": m.id,
                "interaction_id": m.interaction_id,
                "channel": m.channel,
                "recipient": m.recipient,
                "status": m.status,
                "sent_at": iso(m.sent_at),
            }
            for m in outbox
        ],
        "merges": [merge_record_json(r) for r in merges],
        # Portal sign-ins: where each link went and when it was used; never the token hashes.
        "portal_links": [
            {"id": l.id, "email": l.email, "created_at": iso(l.created_at), "expires_at": iso(l.expires_at), "used_at": iso(l.used_at)}
            for l in links
        ],
        "portal_sessions": [
            {"id": p.id, "email": p.email, "created_at": iso(p.created_at), "expires_at": iso(p.expires_at), "revoked_at": iso(p.revoked_at)}
            for p in portal_sessions
        ],
        "audit": [_audit_json(e) for e in audit],
    }


async def audit_events_about(
    session: AsyncSession, customer_ids: list[int], point_ids: list[int], ticket_ids: list[int], interaction_ids: list[int]
) -> list[AuditEvent]:
    subjects = {"customer": customer_ids, "contactpoint": point_ids, "ticket": ticket_ids, "interaction": interaction_ids}
    clauses = [
        (AuditEvent.subject_type == kind) & AuditEvent.subject_id.in_(ids) for kind, ids in subjects.items() if ids
    ]
    return list(await session.scalars(select(AuditEvent).where(or_(*clauses)).order_by(AuditEvent.id)))


async def _blobs(session: AsyncSession, hashes: list[str]) -> dict[str, bytes]:
    if not hashes:
        return {}
    rows = await session.execute(select(AttachmentBlob.sha256, AttachmentBlob.content).where(AttachmentBlob.sha256.in_(set(hashes))))
    return {sha: content for sha, content in rows}


def _attachment(attachment: Attachment, blobs: dict[str, bytes]) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "content_base64": base64.b64encode(blobs.get(attachment.sha256, b"")).decode("ascii"),
    }


def _audit_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": iso(event.at),
        "actor": event.actor,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "details": event.details,
    }
