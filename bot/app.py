"""Wiring: settings in, a running bridge out. No rules here, only construction and order."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, cast

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.bridge import Bridge
from bot.commands import SocialCommand
from bot.delivery import DeliveryWorker
from bot.erasure import erase_expired
from bot.handlers import actions, commands, membership, messages, reactions
from bot.jobs import JobPerformers
from bot.metrics import Metrics
from bot.pacing import ChannelPacer
from bot.scheduler import Poller, build_scheduler
from bot.settings import ConfigError, Settings
from bot.slack.api import SlackApi
from bot.sources import SOURCES, Source
from bot.speakers import SpeakerPolicy
from bot.store import Store, outbox
from bot.store import accounts as account_store
from bot.store.credentials import (
    SessionCipher,
    StoredSessions,
    seal_plain_sessions,
    session_cipher,
)
from bot.web import HttpServer, make_wsgi_app

logger = logging.getLogger(__name__)


def instance_id() -> str:
    """Who holds leases: unique per process unless SOCIALBRIDGE_INSTANCE names it."""
    return os.environ.get("SOCIALBRIDGE_INSTANCE") or (
        f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    )


def slack_client(settings: Settings) -> WebClient:
    if settings.slack_bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN is not set (put it in the environment or in .env)")
    return WebClient(
        token=settings.slack_bot_token.reveal(),
        base_url=settings.slack_api_url,
        timeout=int(settings.delivery.http_timeout_seconds),
    )


def build_sources(
    settings: Settings, store: Store, cipher: SessionCipher | None = None
) -> dict[str, Source]:
    sessions = StoredSessions(store, cipher or session_cipher(settings))
    return {
        account.name: SOURCES[account.network](
            account, timeout=settings.delivery.http_timeout_seconds, sessions=sessions
        )
        for account in settings.accounts
    }


@dataclass
class Runtime:
    settings: Settings
    store: Store
    slack: SlackApi
    sources: Mapping[str, Source]
    bridge: Bridge
    worker: DeliveryWorker
    poller: Poller
    bolt: App
    owner: str
    metrics: Metrics


def build_runtime(settings: Settings, *, store: Store | None = None) -> Runtime:
    store = store or Store(settings.database_url)
    store.upgrade()
    client = slack_client(settings)
    slack = SlackApi(client)
    channels = {a.name: slack.resolve_channel(a.channel) for a in settings.accounts}
    cipher = session_cipher(settings)
    seal_plain_sessions(store, cipher)
    sources = build_sources(settings, store, cipher)
    owner = instance_id()
    account_store.ensure_rows(store, [a.name for a in settings.accounts])
    wake = threading.Event()  # replaced by the worker's wake once it exists
    bridge = Bridge(
        store, settings=settings, sources=sources, slack=slack, channels=channels, wake=wake.set
    )
    metrics = Metrics(lambda: _state_for_metrics(store))
    performers = JobPerformers(bridge, on_reply_sent=metrics.reply_sent)
    worker = DeliveryWorker(
        store,
        performers.by_kind(),
        owner=owner,
        settings=settings.delivery,
        gave_up=performers.gave_up,
        pacer=ChannelPacer(per_second=settings.slack.channel_posts_per_second),
        observe=metrics.job_finished,
        preload=performers.preload,
    )
    bridge.wake = worker.wake
    bolt = _bolt_app(settings, client)
    poller = Poller(
        store,
        bridge,
        sources,
        owner=owner,
        lease_seconds=settings.delivery.lease_seconds,
        on_poll=metrics.polled,
        on_watch=metrics.threads_read,
    )
    _register_listeners(bolt, settings, store, bridge, slack, channels, poller)
    return Runtime(settings, store, slack, sources, bridge, worker, poller, bolt, owner, metrics)


def _bolt_app(settings: Settings, client: WebClient) -> App:
    # Bolt's middleware loggers copy this logger's level; at INFO they would log the whole
    # body of every request that fails verification.
    bolt_logger = logging.getLogger("slack_bolt.App")
    bolt_logger.setLevel(logging.WARNING)
    return App(
        client=client,
        logger=bolt_logger,
        signing_secret=(
            settings.slack_signing_secret.reveal() if settings.slack_signing_secret else None
        ),
        token_verification_enabled=False,  # `check` does auth.test; start-up should not hang
        # Store first, then answer Slack: a process that dies after the 200 would lose the
        # event for good, while a request left unanswered is redelivered by Slack.
        process_before_response=True,
    )


def _register_listeners(
    bolt: App,
    settings: Settings,
    store: Store,
    bridge: Bridge,
    slack: SlackApi,
    channels: Mapping[str, str],
    poller: Poller,
) -> None:
    speakers = SpeakerPolicy(settings.slack, slack)
    messages.register(bolt, bridge)
    reactions.register(bolt, bridge, speakers)
    actions.register(bolt, bridge, speakers)
    membership.register(bolt, slack)
    commands.register(
        bolt,
        command_name=settings.slack.command,
        answer=SocialCommand(
            store,
            accounts=settings.accounts,
            command=settings.slack.command,
            user_name=slack.user_name,
            permalink=slack.permalink,
            member_channels=partial(speakers.member_channels, channels=set(channels.values())),
            sla=bridge.sla,
            threads_watched=poller.threads_watched,
        ),
    )


def _state_for_metrics(store: Store) -> tuple[dict[str, int], dict[str, int]]:
    with store.read() as session:
        queue = outbox.queue_depth(session)
    failing = {s.account: s.consecutive_failures for s in account_store.all_states(store)}
    return queue, failing


def health(runtime: Runtime) -> tuple[bool, dict[str, Any]]:
    """200 when the database answers; every account's polling state and the queue depth."""
    try:
        runtime.store.ping()
    except Exception as exc:
        return False, {"status": "error", "database": f"unreachable ({type(exc).__name__})"}
    with runtime.store.session() as session:
        queue = outbox.queue_depth(session)
    states = {s.account: s for s in account_store.all_states(runtime.store)}
    accounts = []
    for account in runtime.settings.accounts:
        state = states.get(account.name)
        failures = state.consecutive_failures if state else 0
        accounts.append(
            {
                "name": account.name,
                "network": account.network,
                "healthy": failures == 0,
                "last_ok_at": state.last_ok_at.isoformat() if state and state.last_ok_at else None,
                "last_error": state.last_error if state else None,
                "consecutive_failures": failures,
            }
        )
    return True, {
        "status": "ok",
        "database": "ok",
        "instance": runtime.owner,
        "queue": queue,
        "queue_depth": sum(queue.values()),
        "accounts": accounts,
    }


