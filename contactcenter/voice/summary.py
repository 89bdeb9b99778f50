"""A call as the timeline shows it: who answered, how long the caller waited and talked,
transfers, recordings and the transcript (from the facts the call's callbacks left)."""

from __future__ import annotations

from typing import Any

from contactcenter.db.models import Interaction
from contactcenter.voice.calls import call_facts
from contactcenter.voice.recordings import recording_ids


def call_summary(interaction: Interaction) -> dict[str, Any] | None:
    """None for what is not a call (or a voicemail) record."""
    if interaction.channel != "voice":
        return None
    meta = interaction.meta or {}
    if "voicemail" in meta:
        return {
            "kind": "voicemail",
            "recordings": recording_ids(interaction),
            "duration_seconds": meta["voicemail"].get("duration_seconds"),
            "transcript": interaction.text or None,
        }
    facts = call_facts(interaction)
    if not facts:
        return None
    legs = facts.get("legs", [])
    return {
        "kind": "callback" if facts.get("direction") == "callback" else "call",
        "status": facts.get("status", ""),
        "queue": facts.get("queue") or facts.get("enqueued"),
        "menu_choice": facts.get("menu_digits"),
        "answered_by": {"agent_id": facts["answered_by"], "name": facts.get("answered_by_name", "")} if facts.get("answered_by") else None,
        "wait_seconds": facts.get("wait_seconds", facts.get("queue_time")),
        "talk_seconds": facts.get("talk_seconds"),
        "agents": [{"agent_id": leg.get("agent_id"), "name": leg.get("agent", ""), "talk_seconds": leg.get("talk_seconds")} for leg in legs],
        "transfers": facts.get("transfers", []),
        "on_hold": bool(facts.get("on_hold")),
        "recordings": recording_ids(interaction),
        "transcript": facts.get("transcript"),
    }
