"""The WSGI face refuses bodies over 1 MiB itself, whatever server runs it."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from bot.config import Secret
from bot.web import MAX_BODY_BYTES, make_wsgi_app


class RecordingSlack:
    """Stands in for Bolt's WSGI handler: records the bodies it was given."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.bodies.append(environ["wsgi.input"].read(length))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]


def post(slack: RecordingSlack, body: io.BytesIO, content_length: str | None) -> str:
    app = make_wsgi_app(slack=slack, health=lambda: (True, {}), metrics=bytes)
    environ: dict[str, Any] = {
        "PATH_INFO": "/slack/events",
        "REQUEST_METHOD": "POST",
        "wsgi.input": body,
    }
    if content_length is not None:
        environ["CONTENT_LENGTH"] = content_length
    statuses: list[str] = []
    list(app(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    return statuses[-1]


def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    slack, body = RecordingSlack(), io.BytesIO(b"x" * (2 * MAX_BODY_BYTES))
    assert post(slack, body, str(2 * MAX_BODY_BYTES)).startswith("413")
    assert (slack.bodies, body.tell()) == ([], 0)


@pytest.mark.parametrize("content_length", [None, "", "many", "-1"])
def test_a_body_without_a_usable_length_is_read_one_byte_past_the_limit_then_refused(
    content_length: str | None,
) -> None:
    slack, body = RecordingSlack(), io.BytesIO(b"x" * (2 * MAX_BODY_BYTES))
    assert post(slack, body, content_length).startswith("413")
    assert (slack.bodies, body.tell()) == ([], MAX_BODY_BYTES + 1)


def test_a_small_body_without_a_length_reaches_bolt_whole() -> None:
    slack = RecordingSlack()
    assert post(slack, io.BytesIO(b"payload=%7B%7D"), None).startswith("200")
    assert slack.bodies == [b"payload=%7B%7D"]


def test_a_body_of_exactly_the_limit_is_accepted() -> None:
    slack = RecordingSlack()
    body = b"x" * MAX_BODY_BYTES
    assert post(slack, io.BytesIO(body), str(MAX_BODY_BYTES)).startswith("200")
    assert slack.bodies == [body]


def get(app: Any, path: str, authorization: str | None = None) -> tuple[str, bytes]:
    environ: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    if authorization is not None:
        environ["HTTP_AUTHORIZATION"] = authorization
    statuses: list[str] = []
    body = b"".join(app(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    return statuses[-1], body


def test_a_failing_health_shows_only_error_without_the_ops_token() -> None:
    details = {"status": "error", "database": "unreachable: db.internal:5432"}
    app = make_wsgi_app(
        slack=None, health=lambda: (False, details), metrics=bytes, ops_token=Secret("t0k")
    )
    assert get(app, "/healthz") == ("503 Service Unavailable", b'{"status": "error"}')
    status, body = get(app, "/healthz", "bearer t0k")  # the scheme is case-insensitive
    assert (status, json.loads(body)) == ("503 Service Unavailable", details)
