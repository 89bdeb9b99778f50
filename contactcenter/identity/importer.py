"""CRM import: `contactcenter import-customers FILE.csv`.

The file is CSV (UTF-8, an Excel byte-order mark is fine) with a header row;
column names are matched without regard to case, spaces or order, and columns
the file does not have are left alone on existing customers:

| column | holds | example |
| --- | --- | --- |
| `name` | the customer's name | `Alice Example` |
| `emails` (or `email`) | addresses, several separated by `;` | `alice@example.com; a.example@work.example` |
| `phones` (or `phone`) | numbers, `;`-separated; national forms read in `[identity] default_region`; an extension (`x42`) is kept apart | `+1 415 555 0100; (415) 555-0199 x42` |
| `company` | company name | `Acme Ltd` |
| `tier` | value tier, e.g. VIP, A, B, C (stored upper-case) | `VIP` |
| `segment` (or `segments`) | segment tags, `;`-separated | `enterprise; emea` |
| `lifetime_value` | a number, `.` as decimal point | `12500.50` |
| `external_id` | the CRM's own id for the customer, unique | `CRM-000123` |

Each row is matched like a contact is (`contactcenter/identity/decisions.py`): by its
external id and its addresses and numbers, against the database and the rows
before it. A row nobody holds creates a customer; a row that matches one
customer updates it (non-empty cells overwrite, new addresses are added as
*imported*); a row whose identifiers belong to two customers changes nothing
and opens a merge suggestion; a row with an invalid address or number, or with
nothing to match on, is rejected with its line number and the rest of the file
still imports. When the same customer appears on several rows, the first row
sets its fields and later rows only fill what is still empty, which is what
makes running the same file again change nothing.

Rows are read, checked and written in batches (one transaction each, a few
indexed lookups per batch rather than per row), so 50 000 rows take seconds
on SQLite; an interrupted import is completed by running it again.
"""

from __future__ import annotations

import csv
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.identity.customers import clean_lifetime_value, clean_segments, clean_text, clean_tier
from contactcenter.db.models import AuditEvent, ContactPoint, Customer
from contactcenter.errors import InputError
from contactcenter.hub import Hub
from contactcenter.identity.decisions import CONFLICT_SCORE, group_key, is_shared_evidence, score_likeness, stronger
from contactcenter.identity.merge import suggest_merge
from contactcenter.identity.normalize import name_key, normalize_email, parse_phone
from contactcenter.settings import IdentitySettings

log = logging.getLogger(__name__)

BATCH_ROWS = 1000
MAX_BATCH_RUNS = 3  # a batch that lost a race with live contacts is read again
# Header spellings people's CRMs export, mapped to our column names.
COLUMNS = {
    "name": "name",
    "full_name": "name",
    "emails": "emails",
    "email": "emails",
    "phones": "phones",
    "phone": "phones",
    "company": "company",
    "tier": "tier",
    "segment": "segments",
    "segments": "segments",
    "lifetime_value": "lifetime_value",
    "ltv": "lifetime_value",
    "external_id": "external_id",
}
FIELDS = ("name", "company", "tier", "segments", "lifetime_value")
MAX_EXTERNAL_ID_CHARS = 200

Key = tuple[str, str]  # ("email", value) / ("phone", value) / ("external_id", value)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    suggested: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    lookalikes: int = 0  # merge suggestions opened for created customers with a same-named twin

    def add(self, other: ImportReport) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.suggested += other.suggested
        self.rejected.extend(other.rejected)
        self.lookalikes += other.lookalikes

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + self.suggested + len(self.rejected)


@dataclass(frozen=True, slots=True)
class Row:
    """One checked CSV row: only the cells that had a value are set."""

    line: int
    fields: dict[str, Any]
    emails: tuple[tuple[str, str], ...]  # (normalised, as written)
    phones: tuple[tuple[str, str, str], ...]  # (e164, extension, as written)
    external_id: str | None

    def keys(self) -> list[Key]:
        keys: list[Key] = [("email", e[0]) for e in self.emails] + [("phone", p[0]) for p in self.phones]
        return keys + ([("external_id", self.external_id)] if self.external_id else [])


Progress = Callable[[float, int], None]  # (fraction of the file read, rows so far)


