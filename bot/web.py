"""The HTTP face: /slack/events (HTTP mode), /healthz and /metrics (both modes).

A plain WSGI app served by waitress; Bolt's WSGI adapter verifies Slack's signature and
timestamp before any listener runs. A body over MAX_BODY_BYTES is answered 413 before
anything parses it. With an operations token, /metrics and the details of /healthz are
for its bearer only; a load balancer still gets the status code.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

from waitress import wasyncore
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from bot.settings import Secret

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
"""Slack's events and interactions are a few kB; nothing bigger is worth reading."""

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Health = Callable[[], tuple[bool, Mapping[str, Any]]]


def make_wsgi_app(
    *,
    slack: WsgiApp | None,
    health: Health,
    metrics: Callable[[], bytes],
    ops_token: Secret | None = None,
) -> WsgiApp:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events" and slack is not None:
            if method != "POST":
                return _respond(start_response, "405 Method Not Allowed", b"POST only\n")
            if _body_too_large(environ):
                return _respond(start_response, "413 Content Too Large", b"body too large\n")
            if _actions_missing(environ):
                logger.warning("block_actions without a list of actions; skipped")
                return _respond(start_response, "400 Bad Request", b"malformed request\n")
            return _guarded(slack, environ, start_response)
        if path == "/healthz" and method in ("GET", "HEAD"):
            return _health(start_response, health, detailed=_bearer(environ, ops_token))
        if path == "/metrics" and method in ("GET", "HEAD"):
            if not _bearer(environ, ops_token):
                return _respond(
                    start_response,
                    "401 Unauthorized",
                    b"bearer token required\n",
                    headers=[("WWW-Authenticate", 'Bearer realm="socialbridge"')],
                )
            return _respond(
                start_response, "200 OK", metrics(), "text/plain; version=0.0.4; charset=utf-8"
            )
        return _respond(start_response, "404 Not Found", b"not found\n")

    return app


def _health(start_response: Callable[..., Any], health: Health, *, detailed: bool) -> list[bytes]:
    try:
        ok, body = health()
    except Exception:
        logger.exception("health check failed")
        ok, body = False, {"status": "error"}
    if not detailed:
        body = {"status": "ok" if ok else "error"}
    status = "200 OK" if ok else "503 Service Unavailable"
    return _respond(
        start_response, status, json.dumps(body, default=str).encode(), "application/json"
    )


def _bearer(environ: Mapping[str, Any], token: Secret | None) -> bool:
    """No token configured, or the request carries it (RFC 6750 bearer, constant time)."""
    if token is None:
        return True
    scheme, _, credentials = str(environ.get("HTTP_AUTHORIZATION", "")).partition(" ")
    # WSGI hands headers over as latin-1 text (PEP 3333): back to the bytes that were sent.
    sent = credentials.strip().encode("latin-1", errors="replace")
    return scheme.lower() == "bearer" and hmac.compare_digest(sent, token.reveal().encode())


def _body_too_large(environ: dict[str, Any]) -> bool:
    """Over MAX_BODY_BYTES by its Content-Length; without a usable one, the body is read (one
    byte past the limit at most) and handed on from memory with its real length."""
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    if declared.isdigit():
        return int(declared) > MAX_BODY_BYTES
    stream = environ.get("wsgi.input")
    body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
    if len(body) > MAX_BODY_BYTES:
        return True
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return False


def _actions_missing(environ: dict[str, Any]) -> bool:
    """A block_actions payload without a list of actions. Bolt builds its listeners'
    arguments from body["actions"][0] before any of our code runs, and answers 500 when
    that raises, which Slack would retry (found by tests/faults/test_fuzz.py). The body is
    read here and handed on from memory, unchanged, for Bolt's signature check."""
    if "application/x-www-form-urlencoded" not in str(environ.get("CONTENT_TYPE", "")):
        return False
    declared = str(environ.get("CONTENT_LENGTH") or "0").strip()
    stream = environ.get("wsgi.input")
    body = stream.read(int(declared) if declared.isdigit() else -1) if stream else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    field = parse_qs(body.decode("utf-8", "replace")).get("payload")
    try:
        payload = json.loads(field[0]) if field else None
    except ValueError:
        return False
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return False
    actions = payload.get("actions")
    return not (isinstance(actions, list) and actions and isinstance(actions[0], dict))


def _guarded(
    slack: WsgiApp, environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    """Bolt raises on some malformed payloads (a field of the wrong type) before any
    listener runs: answer 400 with one log line instead of a 500 with a traceback."""
    try:
        return list(slack(environ, start_response))
    except Exception as exc:
        logger.warning("malformed Slack request skipped (%s: %s)", type(exc).__name__, exc)
        return _respond(
            start_response, "400 Bad Request", b"malformed request\n", exc_info=sys.exc_info()
        )


def _respond(
    start_response: Callable[..., Any],
    status: str,
    body: bytes,
    content_type: str = "text/plain; charset=utf-8",
    exc_info: Any = None,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        *(headers or []),
    ]
    if exc_info is not None:  # PEP 3333: replaces headers if the app had started a response
        start_response(status, headers, exc_info)
    else:
        start_response(status, headers)
    return [body]


class HttpServer:
    """waitress in a background thread, stoppable."""

    def __init__(self, app: WsgiApp, *, host: str, port: int, threads: int = 8) -> None:
        self._server: BaseWSGIServer | MultiSocketServer = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="socialbridge",
            # waitress refuses a body of max_request_body_size bytes or more, chunked or not
            max_request_body_size=MAX_BODY_BYTES + 1,
        )
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(getattr(self._server, "effective_port", 0))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        server = self._server
        if isinstance(server, BaseWSGIServer) and self._thread.is_alive():
            # Close the sockets from the server's own loop (a trigger thunk): closed from
            # another thread while the loop sits in select(), they make it fail with EBADF
            # and the thread die with a traceback. With its map empty, the loop returns.
            # https://github.com/Pylons/waitress/blob/main/src/waitress/trigger.py
            loop: Any = server  # the stubs do not know the trigger and the socket map
            loop.trigger.pull_trigger(lambda: wasyncore.close_all(loop._map))
            self._thread.join(5)
            server.task_dispatcher.shutdown()
        else:
            server.close()
            self._thread.join(5)
