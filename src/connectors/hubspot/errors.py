"""HubSpot's HTTP failures as ``connectors.errors``: one table for SDK and httpx calls."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from connectors.errors import (
    ConnectorError,
    FatalError,
    RateLimited,
    RequestRejected,
    RetryableError,
    error_for_status,
)
from connectors.retry import parse_retry_after

# How long each 429 policy lasts when no Retry-After came with it (reference §3.8).
_POLICY_WAIT = {"SECONDLY": 1.0, "TEN_SECONDLY_ROLLING": 10.0}


def _body_json(body: bytes | str | None) -> dict[str, Any]:
    if not body:
        return {}
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    lower = name.lower()
    for key, value in headers.items():
        if key.lower() == lower:
            return value
    return None


def rate_limit_wait(headers: Mapping[str, str] | None, body: dict[str, Any]) -> float | None:
    """Seconds to wait: ``Retry-After`` first, else the policy's window; DAILY gives None."""
    retry_after = parse_retry_after(_header(headers, "Retry-After"))
    if retry_after is not None:
        return retry_after
    policy = str(body.get("policyName") or "")
    if policy == "TEN_SECONDLY_ROLLING":
        interval = _header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        if interval and interval.isdigit():
            return int(interval) / 1000.0
    return _POLICY_WAIT.get(policy)


# HubSpot's rows over the shared table: a 409 (a duplicate, a validation rule of the portal's)
# fails only that call, as 400 and 422 do
_ROWS: dict[int, type[ConnectorError]] = {409: RequestRejected}


def error_for(
    status: int, headers: Mapping[str, str] | None, body: bytes | str | None, what: str
) -> ConnectorError:
    """The exception a failed call becomes; ``what`` names the call for the message."""
    data = _body_json(body)
    message = f"{what}: HTTP {status} {data.get('message') or data.get('category') or ''}".strip()
    if status == 429:
        wait = rate_limit_wait(headers, data)
        if data.get("policyName") == "DAILY" and wait is None:
            return FatalError(f"{message} (daily limit reached)")
        return RateLimited(message, retry_after=wait)
    if status == 410:  # a retired API version: no ticket is gone, the paths are
        return FatalError(f"{message} (API version retired: set a dated api_version)")
    return error_for_status(status, message, rows=_ROWS)


def from_sdk(exc: Exception, what: str) -> ConnectorError:
    """An SDK ``ApiException`` (each generated package has its own class) as our error."""
    status = getattr(exc, "status", None)
    if not isinstance(status, int):
        return RetryableError(f"{what}: {exc!r}")
    headers = getattr(exc, "headers", None)
    body = getattr(exc, "body", None)
    return error_for(status, dict(headers) if headers else None, body, what)
