"""The SQLite writer thread: a whole ingest batch in one hand-off.

aiosqlite runs every statement in its own thread and wakes the event loop for
each answer: a hand-off per statement, which cost more than the statement
itself (issue 11). Here one thread of our own holds one connection through
the stdlib `sqlite3` driver, executed inline: the event loop hands the thread
a whole batch (a coroutine) and gets it back once, however many statements it
ran.

The batch is still async code on an AsyncSession, so the ingest steps stay one
code path for both databases: on PostgreSQL they run on the main loop with
asyncpg; here on this thread's own loop, where the "async" driver never
waits (`InlineSQLiteDialect` is pysqlite behind SQLAlchemy's asyncio facade:
greenlet_spawn then runs each statement straight through).

Nothing else may use this engine: it belongs to the thread's loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Integer, Table, event, func, inspect, select
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

T = TypeVar("T")
# session.info key: the next free id of each table this transaction inserted into.
NEXT_IDS = "contactcenter_next_ids"
# How long closing waits for the thread to finish what it runs.
CLOSE_SECONDS = 10.0


class InlineSQLiteDialect(SQLiteDialect_pysqlite):
    """pysqlite, declared async so AsyncEngine takes it; its calls never await, so run inline."""

    is_async = True
    supports_statement_cache = True


registry.register("sqlite.inline", __name__, "InlineSQLiteDialect")


class _InlineCursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        """What the asyncio facade calls after a statement; rows stay readable in this thread."""


class _InlineConnection(sqlite3.Connection):
    def cursor(self, factory: type[sqlite3.Cursor] = _InlineCursor) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory)


class _OneConnection(StaticPool):
    """The thread's one connection, kept open (PRAGMAs once, not per batch)."""

    _is_asyncio = True


class _WriterSession(Session):
    """The writer's sessions: new rows get their ids before the flush (`_number_new_rows`)."""


@event.listens_for(_WriterSession, "before_flush")
def _number_new_rows(session: Session, _flush_context: Any, _instances: Any) -> None:
    """Give the flush's new rows their ids, so each table's rows go in as one executemany.

    Without ids, SQLAlchemy must INSERT … RETURNING each row alone on SQLite
    (whose RETURNING order is unspecified, so it cannot match ids to rows in a
    multi-row statement). This transaction holds SQLite's write lock from its
    first statement (BEGIN IMMEDIATE), so nobody else inserts meanwhile, and
    max(id) + 1 onwards is what SQLite itself would pick (no table uses
    AUTOINCREMENT); every table's max(id) is read once per transaction, in one
    statement (a writer session is one batch's transaction, and the pipeline
    inserts into these tables only through the session). Ids follow the order
    the rows were added.
    """
    new: dict[Any, list[Any]] = {}
    explicit: dict[Any, int] = {}  # tables whose new rows came with ids: the next id after them
    following: dict[Any, int] = session.info.setdefault(NEXT_IDS, {})  # this transaction's next id per table
    for obj in session.new:
        state = inspect(obj)
        columns = state.mapper.primary_key
        if len(columns) != 1 or not isinstance(columns[0].type, Integer):
            continue
        key = state.mapper.get_property_by_column(columns[0]).key
        given = getattr(obj, key)
        if given is None:
            new.setdefault(columns[0], []).append((state.insert_order, key, obj))
        else:
            explicit[columns[0]] = max(explicit.get(columns[0], 0), given + 1)
    if any(column not in following for column in new):
        _read_next_ids(session, following, next(iter(new)).table.metadata)
    for column, after in explicit.items():
        if column in following:
            following[column] = max(following[column], after)
    for column, rows in new.items():
        for number, (_, key, obj) in enumerate(sorted(rows, key=lambda row: row[0]), start=following[column]):
            setattr(obj, key, number)
        following[column] += len(rows)


# metadata -> the integer primary keys of its tables and one SELECT of all their max(id).
_LAST_IDS: dict[Any, tuple[list[Any], Any]] = {}


def _read_next_ids(session: Session, following: dict[Any, int], metadata: Any) -> None:
    """Every table's next id in one statement (each max(id) is the last entry of its rowid b-tree)."""
    if metadata not in _LAST_IDS:
        columns = [
            table.primary_key.columns[0]
            for table in metadata.sorted_tables
            if len(table.primary_key.columns) == 1 and isinstance(table.primary_key.columns[0].type, Integer)
        ]
        _LAST_IDS[metadata] = (columns, select(*(select(func.max(c)).scalar_subquery() for c in columns)))
    columns, statement = _LAST_IDS[metadata]
    row = session.connection().execute(statement).one()
    for column, last in zip(columns, row):
        following[column] = max(following.get(column, 0), (last or 0) + 1)


async def insert_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` into `table` in one executemany, with Core; -> their new ids, in order.

    For the ingest path's rows that nothing reads back as ORM objects: the
    unit of work costs more per row than SQLite does (issue 11). A writer
    session numbers them as `_number_new_rows` does, from the same counters;
    any other session has the database return the ids, in the rows' order.
    Pending ORM objects are not flushed first: flush those this depends on.
    """
    if not rows:
        return []
    column = table.primary_key.columns[0]
    if not isinstance(session.sync_session, _WriterSession):
        result = await session.execute(table.insert().returning(column, sort_by_parameter_order=True), rows)
        return list(result.scalars())
    following: dict[Any, int] = session.info.setdefault(NEXT_IDS, {})
    if column not in following:
        await session.run_sync(_read_next_ids, following, table.metadata)
    first = following[column]
    following[column] = first + len(rows)
    await session.execute(table.insert(), [{**row, column.key: number} for number, row in enumerate(rows, start=first)])
    return list(range(first, first + len(rows)))


class SQLiteWriter:
    """A thread with an event loop and one SQLite connection; `run` hands it a coroutine."""

    def __init__(self, url: str, setup: Callable[[AsyncEngine], None]):
        parsed = make_url(url).set(drivername="sqlite+inline")
        self.engine = create_async_engine(parsed, poolclass=_OneConnection, connect_args={"check_same_thread": False, "factory": _InlineConnection})
        setup(self.engine)  # the same PRAGMAs and BEGIN IMMEDIATE as the other engines (db/engine.py)
        self.sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=_WriterSession
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, name="sqlite-writer", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        self.loop.close()

    async def run(self, work: Callable[..., Awaitable[T]], *args: Any) -> T:
        """`await work(*args)` on the writer thread; the caller's loop waits without blocking."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work(*args), self.loop))

    def abandon(self) -> None:
        """Close the connection and end the thread without waiting (its caller's loop is gone)."""
        if self.thread.is_alive():
            # The coroutine is made on the thread's loop, so a loop that stops
            # first leaves no coroutine never awaited behind.
            self.loop.call_soon_threadsafe(self._dispose_then_stop)

    def _dispose_then_stop(self) -> None:
        self.loop.create_task(self.engine.dispose()).add_done_callback(lambda _: self.loop.stop())

    async def close(self) -> None:
        if not self.thread.is_alive():
            return
        try:
            await asyncio.wait_for(self.run(self.engine.dispose), CLOSE_SECONDS)
        except Exception:  # noqa: BLE001 - closing anyway; the process exit closes the file
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        await asyncio.to_thread(self.thread.join, CLOSE_SECONDS)
