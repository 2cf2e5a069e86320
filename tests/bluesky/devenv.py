"""Bluesky's reference implementation for tests: start devenv.mjs, make accounts, post.

The dev-env (PLC, AppView, PDS from npm's @atproto/dev-env@0.3.215) runs as one Node process
for the whole test session; tests talk to it over loopback HTTP like any client would.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

LAUNCHER = Path(__file__).with_name("devenv.mjs")
DEFAULT_DIR = Path.home() / ".cache" / "socialbridge" / "atproto"
VERSION = "0.3.215"
START_TIMEOUT = 180.0


def atproto_dir() -> Path:
    return Path(os.environ.get("SOCIALBRIDGE_ATPROTO_DIR") or DEFAULT_DIR)


def install_hint(where: Path) -> str:
    return (
        f"the Bluesky dev-env (@atproto/dev-env@{VERSION}) is not installed in {where}.\n"
        f"Install it with: SOCIALBRIDGE_ATPROTO_DIR={where} tests/bluesky/install.sh\n"
        "(npm ci of tests/bluesky/package-lock.json there, then npm rebuild better-sqlite3 "
        "sharp; Node 20 and PostgreSQL needed; see tests/bluesky/README.md)"
    )


@dataclass(frozen=True, slots=True)
class Account:
    did: str
    handle: str
    password: str
    access_jwt: str


@dataclass(frozen=True, slots=True)
class PostRef:
    uri: str
    cid: str
    root_uri: str
    root_cid: str

    @property
    def rkey(self) -> str:
        return self.uri.rsplit("/", 1)[-1]


class DevEnv:
    """A running dev-env: its URLs, and the calls a test needs to act as a Bluesky user."""

    def __init__(self, info: Mapping[str, Any], process: subprocess.Popen[bytes]) -> None:
        self.pds = str(info["pds"])
        self.appview = str(info["appview"])
        self.start_seconds = float(info.get("seconds") or 0.0)
        self.process = process
        self.http = httpx.Client(timeout=30)

    def create_account(self, name: str) -> Account:
        """A new account `<name><random>.test` (handles must be unique and not too short)."""
        handle = f"{name}{secrets.token_hex(3)}.test"
        password = secrets.token_urlsafe(12)
        body = self._call(
            "POST",
            self.pds,
            "com.atproto.server.createAccount",
            json={"handle": handle, "email": f"{handle}@example.com", "password": password},
        )
        return Account(str(body["did"]), handle, password, str(body["accessJwt"]))

    def app_password(self, account: Account) -> str:
        body = self._call(
            "POST",
            self.pds,
            "com.atproto.server.createAppPassword",
            token=account.access_jwt,
            json={"name": f"socialbridge-{secrets.token_hex(3)}"},
        )
        return str(body["password"])

    def post(
        self,
        author: Account,
        text: str,
        *,
        mention: Account | None = None,
        reply_to: PostRef | None = None,
    ) -> PostRef:
        """Post as `author`, with a mention facet for `@<mention.handle>` if given."""
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        if mention is not None:
            data = text.encode("utf-8")
            start = data.index(f"@{mention.handle}".encode())
            record["facets"] = [
                {
                    "index": {"byteStart": start, "byteEnd": start + len(mention.handle) + 1},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": mention.did}],
                }
            ]
        if reply_to is not None:
            record["reply"] = {
                "root": {"uri": reply_to.root_uri, "cid": reply_to.root_cid},
                "parent": {"uri": reply_to.uri, "cid": reply_to.cid},
            }
        body = self._call(
            "POST",
            self.pds,
            "com.atproto.repo.createRecord",
            token=author.access_jwt,
            json={"repo": author.did, "collection": "app.bsky.feed.post", "record": record},
        )
        uri, cid = str(body["uri"]), str(body["cid"])
        root = (reply_to.root_uri, reply_to.root_cid) if reply_to else (uri, cid)
        return PostRef(uri, cid, *root)

    def delete(self, author: Account, post: PostRef) -> None:
        """The author deletes their post (the AppView then answers NotFound for it)."""
        self._call(
            "POST",
            self.pds,
            "com.atproto.repo.deleteRecord",
            token=author.access_jwt,
            json={"repo": author.did, "collection": "app.bsky.feed.post", "rkey": post.rkey},
        )

    def record(self, uri: str) -> dict[str, Any]:
        """A record as stored in its author's repository on the PDS."""
        _, _, did, collection, rkey = uri.split("/")
        return self._call(
            "GET",
            self.pds,
            "com.atproto.repo.getRecord",
            params={"repo": did, "collection": collection, "rkey": rkey},
        )

    def ref(self, uri: str) -> PostRef:
        """A post of ours or theirs as a reply target, read back from the PDS."""
        found = self.record(uri)
        reply = found["value"].get("reply")
        root = (reply["root"]["uri"], reply["root"]["cid"]) if reply else (uri, found["cid"])
        return PostRef(uri, str(found["cid"]), *root)

    def notified(self, account: Account) -> list[str]:
        """The uris of `account`'s latest notifications, as its PDS and AppView list them."""
        body = self._call(
            "GET",
            self.pds,
            "app.bsky.notification.listNotifications",
            token=account.access_jwt,
            params={"limit": 100},
        )
        return [str(n["uri"]) for n in body["notifications"]]

    def replies(self, uri: str) -> list[dict[str, Any]]:
        """The posts directly under `uri`, from app.bsky.feed.getPostThread as the AppView
        answers it (no login needed); none while the AppView has not indexed `uri` yet."""
        response = self.http.get(
            f"{self.appview}/xrpc/app.bsky.feed.getPostThread", params={"uri": uri, "depth": 10}
        )
        if response.status_code == 400 and response.json().get("error") == "NotFound":
            return []
        if not response.is_success:
            raise AssertionError(f"getPostThread: {response.status_code} {response.text[:300]}")
        return [reply["post"] for reply in response.json()["thread"].get("replies") or []]

    def _call(
        self, method: str, base: str, nsid: str, *, token: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.http.request(method, f"{base}/xrpc/{nsid}", headers=headers, **kwargs)
        if not response.is_success:
            raise AssertionError(f"{nsid}: {response.status_code} {response.text[:300]}")
        return dict(response.json())

    def close(self) -> None:
        self.http.close()


@contextmanager
def running_devenv() -> Iterator[DevEnv]:
    """Start the dev-env, yield it when it answers, stop it (SIGTERM) afterwards. Fails,
    never skips, when it is not installed: these tests are how Bluesky support is proven."""
    where = atproto_dir()
    if not (where / "node_modules" / "@atproto" / "dev-env" / "package.json").exists():
        pytest.fail(install_hint(where), pytrace=False)
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH; the Bluesky dev-env needs Node 20", pytrace=False)
    env = {**os.environ, "SOCIALBRIDGE_ATPROTO_DIR": str(where)}
    # The log is a file, not a pipe: nobody reads it while the tests run.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [node, str(LAUNCHER)],
            cwd=where,  # the dev-env reads a .env from its working directory, not ours
            env=env,
            stdin=subprocess.PIPE,  # closed when we go, even by kill -9: the launcher stops
            stdout=subprocess.PIPE,
            stderr=log,
        )
        try:
            devenv = DevEnv(_ready_line(process, log), process)
            try:
                yield devenv
            finally:
                devenv.close()
        finally:
            _stop(process)


def _ready_line(process: subprocess.Popen[bytes], log: IO[bytes]) -> dict[str, Any]:
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            err = log.read().decode(errors="replace")[-4000:]
            pytest.fail(
                f"the Bluesky dev-env exited with {process.returncode}:\n{err}", pytrace=False
            )
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            if line.strip():
                return dict(json.loads(line))
    _stop(process)
    pytest.fail(f"the Bluesky dev-env did not start within {START_TIMEOUT:.0f} s", pytrace=False)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            stream.close()
