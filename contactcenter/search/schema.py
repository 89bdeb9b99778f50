"""The full-text indexes, created by revision 0003_workspace and checked at start-up.

SQLite: FTS5 tables with external content (they hold only the index, the text
stays in `interactions` and `tickets`) and triggers that follow every insert,
update and delete. PostgreSQL: GIN indexes over `to_tsvector('simple', …)`
expressions that `queries` repeats word for word, so the planner uses them.
The 'simple' configuration (no stemming) matches FTS5's unicode61 tokenizer:
both databases find the same tickets for the same words.

SQLite's batch migrations copy a table and drop its triggers; `ensure_search_schema`
runs at start-up and puts them back (and re-indexes) if a later revision did that.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

INTERACTION_DOCUMENT = "to_tsvector('simple', coalesce(subject, '') || ' ' || coalesce(text, ''))"
TICKET_DOCUMENT = "to_tsvector('simple', coalesce(subject, ''))"
SEARCH_PREFIX = "search_"  # every table, trigger and index made here starts so (ix_search_ for indexes)

_SQLITE_TABLES = {
    "search_interactions": ("interactions", ("subject", "text")),
    "search_tickets": ("tickets", ("subject",)),
}


def _sqlite_statements(table: str, source: str, columns: tuple[str, ...]) -> list[str]:
    names = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    insert = f"INSERT INTO {table}(rowid, {names}) VALUES (new.id, {new});"
    delete = f"INSERT INTO {table}({table}, rowid, {names}) VALUES ('delete', old.id, {old});"
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING fts5({names}, content='{source}', content_rowid='id', "
        "tokenize='unicode61 remove_diacritics 2')",
        f"CREATE TRIGGER IF NOT EXISTS {table}_insert AFTER INSERT ON {source} BEGIN {insert} END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_delete AFTER DELETE ON {source} BEGIN {delete} END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_update AFTER UPDATE OF {names} ON {source} BEGIN {delete} {insert} END",
    ]


def create_search_schema(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        for table, (source, columns) in _SQLITE_TABLES.items():
            for statement in _sqlite_statements(table, source, columns):
                connection.execute(text(statement))
            connection.execute(text(f"INSERT INTO {table}({table}) VALUES ('rebuild')"))
    else:
        connection.execute(text(f"CREATE INDEX IF NOT EXISTS ix_search_interactions ON interactions USING gin ({INTERACTION_DOCUMENT})"))
        connection.execute(text(f"CREATE INDEX IF NOT EXISTS ix_search_tickets ON tickets USING gin ({TICKET_DOCUMENT})"))


def drop_search_schema(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        for table in _SQLITE_TABLES:
            for suffix in ("insert", "delete", "update"):
                connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_{suffix}"))
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    else:
        connection.execute(text("DROP INDEX IF EXISTS ix_search_interactions"))
        connection.execute(text("DROP INDEX IF EXISTS ix_search_tickets"))


def ensure_search_schema(connection: Connection) -> bool:
    """Recreate what a later table copy dropped; True when something had to be rebuilt."""
    if connection.dialect.name != "sqlite":
        return False
    wanted = {f"{t}_{s}" for t in _SQLITE_TABLES for s in ("insert", "delete", "update")}
    present = set(connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
    if wanted <= present:
        return False
    create_search_schema(connection)
    return True


def is_search_object(name: str | None) -> bool:
    """Whether a table or index is one of these (model comparisons leave them out)."""
    return bool(name) and (name.startswith(SEARCH_PREFIX) or name.startswith("ix_" + SEARCH_PREFIX))
