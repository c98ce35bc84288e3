"""The HubSpot emulator's HTTP frame: HubSpot's error bodies, its rate-limit headers, and the
faults tests schedule for later (``HubSpotEmulator.fail_later``).

Apart from the routes so that what every answer carries (headers, error shapes) is in one
place, whichever handler produced it.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from connectors.emulation import EmulatorServer, Request, Response
from connectors.hubspot.emulator_state import APP_ID

MAX_PER_10S = 190

# what a 429 from the rolling ten-second policy carries besides its body (reference §3.8)
RATE_LIMITED_HEADERS = {
    "X-HubSpot-RateLimit-Max": "190",
    "X-HubSpot-RateLimit-Remaining": "0",
    "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
}


def error_response(status: int, message: str, category: str, **extra: Any) -> Response:
    """HubSpot's standard error body."""
    body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }
    return Response(status, body)


def retired(request: Request) -> Response:
    """A numbered path after its cut-off. HubSpot documents only that sunset APIs "return an
    error" (developers.hubspot.com/docs/api-reference/deprecated-apis); we answer 410 Gone,
    as Atlassian does for its removed search, in HubSpot's standard error body."""
    return error_response(
        410,
        f"{request.method} {request.path} is no longer supported: API versions v1-v4 have "
        "reached end of support. Use a date-based version such as /crm/objects/2026-09/.",
        "GONE",
    )


class HubSpotServer(EmulatorServer):
    """The shared server with HubSpot's bodies for injected faults and unknown paths."""

    def fault_body(self, status: int) -> Any:
        if status == 429:
            return {
                "status": "error",
                "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": "TEN_SECONDLY_ROLLING",
                "groupName": f"publicapi:private-app:{APP_ID}",
            }
        return {
            "status": "error",
            "message": "internal error",
            "correlationId": str(uuid.uuid4()),
            "category": "INTERNAL_ERROR",
        }

    def not_found(self, request: Request) -> Response:
        return error_response(
            404, f"no route for {request.method} {request.path}", "OBJECT_NOT_FOUND"
        )

    def _respond(self, request: Request) -> Response:
        response = super()._respond(request)
        if response.status == 429:  # HubSpot's own rate-limit headers come with its 429s
            for name, value in RATE_LIMITED_HEADERS.items():
                response.headers.setdefault(name, value)
        return response


@dataclass(slots=True)
class LaterFault:
    """Let ``after`` matching requests through, then fail the next ``count``."""

    method: str
    path: re.Pattern[str]
    after: int
    status: int
    count: int
    retry_after: float | None = None
    body: Any = None


class LateFaults:
    """The scheduled ``LaterFault``s, consumed as matching requests arrive. ``lock`` is the
    emulator's one lock (the state's), so scheduling and serving never interleave."""

    def __init__(self, server: EmulatorServer, lock: threading.RLock) -> None:
        self._server = server
        self._lock = lock
        self._pending: list[LaterFault] = []

    def add(self, fault: LaterFault) -> None:
        with self._lock:
            self._pending.append(fault)

    def take(self, request: Request) -> Response | None:
        """The fault this request meets, if one is due (counting it down)."""
        with self._lock:
            for fault in self._pending:
                if fault.method != request.method or not fault.path.search(request.path):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    return None
                fault.count -= 1
                if fault.count <= 0:
                    self._pending.remove(fault)
                headers = dict(RATE_LIMITED_HEADERS) if fault.status == 429 else {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                body = fault.body if fault.body is not None else self._body(fault.status)
                return Response(fault.status, body, headers)
        return None

    def _body(self, status: int) -> Any:
        if status == 401:  # an access token past its expiry (HubSpot's OAuth error body)
            return {
                "status": "error",
                "message": "The OAuth token used to make this call expired 1 minute(s) ago.",
                "correlationId": str(uuid.uuid4()),
                "category": "EXPIRED_AUTHENTICATION",
            }
        return self._server.fault_body(status)


class RateWindow:
    """The rolling ten-second request count behind every answer's rate-limit headers (the
    emulator enforces no limit; it reports usage as HubSpot does)."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._recent: deque[float] = deque()

    def headers(self) -> dict[str, str]:
        now = time.monotonic()
        with self._lock:
            self._recent.append(now)
            while self._recent and self._recent[0] < now - 10:
                self._recent.popleft()
            used = len(self._recent)
        return {
            "X-HubSpot-RateLimit-Max": str(MAX_PER_10S),
            "X-HubSpot-RateLimit-Remaining": str(max(0, MAX_PER_10S - used)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Daily": "1000000",
            "X-HubSpot-RateLimit-Daily-Remaining": "999000",
        }
