"""The `contactcenter` command line (DESIGN.md §3)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from contactcenter.errors import ConfigError, ContactCenterError
from contactcenter.hub import Hub
from contactcenter.settings import Settings, load_settings

log = logging.getLogger("contactcenter")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        settings = load_settings(args.config)
        return args.run(settings, args)
    except ConfigError as exc:
        print(f"contactcenter: configuration error: {exc}", file=sys.stderr)
        return 2
    except ContactCenterError as exc:
        print(f"contactcenter: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="contactcenter", description="A multichannel contact center hub.")
    parser.add_argument("--config", help="TOML file over config/default.toml (or set CONTACTCENTER_CONFIG)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the hub: HTTP, SMTP, workers")
    serve.set_defaults(run=cmd_serve)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply pending migrations").set_defaults(run=cmd_db_upgrade)

    demo = commands.add_parser("demo", help="load demo queues, agents, customers and tickets")
    demo.set_defaults(run=cmd_demo)

    agent = commands.add_parser("create-agent", help="add a person who can log in")
    agent.add_argument("email")
    agent.add_argument("--name", required=True)
    agent.add_argument("--role", choices=("agent", "supervisor", "admin"), default="agent")
    agent.add_argument("--phone", help="where calls reach them, E.164 (+14155550100)")
    agent.add_argument("--skills", help="skills with levels 1..5, e.g. billing=3,refunds=1")
    agent.add_argument("--capacity", help="tickets at once per channel, e.g. voice=1,sms=3,email=6")
    agent.add_argument("--language", help="BCP 47 language of their workspace, e.g. zh-CN")
    agent.add_argument("--timezone", help="IANA time zone, e.g. Asia/Shanghai")
    agent.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    agent.set_defaults(run=cmd_create_agent)

    token = commands.add_parser("create-token", help="print a new API token (last line: the token alone)")
    token.add_argument("name")
    token.add_argument("--role", choices=("intake", "agent", "supervisor", "admin"), default="agent")
    token.set_defaults(run=cmd_create_token)

    imports = commands.add_parser(
        "import-customers", help="bulk import customers from a CRM export (CSV; columns in contactcenter/identity/importer.py)"
    )
    imports.add_argument("file", type=Path, metavar="FILE.csv")
    imports.add_argument("--batch-size", type=int, default=1000, help="rows per transaction (default 1000)")
    imports.set_defaults(run=cmd_import_customers)

    replay = commands.add_parser("replay", help="process again the contacts kept after a failure")
    replay.set_defaults(run=cmd_replay)
    return parser


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from contactcenter.app import create_app
    from contactcenter.web.limits import server_limits

    app = create_app(settings)
    log.info("serving on http://%s:%s (public URL %s)", settings.http.host, settings.http.port, settings.http.public_url)
    # run_app turns SIGTERM and SIGINT into a graceful stop: the listener
    # closes, in-flight requests finish, then cleanup stops the workers.
    web.run_app(
        app,
        host=settings.http.host,
        port=settings.http.port,
        shutdown_timeout=15.0,
        print=None,
        access_log=None,
        **server_limits(settings.http),
    )
    return 0


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from contactcenter.db.migrate import current_revision, upgrade

    async def run(hub: Hub) -> None:
        await upgrade(hub.engine)
        print(f"database at revision {await current_revision(hub.engine)}")

    return _with_hub(settings, run)


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
    else:
        password = getpass.getpass(f"password for {fields['email']}: ")
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


def _with_hub(settings: Settings, run: Callable[[Hub], Awaitable[None]], *, migrate: bool = False) -> int:
    async def wrapper() -> None:
        hub = Hub.create(settings)
        try:
            if migrate and hub.engine.dialect.name == "sqlite":
                from contactcenter.db.migrate import upgrade

                await upgrade(hub.engine)
            await run(hub)
        finally:
            await hub.close()

    asyncio.run(wrapper())
    return 0
