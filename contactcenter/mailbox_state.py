"""Where each IMAP poller got to: (UIDVALIDITY, last UID) per mailbox folder.

Kept in the database so that a restart neither misses nor re-reads mail. The
poller saves after each message it handed over; a crash between the hand-over
and the save offers that one message again, and the dedupe step drops it.
"""

from __future__ import annotations

from dataclasses import dataclass

from contactcenter.db.models import MailboxState
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
    async with hub.sessions() as session, session.begin():
        row = await session.get(MailboxState, mailbox)
        if row is None:
            session.add(MailboxState(mailbox=mailbox, uidvalidity=position.uidvalidity, last_uid=position.last_uid))
        else:
            row.uidvalidity, row.last_uid = position.uidvalidity, position.last_uid
