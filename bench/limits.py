"""How soon the [http] limits cut abusive clients off, and what honest clients wait meanwhile.

Usage (from the repository root):

    python bench/limits.py               # 5 rounds, idle_timeout = request_timeout = 1 s
    python bench/limits.py --rounds 10 --slow 100

`tests/test_http_limits.py` proves that the limits act (a slowloris client is
cut off, idle connections are closed, honest clients are served); how fast is
a figure, measured here. A real hub runs in a child process on a fresh SQLite
file with the tests' limits. Each round measures, over raw loopback sockets:

- slowloris: one header byte every 100 ms; seconds until the hub closes it;
- idle: 20 connections that send nothing; seconds until the last is closed;
- /healthz: wall time of one GET with no abuse, then with `--slow` connections
  holding half-sent requests open (alternating, so machine drift hits both).

The hub process's CPU seconds over the whole run are printed beside the wall
times: on a shared machine the wall clock includes waiting for a core.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import psutil  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from contactcenter.db.migrate import upgrade  # noqa: E402
from tests.durability import hub_settings  # noqa: E402
from tests.hubprocess import HubProcess  # noqa: E402

LIMITS = {"idle_timeout": 1.0, "request_timeout": 1.0, "max_header_bytes": 4096, "max_headers": 50}
GIVE_UP_SECONDS = 30.0


async def slowloris_cut_off(hub: HubProcess) -> float:
    reader, writer = await asyncio.open_connection("127.0.0.1", hub.port)
    started = time.monotonic()
    writer.write(b"POST /api/v1/contacts HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    try:
        while time.monotonic() - started < GIVE_UP_SECONDS:
            writer.write(b"X")
            await writer.drain()
            try:
                if await asyncio.wait_for(reader.read(1), 0.1) == b"":
                    break
            except TimeoutError:
                continue
    except (ConnectionResetError, BrokenPipeError):
        pass
    writer.close()
    return time.monotonic() - started


async def idle_closed(hub: HubProcess, count: int = 20) -> float:
    connections = [await asyncio.open_connection("127.0.0.1", hub.port) for _ in range(count)]
    started = time.monotonic()
    for reader, writer in connections:
        try:
            await asyncio.wait_for(reader.read(), GIVE_UP_SECONDS)
        except ConnectionResetError:
            pass
        writer.close()
    return time.monotonic() - started


async def healthz(http: aiohttp.ClientSession, hub: HubProcess) -> float:
    started = time.monotonic()
    async with http.get(hub.url + "/healthz") as response:
        await response.read()
        if response.status != 200:
            raise SystemExit(f"/healthz answered {response.status}")
    return time.monotonic() - started


async def healthz_under_abuse(http: aiohttp.ClientSession, hub: HubProcess, slow: int) -> float:
    held = [await asyncio.open_connection("127.0.0.1", hub.port) for _ in range(slow)]
    for _, writer in held:
        writer.write(b"POST /contact HTTP/1.1\r\nHost: x\r\n")
    try:
        return await healthz(http, hub)
    finally:
        for _, writer in held:
            writer.close()


def median_ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"


async def main_async(options: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="cc-limits-") as workdir:
        url = f"sqlite+aiosqlite:///{Path(workdir) / 'limits.db'}"
        engine = create_async_engine(url)
        await upgrade(engine)
        await engine.dispose()
        async with HubProcess(Path(workdir), url, hub_settings(http=LIMITS)) as hub:
            assert hub.process is not None
            process = psutil.Process(hub.process.pid)
            cpu_before = sum(process.cpu_times()[:2])
            cut_off, idle, quiet, abused = [], [], [], []
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=GIVE_UP_SECONDS)) as http:
                for _ in range(options.rounds):
                    cut_off.append(await slowloris_cut_off(hub))
                    idle.append(await idle_closed(hub))
                    quiet.append(await healthz(http, hub))
                    abused.append(await healthz_under_abuse(http, hub, options.slow))
            cpu = sum(process.cpu_times()[:2]) - cpu_before
    print(f"[http] idle_timeout = request_timeout = 1 s; {options.rounds} rounds; hub CPU {cpu:.2f} s over the run")
    print(f"slowloris cut off after   {median_ms(cut_off)}")
    print(f"20 idle connections closed {median_ms(idle)}")
    print(f"/healthz, no abuse         {median_ms(quiet)}")
    print(f"/healthz, {options.slow} slow clients  {median_ms(abused)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--slow", type=int, default=50, help="half-sent requests held open during the /healthz timing")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
