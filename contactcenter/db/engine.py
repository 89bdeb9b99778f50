"""Engines and sessions for SQLite (embedded) and PostgreSQL (production).

SQLite runs in WAL mode with `synchronous=NORMAL`: a commit survives the process
being killed (only a power cut can lose the last ones), and readers never block
the writer. Write transactions start with `BEGIN IMMEDIATE` so two writers queue
on the lock up front instead of failing half-way with "database is locked".
Sessions made for reading only (`create_read_sessionmaker`) begin with a plain
`BEGIN` and take no lock: a page or a token lookup then never waits for the
ingest writer.
"""

from __future__ import annotations

import errno
import socket
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from contactcenter.db.writer import SQLiteWriter
from contactcenter.settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Connections of the SQLite engines. Writers take turns at the file's lock
# anyway; one writing connection (waiting in the pool's queue instead of in
# SQLite's busy handler) gave a better tail but a third less throughput
# (docs/benchmarks.md, "Best settings").
SQLITE_WRITERS = 5
SQLITE_READERS = 4
# Execution option of the connections behind read-only sessions.
READ_ONLY = "contactcenter_read_only"
# A SQLite connection that bound a value this large is closed when it goes back to the pool.
LARGE_VALUE_BYTES = 1 << 20
HOLDS_LARGE_VALUES = "contactcenter_holds_large_values"
# A PostgreSQL connection back in the pool for longer than this is pinged before it is used again.
PING_AFTER_IDLE_SECONDS = 1.0
RETURNED_AT = "contactcenter_returned_at"

# SQLSTATEs that mean the server or the connection went away, not that the
# query was wrong (PostgreSQL manual, appendix A): class 08 "connection
# exception" (asyncpg's "connection was closed in the middle of operation" is
# 08003), admin/crash shutdown, "cannot connect now" while starting, and too
# many connections.
UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
# Socket errors that mean the server is out of reach (the rest are not "unavailable").
NETWORK_ERRNOS = {
    errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE,
    errno.ETIMEDOUT, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN,
}


def create_engine(settings: Settings, url: str | None = None, *, for_reading: bool = False) -> AsyncEngine:
    """The engine for the configured database.

    On SQLite, readers (`for_reading`) get an engine of their own, so a page
    or a token lookup never waits for a connection behind the writers, and in
    WAL mode never for the write lock either.
    """
    url = url or settings.database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connections = SQLITE_READERS if for_reading else SQLITE_WRITERS
        engine = create_async_engine(url, pool_size=connections, max_overflow=0, pool_timeout=settings.database.pool_timeout)
        _setup_sqlite(engine)
        return engine
    engine = create_async_engine(
        url,
        pool_size=settings.database.pool_size,
        max_overflow=settings.database.pool_size // 2,
        pool_timeout=settings.database.pool_timeout,
    )
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """A pooled connection idle for `PING_AFTER_IDLE_SECONDS` is pinged before use; a dead one is replaced.

    SQLAlchemy's `pool_pre_ping` pings at every checkout: on asyncpg that is
    three round trips (BEGIN, an empty query, ROLLBACK), six checkouts per
    phone call, more than the call's own statements. A connection handed back
    a moment ago was alive then; one killed since (a failover, a restart)
    fails its transaction, which answers 503 like any outage, and SQLAlchemy
    then discards every connection of the pool made before it. HikariCP skips
    its check the same way (`aliveBypassWindowMs`).
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def note_return(_dbapi_connection: Any, record: Any) -> None:
        record.info[RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get(RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE_SECONDS:
            return  # new, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failure: the pool opens a new connection
            raise sa_exc.DisconnectionError(f"a pooled connection is gone: {exc}") from exc


def _setup_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin
        # (the SQLAlchemy docs' "serializable isolation" recipe for pysqlite).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN" if connection.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

    # Python's sqlite3 keeps each cached statement with the values last bound
    # to it (SQLite's own copy), until the statement runs again: the connections
    # that had stored a 24 MB mail held one copy each, long after it was written
    # (docs/benchmarks.md, "Memory under 20 concurrent 24 MB mails"). Such a
    # connection is closed when it goes back to the pool, which opens another
    # when it is next needed.
    @event.listens_for(sync_engine, "before_cursor_execute")
    def note_large_values(connection: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, _executemany: bool) -> None:
        if _holds_large_value(parameters):
            connection.info[HOLDS_LARGE_VALUES] = True

    @event.listens_for(sync_engine, "reset")
    def release_large_values(_dbapi_connection: Any, record: Any, reset_state: Any) -> None:
        if reset_state.asyncio_safe and record.info.pop(HOLDS_LARGE_VALUES, False):
            record.invalidate()


_SIZED = frozenset((bytes, bytearray, memoryview, str))  # what a large value can be


def _holds_large_value(parameters: Any) -> bool:
    """Whether any value in one statement's parameters (a row, or the rows of executemany) is large.

    Runs before every statement on SQLite, so it only looks two levels deep
    (rows, then values) and measures only what can be large.
    """
    many = isinstance(parameters, list) and parameters and isinstance(parameters[0], (tuple, list, dict))
    rows = parameters if many else (parameters,)
    for row in rows:
        for value in row.values() if isinstance(row, dict) else row:
            # LargeBinary values reach the driver as memoryview (sqlite3.Binary).
            if type(value) in _SIZED and len(value) >= LARGE_VALUE_BYTES:
                return True
    return False


def create_sqlite_writer(engine: AsyncEngine) -> SQLiteWriter:
    """The ingest writer's thread and connection, on the database `engine` opens (db/writer.py)."""
    return SQLiteWriter(engine.url.render_as_string(hide_password=False), _setup_sqlite)


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database is out of reach for now (answer 503 / SMTP 451).

    A failover, a restart or `pg_terminate_backend` surfaces in several
    shapes, depending on the moment it strikes; a query SQLAlchemy could not
    even send (closed connection, full pool, refused connect) is one too.
    """
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or is_network_error(exc.orig):
            return True
        state = getattr(exc.orig, "sqlstate", None) or ""
        return state.startswith(UNAVAILABLE_SQLSTATES)
    return is_network_error(exc)  # refused or reset before SQLAlchemy could wrap it


def is_network_error(exc: BaseException | None) -> bool:
    """A connection refused, reset or timed out; not any OSError: a missing
    template (jinja2's TemplateNotFound is one) or file is a fault of its own."""
    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror)):
        return True
    return isinstance(exc, OSError) and exc.errno in NETWORK_ERRNOS


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for code that only reads (same pool; on SQLite, no write lock)."""
    return async_sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


def is_postgresql(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"
