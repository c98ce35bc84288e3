"""The Zendesk emulator's HTTP server: Zendesk's error bodies, and connection resets.

The shared frame's faults always answer; a reset drops the connection instead (TCP RST), before
the request is carried out or, with ``after_handling``, after it (the answer is lost).
"""

from __future__ import annotations

import io
import re
import socket
import struct
import threading
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from connectors.emulation import EmulatorServer, Request, Response

AUTH_FAILED = {"error": "Couldn't authenticate you"}
TOKEN_INVALID = {
    "error": "invalid_token",
    "error_description": "The access token provided is expired, revoked, malformed or invalid "
    "for other reasons.",
}
NOT_FOUND = {"error": "RecordNotFound", "description": "Not found"}
RATE_LIMITED = {
    "error": "APIRateLimitExceeded",
    "description": "Number of allowed API requests per minute exceeded",
}


def iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(slots=True)
class Reset:
    method: str
    path: re.Pattern[str]
    count: int
    after_handling: bool  # the request lands, then the answer is lost with the connection


class ZendeskServer(EmulatorServer):
    """Zendesk's error bodies, and connection resets (the frame's faults always answer)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._resets: list[Reset] = []
        self._reset_lock = threading.Lock()

    def inject_reset(
        self, method: str, path_pattern: str, *, count: int = 1, after_handling: bool = False
    ) -> None:
        """Drop the next ``count`` matching connections with a TCP reset instead of answering."""
        with self._reset_lock:
            self._resets.append(
                Reset(method.upper(), re.compile(path_pattern), count, after_handling)
            )

    def _take_reset(self, method: str, path: str) -> Reset | None:
        with self._reset_lock:
            for reset in self._resets:
                if reset.method in (method, "*") and reset.path.search(path):
                    reset.count -= 1
                    if reset.count <= 0:
                        self._resets.remove(reset)
                    return reset
        return None

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        reset = self._take_reset(h.command, urlsplit(h.path).path)
        if reset is None:
            super()._dispatch(h)
            return
        if reset.after_handling:
            answer, h.wfile = h.wfile, io.BytesIO()  # handled; the answer goes nowhere
            try:
                super()._dispatch(h)
            finally:
                h.wfile = answer
        else:
            length = int(h.headers.get("Content-Length") or 0)
            if length:
                h.rfile.read(length)
            with self._lock:
                self.requests.append(
                    Request(h.command, urlsplit(h.path).path, {}, dict(h.headers), b"")
                )
        # SO_LINGER 0: closing sends RST, as a load balancer dropping the connection does
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.close_connection = True
        h.connection.close()

    def fault_body(self, status: int) -> Any:
        if status == 429:
            return RATE_LIMITED
        if status >= 500:
            return {"error": "ServerError", "description": f"HTTP {status}"}
        return {"error": f"HTTP {status}"}

    def not_found(self, request: Request) -> Response:
        return Response(404, {"error": "InvalidEndpoint", "description": "Not found"})
