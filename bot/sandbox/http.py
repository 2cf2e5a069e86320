"""A loopback HTTP server base for the fakes: parsing, recording, faults, keep-alive.

Answers go out as one write with Content-Length and TCP_NODELAY, so a keep-alive client
never waits ~40 ms on a delayed ACK (see DESIGN.md, Testing) and latencies measured through
a fake are real.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import re
import socket
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, TypeVar, cast

from bot.sandbox.faults import Fault, FaultPlan

__all__ = [
    "Fault",
    "FaultPlan",
    "LoopbackServer",
    "RecordedRequest",
    "Request",
    "Response",
    "retry_after_value",
]

T = TypeVar("T")

JSON_TYPE = "application/json; charset=utf-8"


@dataclass(slots=True)
class Request:
    """A parsed request: query string, form or JSON body, lower-cased header names."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    form: dict[str, list[str]] = field(default_factory=dict)
    json: Any = None
    received_at: float = field(default_factory=time.time)

    @classmethod
    def parse(cls, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Request:
        split = urllib.parse.urlsplit(target)
        lowered = {k.lower(): v for k, v in headers.items()}
        request = cls(
            method=method.upper(),
            path=urllib.parse.unquote(split.path),
            query=urllib.parse.parse_qs(split.query, keep_blank_values=True),
            headers=lowered,
            body=body,
        )
        content_type = lowered.get("content-type", "").split(";")[0].strip().lower()
        if body and content_type == "application/x-www-form-urlencoded":
            request.form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), True)
        elif body and (content_type.endswith("json") or body.lstrip()[:1] in (b"{", b"[")):
            with contextlib.suppress(ValueError):
                request.json = json.loads(body)
        return request

    @property
    def params(self) -> dict[str, Any]:
        """Query, form and JSON object merged (later wins); single values unwrapped."""
        merged: dict[str, Any] = {}
        for source in (self.query, self.form):
            for key, values in source.items():
                merged[key] = values if key.endswith("[]") or len(values) > 1 else values[0]
        if isinstance(self.json, dict):
            merged.update(self.json)
        return merged

    def get(self, name: str, default: Any = None) -> Any:
        if isinstance(self.json, dict) and name in self.json:
            return self.json[name]
        for source in (self.form, self.query):
            if name in source:
                return source[name][0]
        return default

    def get_list(self, name: str) -> list[str]:
        """An array parameter: `name[]=a&name[]=b`, repeated `name=`, or a JSON list."""
        if isinstance(self.json, dict):
            value = self.json.get(name, self.json.get(f"{name}[]"))
            if isinstance(value, list):
                return [str(v) for v in value]
            if value is not None:
                return [str(value)]
        found: list[str] = []
        for source in (self.query, self.form):
            found.extend(source.get(f"{name}[]", []))
            found.extend(source.get(name, []))
        return found

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def bearer_token(self) -> str | None:
        value = self.header("authorization") or ""
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass(slots=True)
class Response:
    """What a fake answers; `drop` closes the connection without an answer."""

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = JSON_TYPE
    drop: bool = False

    @classmethod
    def of_json(
        cls, data: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()
    ) -> Response:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status=status, body=body, headers=list(headers))

    @classmethod
    def of_text(
        cls,
        text: str | bytes,
        status: int = 200,
        content_type: str = "text/plain; charset=utf-8",
        headers: Iterable[tuple[str, str]] = (),
    ) -> Response:
        body = text.encode() if isinstance(text, str) else text
        return cls(status=status, body=body, headers=list(headers), content_type=content_type)

    def parsed(self) -> Any:
        if "json" not in self.content_type:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass(slots=True)
