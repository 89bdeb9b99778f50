"""Keeping raw input that could not even be read, for a person and for replay.

`pipeline.run.ingest` keeps contacts that failed *processing*; this is for
input that never became a contact (an email the parser gave up on).
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

from contactcenter.db.models import InboundRecord
from contactcenter.errors import TemporaryError
from contactcenter.hub import Hub


async def keep_raw(hub: Hub, *, channel: str, provider_id: str, raw: bytes, status: str, error: str) -> int:
    """Store the raw input (status `failed`, or `ignored` for noise kept for the record); -> its id.

    Raises TemporaryError when the database is down.
    """
    try:
        async with hub.sessions() as session, session.begin():
            record = InboundRecord(channel=channel, provider_id=provider_id, raw=raw, status=status, error=error[:4000])
            session.add(record)
    except (OperationalError, DBAPIError, OSError) as exc:
        raise TemporaryError("the database is unavailable") from exc
    return record.id
