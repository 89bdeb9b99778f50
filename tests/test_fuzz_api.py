"""Fuzzing the HTTP API from its own OpenAPI description, against a real hub.

schemathesis reads GET /api/v1/openapi.json from a hub running in a child
process and sends it valid and invalid requests for every operation, over real
HTTP. Each answer must be a documented status with a documented body, never a
500 nor a traceback, and a request without the token must be refused. After
the run the database must hold no partial record: every ticket has its
interaction, every customer an identifier, nothing was shunted for replay.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func, select

from contactcenter.db.models import ContactPoint, Customer, InboundRecord, Interaction, Ticket
from tests.durability import admin_token, hub_settings
from tests.hostile.alphabets import hostile_ids, hostile_text
from tests.hubprocess import HubProcess

# Enough to reach every operation in both modes many times, small enough to
# finish in well under a minute per database on two shared cores.
MAX_EXAMPLES = 250
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/', "sqlalchemy.exc", "asyncpg.exceptions")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance, ignored_auth]


async def _seed(url: str, headers: dict[str, str]) -> None:
    """A few real records, so that ids the fuzzer tries sometimes exist."""
    async with aiohttp.ClientSession(headers=headers) as session:
        for i in range(5):
            body = {"external_id": f"seed-{i}", "email": f"seed{i}@example.com", "phone": f"+1415555{i:04d}", "message": "seed"}
            async with session.post(url + "/api/v1/contacts", json=body) as response:
                assert response.status == 201, await response.text()


async def test_fuzz_every_operation(tmp_path: Path, database_url: str) -> None:
    token = await admin_token(database_url)
    headers = {"Authorization": f"Bearer {token}"}
    async with HubProcess(tmp_path, database_url, hub_settings()) as hub:
        await _seed(hub.url, headers)
        outcome = await asyncio.to_thread(_fuzz, hub.url, headers)
        assert hub.process is not None and hub.process.returncode is None, hub.log()
    print(f"\nfuzz {database_url.split(':')[0]}: {outcome['requests']} requests, statuses {dict(sorted(outcome['statuses'].items()))}")
    assert outcome["requests"] >= MAX_EXAMPLES
    await _assert_no_partial_records(database_url, outcome["created"])


def _fuzz(base_url: str, headers: dict[str, str]) -> dict:
    schema = schemathesis.openapi.from_url(base_url + "/api/v1/openapi.json")
    cases = st.one_of(
        schema.as_strategy(generation_mode=GenerationMode.POSITIVE),
        schema.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    outcome: dict = {"requests": 0, "statuses": {}, "created": set()}
    session = requests.Session()

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=cases, hostile=st.none() | st.tuples(hostile_ids, hostile_text))
    def run(case: schemathesis.Case, hostile: tuple[str, str] | None) -> None:
        if hostile is not None:
            _make_hostile(case, *hostile)
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        outcome["requests"] += 1
        outcome["statuses"][response.status_code] = outcome["statuses"].get(response.status_code, 0) + 1
        for marker in TRACEBACK_MARKERS:
            assert marker not in response.text, f"{case.method} {case.formatted_path}: traceback text in the answer"
        # A hostile case is outside the schema: it must still never be a 500.
        case.validate_response(response, checks=[not_a_server_error] if hostile else CHECKS, headers=headers)
        if case.operation.path == "/api/v1/contacts" and response.status_code == 201:
            outcome["created"].add(response.json()["interaction_id"])

    started = time.monotonic()
    run()
    outcome["seconds"] = time.monotonic() - started
    return outcome


def _make_hostile(case: schemathesis.Case, number: str, text: str) -> None:
    """Issue 19's alphabets in place of the schema's values: ids no column holds, text no column stores."""
    if case.path_parameters:
        case.path_parameters = dict.fromkeys(case.path_parameters, number)
    if case.query:
        case.query = {key: number if key in ("limit", "after_id", "customer_id", "queue") else text for key in case.query}
    if isinstance(case.body, dict):
        case.body = {key: text if isinstance(value, str) else value for key, value in case.body.items()}


async def _assert_no_partial_records(database_url: str, created: set[int]) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            orphan_tickets = await connection.scalar(
                select(func.count()).select_from(Ticket).where(~Ticket.id.in_(select(Interaction.ticket_id).where(Interaction.ticket_id.is_not(None))))
            )
            bare_customers = await connection.scalar(
                select(func.count()).select_from(Customer).where(~Customer.id.in_(select(ContactPoint.customer_id)))
            )
            unlinked = await connection.scalar(
                select(func.count())
                .select_from(Interaction)
                .where(Interaction.direction == "inbound", (Interaction.ticket_id.is_(None)) | (Interaction.customer_id.is_(None)))
            )
            shunted = await connection.scalar(select(func.count()).select_from(InboundRecord))
            stored = set(await connection.scalars(select(Interaction.id).where(Interaction.id.in_(created)))) if created else set()
    finally:
        await engine.dispose()
    assert (orphan_tickets, bare_customers, unlinked, shunted) == (0, 0, 0, 0)
    assert stored == created, "a contact answered 201 is missing"


@pytest.mark.parametrize("path", ["/api/v1/contacts", "/api/v1/tickets/1/replies"])
async def test_garbage_bodies_get_json_4xx(tmp_path: Path, database_url: str, path: str) -> None:
    """Bodies no schema describes: wrong media types, broken encodings, deep nesting."""
    token = await admin_token(database_url)
    headers = {"Authorization": f"Bearer {token}"}
    bodies = [
        (b"\xff\xfe\x00garbage", "application/json"),
        (b'{"message": "\xed\xa0\x80"}', "application/json"),  # a UTF-8-encoded surrogate
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b'{"email": "a@example.com", "message": "x", "external_id": {"$gt": ""}}', "application/json"),
        (b'{"email": "a@example.com", "message": "x", "external_id": 7}', "application/json"),
        (b'{"email": "a@example.com", "message": "lone \\ud800 surrogate", "text": "\\ud800"}', "application/json"),
        (b'{"email": "a@example.com", "message": "nul \\u0000", "text": "nul \\u0000"}', "application/json"),
        (b"message=hi", "application/x-www-form-urlencoded"),
        (b"", "application/json"),
    ]
    async with HubProcess(tmp_path, database_url, hub_settings()) as hub, aiohttp.ClientSession(headers=headers) as session:
        await _seed(hub.url, headers)  # ticket 1 exists, so replies get past the lookup
        for body, content_type in bodies:
            async with session.post(hub.url + path, data=body, headers={"Content-Type": content_type}) as response:
                text = await response.text()
                assert 400 <= response.status < 500, (body[:40], response.status, text)
                assert response.content_type == "application/json", text
                assert "Traceback" not in text
    await _assert_no_partial_records(database_url, set())


async def test_garbage_query_parameters_get_json_4xx(tmp_path: Path, database_url: str) -> None:
    """What the fuzzer found once: a NUL in a search reached PostgreSQL and gave 500."""
    token = await admin_token(database_url)
    headers = {"Authorization": f"Bearer {token}"}
    queries = ["phone=Q%00x", "email=a%00@example.com", "q=%00", "q=%ED%A0%80", "limit=%C2%B2", "after_id=99999999999999"]
    async with HubProcess(tmp_path, database_url, hub_settings()) as hub, aiohttp.ClientSession(headers=headers) as session:
        for query in queries:
            async with session.get(f"{hub.url}/api/v1/customers?{query}") as response:
                text = await response.text()
                assert response.status in (200, 400), (query, response.status, text)
                assert response.content_type == "application/json" and "Traceback" not in text
        async with session.get(f"{hub.url}/api/v1/tickets?queue=%00&status=new") as response:
            assert response.status == 400
