"""What the core asks of the telephone provider, in the contact center's terms.

Ring an agent for a waiting caller, move a caller (to another queue, to hold,
to voicemail), bring an agent back to a held caller, end a leg, ring an agent
for a call back, stream a recording. The Twilio adapter
(`channels/twilio_calls.py`) implements it over Twilio's REST API with URLs of
the hub's own webhooks; the core never imports twilio. Every method is called
outside any database transaction (STYLE.md habit 4): the caller commits what
it decided first, then asks the provider, then records the answer.
Failures raise `ChannelSendError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RecordingStream:
    """A recording's bytes as the provider sends them (for the hub to pass on)."""

    status: int  # 200, or 206 for a range
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)  # Content-Length, Content-Range, Accept-Ranges
    chunks: AsyncIterator[bytes] | None = None


class CallControl(Protocol):
    def voice_token(self, identity: str, ttl_seconds: int) -> str:
        """A short-lived token with which the browser softphone of `identity` (only) registers."""

    async def ring_agent(self, *, to: str, call_sid: str, agent_id: int, timeout: int) -> str:
        """Ring the agent at `to`; once they answer they are bridged to the caller `call_sid`. -> the agent leg's id."""

    async def ring_agent_for_callback(self, *, to: str, ticket_id: int, agent_id: int, timeout: int) -> str:
        """Ring the agent; once they answer the customer of the ticket is dialled. -> the agent leg's id."""

    async def ring_colleague(self, *, to: str, call_sid: str, agent_id: int, timeout: int) -> str:
        """Ring a colleague into a consultation about the (held) caller `call_sid`. -> their leg's id."""

    async def join_consultation(self, agent_leg_sid: str, call_sid: str, agent_id: int) -> None:
        """Bring the agent's live leg into the consultation about `call_sid`."""

    async def transfer_caller(self, call_sid: str) -> None:
        """Take the caller from their agent and put them in line again (their ticket says where)."""

    async def hold_caller(self, call_sid: str) -> None: ...

    async def reconnect_agent(self, agent_leg_sid: str, call_sid: str, agent_id: int) -> None:
        """Bring the agent's live leg back to the (held) caller."""

    async def send_to_voicemail(self, call_sid: str) -> None: ...

    async def end_call(self, call_sid: str) -> None: ...

    def open_recording(self, recording_sid: str, byte_range: str = "") -> AbstractAsyncContextManager[RecordingStream]:
        """The recording's audio, streamed; NotFoundError when the provider has none."""
