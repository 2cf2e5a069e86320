"""Slack's Socket Mode over loopback: the WebSocket side of FakeSlack.

https://api.slack.com/apis/socket-mode: `apps.connections.open` (answered by FakeSlack, which
asks `FakeSocketMode.issue_url`) hands out a single-use `ws://` URL; the server greets a
connection with `hello`, then pushes envelopes (`events_api`, `slash_commands`,
`interactive`) that the app acknowledges by sending back `{"envelope_id": ...}`. An envelope
left unacknowledged is delivered again with `retry_attempt` one higher and a `retry_reason`,
after an ack timeout or on the next connection. `refresh()` sends the `disconnect`
(`refresh_requested`) Slack sends before it retires a connection; `drop()` closes the TCP
connection without a close frame, as a network failure does.

`websockets` is a dev dependency, so this lives with the tests, not in bot/sandbox.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from bot.sandbox.slack_events import Delivery, EventSender

Json = dict[str, Any]


@dataclass(slots=True)
class Envelope:
    """One envelope Slack owes the app until it is acknowledged."""

    envelope_id: str
    type: str
    payload: Json
    accepts_response_payload: bool
    retry_attempt: int = 0
    retry_reason: str = ""
    sent_at: float = 0.0
    lose_ack: bool = False  # the app's first ack of it never reaches Slack
    acked: threading.Event = field(default_factory=threading.Event)
    ack: Json | None = None

    def wire(self) -> str:
        return json.dumps(
            {
                "envelope_id": self.envelope_id,
                "type": self.type,
                "payload": self.payload,
                "accepts_response_payload": self.accepts_response_payload,
                "retry_attempt": self.retry_attempt,
                "retry_reason": self.retry_reason,
            },
            ensure_ascii=False,
        )


@dataclass(frozen=True, slots=True)
class Sent:
    """One write of an envelope to a connection (a redelivery is another write)."""

    envelope_id: str
    type: str
    retry_attempt: int
    retry_reason: str
    connection: int


class FakeSocketMode:
    """The Socket Mode endpoint. Envelopes go to the newest open connection; they wait
    for one when there is none, as Slack queues them for a disconnected app."""

    def __init__(
        self, *, app_id: str = "A0SANDBOX", ack_timeout: float = 2.0, host: str = "127.0.0.1"
    ) -> None:
        self.app_id = app_id
        self.ack_timeout = ack_timeout
        self._lock = threading.Condition()
        self._tickets: set[str] = set()
        self._open: list[tuple[int, ServerConnection]] = []
        self._connections = 0
        self._unacked: dict[str, Envelope] = {}
        self._envelopes: dict[str, Envelope] = {}
        self._sent: list[Sent] = []
        self._acks_to_lose = 0
        self._closing = False
        self._server: Server = serve(
            self._serve,
            host,
            0,
            process_request=self._check_ticket,
            compression=None,
            ping_interval=None,  # the client pings; Slack's server answers
        )
        self.host, self.port = self._server.socket.getsockname()[:2]
        self._threads = [
            threading.Thread(target=self._server.serve_forever, daemon=True),
            threading.Thread(target=self._redeliver_overdue, daemon=True),
        ]

    def __enter__(self) -> FakeSocketMode:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        self._server.shutdown()
        for thread in self._threads:
            thread.join(timeout=5)

    # --- what FakeSlack's apps.connections.open hands out ----------------------------

    def issue_url(self) -> str:
        """A new single-use WebSocket URL, as `apps.connections.open` returns."""
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return f"ws://{self.host}:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    # --- what Slack pushes -----------------------------------------------------------

    def push(self, type: str, payload: Mapping[str, Any], *, accepts_response: bool) -> Envelope:
        """Queue one envelope for the app and return it (wait on `.acked`)."""
        envelope = Envelope(
            envelope_id=str(uuid.uuid4()),
            type=type,
            payload=dict(payload),
            accepts_response_payload=accepts_response,
        )
        with self._lock:
            if self._acks_to_lose > 0:
                self._acks_to_lose -= 1
                envelope.lose_ack = True
            self._envelopes[envelope.envelope_id] = envelope
            self._unacked[envelope.envelope_id] = envelope
            self._write_unlocked(envelope)
        return envelope

    def refresh(self) -> None:
        """Ask the app to reconnect, as Slack does before it retires a connection."""
        with self._lock:
            newest = self._open[-1][1] if self._open else None
        if newest is not None:
            message = {
                "type": "disconnect",
                "reason": "refresh_requested",
                "debug_info": {"host": "fake-socket-mode"},
            }
            _send_quietly(newest, json.dumps(message))

    def drop(self) -> None:
        """Close every connection's TCP socket without a WebSocket close frame."""
        with self._lock:
            dropped = [conn for _, conn in self._open]
        for conn in dropped:
            _kill(conn.socket)

    def lose_acks(self, count: int) -> None:
        """Lose the first ack of each of the next `count` envelopes pushed, as if it never
        reached Slack: each is delivered again."""
        with self._lock:
            self._acks_to_lose = count

    # --- looking at the result -------------------------------------------------------

    @property
    def connections(self) -> int:
        """How many connections the app has made so far."""
        with self._lock:
            return self._connections

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._open)

    def sent(self) -> list[Sent]:
        with self._lock:
            return list(self._sent)

    def unacked(self) -> list[str]:
        with self._lock:
            return list(self._unacked)

    # --- the server ------------------------------------------------------------------

    def _check_ticket(self, conn: ServerConnection, request: Request) -> Response | None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
        ticket = (query.get("ticket") or [""])[0]
        with self._lock:
            if ticket not in self._tickets:
                return conn.respond(HTTPStatus.UNAUTHORIZED, "invalid ticket\n")
            self._tickets.discard(ticket)
        return None

    def _serve(self, conn: ServerConnection) -> None:
        with self._lock:
            self._connections += 1
            number = self._connections
            self._open.append((number, conn))
        try:
            conn.send(json.dumps(self._hello()))
            self._redeliver_to_new_connection()
            for message in _messages(conn):
                self._receive(message)
        finally:
            with self._lock:
                self._open = [(n, c) for n, c in self._open if n != number]

    def _hello(self) -> Json:
        return {
            "type": "hello",
            "num_connections": self.open_connections,
            "debug_info": {
                "host": "fake-socket-mode",
                "build_number": 1,
                "approximate_connection_time": 3600,
            },
            "connection_info": {"app_id": self.app_id},
        }

    def _receive(self, message: str | bytes) -> None:
        try:
            ack = json.loads(message)
        except ValueError:
            return
        envelope_id = ack.get("envelope_id") if isinstance(ack, dict) else None
        with self._lock:
            envelope = self._unacked.get(str(envelope_id))
            if envelope is None:
                return  # an ack for an envelope already acked, or unknown: Slack ignores it
            if envelope.lose_ack:
                envelope.lose_ack = False
                return
            del self._unacked[envelope.envelope_id]
            envelope.ack = ack
            envelope.acked.set()

    def _redeliver_to_new_connection(self) -> None:
        with self._lock:
            for envelope in list(self._unacked.values()):
                self._retry_unlocked(envelope)

    def _redeliver_overdue(self) -> None:
        with self._lock:
            while not self._closing:
                now = time.monotonic()
                for envelope in list(self._unacked.values()):
                    if envelope.sent_at and now - envelope.sent_at > self.ack_timeout:
                        self._retry_unlocked(envelope)
                self._lock.wait(timeout=0.05)

    def _retry_unlocked(self, envelope: Envelope) -> None:
        if not self._open:
            return  # it waits for the next connection
        if envelope.sent_at:  # written before: this is a redelivery
            envelope.retry_attempt += 1
            envelope.retry_reason = "timeout"
        self._write_unlocked(envelope)

    def _write_unlocked(self, envelope: Envelope) -> None:
        """Write to the newest connection; with none, the envelope waits for the next."""
        if not self._open:
            return
        number, conn = self._open[-1]
        envelope.sent_at = time.monotonic()
        self._sent.append(
            Sent(
                envelope.envelope_id,
                envelope.type,
                envelope.retry_attempt,
                envelope.retry_reason,
                number,
            )
        )
        _send_quietly(conn, envelope.wire())


