"""`socialbridge demo`: the sandbox world, its page on http://127.0.0.1:8765, a scenario.

The page server is a small WSGI app on waitress (the same server the bot uses): static files,
`GET /api/state` (polled by the page about once a second) and one `POST /api/...` per thing a
person can do. It listens on 127.0.0.1 only, answers only requests addressed to that host
(no DNS rebinding) and takes JSON bodies only (no cross-site form posts).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from typing import Any

from bot.demo.page import PageState
from bot.demo.scenario import SCENARIOS, ScenarioPlayer
from bot.demo.slack_client import DemoError
from bot.demo.world import DemoWorld
from bot.web import HttpServer, WsgiApp

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MAX_BODY = 64 * 1024
_STATIC_NAME = re.compile(r"^[a-z0-9-]+\.(html|css|js|svg)$")
_TYPES = {
    "html": "text/html; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "svg": "image/svg+xml",
}
_ALLOWED_HOSTS = ("127.0.0.1", "localhost", "[::1]")

Action = Callable[[DemoWorld, Mapping[str, Any]], Any]


def _text(body: Mapping[str, Any], name: str, *, limit: int = 5000) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise DemoError(f"{name} is missing")
    if len(value) > limit:
        raise DemoError(f"{name} is longer than {limit} characters")
    return value


def _optional(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) and value else None


def _customer_post(world: DemoWorld, body: Mapping[str, Any]) -> Any:
    status = world.customer_posts(
        _text(body, "customer", limit=100),
        _text(body, "text"),
        in_reply_to_id=_optional(body, "in_reply_to_id"),
        mention=body.get("mention") is not False,
        visibility="direct" if body.get("private") is True else "public",
    )
    return {"id": status["id"]}


def _slack_message(world: DemoWorld, body: Mapping[str, Any]) -> Any:
    ts = world.client.post_message(
        _text(body, "user", limit=50), _text(body, "text"), thread_ts=_optional(body, "thread_ts")
    )
    return {"ts": ts}


def _slack_edit(world: DemoWorld, body: Mapping[str, Any]) -> Any:
    world.client.edit_message(
        _text(body, "user", limit=50), _text(body, "ts", limit=50), _text(body, "text")
    )


def _slack_delete(world: DemoWorld, body: Mapping[str, Any]) -> Any:
    world.client.delete_message(_text(body, "user", limit=50), _text(body, "ts", limit=50))


def _slack_react(world: DemoWorld, body: Mapping[str, Any]) -> Any:
    name = _text(body, "name", limit=100).strip(":")
    added = world.client.toggle_reaction(
        _text(body, "user", limit=50), _text(body, "ts", limit=50), name
    )
    return {"added": added}


def _slack_button(world: DemoWorld, body: Mapping[str, Any]) -> Any:
    world.client.press_button(
        _text(body, "user", limit=50),
        _text(body, "ts", limit=50),
        _text(body, "action_id", limit=255),
    )


def _slack_command(world: DemoWorld, body: Mapping[str, Any]) -> Any:
    run = world.client.run_command(_text(body, "user", limit=50), _text(body, "text", limit=4000))
    if run.error:
        raise DemoError(run.error)
    return {"id": run.id}


ACTIONS: dict[str, Action] = {
    "/api/customer/post": _customer_post,
    "/api/slack/message": _slack_message,
    "/api/slack/edit": _slack_edit,
    "/api/slack/delete": _slack_delete,
    "/api/slack/react": _slack_react,
    "/api/slack/button": _slack_button,
    "/api/slack/command": _slack_command,
}


def make_app(world: DemoWorld, state: PageState) -> WsgiApp:
    static = resources.files("bot.demo") / "static"

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        host = str(environ.get("HTTP_HOST", "")).rsplit(":", 1)[0]
        if host not in _ALLOWED_HOSTS:
            return _json(start_response, 403, {"ok": False, "error": "wrong host"})
        if method == "GET" and path in ("/", "/index.html"):
            path = "/static/index.html"
        if method == "GET" and path.startswith("/static/"):
            name = path.removeprefix("/static/")
            resource = static / name
            if not _STATIC_NAME.match(name) or not resource.is_file():
                return _plain(start_response, "404 Not Found", b"not found\n")
            return _send(
                start_response, "200 OK", resource.read_bytes(), _TYPES[name.rsplit(".", 1)[1]]
            )
        if method == "GET" and path == "/api/state":
            snapshot = state.snapshot()
            query = str(environ.get("QUERY_STRING", ""))
            if f"etag={snapshot['etag']}" in query.split("&"):
                snapshot = {"etag": snapshot["etag"], "unchanged": True}
            snapshot["now"] = time.time()
            return _json(start_response, 200, snapshot)
        action = ACTIONS.get(path)
        if action is None:
            return _plain(start_response, "404 Not Found", b"not found\n")
        if method != "POST":
            return _plain(start_response, "405 Method Not Allowed", b"POST only\n")
        return _run_action(world, action, environ, start_response)

    return app


def _run_action(
    world: DemoWorld, action: Action, environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    if not str(environ.get("CONTENT_TYPE", "")).startswith("application/json"):
        return _json(start_response, 415, {"ok": False, "error": "send JSON"})
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if not 0 < length <= MAX_BODY:
        return _json(start_response, 400, {"ok": False, "error": "empty or too large"})
    try:
        body = json.loads(environ["wsgi.input"].read(length))
    except ValueError:
        return _json(start_response, 400, {"ok": False, "error": "not JSON"})
    if not isinstance(body, dict):
        return _json(start_response, 400, {"ok": False, "error": "send a JSON object"})
    try:
        result = action(world, body)
    except DemoError as exc:
        return _json(start_response, 400, {"ok": False, "error": str(exc)})
    return _json(start_response, 200, {"ok": True, **(result or {})})


def _json(start_response: Callable[..., Any], status: int, body: Any) -> list[bytes]:
    phrases = {200: "OK", 400: "Bad Request", 403: "Forbidden", 415: "Unsupported Media Type"}
    data = json.dumps(body, ensure_ascii=False, default=str).encode()
    return _send(start_response, f"{status} {phrases[status]}", data, "application/json")


def _plain(start_response: Callable[..., Any], status: str, body: bytes) -> list[bytes]:
    return _send(start_response, status, body, "text/plain; charset=utf-8")


def _send(
    start_response: Callable[..., Any], status: str, body: bytes, content_type: str
) -> list[bytes]:
    start_response(
        status,
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            # The page loads nothing from elsewhere and runs no inline script.
            (
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                "base-uri 'none'; frame-ancestors 'none'",
            ),
        ],
    )
    return [body]


def run_demo(
    *,
    port: int = DEFAULT_PORT,
    scenario: str | None = None,
    open_browser: bool = True,
    stop: threading.Event,
    send_delay: float = 5.0,
) -> int:
    """Serve the demo until `stop` is set; returns the exit code."""
    if scenario is not None and scenario not in SCENARIOS:
        raise DemoError(f"unknown scenario {scenario!r} (try: {', '.join(SCENARIOS)})")
    world = DemoWorld(send_delay=send_delay)
    player = None
    if scenario is not None:
        player = ScenarioPlayer(
            scenario,
            SCENARIOS[scenario](),
            post=lambda customer, text, visibility, reply_to: str(
                world.customer_posts(
                    customer, text, in_reply_to_id=reply_to, visibility=visibility
                )["id"]
            ),
            latest=world.latest_in_thread,
        )
    state = PageState(world, scenario=player)
    try:
        server = HttpServer(make_app(world, state), host=HOST, port=port, threads=6)
    except OSError as exc:
        world.stop()
        raise DemoError(f"cannot listen on {HOST}:{port} ({exc.strerror}); try --port") from None
    url = f"http://{HOST}:{server.port}"
    try:
        world.start()
        server.start()
        if player is not None:
            player.start()
        print(
            f"socialbridge demo: open {url}  (Ctrl-C stops it; nothing leaves this machine)",
            flush=True,
        )
        logger.info("demo page on %s; the bot listens on %s", url, world.bot_url)
        if open_browser:
            _open_browser(url)
        stop.wait()
    finally:
        if player is not None:
            player.stop()
        server.stop()
        state.close()
        world.stop()
    return 0


def _open_browser(url: str) -> None:
    """Open the page in the desktop's browser, in the background. Without a graphical
    session (SSH, a container) Python would pick a console browser such as lynx, which
    takes over the terminal, so then the URL printed above has to do."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        logger.info("no graphical session: open %s in a browser yourself", url)
        return
    threading.Thread(target=webbrowser.open, args=(url,), name="browser", daemon=True).start()
