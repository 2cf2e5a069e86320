"""`socialbridge demo` as a newcomer runs it: no .env, no config file, no Slack, no network."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from tests.demo.demo_process import DemoProcess, clean_env, demo_command

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _post(url: str, body: bytes, content_type: str, host: str | None = None) -> int:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", content_type)
    if host is not None:
        request.add_header("Host", host)
    try:
        with _OPENER.open(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_demo_starts_from_a_directory_without_env_or_config_and_leaves_it_clean(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "fresh-clone"
    workdir.mkdir()
    demo = DemoProcess(workdir=workdir)
    demo.start()
    try:
        with _OPENER.open(demo.url + "/", timeout=5) as answer:
            assert "socialbridge demo" in answer.read().decode()
        state = demo.get("/api/state")
        assert state["bot"]["ok"] is True
        assert state["settings"]["send_delay"] == 5.0
        assert [c["name"] for c in [state["slack"]["channel"]]] == ["social"]
    finally:
        code = demo.stop()
    assert code == 0, demo.log()
    assert "socialbridge demo: open http://127.0.0.1:" in demo.log()
    assert list(workdir.iterdir()) == [], "the demo wrote into the working directory"


def test_the_page_api_takes_only_json_addressed_to_loopback(tmp_path: Path) -> None:
    demo = DemoProcess(workdir=tmp_path)
    demo.start()
    try:
        url = demo.url + "/api/customer/post"
        body = json.dumps({"customer": "ben", "text": "hi"}).encode()
        assert _post(url, b"customer=ben&text=hi", "application/x-www-form-urlencoded") == 415
        assert _post(url, body, "application/json", host="evil.example") == 403
        assert (
            _post(url, json.dumps({"customer": "nobody", "text": "x"}).encode(), "application/json")
            == 400
        )
        assert _post(url, body, "application/json") == 200
    finally:
        assert demo.stop() == 0, demo.log()


def test_a_busy_port_is_a_one_line_error(tmp_path: Path) -> None:
    first = DemoProcess(workdir=tmp_path)
    first.start()
    try:
        second = subprocess.run(
            [*demo_command(), "demo", "--no-browser", "--port", str(first.port)],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        assert first.stop() == 0, first.log()
    assert second.returncode == 2, second.stderr
    assert second.stderr.strip().count("\n") == 0, second.stderr
    assert f"cannot listen on 127.0.0.1:{first.port}" in second.stderr
