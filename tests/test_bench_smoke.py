"""The load generator still runs end to end (a two-second smoke profile, SQLite)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench import run

pytestmark = pytest.mark.sqlite_only  # the bench starts its own hub and database


def test_smoke_profile_measures_and_writes_json_and_chart(tmp_path: Path, database_url: str, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run.main(["--profile", "smoke", "--results", str(tmp_path)]) == 0
    (result,) = tmp_path.glob("*-smoke.json")
    report = json.loads(result.read_text())
    (measured,) = report["runs"]
    assert measured["channels"]["api"] == measured["channels"]["web"] == "present"
    assert measured["max"]["per_second"] > 0
    # A loaded CI machine may time a request out; the hub must never fail one.
    assert not [kind for kind in measured["max"]["errors"] if "HTTP 5" in kind], measured["max"]["errors"]
    present = {channel for channel, state in measured["channels"].items() if state == "present"}
    assert set(measured["max"]["channels"]) == present >= {"api", "web"}
    assert measured["peak_rss_mb"] > 10 and measured["database_mb"] > 0
    assert measured["sweep"][0]["p99_ms"] is not None
    ET.parse(next(tmp_path.glob("*-smoke.svg")))  # well-formed SVG
