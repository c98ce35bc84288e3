"""An emulator of the HubSpot endpoints the connector uses, on a real HTTP server (127.0.0.1).

Paths, payloads, paging (``after`` offsets, the search cap), error bodies and rate-limit headers
follow the reference doc and the specs in ``shared/specs/hubspot``. ``search_cap`` is the
10,000-result limit of a search query, small in tests.

``realistic`` (the default) produces the untidy shapes a real portal sends: a chatflow bot
answers a customer's first message (``B-`` actor), agents and customers write plain text that
looks like markup, number properties come formatted (``"1,200"``), notes written by other
integrations keep their local offset, and every new thread message is announced by a
``conversation.newMessage`` webhook. Requested properties that are unset come back ``null``
in either mode, as HubSpot does.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from connectors.emulation import Emulator, Request, Response, SeedComment, SeedTicket
from connectors.hubspot.emulator_routes import (
    CLIENT_ID,
    CLIENT_SECRET,
    DATED_VERSIONS,
    REFRESH_TOKEN,
    TOKEN,
    HubSpotRoutes,
)
from connectors.hubspot.emulator_server import (
    MAX_PER_10S,
    RATE_LIMITED_HEADERS,
    HubSpotServer,
    LaterFault,
)
from connectors.hubspot.emulator_state import (
    AGENT_ACTOR,
    APP_ID,
    BOT_GREETING,
    CATEGORY_OF,
    CHANNEL_ACCOUNT_ID,
    CHANNEL_ID,
    CUSTOMER_ACTOR,
    DATE_PROPERTIES,
    ENUMS,
    GROUPS,
    INTEGRATION_OFFSET,
    OTHER_ACTORS,
    OWNERS,
    PORTAL_ID,
    PRIORITY_OF,
    STAGE_OF_STATUS,
    STAGES,
    HubSpotState,
)
from connectors.hubspot.mapping import to_millis
from connectors.hubspot.webhook import signature_v3

# the module's names before the state and the routes moved out: tests, the demo and the
# benchmarks import them from here
__all__ = [
    "AGENT_ACTOR",
    "APP_ID",
    "BOT_GREETING",
    "CATEGORY_OF",
    "CHANNEL_ACCOUNT_ID",
    "CHANNEL_ID",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "CUSTOMER_ACTOR",
    "DATED_VERSIONS",
    "DATE_PROPERTIES",
    "ENUMS",
    "GROUPS",
    "INTEGRATION_OFFSET",
    "MAX_PER_10S",
    "OTHER_ACTORS",
    "OWNERS",
    "PORTAL_ID",
    "PRIORITY_OF",
    "RATE_LIMITED_HEADERS",
    "REFRESH_TOKEN",
    "STAGES",
    "STAGE_OF_STATUS",
    "TOKEN",
    "HubSpotEmulator",
    "LaterFault",
    "new_message_event",
]


class HubSpotEmulator(Emulator):
    """The portal (``HubSpotState``) served by HubSpot's routes (``HubSpotRoutes``); what
    tests and the demo do as people is here, along with the webhooks it sets off."""

    def __init__(
        self,
        *,
        page_size: int = 100,
        webhook_url: str | None = None,
        search_cap: int = 10_000,
        realistic: bool = True,
        legacy_retired: bool = False,
    ) -> None:
        self.page_size = page_size
        self.webhook_url = webhook_url
        self.search_cap = search_cap
        # after HubSpot's cut-off (v4 2027-03-30, v1-v3 September 2027) the numbered paths go
        self.legacy_retired = legacy_retired
        self.oauth_expires_in = 1800
        self.server = HubSpotServer("hubspot")
        self.state = HubSpotState(now=self._now, realistic=realistic)
        # the routes read page_size, search_cap, legacy_retired and oauth_expires_in from here
        self.routes = HubSpotRoutes(self.server, self.state, self)
        self.routes.install()

    # -- life ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.server.base_url

    def _now(self) -> datetime:
        return self.server.clock.now()

    # attributes that live in the state or the routes, kept readable (and settable) here
    @property
    def realistic(self) -> bool:
        return self.state.realistic

    @realistic.setter
    def realistic(self, value: bool) -> None:
        self.state.realistic = value

    @property
    def writes_that_changed_nothing(self) -> int:
        """Property writes that set only what was there."""
        return self.state.writes_that_changed_nothing

    @writes_that_changed_nothing.setter
    def writes_that_changed_nothing(self, value: int) -> None:
        self.state.writes_that_changed_nothing = value

    @property
    def exchanges(self) -> list[tuple[Request, Response]]:
        """Every request served and its answer, in order (for contract tests)."""
        return self.routes.exchanges

    @exchanges.setter
    def exchanges(self, value: list[tuple[Request, Response]]) -> None:
        self.routes.exchanges = value

    # -- people and the test act on the data ----------------------------------------------------
    def seed(self, tickets: Sequence[SeedTicket]) -> list[str]:
        ids = []
        for seed in tickets:
            ticket_id = self.state.seed_ticket(seed)
            ids.append(ticket_id)
            self._notify(ticket_id, "ticket.creation")
        return ids

    def add_comment(self, ticket_id: str, comment: SeedComment) -> None:
        """A person (or, with ``author`` bot/ai/system/integration, a non-human actor) writes."""
        added = self.state.add_comment(ticket_id, comment)
        if added is None:
            self._notify(ticket_id, "ticket.propertyChange")
        else:
            self._announce(*added)

    def add_message(
        self, ticket_id: str, fields: dict[str, Any], *, touch: bool = True
    ) -> dict[str, Any]:
        """A thread message in exactly the shape given (over the defaults): payloads copied from
        HubSpot's documented examples. Opens the thread if the ticket has none. ``touch=False``:
        the ticket's own stamp does not move (only the thread shows the message)."""
        thread_id, message = self.state.add_message(ticket_id, fields, touch=touch)
        self._announce(thread_id, message)
        return message

    def update(
        self,
        ticket_id: str,
        *,
        status: str | None = None,
        priority: str | None = None,
        group: str | None = None,
    ) -> None:
        self.state.update(ticket_id, status=status, priority=priority, group=group)
        self._notify(ticket_id, "ticket.propertyChange")

    def submit_feedback(
        self, ticket_id: str, value: int, *, survey_type: str = "CSAT", content: str = ""
    ) -> str:
        """The customer answers a survey about the ticket (CSAT: 0 bad, 1 neutral, 2 good);
        the response's id. The ticket's own stamp does not move."""
        return self.state.submit_feedback(ticket_id, value, survey_type, content)

    def set_property(self, ticket_id: str, name: str, value: str) -> None:
        """Raw write, for tests that need an odd value (a malformed date, an unknown stage)."""
        self.state.set_property(ticket_id, name, value)

    def open_thread(self, ticket_id: str, customer_text: str = "Hello, any news?") -> str:
        """A customer writes in through the inbox: the ticket gains a conversation thread."""
        comment = SeedComment(self._now(), "customer", True, customer_text)
        self.add_comment(ticket_id, comment)
        thread = self.state.tickets[ticket_id].thread
        assert thread is not None
        return thread

    def labels(self, ticket_id: str) -> set[str]:
        value = self.record(ticket_id)["properties"].get("escalation_labels") or ""
        return {label for label in str(value).split(";") if label}

    def seed_demo(self, tickets: Sequence[SeedTicket]) -> list[str]:
        ids = self.seed(tickets)
        for ticket_id in ids:
            self.open_thread(ticket_id)  # customers wrote in through the inbox
        return ids

    def record(self, ticket_id: str) -> dict[str, Any]:
        return self.state.record(ticket_id)

    def comments(self, ticket_id: str) -> list[dict[str, Any]]:
        return self.state.comments(ticket_id)

    def fail_later(
        self,
        method: str,
        path_pattern: str,
        *,
        after: int,
        status: int = 502,
        count: int = 1,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        """A fault that lets ``after`` matching requests through first: a page failing in the
        middle of a pagination, a burst starting mid-run, a token expiring mid-run."""
        self.routes.late_faults.add(
            LaterFault(method, re.compile(path_pattern), after, status, count, retry_after, body)
        )

    def settings(self, name: str = "hubspot") -> dict[str, Any]:
        return {
            "base_url": self.url,
            "access_token": TOKEN,
            "portal_id": PORTAL_ID,
            "webhook_secret": CLIENT_SECRET,
            "webhook_url": self.webhook_url or f"{self.url}/webhooks/{name}",
            "pipeline_stages": {
                "1": "new",
                "2": "pending",
                "3": "open",
                "4": "solved",
                "5": "on_hold",
            },
            "labels_property": "escalation_labels",
            "category_property": "hs_ticket_category",
            "category_values": {v: k for k, v in CATEGORY_OF.items()},
            "customer_tier_property": "customer_tier",
            "affected_users_property": "affected_users",
            "groups": GROUPS,
            "sender_actor_id": AGENT_ACTOR,
            "page_size": min(self.page_size, 200),
            "search_cap": self.search_cap,
            # the emulator enforces no budget; the limiter has its own tests
            "requests_per_10s": 100_000,
            "search_per_second": 10_000,
        }

    def env(self) -> dict[str, str]:
        return {
            "HUBSPOT_BASE_URL": self.url,
            "HUBSPOT_ACCESS_TOKEN": TOKEN,
            "HUBSPOT_CLIENT_SECRET": CLIENT_SECRET,
            # the sidecar's public webhook URL, which HubSpot's v3 signature covers
            "HUBSPOT_WEBHOOK_URL": self.webhook_url or "http://127.0.0.1:8080/webhooks/hubspot",
        }

    def oauth_settings(self) -> dict[str, str]:
        return {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
        }

    def signed_delivery(
        self, payload: dict[str, Any] | list[dict[str, Any]], *, uri: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        events = payload if isinstance(payload, list) else [payload]
        now_ms = to_millis(self._now())
        filled = [
            {
                "eventId": int(uuid.uuid4().int % 10**9),
                "subscriptionId": 501,
                "portalId": int(PORTAL_ID),
                "appId": int(APP_ID),
                "occurredAt": now_ms,
                "subscriptionType": "ticket.propertyChange",
                "attemptNumber": 0,
                **event,
            }
            for event in events
        ]
        body = json.dumps(filled).encode()
        timestamp = str(now_ms)
        target = uri or self.webhook_url or self.settings()["webhook_url"]
        signature = signature_v3(CLIENT_SECRET, "POST", target, body, timestamp)
        headers = {
            "Content-Type": "application/json",
            "X-HubSpot-Signature-v3": signature,
            "X-HubSpot-Request-Timestamp": timestamp,
        }
        return headers, body

    def _notify(self, ticket_id: str, kind: str) -> None:
        if not self.webhook_url:
            return
        self.deliver(
            {"objectId": int(ticket_id), "subscriptionType": kind, "changeSource": "CRM_UI"}
        )

    def _announce(self, thread_id: str, message: dict[str, Any]) -> None:
        """A ``conversation.newMessage`` event: ``objectId`` is the thread, not the ticket."""
        if self.webhook_url and self.realistic:
            self.deliver(new_message_event(thread_id, message))


def new_message_event(thread_id: str, message: dict[str, Any]) -> dict[str, Any]:
    """The Webhooks v3 conversation event (HubSpot "Webhooks v3 API guide",
    developers.hubspot.com/docs/api-reference/legacy/webhooks/guide): ``objectId`` is the
    thread id; the message is named (``messageId``, ``messageType``), not included."""
    return {
        "subscriptionType": "conversation.newMessage",
        "objectId": int(thread_id),
        "messageId": message["id"],
        "messageType": message["type"],
        "changeFlag": "NEW_MESSAGE",
    }
