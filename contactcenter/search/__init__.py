"""Search for the workspace: customers by name or any written identifier, tickets by words.

`schema` holds the full-text indexes (FTS5 on SQLite, tsvector GIN on
PostgreSQL); `terms` turns what a person typed into words; `queries` answers.
The database keeps the indexes current in the writer's own transaction, so no
ingest step has to remember them.
"""
