"""The HTTP face: /slack/events (HTTP mode), /healthz and /metrics (both modes).

A plain WSGI app served by waitress; Bolt's WSGI adapter verifies Slack's signature and
timestamp before any listener runs.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

logger = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Health = Callable[[], tuple[bool, Mapping[str, Any]]]


def make_wsgi_app(
    *, slack: WsgiApp | None, health: Health, metrics: Callable[[], bytes]
) -> WsgiApp:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events" and slack is not None:
            if method != "POST":
                return _respond(start_response, "405 Method Not Allowed", b"POST only\n")
            return _guarded(slack, environ, start_response)
        if path == "/healthz" and method in ("GET", "HEAD"):
            try:
                ok, body = health()
            except Exception:
                logger.exception("health check failed")
                ok, body = False, {"status": "error"}
            status = "200 OK" if ok else "503 Service Unavailable"
            return _respond(
                start_response, status, json.dumps(body, default=str).encode(), "application/json"
            )
        if path == "/metrics" and method in ("GET", "HEAD"):
            return _respond(
                start_response, "200 OK", metrics(), "text/plain; version=0.0.4; charset=utf-8"
            )
        return _respond(start_response, "404 Not Found", b"not found\n")

    return app


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
) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    if exc_info is not None:  # PEP 3333: replaces headers if the app had started a response
        start_response(status, headers, exc_info)
    else:
        start_response(status, headers)
    return [body]


class HttpServer:
    """waitress in a background thread, stoppable."""

    def __init__(self, app: WsgiApp, *, host: str, port: int, threads: int = 8) -> None:
        self._server: BaseWSGIServer | MultiSocketServer = create_server(
            app, host=host, port=port, threads=threads, ident="socialbridge"
        )
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(getattr(self._server, "effective_port", 0))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.close()
        self._thread.join(5)
