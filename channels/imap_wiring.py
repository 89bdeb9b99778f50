"""Running the IMAP pollers of `[[imap.mailboxes]]` inside the hub, feeding `accept_email`.

The poller (channels/imap_poller.py) knows IMAP; this joins it to the same
entry point the SMTP receiver uses, so mail is parsed, threaded and stored
the same way whichever path it came by.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from contactcenter.channels.email_accept import accept_email
from contactcenter.channels.imap_poller import Accept, ImapPoller
from contactcenter.hub import Hub
from contactcenter.keys import HUB
from contactcenter.settings import ImapMailbox


def imap_accept(hub: Hub) -> Accept:
    """The poller's hand-over: returns once stored; TemporaryError leaves the message unflagged."""

    async def accept(raw: bytes, mailbox: ImapMailbox) -> None:
        await accept_email(hub, raw, recipients=[mailbox.address], source=f"imap:{mailbox.name}")

    return accept


def setup_imap_pollers(app: web.Application) -> None:
    if app[HUB].settings.imap.mailboxes:
        app.cleanup_ctx.append(_imap_pollers)


async def _imap_pollers(app: web.Application) -> AsyncIterator[None]:
    hub = app[HUB]
    accept = imap_accept(hub)
    tasks = [
        asyncio.create_task(ImapPoller(hub, mailbox, accept).run(), name=f"imap:{mailbox.name}")
        for mailbox in hub.settings.imap.mailboxes
    ]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