async def import_customers(
    hub: Hub, path: Path, *, progress: Progress | None = None, batch_rows: int = BATCH_ROWS
) -> ImportReport:
    """Import the file; InputError when it is not a CSV file with usable columns."""
    report = ImportReport()
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            await _import_file(hub, handle, max(path.stat().st_size, 1), report, progress, batch_rows)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path} is not a UTF-8 CSV file ({exc}); rows before the problem are imported") from None
    report.rejected.sort()
    async with hub.sessions() as session, session.begin():
        session.add(
            AuditEvent(
                actor="cli:import-customers",
                action="customers.imported",
                subject_type="import",
                subject_id=0,
                details={
                    "file": path.name,
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "suggested": report.suggested,
                    "rejected": len(report.rejected),
                    "lookalike_suggestions": report.lookalikes,
                },
            )
        )
    return report


async def _import_file(
    hub: Hub, handle: TextIO, size: int, report: ImportReport, progress: Progress | None, batch_rows: int
) -> None:
    settings = hub.settings.identity
    touched: set[int] = set()  # customers a row of this run set: later rows only fill gaps
    for chars, batch in _batches(handle, settings, report, batch_rows):
        for run in range(1, MAX_BATCH_RUNS + 1):
            try:
                async with hub.sessions() as session, session.begin():
                    outcome, touched_now = await _import_batch(session, batch, touched, settings)
                break
            except IntegrityError:
                if run == MAX_BATCH_RUNS:
                    raise
                log.info("import: a batch met concurrent changes; reading it again")
        touched |= touched_now
        report.add(outcome)
        if progress:
            progress(min(chars / size, 1.0), report.rows)


def _batches(
    handle: TextIO, settings: IdentitySettings, report: ImportReport, batch_rows: int
) -> Iterator[tuple[int, list[Row]]]:
    """Checked rows in batches, with how many characters of the file were read."""
    read = 0

    def lines() -> Iterator[str]:
        nonlocal read
        for line in handle:
            read += len(line)
            yield line

    reader = csv.reader(lines())
    header = next(reader, None)
    if header is None:
        raise InputError("the file is empty; the first line must name the columns")
    columns = [COLUMNS.get("_".join(h.strip().lower().replace("-", " ").split())) for h in header]
    unknown = [h for h, c in zip(header, columns, strict=True) if c is None and h.strip()]
    if unknown:
        raise InputError(f"unknown columns {', '.join(map(repr, unknown))}; known: {', '.join(sorted(set(COLUMNS)))}")
    if not {"emails", "phones", "external_id"} & set(columns):
        raise InputError("the file needs an emails, phones or external_id column to match customers on")
    batch: list[Row] = []
    start = reader.line_num + 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        try:
            batch.append(parse_row(line, columns, cells, settings))
        except ValueError as exc:
            report.rejected.append((line, str(exc)))
        if len(batch) >= batch_rows:
            yield read, batch
            batch = []
    if batch:
        yield read, batch


def parse_row(line: int, columns: list[str | None], cells: list[str], settings: IdentitySettings) -> Row:
    """Check one row; ValueError says what is wrong with it."""
    if len(cells) > len(columns):
        raise ValueError(f"{len(cells)} cells but {len(columns)} columns")
    raw = {c: cell.strip() for c, cell in zip(columns, cells) if c}
    fields: dict[str, Any] = {}
    for name, clean in (("name", clean_text), ("company", clean_text), ("tier", clean_tier), ("segments", clean_segments), ("lifetime_value", clean_lifetime_value)):
        if raw.get(name):
            try:
                fields[name] = clean(raw[name])
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
    emails = []
    for part in _split(raw.get("emails", "")):
        email = normalize_email(part, plus_tag_domains=settings.plus_tag_domains)
        if email is None:
            raise ValueError(f"emails: {part!r} is not a valid email address")
        emails.append((email, part))
    phones = []
    for part in _split(raw.get("phones", "")):
        phone = parse_phone(part, settings.default_region)
        if phone.e164 is None:
            raise ValueError(f"phones: {part!r} is not a valid phone number (default region {settings.default_region})")
        phones.append((phone.e164, phone.extension[:20], part))
    external_id = raw.get("external_id") or None
    if external_id and len(external_id) > MAX_EXTERNAL_ID_CHARS:
        raise ValueError(f"external_id: longer than {MAX_EXTERNAL_ID_CHARS} characters")
    if not emails and not phones and not external_id:
        raise ValueError("no email, phone or external_id to match the customer on")
    return Row(
        line=line,
        fields=fields,
        emails=tuple({e[0]: e for e in emails}.values()),
        phones=tuple({p[0]: p for p in phones}.values()),
        external_id=external_id,
    )


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.replace(",", ";").replace("|", ";").split(";") if part.strip()]


@dataclass
class _NewCustomer:
    """A customer a row creates, inserted in bulk at the end of its batch."""

    external_id: str | None
    name: str = ""
    name_key: str = ""
    company: str = ""
    tier: str = ""
    segments: list[str] = field(default_factory=list)
    lifetime_value: float = 0.0
    id: int | None = None

    def values(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in ("external_id", "name", "name_key", "company", "tier", "segments", "lifetime_value")}


