"""A test channel that "sends" by POSTing to a sink server the test runs.

It stands in for a provider where the test needs to count what was delivered:
the outbox does not know it is not Twilio. `python -m tests.sink_channel` runs
a real hub with this channel as its SMS sender (URL in CC_TEST_SINK_URL).
"""

from __future__ import annotations

import os
from typing import ClassVar

import aiohttp
from aiohttp import web

from contactcenter.contact import ChannelKind, OutboundMessage, SendReceipt
from contactcenter.errors import ChannelSendError


class SinkChannel:
    kind: ClassVar[ChannelKind] = ChannelKind.SMS
    can_send: ClassVar[bool] = True

    def __init__(self, url: str):
        self.url = url

    def setup(self, app: web.Application) -> None:
        pass

    async def send(self, message: OutboundMessage) -> SendReceipt:
        payload = {"outbox_id": message.interaction_id, "to": message.to, "text": message.text}
        try:
            async with aiohttp.ClientSession() as session, session.post(self.url, json=payload) as response:
                if response.status >= 500:
                    raise ChannelSendError(f"sink answered {response.status}", retryable=True)
                if response.status >= 400:
                    raise ChannelSendError(f"sink refused: {response.status}", retryable=False)
                body = await response.json()
        except aiohttp.ClientError as exc:
            raise ChannelSendError(f"sink unreachable: {exc}", retryable=True) from exc
        return SendReceipt(provider_id=body["id"], status="delivered")


class Sink:
    """The receiving end: records what arrived, answers 503 while `failing`."""

    def __init__(self) -> None:
        self.failing = False
        self.attempts: list[dict] = []
        self.delivered: list[dict] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        payload = await request.json()
        self.attempts.append(payload)
        if self.failing:
            return web.json_response({"error": "down"}, status=503)
        self.delivered.append(payload)
        return web.json_response({"id": f"SINK{len(self.delivered)}"})


if __name__ == "__main__":
    from contactcenter import channels
    from contactcenter import cli

    build = channels.build_channels
    channels.build_channels = lambda hub: [*build(hub), SinkChannel(os.environ["CC_TEST_SINK_URL"])]
    raise SystemExit(cli.main())
