"""X's OAuth 2.0 user token: sent as a Bearer, renewed with the refresh token, kept in the store.

An access token from X's Authorization Code flow lives two hours; with the `offline.access`
scope a refresh token renews it at POST /2/oauth2/token (grant_type=refresh_token). X rotates
the refresh token on every renewal, so the new pair is saved through the SessionStore before
it is used, and after a restart the saved pair wins over the one in the environment. Putting a
different pair in the environment starts over from that pair.
https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import httpx

from bot.domain import DeliveryError
from bot.settings import AccountSettings, ConfigError
from bot.sources.base import SessionStore, stored_session
from bot.sources.transport import send

logger = logging.getLogger(__name__)

NETWORK = "X"
TOKEN_PATH = "/2/oauth2/token"
# Renew this long before the known expiry, so a request never leaves with a dying token.
REFRESH_MARGIN_SECONDS = 60.0
SESSION_VERSION = 1


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str | None
    expires_at: float | None  # epoch seconds; None when unknown (a pair from the environment)


class XTokens:
    """The account's current token pair, shared by every thread that talks to X.

    Never logs a token: log lines name the account only.
    """

    def __init__(
        self, account: AccountSettings, *, sessions: SessionStore | None, timeout: float
    ) -> None:
        secrets = account.secrets
        refresh = secrets.get("refresh_token")
        client_id = secrets.get("client_id")
        client_secret = secrets.get("client_secret")
        if refresh is not None and client_id is None:
            raise ConfigError(
                f"[[accounts]] {account.name!r}: refresh_token_env needs client_id_env too "
                "(the OAuth 2.0 Client ID from the app's Keys and tokens page in the X "
                "Developer Console)"
            )
        self.account = account.name
        self._env = TokenPair(
            access_token=secrets["token"].reveal(),
            refresh_token=refresh.reveal() if refresh is not None else None,
            expires_at=None,
        )
        self._client_id = client_id.reveal() if client_id is not None else None
        self._client_secret = client_secret.reveal() if client_secret is not None else None
        self._seed = _fingerprint(self._env)
        self._sessions = sessions
        self._lock = threading.Lock()
        self._pair: TokenPair | None = None
        self._unsaved = False
        self._http = httpx.Client(
            base_url=account.server, headers={"User-Agent": "socialbridge"}, timeout=timeout
        )

    def current(self) -> str:
        """The access token to send now, renewed first when it is about to expire."""
        with self._lock:
            pair = self._loaded()
            if self._unsaved:
                self._save(pair)
            expiring = pair.expires_at is not None and (
                pair.expires_at - time.time() < REFRESH_MARGIN_SECONDS
            )
            if expiring and pair.refresh_token is not None:
                pair = self._refresh(pair)
            return pair.access_token

    def after_rejection(self, rejected: str) -> str | None:
        """X answered 401 to `rejected`: a token to try instead, or None (nothing to try)."""
        with self._lock:
            pair = self._loaded()
            if pair.access_token != rejected:
                return pair.access_token  # another thread renewed it meanwhile
            stored = self._stored()
            if stored is not None and stored.access_token != rejected:
                self._pair = stored  # another instance renewed it and saved the pair
                return stored.access_token
            if pair.refresh_token is None:
                return None
            return self._refresh(pair).access_token

    def close(self) -> None:
        self._http.close()

    # --- internals (call with the lock held) ------------------------------------------

    def _loaded(self) -> TokenPair:
        if self._pair is None:
            self._pair = self._stored() or self._env
        return self._pair

    def _stored(self) -> TokenPair | None:
        data = stored_session(self._sessions, self.account, network="X")
        if data is None:
            return None
        try:
            if data.get("seed") != self._seed:
                return None  # saved for another pair than the environment's: start over
            expires = data.get("expires_at")
            refresh = data.get("refresh_token")
            return TokenPair(
                access_token=str(data["access_token"]),
                refresh_token=str(refresh) if refresh else None,
                expires_at=float(expires) if expires is not None else None,
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            logger.warning("account %s: ignored an unreadable saved X session", self.account)
            return None

    def _refresh(self, pair: TokenPair) -> TokenPair:
        """Renew with the refresh token (the caller checked there is one); save the new pair."""
        assert pair.refresh_token is not None and self._client_id is not None
        form = {"grant_type": "refresh_token", "refresh_token": pair.refresh_token}
        auth: httpx.BasicAuth | None = None
        if self._client_secret is not None:
            # A confidential client ("Web App, Automated App or Bot") authenticates itself
            # with HTTP Basic; a public client names itself in the form instead.
            auth = httpx.BasicAuth(self._client_id, self._client_secret)
        else:
            form["client_id"] = self._client_id
        try:
            response = send(self._http, "POST", TOKEN_PATH, network=NETWORK, data=form, auth=auth)
        except DeliveryError as exc:
            if not exc.permanent:
                raise
            stored = self._stored()
            if stored is not None and stored.refresh_token != pair.refresh_token:
                self._pair = stored  # another instance rotated the pair first
                return stored
            raise DeliveryError(
                f"X refused to renew the login of account {self.account} ({exc.reason}); "
                "authorize the app again and put the new tokens in the variables named by "
                "token_env and refresh_token_env",
                permanent=True,
            ) from None
        renewed = _pair_from(response.json(), previous=pair)
        self._pair = renewed
        self._save(renewed)
        logger.info("account %s: renewed the X access token", self.account)
        return renewed

    def _save(self, pair: TokenPair) -> None:
        if self._sessions is None:
            return
        session = {
            "version": SESSION_VERSION,
            "seed": self._seed,
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "expires_at": pair.expires_at,
        }
        try:
            self._sessions.save_session(self.account, json.dumps(session))
            self._unsaved = False
        except Exception as exc:  # the pair stays in memory; saving is tried again next call
            self._unsaved = True
            logger.warning(
                "account %s: could not save the renewed X tokens (%s); will try again",
                self.account,
                type(exc).__name__,
            )


class BearerAuth(httpx.Auth):
    """httpx auth flow: the current token on every request; after a 401, renew and resend once.

    A 401 means X did not act on the request, so sending it again cannot publish twice.
    """

    def __init__(self, tokens: XTokens) -> None:
        self.tokens = tokens

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.tokens.current()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        fresh = self.tokens.after_rejection(token)
        if fresh is None or fresh == token:
            return
        request.headers["Authorization"] = f"Bearer {fresh}"
        yield request


def _pair_from(body: Any, *, previous: TokenPair) -> TokenPair:
    """The token endpoint's answer: {"token_type", "expires_in", "access_token", "scope",
    "refresh_token"}; a missing refresh token keeps the previous one."""
    try:
        access = str(body["access_token"])
        refresh = body.get("refresh_token") or previous.refresh_token
        expires_in = body.get("expires_in")
        expires_at = time.time() + float(expires_in) if expires_in is not None else None
    except (AttributeError, KeyError, TypeError, ValueError):
        raise DeliveryError("X answered the token renewal with something unexpected") from None
    return TokenPair(access_token=access, refresh_token=str(refresh), expires_at=expires_at)


def _fingerprint(pair: TokenPair) -> str:
    """Which environment pair a saved session grew from (a hash: the pair is not stored twice)."""
    digest = hashlib.sha256(f"{pair.access_token}\n{pair.refresh_token or ''}".encode())
    return digest.hexdigest()[:16]
