"""HubSpot Service Hub tickets: pull, apply, webhooks, and an emulator of the API for tests.

settings.py       the YAML section (``Settings``)
client.py         every API call: SDK for CRM, httpx for Conversations, one RetryPolicy
auth.py           bearer token sources (private app / Service Key, OAuth refresh)
limiter.py        token buckets for the search and account budgets
errors.py         HTTP status -> connectors.errors
mapping.py        properties <-> the common model
comments.py       notes and the hidden marker
conversations.py  thread messages in and out
cursor.py         the pull bookmark
pull.py           windowed search and ticket assembly
write.py          coalesced writes
echo.py           echo suppression
webhook.py        signature v3 verification
connector.py      ``HubSpotConnector`` and ``create``
emulator.py       ``HubSpotEmulator`` (tests, demo, benchmarks)
"""

from __future__ import annotations

from connectors.hubspot.connector import HubSpotConnector, HubSpotStats, create
from connectors.hubspot.settings import GroupTarget, OAuthSettings, Settings

__all__ = ["GroupTarget", "HubSpotConnector", "HubSpotStats", "OAuthSettings", "Settings", "create"]