async def _import_batch(
    session: AsyncSession, rows: list[Row], touched_before: set[int], settings: IdentitySettings
) -> tuple[ImportReport, set[int]]:
    """Decide every row of the batch against one read of what the database holds.

    Counts are per row: `updated` when the row changed its customer (fields,
    evidence or new addresses), `unchanged` when it did not. Also returns the
    ids of the customers the batch's rows set.
    """
    outcome = ImportReport()
    owner, points = await _holders(session, rows)
    new_points: list[tuple[Customer | _NewCustomer, str, str, str, str]] = []  # customer, kind, value, extension, as written
    touched_now: set[int] = set()  # id() of customers a row of this batch already set
    created: list[_NewCustomer] = []
    conflicts: list[tuple[Row, list[Customer | _NewCustomer]]] = []

    for row in rows:
        holders = list({id(c): c for key in row.keys() if (c := owner.get(key)) is not None}.values())
        if len(holders) > 1:
            conflicts.append((row, holders))
            continue
        if holders:
            customer = holders[0]
            if row.external_id and customer.external_id not in (None, row.external_id):
                outcome.rejected.append(
                    (row.line, f"its addresses belong to customer {customer.id}, whose external_id is {customer.external_id!r}")
                )
                continue
            fill_only = id(customer) in touched_now or customer.id in touched_before
            dirty = _set_fields(customer, row.fields, fill_only=fill_only)
            if row.external_id and customer.external_id is None:
                customer.external_id, dirty = row.external_id, True
        else:
            customer = _NewCustomer(external_id=row.external_id)
            _set_fields(customer, row.fields, fill_only=False)
            created.append(customer)
            dirty = False
        touched_now.add(id(customer))
        for key in row.keys():
            owner[key] = customer
        for kind, value, extension, written in [("email", e, "", written) for e, written in row.emails] + [("phone", *p) for p in row.phones]:
            point = points.get((kind, value))
            if (kind, value) not in points:
                new_points.append((customer, kind, value, extension, written))
                points[(kind, value)] = None
                dirty = True
            elif point is not None and stronger(point.evidence, "imported") != point.evidence:
                point.evidence, dirty = "imported", True
        if not holders:
            outcome.created += 1
        elif dirty:
            outcome.updated += 1
        else:
            outcome.unchanged += 1

    await session.flush()  # changes to existing customers and contact points
    if created:
        # Core bulk inserts with ids chosen up front: one statement per batch,
        # where RETURNING ids in row order costs a round trip per row on SQLite.
        for customer, customer_id in zip(created, await _reserve_ids(session, len(created)), strict=True):
            customer.id = customer_id
        await session.execute(insert(Customer), [{"id": c.id, **c.values()} for c in created])
    if new_points:
        await session.execute(
            insert(ContactPoint),
            [
                {
                    "customer_id": customer.id,
                    "kind": kind,
                    "value": value,
                    "raw_value": written[:320],
                    "extension": extension,
                    "evidence": "imported",
                    "group_key": group_key(kind, value),
                }
                for customer, kind, value, extension, written in new_points
            ],
        )
    if created:
        outcome.lookalikes += await _suggest_lookalikes(session, created, new_points, settings)
    for row, holders in conflicts:
        ids = sorted({c.id for c in holders})
        for other in ids[1:]:
            await suggest_merge(session, ids[0], other, [f"import line {row.line} carries identifiers of both"], CONFLICT_SCORE)
        outcome.suggested += 1
    await session.flush()
    return outcome, {c.id for c in owner.values() if c.id is not None}


async def _reserve_ids(session: AsyncSession, count: int) -> list[int]:
    """`count` customer ids nobody else will use."""
    if session.bind.dialect.name == "postgresql":
        rows = await session.scalars(
            text("SELECT nextval(pg_get_serial_sequence('customers', 'id')) FROM generate_series(1, :n)"), {"n": count}
        )
        return list(rows)
    # SQLite: this write transaction (BEGIN IMMEDIATE) is the only writer, and
    # SQLite itself gives a new row the highest id plus one.
    highest = await session.scalar(select(func.max(Customer.id))) or 0
    return list(range(highest + 1, highest + 1 + count))


