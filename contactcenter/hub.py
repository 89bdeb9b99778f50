"""The hub's shared services: what every room needs, built once per process.

HTTP handlers reach it through the aiohttp app (`keys.HUB`); the SMTP receiver,
IMAP pollers, workers and the command line get it directly.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from contactcenter.db.engine import create_engine, create_read_sessionmaker, create_sessionmaker
from contactcenter.events import EventBus
from contactcenter.settings import Settings

if TYPE_CHECKING:
    from contactcenter.channels.base import Channel
    from contactcenter.voice.control import CallControl
    from contactcenter.pipeline.run import IngestWriter


@dataclass
class Hub:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    reads: async_sessionmaker[AsyncSession]  # for code that only reads: no write lock on SQLite
    bus: EventBus = field(default_factory=EventBus)
    channels: dict[str, Channel] = field(default_factory=dict)  # kind -> adapter that can send
    secret_key: str = ""
    ingest_writer: IngestWriter | None = None  # started by the first contact (pipeline.run.ingest)
    read_engine: AsyncEngine | None = None  # behind `reads`; on SQLite an engine of its own (db/engine.py)
    calls: CallControl | None = None  # the telephone provider's REST side (set by the voice channel)

    @classmethod
    def create(cls, settings: Settings, database_url: str | None = None) -> Hub:
        engine = create_engine(settings, database_url)
        read_engine = create_engine(settings, database_url, for_reading=True) if engine.dialect.name == "sqlite" else engine
        return cls(
            settings=settings,
            engine=engine,
            sessions=create_sessionmaker(engine),
            reads=create_read_sessionmaker(read_engine),
            secret_key=load_secret_key(settings),
            read_engine=read_engine,
        )

    async def close(self) -> None:
        if self.ingest_writer is not None:
            await self.ingest_writer.close()
        await self.engine.dispose()
        if self.read_engine is not None and self.read_engine is not self.engine:
            await self.read_engine.dispose()


def load_secret_key(settings: Settings) -> str:
    """The configured secret, or one made once and kept in the data folder's secret_key.

    Kept on disk so CSRF tokens and logins survive a restart; never in the repo.
    """
    if settings.http.secret_key:
        return settings.http.secret_key
    path = settings.data_dir() / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(key)
    return key
