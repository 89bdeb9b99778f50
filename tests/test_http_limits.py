"""Hostile HTTP clients are cut off by the [http] limits, over real sockets.

A real hub runs in a child process with short timeouts; the tests talk to it
with raw sockets, the way a slowloris tool or a header flood would.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from tests.durability import admin_token, hub_settings
from tests.hubprocess import HubProcess

IDLE_TIMEOUT = 1.0
REQUEST_TIMEOUT = 1.0
# How long a test waits for the hub to close a connection before calling it
# kept open: far beyond the timeouts, so a loaded machine is no failure. How
# soon it really closes is measured by bench/limits.py.
CLOSE_DEADLINE = 30.0
LIMITS = {"idle_timeout": IDLE_TIMEOUT, "request_timeout": REQUEST_TIMEOUT, "max_header_bytes": 4096, "max_headers": 50}

pytestmark = pytest.mark.sqlite_only  # the limits sit in front of the database


@pytest.fixture
async def hub(tmp_path: Path, database_url: str):
    token = await admin_token(database_url)
    async with HubProcess(tmp_path, database_url, hub_settings(http=LIMITS)) as process:
        process.token = token  # type: ignore[attr-defined]
        yield process


async def connect(hub: HubProcess) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", hub.port)


async def read_until_closed(reader: asyncio.StreamReader, deadline: float) -> bytes:
    """Everything the server sends until it closes; fails if it is still open at `deadline`."""
    received = b""
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"the server kept the connection open; got {received[:200]!r}"
        try:
            chunk = await asyncio.wait_for(reader.read(65536), remaining)
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk


async def test_slowloris_headers_are_cut_off(hub: HubProcess) -> None:
    reader, writer = await connect(hub)
    writer.write(b"POST /api/v1/contacts HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    closed = False
    # One header byte every 100 ms, as slowloris does, until the close deadline.
    for byte in (b"X-Slow-%d: a\r\n" % i for i in range(int(CLOSE_DEADLINE / 0.1))):
        try:
            writer.write(byte[:1])
            await writer.drain()
        except (ConnectionResetError, BrokenPipeError):
            closed = True
            break
        try:
            if await asyncio.wait_for(reader.read(1), 0.1) == b"":
                closed = True
                break
        except TimeoutError:
            continue
    writer.close()
    # How soon it is cut off is a figure for bench/limits.py, not a test.
    assert closed, "a client trickling its headers kept the connection"


async def test_idle_connections_are_closed(hub: HubProcess) -> None:
    connections = [await connect(hub) for _ in range(20)]
    deadline = time.monotonic() + CLOSE_DEADLINE
    for reader, writer in connections:
        assert await read_until_closed(reader, deadline) == b""
        writer.close()


async def test_slow_body_gets_408_and_is_closed(hub: HubProcess) -> None:
    reader, writer = await connect(hub)
    writer.write(
        b"POST /api/v1/contacts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + hub.token.encode() + b"\r\nContent-Length: 1000\r\n\r\n{\"message\": "  # type: ignore[attr-defined]
    )
    await writer.drain()
    answer = await read_until_closed(reader, time.monotonic() + CLOSE_DEADLINE)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"code": "request_timeout"' in answer


async def test_header_flood_is_refused(hub: HubProcess) -> None:
    many = b"".join(b"X-Flood-%d: 1\r\n" % i for i in range(500))
    long_value = b"X-Long: " + b"a" * 100_000 + b"\r\n"
    long_line = b"GET /healthz?" + b"a" * 100_000 + b" HTTP/1.1\r\n"
    for request in (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + long_value + b"\r\n",
        long_line + b"Host: x\r\n\r\n",
    ):
        reader, writer = await connect(hub)
        try:
            writer.write(request)
            await writer.drain()
        except (ConnectionResetError, BrokenPipeError):
            pass  # refused before it finished sending: also fine
        answer = await read_until_closed(reader, time.monotonic() + CLOSE_DEADLINE)
        writer.close()
        status = answer.split(b"\r\n", 1)[0].split(b" ")
        # Refused with 400/431, or closed without an answer; never served.
        assert answer == b"" or (status[0].startswith(b"HTTP/1.") and status[1] in (b"400", b"431")), answer[:200]
        assert b"Traceback" not in answer


async def test_oversized_body_gets_413(hub: HubProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            hub.url + "/api/v1/contacts",
            data=b"x" * 300_000,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {hub.token}"},  # type: ignore[attr-defined]
        ) as response:
            assert response.status == 413
            assert (await response.json())["error"]["code"] == "too_large"


async def test_the_hub_still_serves_after_the_abuse(hub: HubProcess) -> None:
    """Abusive connections must not starve honest clients meanwhile."""
    slow = [await connect(hub) for _ in range(50)]
    for _, writer in slow:
        writer.write(b"POST /contact HTTP/1.1\r\nHost: x\r\n")
    # Answered at all while they hang on (how fast: bench/limits.py).
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        async with session.get(hub.url + "/healthz") as response:
            assert response.status == 200
    for _, writer in slow:
        writer.close()