async def _suggest_lookalikes(
    session: AsyncSession,
    created: list[_NewCustomer],
    new_points: list[tuple[Customer | _NewCustomer, str, str, str, str]],
    settings: IdentitySettings,
) -> int:
    """Suggest merging each created customer with same-named customers sharing a domain or number block.

    One indexed query per batch, on exact name keys only: near-name likeness
    is left to the identify step, where one customer at a time is cheap.
    """
    keys_of: dict[int, set[str]] = {}
    for customer, kind, value, _, _ in new_points:
        key = group_key(kind, value)
        if isinstance(customer, _NewCustomer) and customer.name_key and is_shared_evidence(key, settings.free_mail_domains):
            keys_of.setdefault(customer.id or 0, set()).add(key)
    by_id = {c.id: c for c in created if c.id in keys_of}
    if not by_id:
        return 0
    rows = await session.execute(
        select(ContactPoint.customer_id, ContactPoint.group_key, Customer.name_key)
        .join(Customer, Customer.id == ContactPoint.customer_id)
        .where(
            ContactPoint.group_key.in_(set().union(*keys_of.values())),
            Customer.name_key.in_({c.name_key for c in by_id.values()}),
            Customer.merged_into_id.is_(None),
        )
    )
    twins: dict[tuple[str, str], set[int]] = {}
    for other_id, key, other_name in rows:
        twins.setdefault((key, other_name), set()).add(other_id)
    opened = 0
    for customer_id, customer in by_id.items():
        shared: dict[int, set[str]] = {}
        for key in keys_of[customer_id]:
            for other_id in twins.get((key, customer.name_key), set()) - {customer_id}:
                shared.setdefault(other_id, set()).add(key)
        for other_id, keys in sorted(shared.items()):
            likeness = score_likeness(customer.name_key, customer.name_key, keys)
            if likeness is not None and await suggest_merge(session, customer_id, other_id, likeness.reasons, likeness.score):
                opened += 1
    return opened


async def _holders(session: AsyncSession, rows: list[Row]) -> tuple[dict[Key, Customer], dict[Key, ContactPoint | None]]:
    """Who holds each identifier and external id of the batch: three indexed lookups."""
    values = {value for row in rows for kind, value in row.keys() if kind != "external_id"}
    external_ids = {row.external_id for row in rows if row.external_id}
    points: dict[Key, ContactPoint | None] = {}  # None: taken by a row of this batch
    if values:
        for point in await session.scalars(
            select(ContactPoint).where(ContactPoint.kind.in_(("email", "phone")), ContactPoint.value.in_(values))
        ):
            points[(point.kind, point.value)] = point
    by_external: dict[str, int] = {}
    if external_ids:
        for customer_id, external_id in await session.execute(
            select(Customer.id, Customer.external_id).where(Customer.external_id.in_(external_ids))
        ):
            by_external[external_id] = customer_id
    wanted = {p.customer_id for p in points.values()} | set(by_external.values())
    customers: dict[int, Customer] = {}
    while wanted - customers.keys():
        found = await session.scalars(select(Customer).where(Customer.id.in_(wanted - customers.keys())))
        for customer in found:
            customers[customer.id] = customer
            if customer.merged_into_id is not None:
                wanted.add(customer.merged_into_id)

    def live(customer_id: int) -> Customer:
        customer = customers[customer_id]
        while customer.merged_into_id is not None:
            customer = customers[customer.merged_into_id]
        return customer

    owner: dict[Key, Customer] = {key: live(p.customer_id) for key, p in points.items()}
    owner.update({("external_id", e): live(i) for e, i in by_external.items()})
    return owner, points


def _set_fields(customer: Customer | _NewCustomer, fields: dict[str, Any], *, fill_only: bool) -> bool:
    """Set the row's fields on the customer; True when something changed."""
    dirty = False
    for name, value in fields.items():
        current = getattr(customer, name)
        if current == value or (fill_only and current):
            continue
        setattr(customer, name, value)
        dirty = True
    if dirty and "name" in fields:
        customer.name_key = name_key(customer.name)
    return dirty


class StderrProgress:
    """A progress bar on standard error: redrawn in place on a terminal, every 10 % otherwise."""

    WIDTH = 30

    def __init__(self, stream: TextIO = sys.stderr):
        self.stream = stream
        self.tty = stream.isatty()
        self.shown = -1

    def __call__(self, fraction: float, rows: int) -> None:
        percent = int(fraction * 100)
        if self.tty:
            filled = int(fraction * self.WIDTH)
            self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {percent:3d}%  {rows} rows")
            if fraction >= 1.0:
                self.stream.write("\n")
        elif percent // 10 > self.shown // 10 or (fraction >= 1.0 and self.shown < 100):
            self.stream.write(f"import: {percent}% ({rows} rows)\n")
        else:
            return
        self.shown = percent
        self.stream.flush()
