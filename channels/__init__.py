"""Channel adapters: each turns one provider's wire format into `InboundContact`
values for the ingest pipeline, and `OutboundMessage` values into provider calls.

The registry is explicit: `build_channels` lists every adapter the hub runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contactcenter.channels.chat import ChatChannel
from contactcenter.channels.email_channel import EmailChannel
from contactcenter.channels.twilio_sms import TwilioSmsChannel
from contactcenter.channels.twilio_voice import TwilioVoiceChannel
from contactcenter.channels.web import WebChannel

if TYPE_CHECKING:
    from contactcenter.channels.base import Channel
    from contactcenter.hub import Hub


def build_channels(hub: Hub) -> list[Channel]:
    return [WebChannel(hub), EmailChannel(hub), TwilioSmsChannel(hub), TwilioVoiceChannel(hub), ChatChannel(hub)]
