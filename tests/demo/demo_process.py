"""`socialbridge demo` as its own process, started the way a newcomer starts it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.demo.world import free_port

ROOT = Path(__file__).resolve().parents[2]
# A direct opener: a proxy from the environment must never see loopback traffic.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def demo_command() -> list[str]:
    """The installed console script when there is one (as the README says), else -m bot."""
    script = Path(sys.executable).with_name("socialbridge")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def clean_env() -> dict[str, str]:
    """No Slack, database or config variables: the demo must need none of them."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(ROOT),
        "LANG": "C.UTF-8",
    }


@dataclass
class DemoProcess:
    workdir: Path
    port: int = field(default_factory=free_port)
    scenario: str | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir.parent / f"{self.workdir.name}-demo.log"

    def start(self, *, timeout: float = 90.0) -> None:
        args = [*demo_command(), "demo", "--no-browser", "--port", str(self.port)]
        if self.scenario:
            args += ["--scenario", self.scenario]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                args, cwd=self.workdir, env=clean_env(), stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the demo exited with {self.process.returncode}:\n{self.log()}"
                )
            if time.monotonic() > deadline:
                self.process.kill()
                self.process.wait(timeout=10)
                raise AssertionError(f"the demo page did not answer in {timeout} s:\n{self.log()}")
            time.sleep(0.2)

    def _answers(self) -> bool:
        try:
            return self.get("/api/state") is not None
        except OSError:
            return False

    def get(self, path: str) -> Any:
        with _OPENER.open(self.url + path, timeout=5) as answer:
            return json.load(answer)

    def stop(self) -> int:
        """SIGTERM, as Ctrl-C or an orchestrator stops it; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
