"""The `contactcenter` command line (DESIGN.md §3)."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import getpass
import logging
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.engine import make_url

from contactcenter.db.readiness import check_database_url
from contactcenter.errors import ConfigError, ContactCenterError
from contactcenter.hub import Hub
from contactcenter.settings import Settings, load_settings

log = logging.getLogger("contactcenter")


def main(argv: list[str] | None = None) -> int:
    """Run one command; a failure the operator can fix is one line on stderr and a non-zero exit."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Libraries that log every SMTP command (aiosmtpd) and every API request
    # (twilio) at INFO: a few lines per contact, 2 % of the hub's CPU under
    # mail load (docs/benchmarks.md, 2026-12-03); their warnings still show.
    for chatty in ("alembic", "mail.log", "twilio"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        settings = load_settings(args.config)
        check_database_url(settings.database_url())
        return args.run(settings, args)
    except ConfigError as exc:
        print(f"contactcenter: configuration error: {exc}", file=sys.stderr)
        return 1 if args.run is cmd_check_config else 2
    except ContactCenterError as exc:
        print(f"contactcenter: {exc}", file=sys.stderr)
        return 1


CONFIG_HELP = "TOML file laid over the default configuration (default: $CONTACTCENTER_CONFIG, else none)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="contactcenter", description="A multichannel contact center hub.")
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    # --config is accepted after the command too (`contactcenter serve --config FILE`);
    # SUPPRESS keeps a value given before the command when none follows it.
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help=CONFIG_HELP)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, help: str, **kwargs: Any) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, description=help, parents=[config], **kwargs)

    serve = command("serve", "run the hub: HTTP, SMTP receiver, IMAP pollers, outbox, assigner and SLA timer")
    serve.set_defaults(run=cmd_serve)

    check = command("check-config", "check the configuration and the database connection; one line per problem, exit 1 if any")
    check.set_defaults(run=cmd_check_config)

    db = command("db", "database maintenance")
    db_commands = db.add_subparsers(required=True, metavar="ACTION", help="upgrade: apply pending migrations")
    upgrade = db_commands.add_parser(
        "upgrade", help="apply pending migrations to the configured database", description="apply pending migrations to the configured database", parents=[config]
    )
    upgrade.set_defaults(run=cmd_db_upgrade)

    demo = command("demo", "load demo queues, agents, customers and tickets (once), and print an admin API token")
    demo.set_defaults(run=cmd_demo)

    agent = command("create-agent", "add a person who can log in")
    agent.add_argument("email", metavar="EMAIL", help="the address they sign in with")
    agent.add_argument("--name", required=True, help="the name colleagues see (required)")
    agent.add_argument("--role", choices=("agent", "supervisor", "admin"), default="agent", help="what they may do (default: agent)")
    agent.add_argument("--phone", help="where calls reach them, E.164 (+14155550100)")
    agent.add_argument("--skills", help="skills with levels 1..5, e.g. billing=3,refunds=1")
    agent.add_argument("--capacity", help="tickets at once per channel, e.g. voice=1,sms=3,email=6")
    agent.add_argument("--language", help="BCP 47 language of their workspace, e.g. zh-CN")
    agent.add_argument("--timezone", help="IANA time zone, e.g. Asia/Shanghai")
    agent.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input (default: ask on the terminal)"
    )
    agent.set_defaults(run=cmd_create_agent)

    token = command("create-token", "print a new API token (last line: the token alone)")
    token.add_argument("name", metavar="NAME", help="what the token is for, e.g. crm-sync")
    token.add_argument(
        "--role", choices=("intake", "agent", "supervisor", "admin"), default="agent", help="what the token may do (default: agent)"
    )
    token.set_defaults(run=cmd_create_token)

    imports = command("import-customers", "bulk import customers from a CRM export")
    imports.add_argument("file", type=Path, metavar="FILE.csv", help="CSV with a header row (columns: contactcenter/identity/importer.py)")
    imports.add_argument("--batch-size", type=int, default=1000, help="rows per transaction (default: 1000)")
    imports.set_defaults(run=cmd_import_customers)

    replay = command("replay", "process again the contacts kept after a failure")
    replay.set_defaults(run=cmd_replay)
    return parser


