"""What each Jira HTTP status means to the caller: one table, not a chain of ifs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.errors import (
    AuthError,
    ConflictError,
    ConnectorError,
    FatalError,
    NotFoundError,
    RateLimited,
    RetryableError,
)
from connectors.retry import parse_retry_after


class RequestRejected(ConnectorError):
    """Jira refused this one request (400/422: a field it cannot set); others may still work."""


_BY_STATUS: dict[int, type[ConnectorError]] = {
    400: RequestRejected,
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    410: FatalError,  # a removed endpoint (the old /search): the code must change
    413: RequestRejected,
    422: RequestRejected,
}


def error_messages(body: Any) -> str:
    """Jira's ``{"errorMessages": [...], "errors": {field: msg}}`` as one line."""
    if not isinstance(body, dict):
        return str(body or "")[:500]
    parts = [str(m) for m in body.get("errorMessages") or []]
    errors = body.get("errors") or {}
    if isinstance(errors, dict):
        parts += [f"{k}: {v}" for k, v in errors.items()]
    return "; ".join(parts)


def error_for(status: int | None, headers: Mapping[str, str], message: str) -> ConnectorError:
    """The connector error for a failed response (``status`` None: no response at all)."""
    text = f"Jira HTTP {status}: {message}" if status else f"Jira unreachable: {message}"
    if status is None:
        return RetryableError(text)
    if status == 429:
        reason = headers.get("RateLimit-Reason") or headers.get("ratelimit-reason")
        retry_after = headers.get("Retry-After") or headers.get("retry-after")
        suffix = f" ({reason})" if reason else ""
        return RateLimited(text + suffix, retry_after=parse_retry_after(retry_after))
    if status >= 500:
        return RetryableError(text)
    return _BY_STATUS.get(status, FatalError)(text)
