"""The references the bridge benchmark measures the bot against, in the same run.

- `forward`: a bare forwarder. Polls the fake Mastodon's notifications (min_id paging, as the
  bot does), posts each mention to the fake Slack as a plain message, keeps its cursor in
  memory and stores nothing. One keep-alive httpx client per service, one thread.
- `relay`: a bare relay. Answers Slack's signed `POST /slack/events`: checks the signature,
  POSTs the thread reply's text to the fake Mastodon as a status, then answers 200.

Each runs as its own process, as the bot does, so the comparison pays the same process and
loopback costs. Nothing here is part of the product; it is the floor the bot is held to.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

PAGE_SIZE = 40


def forward(args: argparse.Namespace) -> None:
    """Forward `args.count` mentions, then print how long it took from the first poll."""
    mastodon = httpx.Client(
        base_url=args.mastodon, headers={"Authorization": f"Bearer {args.mastodon_token}"}
    )
    slack = httpx.Client(
        base_url=args.slack, headers={"Authorization": f"Bearer {args.slack_token}"}
    )
    cursor: str | None = args.cursor
    forwarded = 0
    started = time.time()
    deadline = time.monotonic() + args.timeout
    while forwarded < args.count and time.monotonic() < deadline:
        params: dict[str, str | int] = {"types[]": "mention", "limit": PAGE_SIZE}
        if cursor is not None:
            params["min_id"] = cursor
        page = mastodon.get("/api/v1/notifications", params=params).json()
        if not page:
            time.sleep(0.05)
            continue
        # min_id pages come newest first; post them oldest first.
        for notification in sorted(page, key=lambda n: int(n["id"])):
            status = notification["status"]
            answer = slack.post(
                "chat.postMessage",
                json={"channel": args.channel, "text": status["content"][:3000]},
            ).json()
            if not answer.get("ok"):
                sys.exit(f"bare forwarder: Slack refused a post: {answer}")
            forwarded += 1
            cursor = notification["id"]
    print(json.dumps({"forwarded": forwarded, "started": started, "finished": time.time()}))


class _RelayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    secret: bytes = b""
    in_reply_to: str = ""
    mastodon: httpx.Client

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        stamp = self.headers.get("X-Slack-Request-Timestamp") or ""
        base = b"v0:" + stamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self.secret, base, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, self.headers.get("X-Slack-Signature") or ""):
            self._answer(401)
            return
        event = json.loads(body).get("event") or {}
        self.mastodon.post(
            "/api/v1/statuses",
            data={"status": str(event.get("text", "")), "in_reply_to_id": self.in_reply_to},
        )
        self._answer(200)

    def _answer(self, code: int) -> None:
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def relay(args: argparse.Namespace) -> None:
    _RelayHandler.secret = args.signing_secret.encode()
    _RelayHandler.in_reply_to = args.in_reply_to
    _RelayHandler.mastodon = httpx.Client(
        base_url=args.mastodon, headers={"Authorization": f"Bearer {args.mastodon_token}"}
    )
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _RelayHandler)
    print("ready", flush=True)
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    fwd = sub.add_parser("forward")
    fwd.add_argument("--mastodon", required=True)
    fwd.add_argument("--mastodon-token", required=True)
    fwd.add_argument("--slack", required=True, help="the Slack Web API base URL, ending in /")
    fwd.add_argument("--slack-token", required=True)
    fwd.add_argument("--channel", required=True)
    fwd.add_argument("--count", type=int, required=True)
    fwd.add_argument("--timeout", type=float, default=600)
    fwd.add_argument("--cursor", help="the notification id to page forward from")
    rel = sub.add_parser("relay")
    rel.add_argument("--port", type=int, required=True)
    rel.add_argument("--signing-secret", required=True)
    rel.add_argument("--mastodon", required=True)
    rel.add_argument("--mastodon-token", required=True)
    rel.add_argument("--in-reply-to", required=True)
    args = parser.parse_args()
    forward(args) if args.mode == "forward" else relay(args)


if __name__ == "__main__":
    main()
