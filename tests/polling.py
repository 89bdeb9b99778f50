"""Waiting for something a test expects, with a deadline instead of a fixed sleep."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(
    predicate: Callable[[], Any | Awaitable[Any]], timeout: float = 15.0, what: str = "condition", interval: float = 0.02
) -> Any:
    """Look at `predicate` (plain or async) until it is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


async def processed(hub: Any, timeout: float = 15.0) -> None:
    """Wait until the hub has processed every contact it accepted.

    SMS webhooks and the SMTP receiver answer once a contact is stored, before
    the pipeline has run; a test that then reads the database waits here.
    """
    writer = hub.ingest_writer
    if writer is not None:
        await asyncio.wait_for(writer.idle.wait(), timeout)
