"""Calls to a Bluesky PDS as one logged-in account: log in once, refresh, persist, retry.

createSession is limited to 30 logins per 5 minutes and 300 per day per account
(https://docs.bsky.app/docs/advanced-guides/rate-limits; 100 per day at the bsky.social
entryway, bluesky-social/bsky-docs#183), so the session is kept in the store and reused
across restarts; an expired access token is renewed with refreshSession, and only a refused
refresh token leads to a new login. Tokens never reach a log or an error.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from bot.domain import DeliveryError, RateLimited
from bot.settings import Secret
from bot.sources.base import SessionStore, stored_session
from bot.sources.transport import error_for, request, retry_after

logger = logging.getLogger(__name__)

NETWORK = "Bluesky"
# A login that is refused again right after a fresh login is not retried in a loop: the
# account would run into createSession's limit and be locked out for the day.
MIN_SECONDS_BETWEEN_LOGINS = 60.0
_RENEWABLE = frozenset({"ExpiredToken", "InvalidToken"})


class XrpcError(DeliveryError):
    """An XRPC call failed with a status and the protocol's error name (`RecordNotFound`)."""

    def __init__(
        self,
        reason: str,
        *,
        status: int,
        error: str,
        permanent: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason, permanent=permanent, retry_after=retry_after)
        self.status = status
        self.error = error


@dataclass(frozen=True, slots=True)
class Session:
    did: str
    handle: str
    access_jwt: str
    refresh_jwt: str

    def to_json(self, *, server: str) -> str:
        return json.dumps(
            {
                "server": server,
                "did": self.did,
                "handle": self.handle,
                "accessJwt": self.access_jwt,
                "refreshJwt": self.refresh_jwt,
            }
        )

    def __repr__(self) -> str:
        return f"Session(did={self.did!r}, handle={self.handle!r}, tokens=********)"