def run(settings: Settings, *, stop: threading.Event) -> None:
    """`socialbridge run`: serve until `stop` is set, then stop in order."""
    if settings.slack.mode == "http" and settings.slack_signing_secret is None:
        raise ConfigError('SLACK_SIGNING_SECRET is not set; [slack] mode = "http" needs it')
    if settings.slack.mode == "socket" and settings.slack_app_token is None:
        raise ConfigError('SLACK_APP_TOKEN is not set; [slack] mode = "socket" needs it')
    runtime = build_runtime(settings)
    if os.environ.get("SOCIALBRIDGE_INSTANCE"):
        # A named instance that starts is the same instance restarting: whatever it held
        # when it stopped (or crashed) is not being worked on, so take it back at once
        # instead of waiting for the leases to expire. The next attempt reconciles first.
        outbox.release(runtime.store, owner=runtime.owner)
    slack_wsgi = SlackRequestHandler(runtime.bolt) if settings.slack.mode == "http" else None
    server = HttpServer(
        make_wsgi_app(
            slack=slack_wsgi,
            health=lambda: health(runtime),
            metrics=runtime.metrics.render,
            ops_token=settings.ops_token,
        ),
        host=settings.slack.http_host,
        port=settings.slack.http_port,
    )
    retention_days = settings.store.retention_days
    scheduler = build_scheduler(
        runtime.poller,
        settings.accounts,
        retention=(
            (lambda: erase_expired(runtime.store, retention_days=retention_days))
            if retention_days
            else None
        ),
    )
    runtime.worker.start()
    scheduler.start()
    server.start()
    socket_mode = _connect_socket_mode(settings, runtime.bolt)
    logger.info(
        "socialbridge running: %s mode, %d accounts, http on %s:%d",
        settings.slack.mode,
        len(settings.accounts),
        settings.slack.http_host,
        server.port,
    )
    stop.wait()
    logger.info("stopping: finishing jobs in flight")
    if socket_mode is not None:
        socket_mode.close()
    server.stop()
    scheduler.shutdown(wait=True)
    runtime.worker.stop()
    account_store.release_leases(runtime.store, owner=runtime.owner)
    for source in runtime.sources.values():
        source.close()
    runtime.store.dispose()
    logger.info("stopped")


class _Closable(Protocol):
    def close(self) -> None: ...


def _connect_socket_mode(settings: Settings, bolt: App) -> _Closable | None:
    """In Socket Mode, open the WebSocket to Slack (it reconnects by itself); else None."""
    if settings.slack.mode != "socket":
        return None
    # Not Bolt's default (builtin) client: when the TCP connection drops without a close
    # frame, that one reads EOF in a busy loop and reconnects only after five failed pings
    # (about a minute, deaf, one core spinning); websocket-client sees the EOF.
    from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler

    assert settings.slack_app_token is not None
    handler = SocketModeHandler(bolt, settings.slack_app_token.reveal())
    handler.connect()  # type: ignore[no-untyped-call]
    return cast(_Closable, handler)
