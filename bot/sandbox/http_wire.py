"""The HTTP/1.1 wire of the fakes: a threading server and its request handler.

The handler reads a request (Content-Length or chunked), hands it to the fake that owns the
server (anything with `_serve` and `_track`, see `ServerOwner`) and writes the answer as one
write with Content-Length and TCP_NODELAY, so a keep-alive client never waits ~40 ms on a
delayed ACK (see DESIGN.md, Testing) and latencies measured through a fake are real.
"""

from __future__ import annotations

import contextlib
import email.utils
import socket
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, cast

from bot.sandbox.http_messages import Request, Response


class ServerOwner(Protocol):
    """The fake behind a server (LoopbackServer): it answers requests and tracks the
    connections, so that stopping it can close kept-alive ones."""

    def _serve(self, request: Request) -> Response: ...

    def _track(self, conn: socket.socket, *, add: bool) -> None: ...


class WireServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], owner: ServerOwner) -> None:
        self.owner = owner
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "socialbridge-sandbox"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the recorded requests instead."""

    @property
    def owner(self) -> ServerOwner:
        return cast(WireServer, self.server).owner

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
