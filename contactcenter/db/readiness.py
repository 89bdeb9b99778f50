"""Whether the configured database can serve this release, said in one line.

Start-up (`serve` and every command), `check-config` and `/healthz` ask the same
questions: is the URL one the hub can use, does the server answer, does the
database exist, is its schema at this release's migration head. Each failure
becomes one sentence with the fix, instead of a driver's traceback.
"""

from __future__ import annotations

import socket
from functools import lru_cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from contactcenter.errors import ConfigError, ContactCenterError

# The async drivers the hub runs on, per database (pyproject.toml installs both).
DRIVERS = {"postgresql": "asyncpg", "sqlite": "aiosqlite"}
URL_FORMS = "postgresql+asyncpg://USER@HOST:PORT/DATABASE or sqlite+aiosqlite:///PATH"
UPGRADE = "run: contactcenter db upgrade"


class DatabaseProblem(ContactCenterError):
    """The database cannot serve this release; the message says why and what to do."""


def check_database_url(url: str) -> URL:
    """The parsed URL, or ConfigError with the form the hub needs."""
    try:
        parsed = make_url(url)
    except (sa_exc.ArgumentError, ValueError):
        raise ConfigError(f"[database] url is not a database URL; write {URL_FORMS}") from None
    backend = parsed.get_backend_name()
    if backend not in DRIVERS:
        raise ConfigError(f"[database] url: {backend} is not supported; write {URL_FORMS}")
    if parsed.drivername != f"{backend}+{DRIVERS[backend]}":
        wanted = parsed.set(drivername=f"{backend}+{DRIVERS[backend]}").render_as_string(hide_password=True)
        raise ConfigError(f"[database] url needs the {DRIVERS[backend]} driver: write {wanted}")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ConfigError(f"[database] url: port {parsed.port} must be between 1 and 65535")
    return parsed


@lru_cache(maxsize=1)
def migration_heads() -> tuple[str, ...]:
    from contactcenter.db.migrate import alembic_config

    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None: never migrated). Raises DatabaseProblem when unreachable."""
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    except Exception as exc:  # noqa: BLE001 - turned into one line, or re-raised when unknown
        line = explain_connect_error(exc, engine.url)
        if line is None:
            raise
        raise DatabaseProblem(line) from None


def migration_problem(revision: str | None, url: URL) -> str | None:
    """What is wrong with a schema at `revision` for this release, or None."""
    heads = migration_heads()
    if revision in heads:
        return None
    if revision is None:
        return f"the database {_where(url)} has no tables yet; {UPGRADE}"
    from contactcenter.db.migrate import alembic_config

    known = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if revision not in known:
        return f"the database {_where(url)} is at revision {revision}, which this release does not know (did a newer release migrate it?)"
    return f"the database {_where(url)} is at revision {revision}, this release needs {', '.join(heads)}; {UPGRADE}"


async def check_database(engine: AsyncEngine, *, migrated: bool = True) -> None:
    """Raise DatabaseProblem unless the database answers (and, if `migrated`, is at head)."""
    revision = await schema_revision(engine)
    if migrated and (problem := migration_problem(revision, engine.url)):
        raise DatabaseProblem(problem)


def explain_connect_error(exc: BaseException, url: URL) -> str | None:
    """One line for a failure to reach or open the database; None for anything else."""
    where = _where(url)
    if isinstance(exc, socket.gaierror):
        return f"cannot reach the database {where}: host {url.host!r} is not known"
    if isinstance(exc, ConnectionRefusedError):
        return f"cannot reach the database {where}: connection refused (is the server running, is the port right?)"
    if isinstance(exc, TimeoutError):
        return f"cannot reach the database {where}: no answer in time"
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
        return f"cannot reach the database {where}: {exc.strerror or exc}"
    if isinstance(exc, sa_exc.DBAPIError):
        state = getattr(exc.orig, "sqlstate", None) or ""
        reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else exc.__class__.__name__
        if state == "3D000":
            return f'the database "{url.database}" does not exist on {url.host}:{url.port or 5432}; create it (createdb {url.database}), then {UPGRADE}'
        if state in ("28000", "28P01"):
            return f"the database {where} refused the connection: {reason}"
        if url.get_backend_name() == "sqlite":
            return f"cannot open the SQLite database {url.database}: {reason}"
        if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)) or state.startswith(("08", "57P", "53")):
            return f"cannot use the database {where}: {reason}"
    return None


def _where(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return f'"{url.database}" on {url.host or "localhost"}:{url.port or 5432}'


async def prepare_database(engine: AsyncEngine) -> None:
    """Before serving: an embedded SQLite file keeps itself current; PostgreSQL
    must already be migrated (`contactcenter db upgrade` is a release step, so
    two hub processes never race to migrate)."""
    if engine.dialect.name == "sqlite":
        from contactcenter.db.migrate import upgrade

        await check_database(engine, migrated=False)
        await upgrade(engine)
    else:
        await check_database(engine)
