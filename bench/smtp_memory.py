"""Memory of a hub receiving 20 concurrent 24 MB mails over SMTP (issue 19).

Starts `contactcenter serve` in a child process on a fresh SQLite file (or
`--database-url`), sends N mails of about 24 MB (two 8.5 MB attachments,
base64) at once with aiosmtplib, and prints the hub's resident memory
(VmRSS) idle, at its peak while receiving and processing, once every
contact is processed and 5 s later, with the wall and CPU time. Run:

    .venv/bin/python -m bench.smtp_memory [--mails 20] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from contactcenter.db.models import InboundRecord, Interaction
from tests.hubprocess import HubProcess, free_port

SUPPORT = "support@example.com"
ATTACHMENT_BYTES = 8_500_000
# Idle is read this long after the warm-up mail is processed; "after" the moment
# the last mail is, and this much later once more.
SETTLE_SECONDS = 5.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def big_mail(i: int) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"sender{i}@example.org"
    mail["To"] = SUPPORT
    mail["Subject"] = f"Big mail {i}"
    mail.set_content("Two large files attached.\n")
    for n in range(2):
        mail.add_attachment(os.urandom(ATTACHMENT_BYTES), maintype="application", subtype="octet-stream", filename=f"part{n}.bin")
    return mail


async def processed(url: str) -> tuple[int, int]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            done = await connection.scalar(select(func.count()).select_from(Interaction).where(Interaction.direction == "inbound"))
            waiting = await connection.scalar(select(func.count()).select_from(InboundRecord).where(InboundRecord.status == "pending"))
    finally:
        await engine.dispose()
    return done or 0, waiting or 0


async def main(mails: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        url = database_url or f"sqlite+aiosqlite:///{workdir}/bench.db"
        smtp_port = free_port()
        sections = {"email": {"smtp_port": smtp_port}, "tickets": {"auto_acknowledge": False}}
        async with HubProcess(Path(workdir), url, sections) as hub:
            assert hub.process is not None
            pid = hub.process.pid
            await aiosmtplib.send(big_mail(-1), hostname="127.0.0.1", port=smtp_port, timeout=120)  # warm: imports, pools
            while (await processed(url))[0] < 1:
                await asyncio.sleep(0.2)
            await asyncio.sleep(SETTLE_SECONDS)
            idle = rss_mb(pid)
            messages = [big_mail(i) for i in range(mails)]
            size = len(messages[0].as_bytes())
            peak = idle
            started, cpu_before = time.monotonic(), cpu_seconds(pid)
            sending = asyncio.gather(
                *(aiosmtplib.send(m, hostname="127.0.0.1", port=smtp_port, timeout=600) for m in messages), return_exceptions=True
            )
            while not sending.done():
                peak = max(peak, rss_mb(pid))
                await asyncio.sleep(0.1)
            answers = await sending
            accepted = sum(1 for a in answers if not isinstance(a, Exception))
            while (await processed(url))[0] < accepted + 1:  # mail refused with 451 is the sender's to retry
                peak = max(peak, rss_mb(pid))
                await asyncio.sleep(0.1)
            wall, cpu = time.monotonic() - started, cpu_seconds(pid) - cpu_before
            after = rss_mb(pid)
            await asyncio.sleep(SETTLE_SECONDS)  # the writer gives memory back once idle
            settled = rss_mb(pid)
            refused = [a for a in answers if isinstance(a, Exception)]
            print(f"mails: {mails} x {size / 1e6:.1f} MB at once; refused or retried: {len(refused)}")
            print(f"hub RSS idle {idle:.0f} MB, peak {peak:.0f} MB, after {after:.0f} MB ({100 * (after - idle) / idle:+.0f}% of idle)")
            print(f"hub RSS {SETTLE_SECONDS:.0f} s after: {settled:.0f} MB ({100 * (settled - idle) / idle:+.0f}% of idle)")
            print(f"wall {wall:.1f} s, hub CPU {cpu:.1f} s; bench process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.mails, args.database_url))
