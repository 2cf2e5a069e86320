"""What the fakes' HTTP layer passes around: a parsed `Request`, a `Response`, a log entry.

`Request` parses the query string and a form or JSON body and merges them the way the
fakes read parameters; `Response` is what a fake answers (JSON, text, or a dropped
connection); `RecordedRequest` is one line of a fake's request log, with what it answered,
which tests read instead of the fake's internals. `retry_after_value` writes Retry-After.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["JSON_TYPE", "RecordedRequest", "Request", "Response", "retry_after_value"]

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


def retry_after_value(value: float) -> str:
    """Retry-After is whole seconds (RFC 9110); round up so a client never comes early."""
    whole = int(value)
    return str(whole if whole == value else whole + 1)
