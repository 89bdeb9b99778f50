"""Slowing down password guessing without locking anyone out.

Failed sign-ins are counted per client address and per account in the
database, so every hub process sees the same counts. After a few free
failures each further one doubles the wait before the next attempt is even
checked. The account's wait is capped low: someone guessing an agent's
password from elsewhere slows that agent down by seconds, never locks them
out, while the guessing address waits minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import LoginFailure
from contactcenter.settings import WorkspaceSettings


@dataclass(frozen=True, slots=True)
class Limit:
    key: str  # "address:<ip>" or "account:<email>"
    free: int  # failures before any wait
    cap: float  # longest wait, seconds


def choose_delay(failures: int, free: int, first: float, cap: float) -> float:
    """Seconds to wait after `failures` failed attempts: 0 for the first `free`, then doubling up to `cap`."""
    if failures < free:
        return 0.0
    return min(cap, first * 2 ** min(failures - free, 30))


def limits_for(settings: WorkspaceSettings, address: str, email: str) -> list[Limit]:
    found = [Limit(f"address:{address}", settings.login_attempts_per_address, settings.login_max_delay_seconds)]
    if email:
        found.append(Limit(f"account:{email}", settings.login_attempts_per_account, settings.login_account_max_delay_seconds))
    return found


async def seconds_to_wait(session: AsyncSession, settings: WorkspaceSettings, limits: list[Limit], now: datetime) -> float:
    """How long until an attempt may be checked (0: now)."""
    window = timedelta(minutes=settings.login_window_minutes)
    rows = {r.key: r for r in await session.scalars(select(LoginFailure).where(LoginFailure.key.in_([l.key for l in limits])))}
    wait = 0.0
    for limit in limits:
        row = rows.get(limit.key)
        if row is None or row.last_failed_at < now - window:
            continue
        delay = choose_delay(row.failures, limit.free, settings.login_delay_seconds, limit.cap)
        wait = max(wait, (row.last_failed_at + timedelta(seconds=delay) - now).total_seconds())
    return wait


async def record_failure(session: AsyncSession, settings: WorkspaceSettings, limits: list[Limit], now: datetime) -> None:
    """Count one failure on each key; a count older than the window starts again at 1."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    stale = now - timedelta(minutes=settings.login_window_minutes)
    for limit in limits:
        statement = insert(LoginFailure).values(key=limit.key, failures=1, last_failed_at=now)
        statement = statement.on_conflict_do_update(
            index_elements=[LoginFailure.key],
            set_={
                "failures": case((LoginFailure.last_failed_at < stale, 1), else_=LoginFailure.failures + 1),
                "last_failed_at": now,
            },
        )
        await session.execute(statement)