class XrpcClient:
    """One account's calls to its PDS; `app.bsky.*` calls are proxied by the PDS to its
    AppView, or to the service named by `proxy` (an atproto-proxy header value)."""

    def __init__(
        self,
        *,
        account: str,
        server: str,
        handle: str,
        password: Secret,
        sessions: SessionStore | None,
        timeout: float,
        proxy: str | None = None,
    ) -> None:
        self.account = account
        self.server = server
        self.handle = handle
        self._password = password
        self._sessions = sessions
        self._proxy = proxy
        self._client = httpx.Client(
            base_url=server, headers={"User-Agent": "socialbridge"}, timeout=timeout
        )
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._last_login = -MIN_SECONDS_BETWEEN_LOGINS
        self._blocked_until: dict[str, float] = {}  # method -> monotonic time

    @property
    def did(self) -> str:
        return self._current().did

    def query(self, nsid: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.call("GET", nsid, params=params)

    def procedure(
        self, nsid: str, body: Mapping[str, Any], *, may_have_happened: bool = False
    ) -> dict[str, Any]:
        return self.call("POST", nsid, body=body, may_have_happened=may_have_happened)

    def call(
        self,
        method: str,
        nsid: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        may_have_happened: bool = False,
    ) -> dict[str, Any]:
        """One authenticated call; an expired session is renewed and the call made again."""
        for attempt in range(3):
            session = self._current()
            headers = {"Authorization": f"Bearer {session.access_jwt}"}
            if self._proxy and nsid.startswith(("app.bsky.", "chat.bsky.")):
                headers["atproto-proxy"] = self._proxy
            response = self._send(
                method,
                nsid,
                headers=headers,
                params=params,
                body=body,
                may_have_happened=may_have_happened,
            )
            if response.is_success:
                return _json_object(response, nsid)
            error = _error_name(response)
            if response.status_code in (400, 401) and error in _RENEWABLE and attempt < 2:
                self._renew(session, error)
                continue
            raise _error(response, error)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self._client.close()

    # ---- the session ------------------------------------------------------------------

    def _current(self) -> Session:
        with self._lock:
            if self._session is None:
                self._session = self._stored() or self._login()
            return self._session

    def _stored(self) -> Session | None:
        data = stored_session(self._sessions, self.account, network="Bluesky")
        if data is None:
            return None
        try:
            if data.get("server") != self.server:
                return None  # the account moved: its old tokens mean nothing here
            session = Session(
                did=str(data["did"]),
                handle=str(data["handle"]),
                access_jwt=str(data["accessJwt"]),
                refresh_jwt=str(data["refreshJwt"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            logger.warning(
                "account %s: stored Bluesky session unreadable; logging in", self.account
            )
            return None
        if session.handle.lower() != self.handle.lower() and session.did != self.handle:
            return None  # the configured handle changed: log in as the one configured now
        return session

    def _renew(self, failed: Session, error: str) -> None:
        """Replace a session the server refused, unless another thread (or instance) has
        already done so: refresh it, or log in when the refresh token is refused too."""
        with self._lock:
            if self._session is not None and self._session != failed:
                return
            stored = self._stored()
            if stored is not None and stored != failed:
                self._session = stored
                return
            if error == "ExpiredToken":
                refreshed = self._refresh(failed)
                if refreshed is not None:
                    self._session = refreshed
                    return
            self._session = self._login()

    def _refresh(self, session: Session) -> Session | None:
        response = self._send(
            "POST",
            "com.atproto.server.refreshSession",
            headers={"Authorization": f"Bearer {session.refresh_jwt}"},
        )
        if response.is_success:
            logger.info("account %s: Bluesky session refreshed", self.account)
            return self._save(_json_object(response, "com.atproto.server.refreshSession"))
        error = _error_name(response)
        if response.status_code in (400, 401):
            logger.info("account %s: refresh token refused (%s); logging in", self.account, error)
            return None
        raise _error(response, error)

    def _login(self) -> Session:
        if time.monotonic() - self._last_login < MIN_SECONDS_BETWEEN_LOGINS:
            raise DeliveryError(
                f"{NETWORK} refused a session minutes after login; waiting before the next one",
                retry_after=MIN_SECONDS_BETWEEN_LOGINS,
            )
        self._last_login = time.monotonic()
        response = self._send(
            "POST",
            "com.atproto.server.createSession",
            body={"identifier": self.handle, "password": self._password.reveal()},
        )
        if not response.is_success:
            error = _error_name(response)
            if error == "AuthFactorTokenRequired":
                raise DeliveryError(
                    f"{NETWORK} asks for a sign-in code: use an app password "
                    "(Settings > Privacy and security > App passwords)",
                    permanent=True,
                )
            raise _error(response, error)
        logger.info("account %s: logged in to %s as %s", self.account, NETWORK, self.handle)
        return self._save(_json_object(response, "com.atproto.server.createSession"))

    def _save(self, body: Mapping[str, Any]) -> Session:
        try:
            session = Session(
                did=str(body["did"]),
                handle=str(body["handle"]),
                access_jwt=str(body["accessJwt"]),
                refresh_jwt=str(body["refreshJwt"]),
            )
        except KeyError as exc:
            raise DeliveryError(f"{NETWORK} answered a login without {exc}") from None
        if self._sessions is not None:
            self._sessions.save_session(self.account, session.to_json(server=self.server))
        return session

    # ---- one request ------------------------------------------------------------------

    def _send(
        self,
        method: str,
        nsid: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        may_have_happened: bool = False,
    ) -> httpx.Response:
        """The response, whatever its status; timeouts and transport errors raise as in
        bot.sources.transport.send. A spent rate limit is honoured before asking again."""
        wait = self._blocked_until.get(nsid, 0.0) - time.monotonic()
        if wait > 0:
            raise RateLimited(f"{NETWORK} rate limit reached ({nsid})", retry_after=wait)
        response = request(
            self._client,
            method,
            f"/xrpc/{nsid}",
            network=NETWORK,
            may_have_happened=may_have_happened,
            headers=headers,
            params=params,
            json=body,
        )
        # https://docs.bsky.app/docs/advanced-guides/rate-limits: ratelimit-remaining and
        # ratelimit-reset (epoch seconds) come with every limited response.
        if response.headers.get("ratelimit-remaining") == "0" or response.status_code == 429:
            self._blocked_until[nsid] = time.monotonic() + retry_after(response)
        return response


def _json_object(response: httpx.Response, nsid: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DeliveryError(f"{NETWORK} answered {nsid} with something not a JSON object")
    return body


def _error_body(response: httpx.Response) -> tuple[str, str]:
    """The XRPC error name and message (https://atproto.com/specs/xrpc#error-responses)."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    error, message = body.get("error"), body.get("message")
    return (
        error if isinstance(error, str) else "",
        message[:200] if isinstance(message, str) else "",
    )


def _error_name(response: httpx.Response) -> str:
    return _error_body(response)[0]


def _error(response: httpx.Response, error: str) -> DeliveryError:
    mapped = error_for(response, network=NETWORK)
    if isinstance(mapped, RateLimited):
        return mapped
    status = response.status_code
    reason = mapped.reason
    if status < 500:
        name, message = _error_body(response)
        detail = ": ".join(part for part in (name, message) if part) or "error"
        verb = (
            "refused the credentials or the action"
            if status in (401, 403)
            else "rejected the request"
        )
        reason = f"{NETWORK} {verb} ({status} {detail})"
    return XrpcError(
        reason,
        status=status,
        error=error,
        permanent=mapped.permanent,
        retry_after=mapped.retry_after,
    )
