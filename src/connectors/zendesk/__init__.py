"""Zendesk Support: pull through the cursor-based ticket export and the ticket event export (a
page of up to 1,000 tickets costs a few calls), write with one coalesced ``PUT
/api/v2/tickets/{id}`` per ticket under ``safe_update``, OAuth (client credentials or rotating
refresh tokens) or the legacy API token, signed webhooks. Built on zenpy and its requests
session; httpx for the OAuth token endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from connectors.retry import RetryPolicy
from connectors.zendesk.connector import ZendeskConnector
from connectors.zendesk.settings import (
    ApiTokenAuth,
    ClientCredentialsAuth,
    FieldMapping,
    FieldSource,
    RefreshTokenAuth,
    Settings,
)

__all__ = [
    "ApiTokenAuth",
    "ClientCredentialsAuth",
    "FieldMapping",
    "FieldSource",
    "RefreshTokenAuth",
    "Settings",
    "ZendeskConnector",
    "create",
]


def create(
    name: str,
    settings: Settings,
    *,
    retry: RetryPolicy,
    now: Callable[[], datetime] | None = None,
) -> ZendeskConnector:
    """``now``: the app's clock (the wall clock when not given)."""
    if now is None:
        return ZendeskConnector(name, settings, retry=retry)
    return ZendeskConnector(name, settings, retry=retry, clock=lambda: now().timestamp())
