"""`escalator run` as a real subprocess on loopback, for end-to-end tests."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from connectors.registry import ENVIRONMENT
from escalator.demo import with_every_source

ROOT = Path(__file__).resolve().parents[2]


def e2e_config(target: Path, *, poll_interval: str = "30s") -> Path:
    """A copy of the shipped config/ with another poll interval, and a source for every
    registered helpdesk (a new one's section comes from its emulator)."""
    with_every_source(ROOT / "config", target)
    set_poll_interval(target, poll_interval)
    return target


def set_poll_interval(config: Path, poll_interval: str) -> None:
    """Every source of the config folder ``config`` polls every ``poll_interval``."""
    sources = config / "sources.yaml"
    sources.write_text(
        re.sub(r"poll_interval: \S+", f"poll_interval: {poll_interval}", sources.read_text())
    )


def wait_for(check: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; its value, or AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


class SidecarProcess:
    def __init__(self, config: Path, env: dict[str, str], port: int, log: Path) -> None:
        self.config = config
        self.port = port
        self.log_path = log
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "NO_PROXY": "127.0.0.1,localhost",
            # a helpdesk registered outside src/ (a test's) is found by the subprocess too
            **{k: os.environ[k] for k in (ENVIRONMENT, "PYTHONPATH") if k in os.environ},
            **env,
            "ESCALATOR_LISTEN_HOST": "127.0.0.1",
            "ESCALATOR_LISTEN_PORT": str(port),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> SidecarProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "escalator.cli", "run", "--config", str(self.config)],
            env=self.env,
            stdout=log,
            stderr=log,
            cwd=ROOT,
        )
        log.close()
        return self

    def wait_healthy(self, timeout: float = 20.0) -> None:
        def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"escalator run exited {self.proc.returncode}:\n"
                    + self.log_path.read_text()[-3000:]
                )
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout, 0.1)

    def wait_ready(self, timeout: float) -> None:
        """Until /readyz answers 200: every source has been read."""
        wait_for(lambda: self.get("/readyz").status_code == 200, timeout)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=5)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
