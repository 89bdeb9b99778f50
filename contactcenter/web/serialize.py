"""The JSON shapes of records in API answers: one function per record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contactcenter.voice.summary import call_summary
from contactcenter.db.models import Attachment, ContactPoint, Customer, Interaction, MergeRecord, MergeSuggestion, Ticket


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def customer_json(customer: Customer, points: list[ContactPoint]) -> dict[str, Any]:
    return {
        "id": customer.id,
        "name": customer.name,
        "company": customer.company,
        "tier": customer.tier,
        "segments": customer.segments,
        "lifetime_value": customer.lifetime_value,
        "external_id": customer.external_id,
        "merged_into_id": customer.merged_into_id,
        "language": customer.language,
        "contact_points": [contact_point_json(p) for p in points],
        "created_at": iso(customer.created_at),
    }


def contact_point_json(point: ContactPoint) -> dict[str, Any]:
    return {
        "id": point.id,
        "kind": point.kind,
        "value": point.value,
        "evidence": point.evidence,
        "verified": point.evidence == "verified",
        "opted_out": point.opted_out,
    }


def ticket_json(ticket: Ticket, queue_name: str | None = None, csat: dict[str, Any] | None = None) -> dict[str, Any]:
    """`csat` (the answered survey: rating, comment, channel, answered_at) appears once the customer answered."""
    body = {
        "id": ticket.id,
        "reference": ticket.reference,
        "customer_id": ticket.customer_id,
        "subject": ticket.subject,
        "type": ticket.type,
        "status": ticket.status,
        "priority": ticket.priority,
        "queue_id": ticket.queue_id,
        "queue": queue_name,
        "assignee_id": ticket.assignee_id,
        "channel": ticket.channel,
        "parent_id": ticket.parent_id,
        "tags": list(ticket.tags or []),
        "resolution": ticket.resolution,
        "sla_state": ticket.sla_state,
        "first_response_due_at": iso(ticket.first_response_due_at),
        "resolution_due_at": iso(ticket.resolution_due_at),
        "first_responded_at": iso(ticket.first_responded_at),
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "last_activity_at": iso(ticket.last_activity_at),
        "tags": ticket.tags,
        "resolution": ticket.resolution,
        "reopened_count": ticket.reopened_count,
        "resolved_at": iso(ticket.resolved_at),
    }
    if csat is not None:
        body["csat"] = csat
    return body


def interaction_json(interaction: Interaction, attachments: list[Attachment] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "id": interaction.id,
        "ticket_id": interaction.ticket_id,
        "customer_id": interaction.customer_id,
        "channel": interaction.channel,
        "direction": interaction.direction,
        "provider_id": interaction.provider_id,
        "author_agent_id": interaction.author_agent_id,
        "subject": interaction.subject,
        "text": interaction.text,
        "html": interaction.html,
        "matched_by": interaction.matched_by,
        "match_evidence": interaction.match_evidence,
        # The agent must see when a match rests only on what someone typed.
        "match_is_claimed": interaction.match_evidence == "claimed",
        "delivery_status": interaction.delivery_status,
        "metadata": interaction.meta,
        "call": call_summary(interaction),
        "attachments": [
            {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size, "sha256": a.sha256, "inline": a.inline}
            for a in attachments
        ],
        "created_at": iso(interaction.created_at),
    }


def suggestion_json(
    suggestion: MergeSuggestion, customer_a: dict[str, Any] | None = None, customer_b: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": suggestion.id,
        "customer_a_id": suggestion.customer_a_id,
        "customer_b_id": suggestion.customer_b_id,
        "score": suggestion.score,
        "reasons": suggestion.reasons,
        "status": suggestion.status,
        "created_at": iso(suggestion.created_at),
        "resolved_at": iso(suggestion.resolved_at),
    }
    if customer_a is not None:
        body["customer_a"], body["customer_b"] = customer_a, customer_b
    return body


def merge_record_json(record: MergeRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "survivor_id": record.survivor_id,
        "merged_id": record.merged_id,
        "moved": record.moved,
        "actor": record.actor,
        "created_at": iso(record.created_at),
        "undone_at": iso(record.undone_at),
    }
