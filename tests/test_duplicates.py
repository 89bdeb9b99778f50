"""Duplicate test: every contact delivered twice at the same moment is one interaction.

Providers retry (Twilio when our answer is slow, mail servers after a 4xx),
integrations resend, people double-click. For every wire channel in
`tests.durability.DELIVERERS`, each contact is delivered twice concurrently
(both copies in flight together, many contacts at once) to a real hub; both
deliveries must be acknowledged, name the same ticket, and leave exactly one
interaction.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from tests.durability import DELIVERERS, Tally, Target, admin_token, check_exactly_once, hub_settings, nothing_pending, stored_keys
from tests.hubprocess import HubProcess
from tests.polling import eventually

CONTACTS_PER_CHANNEL = 40
COPIES = 2


async def test_every_contact_delivered_twice_concurrently_is_one_interaction(tmp_path: Path, database_url: str, capsys) -> None:
    token = await admin_token(database_url)
    tally = Tally.new()
    async with HubProcess(tmp_path, database_url, hub_settings()) as hub:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            target = Target.of(hub, http, token)
            prepared = [
                (channel, await deliver(target, f"dup{channel}{i}"))
                for channel, deliver in sorted(DELIVERERS.items())
                for i in range(CONTACTS_PER_CHANNEL)
            ]
            answers = await asyncio.gather(*(p.send() for _, p in prepared for _ in range(COPIES)))
            # SMS and mail are answered once stored (accept, record, process): they are
            # processed right after, and leaving the block kills the hub.
            await eventually(lambda: nothing_pending(database_url), timeout=60, what="accepted contacts processed")
        # How often both copies got past the dedupe lookup and the unique constraint decided.
        races = hub.log_path.read_text(errors="replace").count("concurrent write, running again")
    for n, (channel, p) in enumerate(prepared):
        copies = answers[n * COPIES : (n + 1) * COPIES]
        assert all(d.acknowledged for d in copies), f"{channel} {p.key}: {[(d.status, d.detail) for d in copies]}"
        references = {d.reference for d in copies if d.reference}
        assert len(references) <= 1, f"{channel} {p.key}: the copies named different tickets {references}"
        for delivery in copies:
            tally.record(channel, p.key, delivery)

    stored = await stored_keys(database_url)
    summary = check_exactly_once(tally, stored, f"duplicate test ({database_url.split('+')[0]}, {COPIES} copies each)")
    with capsys.disabled():
        print(f"\n{summary}; races settled by the unique constraint: {races}")
    for channel in DELIVERERS:
        assert len(stored[channel]) == CONTACTS_PER_CHANNEL
