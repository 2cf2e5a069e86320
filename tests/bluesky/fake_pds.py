"""`FakePds`: a small scripted PDS on loopback, for what the reference one cannot stage.

The dev-env proves the protocol; this fake lets a test choose every notification's listing
time (late indexing, a slow client clock), queue 429s with ratelimit headers, and lose an
answer after the record was written. Payloads follow the lexicons: listNotifications pages
newest first with the listing time as cursor, as the reference AppView does.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from bot.sandbox.faults import Fault
from bot.sandbox.http import LoopbackServer, Request, Response

Json = dict[str, Any]

HANDLE = "brand.test"
DID = "did:plc:brand"
PASSWORD = "abcd-efgh-ijkl-mnop"


class FakePds(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.notifications: list[Json] = []
        self.records: dict[str, Json] = {}  # rkey -> record
        self.handles: dict[str, str] = {HANDLE: DID}
        self.logins = 0
        self.refreshes = 0
        self.limit_headers: dict[str, str] = {}  # ratelimit-* sent with every answer
        self._tokens = itertools.count(1)
        self.access = self.refresh = ""
        self.expired: set[str] = set()

    # --- setting the scene -----------------------------------------------------------

    def notify(
        self, number: int, at: datetime, *, reason: str = "mention", reply_to: str | None = None
    ) -> str:
        """A notification about customer post `number`, listed at `at`; returns its uri."""
        uri = f"at://did:plc:customer/app.bsky.feed.post/post{number}"
        record: Json = {"$type": "app.bsky.feed.post", "text": f"post {number}"}
        if reply_to:
            record["reply"] = {
                "root": {"uri": reply_to, "cid": "cid-root"},
                "parent": {"uri": reply_to, "cid": "cid-parent"},
            }
        self.notifications.append(
            {
                "uri": uri,
                "cid": f"cid{number}",
                "author": {"did": "did:plc:customer", "handle": "customer.test"},
                "reason": reason,
                "record": record,
                "isRead": False,
                "indexedAt": at.isoformat().replace("+00:00", "Z"),
            }
        )
        return uri

    def expire_access_token(self) -> None:
        """The current access token has expired; the refresh token still works."""
        self.expired.add(self.access)

    # --- the fake ----------------------------------------------------------------------

    def route_names(self, request: Request) -> tuple[str, ...]:
        return (request.path.removeprefix("/xrpc/"),)

    def fault_response(self, fault: Fault, request: Request) -> Response:
        return Response.of_json(
            {"error": fault.error or "RateLimitExceeded", "message": "slow down"},
            fault.status,
            list(fault.headers.items()),
        )

    def decorate(self, request: Request, response: Response) -> None:
        response.headers.extend(self.limit_headers.items())

    def dispatch(self, request: Request) -> Response:
        nsid = request.path.removeprefix("/xrpc/")
        if nsid == "com.atproto.server.createSession":
            if request.get("identifier") != HANDLE or request.get("password") != PASSWORD:
                return _error(401, "AuthenticationRequired", "Invalid identifier or password")
            self.logins += 1
            return self._session()
        if nsid == "com.atproto.server.refreshSession":
            if request.bearer_token() != self.refresh:
                return _error(400, "ExpiredToken", "Token has been revoked")
            self.refreshes += 1
            return self._session()
        token = request.bearer_token()
        if token in self.expired:
            return _error(400, "ExpiredToken", "Token has expired")
        if not token or token != self.access:
            return _error(400, "InvalidToken", "Token could not be verified")
        handler = getattr(self, "_" + nsid.rsplit(".", 1)[-1], None)
        if handler is None:
            return _error(501, "MethodNotImplemented", nsid)
        response: Response = handler(request)
        return response

    def _session(self) -> Response:
        number = next(self._tokens)
        self.access, self.refresh = f"access-{number}", f"refresh-{number}"
        return Response.of_json(
            {"did": DID, "handle": HANDLE, "accessJwt": self.access, "refreshJwt": self.refresh}
        )

    def _getSession(self, request: Request) -> Response:
        return Response.of_json({"did": DID, "handle": HANDLE})

    def _listNotifications(self, request: Request) -> Response:
        reasons = request.get_list("reasons")
        limit = int(request.get("limit", 50))
        cursor = request.get("cursor")
        listed = sorted(self.notifications, key=lambda n: n["indexedAt"], reverse=True)
        listed = [n for n in listed if not reasons or n["reason"] in reasons]
        if cursor:
            listed = [n for n in listed if n["indexedAt"] < cursor]
        page = listed[:limit]
        body: Json = {"notifications": page}
        if len(listed) > limit:
            body["cursor"] = page[-1]["indexedAt"]
        return Response.of_json(body)

    def _createRecord(self, request: Request) -> Response:
        rkey = str(request.get("rkey"))
        if rkey in self.records:  # what the reference PDS answers today
            return _error(500, "InternalServerError", "Internal Server Error")
        self.records[rkey] = request.get("record")
        return Response.of_json({"uri": self._uri(rkey), "cid": f"cid-{rkey}"})

    def _getRecord(self, request: Request) -> Response:
        rkey = str(request.get("rkey"))
        if rkey not in self.records:
            return _error(400, "RecordNotFound", f"Could not locate record: {rkey}")
        return Response.of_json(
            {"uri": self._uri(rkey), "cid": f"cid-{rkey}", "value": self.records[rkey]}
        )

    def _resolveHandle(self, request: Request) -> Response:
        did = self.handles.get(str(request.get("handle")))
        if did is None:
            return _error(400, "InvalidRequest", "Unable to resolve handle")
        return Response.of_json({"did": did})

    def _uri(self, rkey: str) -> str:
        return f"at://{DID}/app.bsky.feed.post/{rkey}"


def _error(status: int, error: str, message: str) -> Response:
    return Response.of_json({"error": error, "message": message}, status)
