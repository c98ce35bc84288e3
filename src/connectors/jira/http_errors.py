"""What each Jira HTTP status means to the caller: the shared table, and Jira's own rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.errors import (
    ConnectorError,
    FatalError,
    RequestRejected,
    error_for_status,
)
from connectors.retry import parse_retry_after

__all__ = ["RequestRejected", "error_for", "error_messages"]

# Jira's own rows over the shared table: 410 is a removed endpoint (the old /search)
_ROWS: dict[int, type[ConnectorError]] = {410: FatalError}


def error_messages(body: Any) -> str:
    """Jira's ``{"errorMessages": [...], "errors": {field: msg}}`` (or the service desk API's
    ``{"errorMessage": ..., "i18nErrorMessage": {...}}``) as one line."""
    if not isinstance(body, dict):
        return str(body or "")[:500]
    parts = [str(m) for m in body.get("errorMessages") or []]
    if body.get("errorMessage"):
        parts.append(str(body["errorMessage"]))
    errors = body.get("errors") or {}
    if isinstance(errors, dict):
        parts += [f"{k}: {v}" for k, v in errors.items()]
    return "; ".join(parts)


def error_for(status: int | None, headers: Mapping[str, str], message: str) -> ConnectorError:
    """The connector error for a failed response (``status`` None: no response at all)."""
    text = f"Jira HTTP {status}: {message}" if status else f"Jira unreachable: {message}"
    retry_after = None
    if status == 429:
        reason = headers.get("RateLimit-Reason") or headers.get("ratelimit-reason")
        text += f" ({reason})" if reason else ""
        retry_after = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
    return error_for_status(status, text, retry_after=retry_after, rows=_ROWS)
