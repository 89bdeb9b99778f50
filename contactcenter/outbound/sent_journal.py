"""What the outbox sent, written down beside the SQLite file before the database hears of it.

The outbox records each message as sent as soon as the provider accepted it,
before the next one goes out, so a `kill -9` repeats at most the one in flight.
On SQLite a transaction per message waits for the one write lock, which the
ingest writer holds most of the time under load: the outbox sent some 30
acknowledgements a second while ingest took 200 mails a second, and its
backlog took minutes to clear (docs/benchmarks.md). So on SQLite each accepted
message is first a line appended to this journal (one `write` of a few dozen
bytes: the kernel keeps it across a killed process, as it keeps SQLite's own
WAL with `synchronous=NORMAL`), and the lines are written to the database
together, once per pass and before any claim, so a restart applies what a
killed process left before it could send anything again.

One SQLite database has one hub process (DESIGN.md), so the journal is that
process's; PostgreSQL, shared by several processes, keeps the transaction per
message (`OutboxWorker._record_success`).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True)
class Sent:
    """One message the provider accepted."""

    row_id: int
    interaction_id: int
    provider_id: str
    status: str
    started: str  # ISO 8601, when the attempt began


@dataclass(frozen=True)
class Taken:
    """Lines moved aside to be applied; `done` once the database holds them."""

    entries: list[Sent]
    files: list[Path]

    def done(self) -> None:
        for file in self.files:
            file.unlink(missing_ok=True)


class SentJournal:
    def __init__(self, path: Path):
        self.path = path
        self.pending: list[Path] = []
        self.recovered = False  # journals a killed process left aside were looked for (once, on the first take)

    def append(self, sent: Sent) -> None:
        """Write one line (opened for it: a journal moved aside meanwhile is never written to again)."""
        line = json.dumps(sent.__dict__, separators=(",", ":")).encode() + b"\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def take(self) -> Taken:
        """Move the journal aside and read it, with any a killed process left aside before; never awaits.

        What a failed apply left aside stays in `pending` for the next take.
        """
        if not self.recovered:
            self.pending = sorted(self.path.parent.glob(f"{self.path.name}.*.applying"))
            self.recovered = True
        if self.path.exists():
            aside = self.path.with_name(f"{self.path.name}.{uuid.uuid4().hex}.applying")
            os.replace(self.path, aside)
            self.pending.append(aside)
        files = [file for file in self.pending if file.exists()]
        self.pending = files
        entries = []
        for file in files:
            for line in file.read_bytes().splitlines():
                try:
                    entries.append(Sent(**json.loads(line)))
                except (ValueError, TypeError):  # a line cut short by a crash of the machine
                    continue
        return Taken(entries, files)


def sent_journal(engine: AsyncEngine | Engine) -> SentJournal | None:
    """The journal of a SQLite file's outbox, beside the file; None on PostgreSQL (and for in-memory SQLite)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return SentJournal(Path(url.database).with_name(Path(url.database).name + ".outbox-sent"))
