"""Zendesk Support: pull through the cursor-based incremental export, write with one coalesced
``PUT /api/v2/tickets/{id}`` per ticket, OAuth (client credentials or rotating refresh tokens)
or the legacy API token, signed webhooks. Built on zenpy; httpx for the OAuth token endpoint.
"""

from __future__ import annotations

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


def create(name: str, settings: Settings, *, retry: RetryPolicy) -> ZendeskConnector:
    return ZendeskConnector(name, settings, retry=retry)
