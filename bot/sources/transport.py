"""HTTP calls to a network with failures turned into DeliveryErrors the worker understands."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from bot.domain import DeliveryError, RateLimited, UnknownOutcome, capped_wait

# Headers that say when a rate-limit window resets, per network (epoch seconds or ISO 8601):
# Mastodon https://docs.joinmastodon.org/api/rate-limits/ ; Bluesky (ratelimit-reset) ;
# X https://docs.x.com/x-api/fundamentals/rate-limits (x-rate-limit-reset).
_RESET_HEADERS = ("x-ratelimit-reset", "ratelimit-reset", "x-rate-limit-reset")


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    network: str,
    may_have_happened: bool = False,
    **kwargs: Any,
) -> httpx.Response:
    """One request; a 2xx response or a DeliveryError. Secrets never reach the message."""
    response = request(
        client, method, url, network=network, may_have_happened=may_have_happened, **kwargs
    )
    if response.is_success:
        return response
    raise error_for(response, network=network)


def request(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    network: str,
    may_have_happened: bool = False,
    **kwargs: Any,
) -> httpx.Response:
    """One request; the response whatever its status. A timeout or a transport error is a
    DeliveryError, or UnknownOutcome when the request may have been carried out."""
    try:
        return client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        reason = f"{network} did not answer in time"
        # A read timeout after a POST left: it may have been published.
        if may_have_happened and not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
            raise UnknownOutcome(reason) from None
        raise DeliveryError(reason) from None
    except httpx.TransportError as exc:
        raise DeliveryError(f"{network} could not be reached ({type(exc).__name__})") from None


def error_for(response: httpx.Response, *, network: str) -> DeliveryError:
    status = response.status_code
    detail = _error_detail(response)
    if status == 429:
        return RateLimited(f"{network} rate limit reached", retry_after=retry_after(response))
    if status >= 500:
        return DeliveryError(f"{network} server error {status}")
    if status in (401, 403):
        return DeliveryError(
            f"{network} refused the credentials or the action ({status}: {detail})",
            permanent=True,
        )
    return DeliveryError(f"{network} rejected the request ({status}: {detail})", permanent=True)


def retry_after(response: httpx.Response, *, default: float = 60.0) -> float:
    """Seconds to wait: Retry-After (seconds or HTTP date), else the rate-limit reset;
    capped at MAX_RETRY_AFTER_SECONDS."""
    headers = response.headers
    value = headers.get("retry-after")
    if value:
        try:
            return capped_wait(float(value))
        except ValueError:
            try:
                return capped_wait(parsedate_to_datetime(value).timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    for name in _RESET_HEADERS:
        reset = headers.get(name)
        if reset:
            seconds = _reset_in(reset)
            if seconds is not None:
                return capped_wait(seconds)
    return capped_wait(default)


def _reset_in(value: str) -> float | None:
    try:
        moment = float(value)
    except ValueError:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return max(0.0, moment - time.time())


def _error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "error"
    if isinstance(body, Mapping):
        for key in ("error_description", "error", "message", "detail", "title"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:200]
    return response.reason_phrase or "error"