class SocketEventSender(EventSender):
    """EventSender whose transport is Socket Mode: the same payloads, pushed as envelopes
    and answered by the app's ack instead of an HTTP response."""

    def __init__(self, socket_mode: FakeSocketMode, base: EventSender) -> None:
        self.__dict__.update(vars(base))  # the same workspace and response URLs as `base`
        self.socket_mode = socket_mode

    def post_raw(self, body: bytes, content_type: str, **wire: Any) -> Delivery:
        """Push what HTTP would have POSTed; status 200 once acked, 0 if never. Of the
        HTTP options only `timeout` means something here: how long to wait for the ack
        (signatures and retry headers have no place on the socket)."""
        timeout = wire.get("timeout")
        type, payload = _envelope_payload(body, content_type)
        started = time.monotonic()
        envelope = self.socket_mode.push(type, payload, accepts_response=type != "events_api")
        if not envelope.acked.wait(timeout or self.timeout):
            return Delivery(0, b"", {}, time.monotonic() - started, error="no ack")
        ack_payload = (envelope.ack or {}).get("payload")
        answer = json.dumps(ack_payload).encode() if ack_payload is not None else b""
        return Delivery(200, answer, {}, time.monotonic() - started)


def _envelope_payload(body: bytes, content_type: str) -> tuple[str, Json]:
    """Which envelope carries what EventSender built for HTTP, and its payload."""
    if content_type == "application/json":
        return "events_api", dict(json.loads(body))
    fields = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
    form = {key: values[0] for key, values in fields.items()}
    if "payload" in form:
        return "interactive", dict(json.loads(form["payload"]))
    return "slash_commands", form


def _messages(conn: ServerConnection) -> Iterator[str | bytes]:
    while True:
        try:
            yield conn.recv()
        except (ConnectionClosed, OSError):
            return


def _send_quietly(conn: ServerConnection, text: str) -> None:
    """A write to a connection that has just died is lost, as on a real network."""
    with contextlib.suppress(ConnectionClosed, OSError):
        conn.send(text)


def _kill(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
