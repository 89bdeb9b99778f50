"""The hub against django-helpdesk, the Python peer, in one run, alternating.

Usage (from the repository root, after `bash ../shared/peer/setup_django_helpdesk.sh`):

    python bench/versus_peer.py                          # 2 rounds, SQLite, 16 clients
    python bench/versus_peer.py --rounds 3 --emails 2000 --form 500
    python bench/versus_peer.py --before ../old-checkout   # also an older hub, in the same rounds

Each round runs the peer's own benchmark (`../shared/peer/bench_django_helpdesk.py`:
mail through its `manage.py get_email`, its public web form through gunicorn
with two sync workers) and the hub's closed-loop maximum per channel
(`bench/run.py --profile max`: mail over SMTP, the web form as a browser uses
it, then JSON intake and SMS, which the peer does not have), one after the
other; odd rounds start with the peer, even rounds with the hub, so a drift of
the shared machine falls on both. The hub's rate is *processed* contacts (on
their customer's timeline), not answered ones; the peer's is tickets made.
CPU per contact: for the hub, its process during the window and the drain
(SQLite works in that process); for the peer, what its benchmark reports
(get_email's processes for mail, gunicorn's workers for the form).

With `--before DIR` each round also measures the hub of another checkout
with its own `.venv` and its own `bench/run.py` (which must report
`hub_cpu_ms_per_contact`, as this one does, for the CPU column), for a
before/after table from the same run.

Prints one table of medians over the rounds and writes the JSON to
bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PEER_PYTHON = "/tmp/peer/venv/bin/python"
# The hub's channel measured against the peer's work of the same kind.
WORK = {"email": "email", "web": "web", "api": None, "sms": None}
GOAL = 20  # issue 11: twenty times the peer


def peer_round(options: argparse.Namespace, workdir: Path) -> dict[str, dict[str, float]]:
    out = workdir / "peer.json"
    command = [
        PEER_PYTHON, str(options.peer_dir / "bench_django_helpdesk.py"),
        "--emails", str(options.emails), "--form", str(options.form), "--json-out", str(out),
    ]
    print(f"{time.strftime('%H:%M:%S')} peer: {' '.join(command[1:])}", flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=3600)
    result = json.loads(out.read_text())
    email, web = result["email"], result["web"]
    return {
        "email": {"per_second": email["emails_per_s"], "cpu_ms": email["cpu_s_per_email_ms"]},
        "web": {"per_second": web["tickets_per_s"], "cpu_ms": web["server_cpu_ms_per_ticket"]},
    }


def hub_round(options: argparse.Namespace, workdir: Path, channel: str, checkout: Path = ROOT) -> dict[str, float]:
    """The closed-loop maximum of the hub in `checkout`, by its own venv and load generator."""
    results = workdir / f"hub-{checkout.name}-{channel}"
    python = sys.executable if checkout == ROOT else str(checkout / ".venv" / "bin" / "python")
    command = [
        python, str(checkout / "bench" / "run.py"), "--profile", "max", "--db", options.db,
        "--clients", str(options.clients), "--channels", channel, "--results", str(results),
    ]
    print(f"{time.strftime('%H:%M:%S')} hub in {checkout}: {' '.join(command[1:])}", flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=900, cwd=checkout)
    report = json.loads(next(results.glob("*.json")).read_text())
    top = report["runs"][0]["max"]
    return {"per_second": top["processed_per_second"], "cpu_ms": top.get("hub_cpu_ms_per_contact", float("nan")), "p99_ms": top["p99_ms"]}


def median(rounds: list[dict[str, dict[str, float]]], side: str, work: str, key: str) -> float | None:
    values = [r[side][work][key] for r in rounds if work in r.get(side, {})]
    return round(statistics.median(values), 2) if values else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--emails", type=int, default=1000, help="mails per peer round (its default is 2000)")
    parser.add_argument("--form", type=int, default=300, help="form submissions per peer round (its default is 500)")
    parser.add_argument("--clients", type=int, default=16, help="the hub's closed-loop clients")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--peer-dir", type=Path, default=ROOT.parent / "shared" / "peer")
    parser.add_argument("--before", type=Path, help="another checkout (with .venv) measured in the same rounds")
    options = parser.parse_args(argv)
    if not Path(PEER_PYTHON).exists():
        raise SystemExit(f"the peer is not set up: run `bash {options.peer_dir}/setup_django_helpdesk.sh` first")
    started = datetime.now(UTC)
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cc-versus-") as tmp:
        for number in range(options.rounds):
            workdir = Path(tmp) / str(number)
            workdir.mkdir()
            this: dict[str, Any] = {"load_average": os.getloadavg()}

            def run_hub() -> None:
                if options.before:
                    this["before"] = {channel: hub_round(options, workdir, channel, options.before.resolve()) for channel in WORK}
                this["hub"] = {channel: hub_round(options, workdir, channel) for channel in WORK}

            def run_peer() -> None:
                this["peer"] = peer_round(options, workdir)

            for step in (run_peer, run_hub) if number % 2 == 0 else (run_hub, run_peer):
                step()
            rounds.append(this)
    print(f"\n{options.rounds} rounds, medians; hub on {options.db}, {options.clients} clients; peer django-helpdesk 2.6.1 on SQLite")
    print(f"{'work':<8} {'peer /s':>9} {'peer CPU ms':>12} {'hub /s':>9} {'hub CPU ms':>11} {'hub p99 ms':>11} {'rate ratio':>11} {'CPU ratio':>10}")
    table = {}
    for channel, work in WORK.items():
        hub_rate, hub_cpu = median(rounds, "hub", channel, "per_second"), median(rounds, "hub", channel, "cpu_ms")
        hub_p99 = median(rounds, "hub", channel, "p99_ms")
        peer_rate = median(rounds, "peer", work, "per_second") if work else None
        peer_cpu = median(rounds, "peer", work, "cpu_ms") if work else None
        rate_ratio = round(hub_rate / peer_rate, 1) if hub_rate and peer_rate else None
        cpu_ratio = round(peer_cpu / hub_cpu, 1) if hub_cpu and peer_cpu else None
        table[channel] = {"peer_per_second": peer_rate, "peer_cpu_ms": peer_cpu, "hub_per_second": hub_rate,
                          "hub_cpu_ms": hub_cpu, "hub_p99_ms": hub_p99, "rate_ratio": rate_ratio, "cpu_ratio": cpu_ratio}
        show = [f"{v:>9}" if v is not None else f"{'—':>9}" for v in (peer_rate, peer_cpu, hub_rate, hub_cpu, hub_p99)]
        ratios = [f"{v}×" if v is not None else "—" for v in (rate_ratio, cpu_ratio)]
        print(f"{channel:<8} {show[0]} {show[1]:>12} {show[2]} {show[3]:>11} {show[4]:>11} {ratios[0]:>11} {ratios[1]:>10}")
    print(f"goal: {GOAL}× the peer's rate (issue 11)")
    if options.before:
        print(f"\nbefore = {options.before}, after = {ROOT}, same rounds")
        print(f"{'channel':<8} {'before /s':>10} {'before CPU ms':>14} {'after /s':>9} {'after CPU ms':>13}")
        for channel in WORK:
            figures = [median(rounds, side, channel, key) for side in ("before", "hub") for key in ("per_second", "cpu_ms")]
            table[channel]["before_per_second"], table[channel]["before_cpu_ms"] = figures[0], figures[1]
            print(f"{channel:<8} {figures[0]:>10} {figures[1]:>14} {figures[2]:>9} {figures[3]:>13}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{started:%Y%m%dT%H%M%S}-versus-peer.json"
    path.write_text(json.dumps({"date": started.isoformat(timespec="seconds"), "command": "python bench/versus_peer.py " + " ".join(sys.argv[1:]),
                                "rounds": rounds, "medians": table}, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
