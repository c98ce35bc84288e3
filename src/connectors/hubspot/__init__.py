"""HubSpot Service Hub tickets: pull, apply, webhooks, and an emulator of the API for tests.

settings.py       the YAML section (``Settings``), ``api_version`` included
paths.py          where each API lives: date-based (``/crm/objects/2026-09``) or legacy ``v3``
client.py         every API call: httpx (dated; the SDK for legacy CRM paths), one RetryPolicy
auth.py           bearer token sources (private app / Service Key, OAuth refresh)
limiter.py        token buckets for the search and account budgets
errors.py         HTTP status -> connectors.errors
mapping.py        properties <-> the common model
comments.py       notes and the hidden marker
conversations.py  thread messages in and out; who wrote them (actor prefixes)
threads.py        which threads changed (pages of the threads list) and their messages
cursor.py         the pull bookmark in ms (the rule is connectors.cursor)
pull.py           windowed search and ticket assembly
write.py          coalesced writes
echo.py           echo suppression
webhook.py        signature v3 verification
connector.py      ``HubSpotConnector`` and ``create``
emulator.py       ``HubSpotEmulator`` (tests, demo, benchmarks): the people's side, composing
emulator_state.py   the portal's records and the methods that change and read them
emulator_routes.py  the HTTP API over them (paths, paging, validation, OAuth)
emulator_server.py  the server, error bodies, rate-limit window, planned late faults
emulator_search.py  the search's filter and sort rules
"""

from __future__ import annotations

from connectors.hubspot.connector import HubSpotConnector, HubSpotStats, create
from connectors.hubspot.settings import GroupTarget, OAuthSettings, Settings

__all__ = ["GroupTarget", "HubSpotConnector", "HubSpotStats", "OAuthSettings", "Settings", "create"]
