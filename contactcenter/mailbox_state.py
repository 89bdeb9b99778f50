"""Where each IMAP poller got to: (UIDVALIDITY, last UID) per mailbox folder.

Kept in the database so that a restart neither misses nor re-reads mail. The
poller saves after each message it handed over; a crash between the hand-over
and the save offers that one message again, and the dedupe step drops it.
"""

from __future__ import annotations

from dataclasses import dataclass

from contactcenter.db.models import MailboxState
from contactcenter.events import finish_on_cancel
from contactcenter.hub import Hub


@dataclass(frozen=True, slots=True)
class Position:
    uidvalidity: int
    last_uid: int


async def load_position(hub: Hub, mailbox: str) -> Position | None:
    async with hub.sessions() as session:
        row = await session.get(MailboxState, mailbox)
    return Position(row.uidvalidity, row.last_uid) if row else None


async def save_position(hub: Hub, mailbox: str, position: Position) -> None:
    """Saved whole even when the poller is stopped meanwhile (`events.finish_on_cancel`).

    The poller saves right after flagging a message, which is when a stopping
    hub often cancels it; cut short, the aiosqlite transaction kept SQLite's
    write lock and every later write waited out the busy timeout.
    """
    await finish_on_cancel(_save_position(hub, mailbox, position))


async def _save_position(hub: Hub, mailbox: str, position: Position) -> None:
    async with hub.sessions() as session, session.begin():
        row = await session.get(MailboxState, mailbox)
        if row is None:
            session.add(MailboxState(mailbox=mailbox, uidvalidity=position.uidvalidity, last_uid=position.last_uid))
        else:
            row.uidvalidity, row.last_uid = position.uidvalidity, position.last_uid
