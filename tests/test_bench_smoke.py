"""The load generator still runs end to end (a two-second smoke profile, SQLite)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import aiohttp
import pytest

from bench import run
from bench.traffic import Traffic
from contactcenter.web.auth import create_api_token



@pytest.mark.sqlite_only  # the bench starts its own hub and database
def test_smoke_profile_measures_and_writes_json_and_chart(tmp_path: Path, database_url: str, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run.main(["--profile", "smoke", "--results", str(tmp_path)]) == 0
    (result,) = tmp_path.glob("*-smoke.json")
    report = json.loads(result.read_text())
    (measured,) = report["runs"]
    assert measured["channels"]["api"] == measured["channels"]["web"] == "present"
    assert measured["max"]["per_second"] > 0
    # Processed counts what reached a timeline: never more than was answered.
    assert 0 < measured["max"]["processed"] <= measured["max"]["contacts"]
    assert measured["max"]["processed_per_second"] <= measured["max"]["per_second"]
    # A loaded CI machine may time a request out; the hub must never fail one.
    assert not [kind for kind in measured["max"]["errors"] if "HTTP 5" in kind], measured["max"]["errors"]
    present = {channel for channel, state in measured["channels"].items() if state == "present"}
    assert set(measured["max"]["channels"]) == present >= {"api", "web"}
    assert measured["peak_rss_mb"] > 10 and measured["database_mb"] > 0
    assert measured["sweep"][0]["p99_ms"] is not None
    ET.parse(next(tmp_path.glob("*-smoke.svg")))  # well-formed SVG


async def test_the_bench_stops_when_it_cannot_read_metrics(client, hub) -> None:
    """Without /metrics no processed figure can be given: the run stops saying so
    rather than reporting answered contacts as processed."""
    async with hub.sessions() as session, session.begin():
        intake = await create_api_token(session, "bench", "intake")  # not allowed to read /metrics
    url = str(client.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:
        driver = run.Driver([run.Hub(url, url, None)], intake, run.TWILIO_TOKEN, http, Traffic())
        with pytest.raises(SystemExit, match="cannot read .*/metrics \\(HTTP 403"):
            await driver.inbound_records()
        driver.hubs = [run.Hub("http://127.0.0.1:9", "http://127.0.0.1:9", None)]  # nothing listens there
        with pytest.raises(SystemExit, match="processed contacts cannot be counted"):
            await driver.drain()
