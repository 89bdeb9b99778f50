"""CPU and statements per contact in the ingest pipeline, without HTTP.

Usage (from the repository root):

    python bench/pipeline_cost.py                           # SMS mix, SQLite, 16 callers at once
    python bench/pipeline_cost.py --mix email --steps       # with each step's share
    python bench/pipeline_cost.py --clients 1               # one contact at a time (no batching)
    python bench/pipeline_cost.py --accept                  # answered once stored, processed after
    python bench/pipeline_cost.py --url postgresql+asyncpg://postgres@127.0.0.1/scratch   # an empty database

The contacts go straight to `pipeline.run.ingest` (or `accept`) in this process,
so the figures are the pipeline's own: process CPU time (all threads, so
aiosqlite's worker counts) and SQL statements per contact. Statement counts
do not depend on what else the machine is doing; CPU times do, by ±30% on a
shared machine. The SMS mix comes from 400 numbers (about 40% open a ticket);
the mail mix from 400 addresses, a quarter of them replies to our
acknowledgement of an earlier ticket. Acknowledgements are on.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, select  # noqa: E402

from contactcenter.contact import ChannelKind, InboundContact  # noqa: E402
from contactcenter.db.migrate import upgrade  # noqa: E402
from contactcenter.db.models import Interaction  # noqa: E402
from contactcenter.hub import Hub  # noqa: E402
from contactcenter.pipeline import run  # noqa: E402
from contactcenter.pipeline.route import sync_queues  # noqa: E402
from contactcenter.settings import load_settings  # noqa: E402
from tests.factories import make_inbound  # noqa: E402
from tests.polling import processed  # noqa: E402

WARM_UP = 100


def sms(rng: random.Random) -> InboundContact:
    number = f"+1415555{rng.randrange(400):04d}"
    return make_inbound(channel=ChannelKind.SMS, email=None, phone=number, evidence="verified", name="", subject="")


def mail(rng: random.Random, i: int, *, sender: int | None = None, hints: tuple[str, ...] = ()) -> InboundContact:
    n = rng.randrange(400) if sender is None else sender
    return make_inbound(
        channel=ChannelKind.EMAIL,
        email=f"user{n}@example{n % 7}.com",
        evidence="claimed",
        name=f"Person {n}",
        subject=f"Question {i}",
        provider_id=f"<m{i}.{rng.random()}@mail.example>",
        thread_hints=hints,
    )


async def contacts_for(hub: Hub, mix: str, count: int, rng: random.Random) -> list[InboundContact]:
    """The measured contacts; the warm-up ones are ingested here (and give the mail mix its replies)."""
    for i in range(WARM_UP):
        await run.ingest(hub, sms(rng) if mix == "sms" else mail(rng, i, sender=i))
    if mix == "sms":
        return [sms(rng) for _ in range(count)]
    async with hub.sessions() as session:
        acknowledgements = list(await session.execute(select(Interaction.provider_id, Interaction.meta).where(Interaction.direction == "outbound")))
    contacts = []
    for i in range(count):
        if i % 4 == 3 and acknowledgements:
            message_id, meta = rng.choice(acknowledgements)
            sender = int(meta["to"].split("@")[0].removeprefix("user"))
            contacts.append(mail(rng, 1000 + i, sender=sender, hints=(message_id,)))
        else:
            contacts.append(mail(rng, 1000 + i))
    return contacts


def time_steps(statements: list[int]) -> dict[str, list[float]]:
    """Wrap each step to add up its CPU time and statements (this process only)."""
    figures: dict[str, list[float]] = {}

    def timed(step):  # noqa: ANN001, ANN202
        async def wrapper(ctx) -> None:  # noqa: ANN001
            cpu, count = time.process_time(), statements[0]
            await step(ctx)
            figure = figures.setdefault(step.__name__, [0.0, 0])
            figure[0] += time.process_time() - cpu
            figure[1] += statements[0] - count

        return wrapper

    run.INGEST_STEPS = tuple(timed(step) for step in run.INGEST_STEPS)
    return figures


async def main(options: argparse.Namespace) -> None:
    os.chdir(tempfile.mkdtemp(prefix="cc-pipeline-"))
    url = options.url or f"sqlite+aiosqlite:///{Path.cwd() / 'bench.db'}"
    hub = Hub.create(load_settings(environ={"CONTACTCENTER_HTTP_SECRET_KEY": "bench"}), url)
    await upgrade(hub.engine)
    async with hub.sessions() as session, session.begin():
        await sync_queues(session, hub.settings)
    statements = [0]
    event.listen(hub.engine.sync_engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))
    contacts = await contacts_for(hub, options.mix, options.contacts, random.Random(1))
    if hub.ingest_writer.sqlite is not None:  # the ingest writer's own connection (db/writer.py)
        event.listen(hub.ingest_writer.sqlite.engine.sync_engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))
    steps = time_steps(statements) if options.steps else {}
    send = run.accept if options.accept else run.ingest

    async def caller(share: list[InboundContact]) -> None:
        for contact in share:
            await send(hub, contact)

    statements[0], batches = 0, hub.ingest_writer.batches if hub.ingest_writer else 0
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(caller(contacts[i :: options.clients]) for i in range(options.clients)))
    answered = time.perf_counter() - wall
    await processed(hub, timeout=600)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    n = len(contacts)
    written = hub.ingest_writer.batches - batches if hub.ingest_writer else 0
    print(
        f"{options.mix} on {hub.engine.dialect.name}, {options.clients} callers, {'accept' if options.accept else 'ingest'}: "
        f"{n} contacts, {n / wall:.0f}/s processed ({n / answered:.0f}/s answered), "
        f"{1000 * cpu / n:.2f} ms CPU and {statements[0] / n:.1f} statements per contact, {n / max(written, 1):.1f} per batch"
    )
    for name, (step_cpu, step_statements) in steps.items():
        print(f"  {name:20s} {1000 * step_cpu / n:6.2f} ms CPU {step_statements / n:5.2f} statements")
    await hub.close()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mix", choices=("sms", "email"), default="sms")
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16, help="callers at once (default 16)")
    parser.add_argument("--accept", action="store_true", help="answer once stored (SMS, SMTP) instead of after processing")
    parser.add_argument("--steps", action="store_true", help="print each step's CPU and statements")
    parser.add_argument("--url", help="an empty database (default: a new SQLite file)")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
