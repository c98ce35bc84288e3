"""The Zendesk emulator's HTTP server: Zendesk's error bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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


class ZendeskServer(EmulatorServer):
    """Zendesk's error bodies (connection resets come with the shared frame)."""

    def fault_body(self, status: int) -> Any:
        if status == 429:
            return RATE_LIMITED
        if status >= 500:
            return {"error": "ServerError", "description": f"HTTP {status}"}
        return {"error": f"HTTP {status}"}

    def not_found(self, request: Request) -> Response:
        return Response(404, {"error": "InvalidEndpoint", "description": "Not found"})
