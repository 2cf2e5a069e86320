"""A loopback HTTP server base for the fakes: lifecycle, request log, faults, routing.

`LoopbackServer` runs a fake on 127.0.0.1 in a daemon thread, records every request, and
applies the fault plan (faults.py) before and after the fake's own `dispatch`;
`RoutedServer` adds a table of routes. The wire (parsing, keep-alive, one-write answers)
is in http_wire.py and the request and response values in http_messages.py; their public
names are re-exported here, where the fakes and the tests import them.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
import traceback
from collections.abc import Callable
from http import HTTPStatus
from types import TracebackType
from typing import Self, TypeVar

from bot.sandbox.faults import Fault, FaultPlan
from bot.sandbox.http_messages import RecordedRequest, Request, Response, retry_after_value
from bot.sandbox.http_wire import WireServer

__all__ = [
    "Fault",
    "FaultPlan",
    "LoopbackServer",
    "RecordedRequest",
    "Request",
    "Response",
    "RoutedServer",
    "retry_after_value",
]

T = TypeVar("T")


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
        self._httpd: WireServer | None = WireServer((host, port), self)
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
            self._httpd = WireServer((self._host, self._port), self)
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
