"""The `opendeep` command: serve, migrate, and manage users."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from db.database import migrate, open_database, resolve_database_url
from db.errors import DataError
from engine import accounts
from engine.app import event_loop
from engine.app.components import load_component
from engine.app.logs import configure_logging
from engine.app.wiring import build_node
from engine.settings import Settings, SettingsError, load_settings

log = logging.getLogger("opendeep")


# --- commands ----------------------------------------------------------------


async def _serve(settings: Settings) -> None:
    import uvicorn

    create_app = load_component("web")
    node = await build_node(settings)
    first_admin = await accounts.ensure_first_admin(node.database.pool)
    app = create_app(node)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's records go to our one handler (engine/app/logs.py)
        lifespan="on",
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        timeout_graceful_shutdown=5,  # live-update streams never end by themselves
    )
    server = uvicorn.Server(config)
    await node.start()
    serving = asyncio.create_task(server.serve(), name="http-server")
    with _stop_signals_end_serving(server):
        try:
            await _serve_until_stopped(server, serving, first_admin, settings)
        finally:
            serving.cancel()
            await node.stop()


@contextlib.contextmanager
def _stop_signals_end_serving(server: Any) -> Iterator[None]:
    """SIGTERM and SIGINT end serving; the node is then stopped to the end.

    uvicorn catches these signals while it serves and raises them again once it has stopped,
    under the handlers it found: the default for SIGTERM kills the process, asyncio's for SIGINT
    cancels the main task. Either cut `node.stop()` short, which left live calls up in Asterisk
    and their tasks in `in_call`. Under these handlers a signal only asks the server to exit.
    """

    def ask_to_exit(_signum: int, _frame: Any) -> None:
        server.should_exit = True  # uvicorn's serve loop checks this; nothing else is safe in a handler

    previous = {sig: signal.signal(sig, ask_to_exit) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def _serve_until_stopped(server: Any, serving: asyncio.Task[None], first_admin: Any, settings: Settings) -> None:
    while not server.started and not serving.done():
        await asyncio.sleep(0.05)  # uvicorn offers no "listening" callback
    if server.started:
        if first_admin:
            user, password = first_admin
            print(f"First start: created the admin {user.email} with the one-time password {password}", flush=True)
        print(f"OpenDeep is serving on http://{settings.host}:{settings.port}", flush=True)
    await serving


async def _migrate(settings: Settings) -> None:
    url, embedded = await resolve_database_url(settings.database_url, settings.data_dir)
    applied = await migrate(url)
    where = "the embedded database" if embedded else "the database"
    print(f"Applied {len(applied)} migration(s) to {where}: {', '.join(applied)}" if applied else f"{where.capitalize()} is up to date.")


async def _with_db(settings: Settings, work: Callable[[Any], Awaitable[None]]) -> None:
    database = await open_database(settings.database_url, settings.data_dir, pool_size=2)
    try:
        await work(database.pool)
    finally:
        await database.close()


async def _user_create(settings: Settings, args: argparse.Namespace) -> None:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        generated = False
    elif sys.stdin.isatty():
        password = getpass.getpass("Password (empty: generate one): ")
        generated = not password
        password = password or accounts.generate_password()
    else:
        password, generated = accounts.generate_password(), True

    async def work(pool: Any) -> None:
        user = await accounts.create_account(
            pool,
            email=args.email,
            password=password,
            role="admin" if args.admin else "user",
            display_name=args.name or "",
            time_zone=args.time_zone,
            one_time=generated,
        )
        print(f"Created {user.role} {user.email} (id {user.id}).")
        if generated:
            print(f"One-time password: {password}")

    await _with_db(settings, work)


async def _user_reset_password(settings: Settings, args: argparse.Namespace) -> None:
    from db import users

    async def work(pool: Any) -> None:
        found = await users.get_login(pool, args.email)
        if found is None:
            raise SystemExit(f"No user with the email {args.email}.")
        password = await accounts.reset_password(pool, found[0].id)
        print(f"One-time password for {found[0].email}: {password}")
        print("They must choose their own when they sign in; their sessions were ended.")

    await _with_db(settings, work)


async def _user_list(settings: Settings, args: argparse.Namespace) -> None:
    from db import users

    async def work(pool: Any) -> None:
        rows = await users.list_users(pool)
        if not rows:
            print("No users yet. Create one with: opendeep user create EMAIL --admin")
            return
        print(f"{'ID':>4}  {'ROLE':<6} {'EMAIL':<32} {'NAME':<24} TIME ZONE")
        for u in rows:
            print(f"{u.id:>4}  {u.role:<6} {u.email:<32} {u.display_name:<24} {u.time_zone}")

    await _with_db(settings, work)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="opendeep",
        description="OpenDeep, an AI phone agent: describe an errand, it places the calls through Asterisk.",
        epilog="Configuration comes from the environment and .env (see the README).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser("serve", help="run the web app and the calling engine (http://127.0.0.1:8000)")
    commands.add_parser("migrate", help="apply database migrations and exit")

    user = commands.add_parser("user", help="manage users").add_subparsers(dest="user_command", metavar="ACTION", required=True)
    create = user.add_parser("create", help="create a user (prints a one-time password unless you give one)")
    create.add_argument("email")
    create.add_argument("--admin", action="store_true", help="the user may manage other users")
    create.add_argument("--name", help="display name")
    create.add_argument("--time-zone", default="UTC", help="IANA time zone, e.g. Europe/Berlin (default UTC)")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    user.add_parser("list", help="list users")
    reset = user.add_parser("reset-password", help="give a user a one-time password they must replace at sign-in")
    reset.add_argument("email")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"opendeep: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format, repeat_window_s=settings.log_repeat_window_s)
    commands: dict[tuple[str, str | None], Callable[[], Awaitable[None]]] = {
        ("serve", None): lambda: _serve(settings),
        ("migrate", None): lambda: _migrate(settings),
        ("user", "create"): lambda: _user_create(settings, args),
        ("user", "list"): lambda: _user_list(settings, args),
        ("user", "reset-password"): lambda: _user_reset_password(settings, args),
    }
    try:
        event_loop.run(commands[(args.command, getattr(args, "user_command", None))]())
    except KeyboardInterrupt:
        return 130
    except DataError as exc:
        print(f"opendeep: {exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"opendeep: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
