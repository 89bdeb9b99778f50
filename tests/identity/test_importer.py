"""CRM import: thousands of rows twice, bad rows by line, duplicates within the file and against the database."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from contactcenter.db.models import AuditEvent, ContactPoint, Customer, MergeSuggestion
from contactcenter.errors import InputError
from contactcenter.identity.importer import import_customers
from contactcenter.pipeline.run import ingest
from tests.factories import make_inbound

HEADER = ["name", "emails", "phones", "company", "tier", "segment", "lifetime_value", "external_id"]
ROWS = 3000
BAD_LINES = {103: "emails", 202: "phones", 1503: "emails", 2999: "phones"}


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def generated_rows() -> list[list[str]]:
    """Customer i at line i + 2; every tenth row repeats an earlier customer in another spelling."""
    rows = []
    for i in range(ROWS):
        line = i + 2
        if line in BAD_LINES:
            rows.append([f"Bad {i}", "broken@" if BAD_LINES[line] == "emails" else f"c{i}@example.com", "12" if BAD_LINES[line] == "phones" else "", "", "", "", "", ""])
        elif i % 10 == 9:
            j = i - 5  # the same person as row j, written differently, with a number the CRM learned since
            rows.append([f"  C{j}  Person ", f"C{j}@Example.COM", f"+1 (212) 555-{j:04d}", "", "", "", "", ""])
        else:
            rows.append([f"Person C{i}", f"c{i}@example.com", f"212.555.{i:04d}" if i % 2 else "", f"Co {i % 7}", "ABC"[i % 3], "retail;emea" if i % 4 else "", f"{i * 10}.5", f"CRM-{i}"])
    return rows


async def counts(hub) -> tuple[int, int]:
    async with hub.sessions() as session:
        customers = await session.scalar(select(func.count()).select_from(Customer))
        points = await session.scalar(select(func.count()).select_from(ContactPoint))
    return customers, points


async def test_importing_twice_creates_nothing_the_second_time(hub, tmp_path):
    path = write_csv(tmp_path / "crm.csv", generated_rows())
    first = await import_customers(hub, path, batch_rows=500)
    duplicates = ROWS // 10
    assert first.rejected == sorted((line, first.rejected[k][1]) for k, line in enumerate(sorted(BAD_LINES)))
    for (line, reason), field in zip(first.rejected, [BAD_LINES[line] for line in sorted(BAD_LINES)], strict=True):
        assert reason.startswith(f"{field}:"), (line, reason)
    assert first.created == ROWS - duplicates - len(BAD_LINES)
    assert first.updated == duplicates  # each repeat added its number to the earlier row's customer
    assert first.suggested == 0
    after_first = await counts(hub)

    second = await import_customers(hub, path, batch_rows=700)
    assert (second.created, second.updated, second.suggested) == (0, 0, 0)
    assert second.unchanged == ROWS - len(BAD_LINES)
    assert [line for line, _ in second.rejected] == sorted(BAD_LINES)
    assert await counts(hub) == after_first

    async with hub.sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.external_id == "CRM-4"))
        assert (customer.name, customer.tier, customer.segments, customer.lifetime_value, customer.company) == (
            "Person C4", "B", [], 40.5, "Co 4"  # row 5 (no segments), then row 10 adds a number
        )
        points = list(await session.scalars(select(ContactPoint).where(ContactPoint.customer_id == customer.id)))
        assert sorted((p.kind, p.value, p.evidence) for p in points) == [
            ("email", "c4@example.com", "imported"), ("phone", "+12125550004", "imported")
        ]
        events = list(await session.scalars(select(AuditEvent).where(AuditEvent.action == "customers.imported")))
        assert [e.details["created"] for e in events] == [first.created, 0]


async def test_import_matches_existing_customers_and_suggests_on_conflicts(hub, tmp_path):
    alice = (await ingest(hub, make_inbound(email="alice@example.com", name="Alice"))).customer_id
    bob = (await ingest(hub, make_inbound(email="bob@example.com", name="Bob"))).customer_id
    path = write_csv(
        tmp_path / "crm.csv",
        [
            ["Alice Example", "ALICE@example.com", "+14155550100", "Acme", "VIP", "", "", "A-1"],
            ["Alice and Bob", "alice@example.com;bob@example.com", "", "", "", "", "", ""],
            ["Carol", "carol@example.com", "", "", "C", "", "", "A-1"],  # the CRM id is Alice's
        ],
    )
    report = await import_customers(hub, path)
    assert (report.created, report.updated, report.suggested, report.rejected) == (0, 2, 1, [])
    async with hub.sessions() as session:
        customer = await session.get(Customer, alice)
        assert (customer.name, customer.tier, customer.external_id) == ("Alice Example", "VIP", "A-1")
        values = set(await session.scalars(select(ContactPoint.value).where(ContactPoint.customer_id == alice)))
        assert values == {"alice@example.com", "+14155550100", "carol@example.com"}
        suggestion = await session.scalar(select(MergeSuggestion))
        assert (suggestion.customer_a_id, suggestion.customer_b_id) == (alice, bob)
        assert suggestion.reasons == ["import line 3 carries identifiers of both"]
        # The CRM vouches for the address: a claim becomes imported.
        assert await session.scalar(select(ContactPoint.evidence).where(ContactPoint.value == "alice@example.com")) == "imported"
    again = await import_customers(hub, path)
    assert (again.created, again.updated, again.unchanged, again.suggested) == (0, 0, 2, 1)


async def test_new_customers_named_like_a_colleague_on_the_domain_are_suggested(hub, tmp_path):
    known = (await ingest(hub, make_inbound(email="john@acme.example", name="John Smith"))).customer_id
    path = write_csv(
        tmp_path / "crm.csv",
        [
            ["Smith, John", "j.smith@acme.example", "", "", "", "", "", ""],
            ["John Smith", "john.smith@gmail.com", "", "", "", "", "", ""],  # free mail: no reason
            ["Mary Smith", "mary@acme.example", "", "", "", "", "", ""],
        ],
    )
    report = await import_customers(hub, path)
    assert (report.created, report.lookalikes) == (3, 1)
    async with hub.sessions() as session:
        suggestion = await session.scalar(select(MergeSuggestion))
        twin = await session.scalar(select(ContactPoint.customer_id).where(ContactPoint.value == "j.smith@acme.example"))
    assert (suggestion.customer_a_id, suggestion.customer_b_id) == (known, twin)
    assert suggestion.reasons == ["same name", "both use the email domain acme.example"]
    assert (await import_customers(hub, path)).lookalikes == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"name,shoe size\nA,42\n", "unknown columns 'shoe size'"),
        (b"name,company\nA,B\n", "needs an emails, phones or external_id column"),
        (b"name,emails\n\xff\xfe,a@b.example\n", "not a UTF-8 CSV file"),
    ],
)
async def test_unusable_files_are_refused_with_the_reason(hub, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        await import_customers(hub, path)


@pytest.mark.sqlite_only  # the command line against its embedded database
def test_command_line_reports_rejects_by_line_with_progress(tmp_path):
    path = write_csv(
        tmp_path / "crm.csv",
        [["Ann", "ann@example.com", "", "", "", "", "", ""], ["Bad", "ann@", "", "", "", "", "", ""], ["Ben", "", "+1 415 555 0101", "", "A", "", "", ""]],
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "CONTACTCENTER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cc.db'}",
    }
    run = subprocess.run(
        [sys.executable, "-m", "contactcenter", "import-customers", str(path)], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 1, run.stderr
    assert run.stdout.splitlines() == [
        "3 rows: 2 created, 0 updated, 0 unchanged, 0 suggested for merging, 1 rejected",
        "line 3: rejected: emails: 'ann@' is not a valid email address",
    ]
    assert "import: 100% (3 rows)" in run.stderr