class RecordedRequest:
    """One request as the fake saw it, and what it answered (status None = no answer)."""

    method: str
    path: str
    route: str
    names: tuple[str, ...]
    params: dict[str, Any]
    headers: dict[str, str]
    body: bytes
    time: float
    status: int | None = None
    response: Any = None
    fault: str | None = None
    answered_at: float | None = None

    @property
    def ok(self) -> bool:
        """Answered 2xx (and, for Slack, with `"ok": true`)."""
        if self.status is None or not 200 <= self.status < 300:
            return False
        return not (isinstance(self.response, dict) and self.response.get("ok") is False)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], owner: LoopbackServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "socialbridge-sandbox"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the recorded requests instead."""

    @property
    def owner(self) -> LoopbackServer:
        return cast(_Server, self.server).owner

    def setup(self) -> None:
        super().setup()
        self.owner._track(self.connection, add=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.owner._track(self.connection, add=False)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _handle(self) -> None:
        body = self._read_body()
        request = Request.parse(self.command, self.path, dict(self.headers.items()), body)
        response = self.owner._serve(request)
        if response.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._write(response)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, response: Response) -> None:
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = "Unknown"
        body = b"" if self.command == "HEAD" else response.body
        lines = [
            f"HTTP/1.1 {response.status} {phrase}",
            f"Server: {self.server_version}",
            f"Date: {email.utils.formatdate(usegmt=True)}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body)}",
        ]
        lines += [f"{name}: {value}" for name, value in response.headers]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        try:
            self.wfile.write(head + body)  # one write: no delayed-ACK stall on keep-alive
            self.wfile.flush()
        except OSError:  # the client gave up (a hang fault, a timeout): nothing to tell
            self.close_connection = True


class LoopbackServer:
    """A ThreadingHTTPServer on 127.0.0.1 in a daemon thread, with faults and a request log.

    The socket is bound at construction, so `base_url` is known before `start()`;
    `stop()` closes kept-alive connections too, and `start()` after `stop()` listens again
    on the same port (a fake that went away and came back).
    Subclasses implement `dispatch` and may refine `route_names`, `fault_response` and
    `outage_response`.
    """

    outage_status = 503  # what `faults.outage(True)` answers unless told otherwise

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.faults = FaultPlan()
        self._lock = threading.RLock()  # guards the subclass's state and the request log
        self._changed = threading.Condition(threading.Lock())
        self._requests: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._stopping = threading.Event()
        self._host = host
        self._httpd: _Server | None = _Server((host, port), self)
        self._port = int(self._httpd.server_address[1])
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Self:
        if self.running:
            return self
        if self._httpd is None:
            self._httpd = _Server((self._host, self._port), self)
        self._stopping.clear()
        httpd = self._httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening, wake hanging handlers and close every open connection."""
        self._stopping.set()
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            if self._thread is not None:
                httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- the request log -------------------------------------------------------------

    def requests(self, route: str | None = None) -> list[RecordedRequest]:
        """Recorded requests, oldest first; `route` filters by any of the route's names."""
        with self._lock:
            return [r for r in self._requests if route is None or route in r.names]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Poll `predicate` (woken on every request and state change) until truthy.

        The predicate runs without the fake's lock: it may call the fake's helpers.
        Raises TimeoutError with the predicate's last value.
        """
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s (last: {result!r})")
            with self._changed:
                self._changed.wait(min(remaining, 0.05))

    def notify_changed(self) -> None:
        with self._changed:
            self._changed.notify_all()

    # --- to refine in subclasses -----------------------------------------------------

    def route_names(self, request: Request) -> tuple[str, ...]:
        """Names a fault can target; the first one is the route recorded in the log."""
        return (f"{request.method} {request.path}", request.path)

    def dispatch(self, request: Request) -> Response:
        return Response.of_json({"error": "Not Found"}, status=404)

    def fault_response(self, fault: Fault, request: Request) -> Response:
        headers = list(fault.headers.items())
        if fault.retry_after is not None:
            headers.append(("Retry-After", retry_after_value(fault.retry_after)))
        if fault.body is not None:
            content_type = fault.content_type or "text/plain; charset=utf-8"
            return Response.of_text(fault.body, fault.status, content_type, headers)
        phrase = _phrase(fault.status)
        return Response.of_json({"error": fault.error or phrase}, fault.status, headers)

    def outage_response(self, status: int, request: Request) -> Response:
        return Response.of_text(
            f"<html><body><h1>{status} {_phrase(status)}</h1></body></html>",
            status,
            "text/html",
        )

    def decorate(self, request: Request, response: Response) -> None:
        """Last touch on every answer (headers a real server always sends)."""

    # --- internals -------------------------------------------------------------------

    def _serve(self, request: Request) -> Response:
        names = self.route_names(request)
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            route=names[0],
            names=names,
            params=request.params,
            headers=dict(request.headers),
            body=request.body,
            time=request.received_at,
        )
        with self._lock:
            self._requests.append(record)
        try:
            response = self._answer(request, names, record)
        except Exception:  # a bug in the fake: show it to the test instead of hanging up
            response = Response.of_text(traceback.format_exc(), 500)
            record.fault = "fake-crashed"
        if not response.drop:
            self.decorate(request, response)
        with self._lock:
            record.answered_at = time.time()
            if not response.drop:
                record.status = response.status
                record.response = response.parsed()
        self.notify_changed()
        return response

    def _answer(
        self, request: Request, names: tuple[str, ...], record: RecordedRequest
    ) -> Response:
        outage = self.faults.outage_status
        if outage is not None:
            record.fault = "outage"
            return self.outage_response(outage or self.outage_status, request)
        delay = self.faults.delay_for(names)
        if delay > 0:
            self._stopping.wait(delay)
        fault = self.faults.take(names)
        if fault is not None and fault.kind == "slow":
            record.fault = "slow"
            self._stopping.wait(fault.hang_seconds)
            fault = None
        if fault is not None and not fault.after:
            record.fault = fault.kind
            if fault.kind == "drop":
                return Response(drop=True)
            return self.fault_response(fault, request)
        response = self.dispatch(request)
        self.notify_changed()
        if fault is None:
            return response
        record.fault = f"{fault.kind}-after-action"
        if fault.kind == "hang":
            self._stopping.wait(fault.hang_seconds)
            return response
        if fault.kind == "drop":
            return Response(drop=True)
        return self.fault_response(fault, request)

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def retry_after_value(value: float) -> str:
    """Retry-After is whole seconds (RFC 9110); round up so a client never comes early."""
    whole = int(value)
    return str(whole if whole == value else whole + 1)


RouteHandler = Callable[..., Response]
Route = tuple[str, "re.Pattern[str]", str, RouteHandler]


class RoutedServer(LoopbackServer):
    """A fake whose endpoints are a table of (method, path template, handler); `:id` in a
    template matches one path segment, passed to the handler."""

    def route_table(self) -> list[tuple[str, str, RouteHandler]]:
        raise NotImplementedError

    def _routes(self) -> list[Route]:
        compiled: list[Route] | None = self.__dict__.get("_compiled_routes")
        if compiled is None:
            compiled = [
                (method, re.compile(template.replace(":id", "([^/]+)")), template, handler)
                for method, template, handler in self.route_table()
            ]
            self.__dict__["_compiled_routes"] = compiled
        return compiled

    def calls(self, route: str) -> list[RecordedRequest]:
        """Recorded requests to a route, e.g. "POST /api/v1/statuses"."""
        return self.requests(route)

    def route_names(self, request: Request) -> tuple[str, ...]:
        for _, pattern, template, _handler in self._routes():
            if pattern.fullmatch(request.path):
                return (f"{request.method} {template}", template, request.path)
        return (f"{request.method} {request.path}", request.path)
