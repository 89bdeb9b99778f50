"""Call recordings: noted on the call when Twilio has them, played through the hub.

A recording is only ever fetched for an interaction that names it (a call's
`recordings`, or a voicemail keyed by its recording id), so an agent's
browser cannot make the hub fetch anything else; the hub adds the account's
credentials, the browser never sees them (voice/routes.py streams it).
"""

from __future__ import annotations

from typing import Any

from contactcenter.contact import ChannelKind
from contactcenter.db.models import Interaction
from contactcenter.errors import NotFoundError
from contactcenter.events import Event
from contactcenter.hub import Hub
from contactcenter.voice.calls import call_facts, lock_call, merge_call_facts


async def attach_call_recording(hub: Hub, call_sid: str, recording_sid: str, *, status: str, duration_seconds: int | None) -> bool:
    """Note (or update) a recording of the call; False for a call we do not know."""
    async with hub.sessions() as session, session.begin():
        call = await lock_call(session, call_sid)  # the caller's call, or the agent leg of a call back
        if call is None:
            return False
        kept = [r for r in call_facts(call).get("recordings", []) if r.get("sid") != recording_sid]
        entry: dict[str, Any] = {"sid": recording_sid, "status": status, "duration_seconds": duration_seconds}
        merge_call_facts(call, {"recordings": [*kept, entry]})
        ticket_id, customer_id = call.ticket_id, call.customer_id
    hub.bus.publish(Event("interaction.updated", {"ticket_id": ticket_id, "customer_id": customer_id, "channel": ChannelKind.VOICE}))
    return True


def recording_ids(interaction: Interaction) -> list[str]:
    """The recordings an interaction names, in the order they were made."""
    if (interaction.meta or {}).get("voicemail") is not None and interaction.provider_id:
        return [interaction.provider_id]
    return [r["sid"] for r in call_facts(interaction).get("recordings", []) if r.get("status") == "completed" and r.get("sid")]


async def check_recording(hub: Hub, interaction_id: int, recording_sid: str) -> None:
    """NotFoundError unless the interaction names that recording."""
    async with hub.reads() as session:
        interaction = await session.get(Interaction, interaction_id)
    if interaction is None or interaction.channel != ChannelKind.VOICE or recording_sid not in recording_ids(interaction):
        raise NotFoundError("no such recording on this interaction")