# Allocations between collections of the youngest generation (Python's default: 700).
YOUNG_GC_THRESHOLD = 7000


async def _freeze_startup_heap(_app: Any) -> None:
    """Keep what start-up built (modules, settings, templates, pools) out of the collector's full passes.

    A full (generation 2) collection walks every object the collector tracks,
    and stops the event loop and the SQLite writer thread while it does: with
    the ~135,000 objects of a started hub in it, each took 60-84 ms under mail
    load, a large part of mail's p99 (docs/benchmarks.md, 2026-12-03).
    `gc.freeze` moves them to a permanent generation: 13-18 ms. The youngest
    generation is collected every 7,000 allocations instead of 700: the ORM
    allocates so much per contact that the default ran a collection every few
    statements (the mixed bench: 5-8 % less hub CPU per contact).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GC_THRESHOLD, 10, 10)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from contactcenter.app import create_app
    from contactcenter.web.limits import server_limits

    app = create_app(settings)
    app.on_startup.append(_freeze_startup_heap)  # after every start-up context (aiohttp runs cleanup_ctx first)
    listening = f"serving on http://{settings.http.host}:{settings.http.port} (public URL {settings.http.public_url})"
    try:
        refuse_if_taken(settings.http.host, settings.http.port)
        # run_app turns SIGTERM and SIGINT into a graceful stop: the listener
        # closes, in-flight requests finish, then cleanup stops the workers.
        # It calls `print` once every listener is bound, not before.
        web.run_app(
            app,
            host=settings.http.host,
            port=settings.http.port,
            shutdown_timeout=15.0,
            print=lambda _: log.info("%s", listening),
            access_log=None,
            **server_limits(settings.http),
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ContactCenterError(f"port {settings.http.port} is in use ([http] port; another hub may be running)") from None
        if exc.errno == errno.EACCES:
            raise ContactCenterError(f"no permission to listen on port {settings.http.port} ([http] port)") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ContactCenterError(f"cannot listen on {settings.http.host}: no such address here ([http] host)") from None
        raise
    return 0


def refuse_if_taken(host: str, port: int) -> None:
    """Raise the OSError `run_app` would, before the app starts its workers.

    run_app binds the port only after the app's start-up has begun the
    outbox, assigner and SMTP listener; failing then cancels them mid-query
    and SQLAlchemy logs tracebacks around the one line that says what to do.
    The check binds as aiohttp does (SO_REUSEADDR) and lets go at once.
    """
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return  # run_app reports an unknown host itself
    for family, kind, proto, _name, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)


def cmd_check_config(settings: Settings, args: argparse.Namespace) -> int:
    """The settings loaded (else main printed the problem); now check what they point at."""
    from contactcenter.db.engine import create_engine
    from contactcenter.db.readiness import DatabaseProblem, check_database
    from contactcenter.settings import TEMPLATES_DIR

    problems = []
    if not (TEMPLATES_DIR / "pages" / "base.html").is_file():
        problems.append(f"the page templates are missing from {TEMPLATES_DIR} (reinstall contactcenter)")
    url = make_url(settings.database_url())
    sqlite_file = Path(url.database or "") if url.get_backend_name() == "sqlite" else None
    if sqlite_file is not None and not sqlite_file.exists():
        # `serve` creates and migrates it; only the folder has to allow that.
        folder = next((p for p in sqlite_file.absolute().parents if p.exists()), Path("/"))
        if not os.access(folder, os.W_OK):
            problems.append(f"the SQLite database {sqlite_file} cannot be created: {folder} is not writable")
    else:

        async def probe() -> None:
            engine = create_engine(settings)
            try:
                # SQLite files are migrated by serve itself; PostgreSQL must be at head.
                await check_database(engine, migrated=sqlite_file is None)
            except DatabaseProblem as exc:
                problems.append(str(exc))
            finally:
                await engine.dispose()

        asyncio.run(probe())
    for problem in problems:
        print(f"contactcenter: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"configuration OK ({settings.source}); database {url.render_as_string(hide_password=True)}")
    return 0


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from contactcenter.db.migrate import current_revision, upgrade

    async def run(hub: Hub) -> None:
        await upgrade(hub.engine)
        print(f"database at revision {await current_revision(hub.engine)}")

    return _with_hub(settings, run, migrated=False)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from contactcenter.demo import load_demo

    return _with_hub(settings, load_demo, migrate=True)


def cmd_create_agent(settings: Settings, args: argparse.Namespace) -> int:
    from contactcenter.people.agents import do_create_agent
    from contactcenter.people.fields import parse_agent_fields, parse_levels

    body: dict[str, object] = {"email": args.email, "name": args.name, "role": args.role}
    for key in ("phone", "language", "timezone"):
        if getattr(args, key) is not None:
            body[key] = getattr(args, key)
    # Bad input is an InputError (a ContactCenterError): main() prints it, exit 1.
    if args.skills is not None:
        body["skills"] = parse_levels(args.skills, "skills")
    if args.capacity is not None:
        body["capacity"] = parse_levels(args.capacity, "capacity")
    fields = parse_agent_fields(body, creating=True)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not sys.stdin.isatty():
        raise ContactCenterError("no terminal to ask for the password on: pipe it in with --password-stdin")
    else:
        try:
            password = getpass.getpass(f"password for {fields['email']}: ")
        except EOFError:
            raise ContactCenterError("no password given (to pipe one in, use --password-stdin)") from None
    if len(password) < 8:
        raise ContactCenterError("the password needs at least 8 characters")
    fields["password"] = password

    async def run(hub: Hub) -> None:
        async with hub.sessions() as session, session.begin():
            agent, _ = await do_create_agent(session, fields, actor="cli")
        print(f"created {args.role} {agent.email} (id {agent.id})")

    return _with_hub(settings, run, migrate=True)


def cmd_create_token(settings: Settings, args: argparse.Namespace) -> int:
    from contactcenter.web.auth import create_api_token

    async def run(hub: Hub) -> None:
        async with hub.sessions() as session, session.begin():
            token = await create_api_token(session, args.name, args.role)
        print(f"API token {args.name!r} with role {args.role}; it is shown only once:")
        print(token)

    return _with_hub(settings, run, migrate=True)


def cmd_import_customers(settings: Settings, args: argparse.Namespace) -> int:
    """Exit status 0 when every row imported, 1 when some were rejected (the rest are in)."""
    from contactcenter.identity.importer import StderrProgress, import_customers

    if args.batch_size < 1:
        raise ContactCenterError("--batch-size must be at least 1")
    rejected: list[tuple[int, str]] = []

    async def run(hub: Hub) -> None:
        report = await import_customers(hub, args.file, progress=StderrProgress(), batch_rows=args.batch_size)
        print(
            f"{report.rows} rows: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.suggested} suggested for merging, {len(report.rejected)} rejected"
        )
        if report.lookalikes:
            print(f"{report.lookalikes} merge suggestions for new customers named like one with the same company domain or number block")
        for line, reason in report.rejected:
            print(f"line {line}: rejected: {reason}")
        rejected.extend(report.rejected)

    _with_hub(settings, run, migrate=True)
    return 1 if rejected else 0


def cmd_replay(settings: Settings, args: argparse.Namespace) -> int:
    from contactcenter.replay import replay_failed

    async def run(hub: Hub) -> None:
        done, failed = await replay_failed(hub)
        print(f"replayed {done} contacts; {failed} failed again and stay kept")

    return _with_hub(settings, run)


def _with_hub(
    settings: Settings, run: Callable[[Hub], Awaitable[None]], *, migrate: bool = False, migrated: bool = True
) -> int:
    """Run `run` with a hub whose database answers; `migrate` brings an embedded
    SQLite file to head first, `migrated=False` skips the schema check (db upgrade)."""
    from contactcenter.db.readiness import check_database, prepare_database

    async def wrapper() -> None:
        hub = Hub.create(settings)
        try:
            if migrate:
                await prepare_database(hub.engine)
            else:
                await check_database(hub.engine, migrated=migrated)
            await run(hub)
        finally:
            await hub.close()

    asyncio.run(wrapper())
    return 0
