"""`socialbridge run | check | demo | forget | db upgrade` (and `python -m bot`): wiring only."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

from bot.config import load_settings
from bot.demo.scenario import SCENARIOS
from bot.domain import DeliveryError
from bot.logs import setup_logging
from bot.settings import ConfigError, Settings

logger = logging.getLogger("socialbridge")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="socialbridge",
        description="Mirror social-media mentions into Slack threads; answer them from Slack.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot (Socket Mode or HTTP, from the config)")
    commands.add_parser("check", help="verify config, Slack and every account; exit 1 on failure")
    demo = commands.add_parser(
        "demo",
        help="try the bot in the browser against a sandbox Slack and Mastodon (no setup)",
    )
    demo.add_argument("--port", type=int, default=8765, help="the page's port (default 8765)")
    demo.add_argument(
        "--scenario", choices=sorted(SCENARIOS), help="play scripted customers posting"
    )
    demo.add_argument("--no-browser", action="store_true", help="do not open the page in a browser")
    forget = commands.add_parser(
        "forget", help="erase a person's posts and names from the store and from the cards"
    )
    forget.add_argument("handle", help="@alice@remote.example, alice.bsky.social or alice")
    forget.add_argument("--account", help="only in this account (its name in the config)")
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply the schema migrations")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args)

    try:
        settings = load_settings(allow_missing_file=args.command == "db")
    except ConfigError as exc:
        print(f"socialbridge: {exc}", file=sys.stderr)
        return 2
    setup_logging(log_format=settings.log_format, secrets=_secrets(settings))
    try:
        if args.command == "run":
            return _run(settings)
        if args.command == "check":
            return _check(settings)
        if args.command == "forget":
            return _forget(settings, handle=args.handle, account=args.account)
        return _db_upgrade(settings)
    except ConfigError as exc:
        print(f"socialbridge: {exc}", file=sys.stderr)
        return 2


def _secrets(settings: Settings) -> list[str]:
    values = [
        s.reveal()
        for s in (settings.slack_bot_token, settings.slack_app_token, settings.slack_signing_secret)
        if s is not None
    ]
    for account in settings.accounts:
        values.extend(secret.reveal() for secret in account.secrets.values())
    if settings.secret_key is not None:
        values.extend(key.strip() for key in settings.secret_key.reveal().split(","))
    return values


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the process then stops in order."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        logger.info("received %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stop


def _run(settings: Settings) -> int:
    from bot.app import run

    run(settings, stop=_stop_on_signals())
    return 0


def _demo(args: argparse.Namespace) -> int:
    """No config file and no .env: the demo builds its own settings (bot/demo/world.py)."""
    from bot.demo.server import run_demo
    from bot.demo.slack_client import DemoError

    setup_logging(log_format=os.environ.get("LOG_FORMAT", "text"), secrets=[])
    stop = _stop_on_signals()
    try:
        return run_demo(
            port=args.port, scenario=args.scenario, open_browser=not args.no_browser, stop=stop
        )
    except DemoError as exc:
        print(f"socialbridge demo: {exc}", file=sys.stderr)
        return 2


def _db_upgrade(settings: Settings) -> int:
    from bot.store import Store

    store = Store(settings.database_url)
    store.upgrade()
    print(f"database is at the newest schema ({_safe_url(store.url)})")
    return 0


def _forget(settings: Settings, *, handle: str, account: str | None) -> int:
    from bot.erasure import forget, parse_handle
    from bot.store import Store

    if account is not None and account not in {a.name for a in settings.accounts}:
        raise ConfigError(f"--account {account!r}: no [[accounts]] entry has that name")
    try:
        query = parse_handle(handle, settings.accounts)
    except ValueError as exc:
        print(f"socialbridge forget: {exc}", file=sys.stderr)
        return 2
    store = Store(settings.database_url)
    store.upgrade()
    erased = forget(store, query, account=account)
    store.dispose()
    print(
        f"forgot {query.handle}: erased {erased.messages} messages and the names of "
        f"{erased.conversations} conversations in the store; {erased.slack_messages} Slack "
        "messages will be rewritten by the running bot (when it next runs, if it is stopped)"
    )
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _check(settings: Settings) -> int:
    from bot.app import build_sources, slack_client
    from bot.slack.api import SlackApi
    from bot.store import Store

    rows: list[tuple[str, bool, str]] = [
        ("config", True, f"{settings.config_path}, {len(settings.accounts)} accounts")
    ]
    store = Store(settings.database_url)
    try:
        store.upgrade()  # sources keep sessions in the database: it must have its tables
        rows.append(("database", True, _safe_url(store.url)))
    except Exception as exc:
        rows.append(("database", False, f"{type(exc).__name__}: cannot connect"))
    try:
        slack = SlackApi(slack_client(settings))
        me = slack.auth_test()
        rows.append(("slack", True, f"bot {me.get('user')} in team {me.get('team')}"))
        bot_user = str(me.get("user_id"))
        for account in settings.accounts:
            label = f"channel {account.channel}"
            try:
                channel = slack.resolve_channel(account.channel)
                member = bot_user in slack.channel_members(channel)
                rows.append(
                    (
                        label,
                        member,
                        "bot is a member"
                        if member
                        else "bot is not a member: /invite the bot to the channel",
                    )
                )
            except DeliveryError as exc:
                rows.append((label, False, exc.reason))
    except (ConfigError, DeliveryError) as exc:
        rows.append(("slack", False, str(exc)))
    sources = build_sources(settings, store) if rows[1][1] else {}
    for account in settings.accounts:
        label = f"account {account.name}"
        if account.name not in sources:
            rows.append((label, False, "not checked: the database is unreachable"))
            continue
        try:
            who = sources[account.name].verify()
            rows.append((label, True, f"{account.network}: {who}"))
        except DeliveryError as exc:
            rows.append((label, False, f"{account.network}: {exc.reason}"))
        finally:
            sources[account.name].close()
    width = max(len(name) for name, _, _ in rows)
    for name, ok, detail in rows:
        print(f"{name.ljust(width)}  {'ok  ' if ok else 'FAIL'}  {detail}")
    return 0 if all(ok for _, ok, _ in rows) else 1
