"""A Zendesk Support API emulator: the endpoints the connector uses, with the real paths and shapes.

Endpoints (``.json`` suffix optional, as on the real service):
    POST /oauth/tokens                              client_credentials and rotating refresh_token
    GET  /api/v2/incremental/tickets/cursor         start_time | cursor, per_page, include=users,
                                                    groups,organizations; deleted/scrubbed rows
    GET  /api/v2/incremental/ticket_events          start_time, include=comment_events; end_time,
                                                    next_page, end_of_stream (time-based)
    GET  /api/v2/tickets/{id}                       404 once deleted
    PUT  /api/v2/tickets/{id}                       safe_update/updated_stamp → 409; 30 per 10 min
                                                    → 429; ``tags`` replaces the list;
                                                    additional_tags/remove_tags are ignored
    GET  /api/v2/tickets/{id}/audits                comments and field changes, with metadata; paged
                                                    (``next_page``, ``per_page``)
    GET  /api/v2/users/show_many?ids=               roles of comment authors, requester emails
    GET  /api/v2/users/me                           the user the API calls act as
    GET  /api/v2/organizations/show_many?ids=       organization names and fields
    GET  /api/v2/groups                             group names
Every response carries ``X-Rate-Limit``/``X-Rate-Limit-Remaining``; every API call checks auth.

Realistic mode (on by default) produces the untidy shapes real accounts send: every ticket has a
description comment (written by the agent when the seed's first comment is an agent's at the
creation instant: a phone or API ticket), a trigger's audit by the system user (-1, ``via.channel``
"rule") after each creation, group/assignee changes whose values are strings, and a null
priority where nobody set one. Deleted, scrubbed and restored tickets, comments by any author
(light agents, bots, the system user) and connection resets come from the helpers tests call.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from connectors.emulation import Emulator, SeedComment, SeedTicket
from connectors.webhooks import hmac_sha256_b64
from connectors.zendesk.emulator_routes import (
    ACCOUNT_RATE_LIMIT,
    TICKET_UPDATE_WINDOW,
    TICKET_UPDATES_PER_WINDOW,
    ZendeskRoutes,
)
from connectors.zendesk.emulator_server import ZendeskServer, iso
from connectors.zendesk.emulator_state import (
    AFFECTED_USERS_FIELD_ID,
    CATEGORY_FIELD_ID,
    STATUS_TO_NATIVE,
    TIER_ORG_FIELD,
)

# still importable from here, where they always lived
__all__ = [
    "ACCOUNT_RATE_LIMIT",
    "AFFECTED_USERS_FIELD_ID",
    "CATEGORY_FIELD_ID",
    "TICKET_UPDATES_PER_WINDOW",
    "TICKET_UPDATE_WINDOW",
    "TIER_ORG_FIELD",
    "ZendeskEmulator",
]


class ZendeskEmulator(ZendeskRoutes, Emulator):
    """In-memory Zendesk account on a real loopback HTTP server.

    Composed of mixins: the records (``emulator_state``), the HTTP endpoints
    (``emulator_routes``, with ``emulator_exports`` and ``emulator_oauth``); this class holds
    the knobs and credentials, the contract the demo and tests drive, and the webhooks out.
    """

    def __init__(
        self,
        *,
        page_size: int = 100,
        webhook_url: str | None = None,
        realistic: bool = True,
        audit_page_size: int = 100,
        events_page_size: int = 1000,
    ) -> None:
        self._server = ZendeskServer("zendesk")
        self.server = self._server
        self.page_size = page_size
        self.realistic = realistic
        self.audit_page_size = audit_page_size  # Zendesk: at most 100 audits a page
        self.events_page_size = events_page_size  # Zendesk: up to 1,000 ticket events a page
        self.webhook_url = webhook_url
        self.subdomain = "acme"
        self.email = "sidecar@example.com"
        self.api_token = "emulator-api-token"
        self.client_id = "escalation-sidecar"
        self.client_secret = "emulator-client-secret"
        self.webhook_secret = "emulator-webhook-secret"
        self.enforce_ticket_update_limit = True
        # incremental exports: 10 requests a minute per account (30 with the High Volume
        # add-on); None leaves them unlimited, as most tests want
        self.export_limit_per_minute: int | None = None
        self._export_calls: deque[datetime] = deque()
        self.token_grants: list[dict[str, Any]] = []  # bodies of POST /oauth/tokens, for tests
        self._lock = threading.RLock()
        self._access: dict[str, tuple[datetime, str | None]] = {}  # token → (expiry, refresh)
        self._refresh: dict[str, datetime] = {}  # valid refresh tokens → expiry
        self._init_records()  # after server, realistic, email and the lock: it creates users
        self._init_routes()

    # -- the contract -------------------------------------------------------------------
    def seed(self, tickets: Sequence[SeedTicket]) -> list[str]:
        ids: list[str] = []
        with self._lock:
            for seed in tickets:
                ids.append(str(self._seed_one(seed)))
        for ticket_id in ids:
            self._announce(ticket_id, "ticket.created")
        return ids

    def add_comment(self, ticket_id: str, comment: SeedComment) -> None:
        with self._lock:
            ticket = self._ticket(ticket_id)
            author = ticket["requester_id"] if comment.author == "customer" else self.agent_id
            event = self._comment_event(author, comment.body, comment.public)
            self._audit(ticket, author, comment.at, [event], channel="web")
            if comment.author == "customer" and ticket["status"] in ("pending", "solved"):
                self._change(ticket, "status", "open", comment.at)  # a reply reopens
        self._announce(ticket_id, "ticket.comment_added")

    def update(
        self,
        ticket_id: str,
        *,
        status: str | None = None,
        priority: str | None = None,
        group: str | None = None,
    ) -> None:
        with self._lock:
            ticket = self._ticket(ticket_id)
            now = self.server.clock.now()
            wanted = [
                ("status", STATUS_TO_NATIVE.get(status, status) if status else None),
                ("priority", priority),
                ("group_id", self.group_id(group) if group is not None else None),
            ]
            # a person's one submit in the agent UI: one audit with a Change event per field
            events = [
                self._change_event(ticket, name, value)
                for name, value in wanted
                if value is not None and ticket[name] != value
            ]
            if events:
                self._audit(ticket, self.agent_id, now, events, channel="web")
        self._announce(ticket_id, "ticket.status_changed")

    def rate(self, ticket_id: str, score: str, comment: str = "") -> None:
        """The customer answers the satisfaction survey (``good`` or ``bad``)."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            ticket["satisfaction_rating"] = {
                "id": self._next_id(), "score": score, "comment": comment,
            }  # fmt: skip
            self._stamp(ticket, self.server.clock.now())
        self._announce(ticket_id, "ticket.satisfaction_rated")

    def labels(self, ticket_id: str) -> set[str]:
        return set(self.record(ticket_id)["tags"])

    def prepare_demo(self) -> None:
        for group in ("Support", "Tier 2 Support", "Support Managers", "Executive Escalations"):
            self.group_id(group)  # the groups the escalation levels assign to

    def record(self, ticket_id: str) -> dict[str, Any]:
        with self._lock:
            copy: dict[str, Any] = json.loads(json.dumps(self._ticket(ticket_id)))
        return copy

    def comments(self, ticket_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                self._comment_json(audit, event)
                for audit in self.audits[int(ticket_id)]
                for event in audit["events"]
                if event["type"] == "Comment"
            ]

    def settings(
        self,
        name: str = "zendesk",
        *,
        auth: str = "oauth_client_credentials",
        token_file: str | None = None,
    ) -> dict[str, Any]:
        credentials: dict[str, Any]
        if auth == "api_token":
            credentials = {"kind": "api_token", "email": self.email, "token": self.api_token}
        elif auth == "oauth_refresh_token":
            credentials = {
                "kind": "oauth_refresh_token",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "refresh_token": self.issue_refresh_token(),
                "token_file": token_file or f"/tmp/{name}-zendesk-token.json",
            }
        else:
            credentials = {
                "kind": "oauth_client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            }
        return {
            "url": self.base_url,
            "auth": credentials,
            "webhook_secret": self.webhook_secret,
            "page_size": min(self.page_size, 1000),
            "fields": {
                "category": {"custom_field_id": CATEGORY_FIELD_ID},
                "customer_tier": {"organization_field": TIER_ORG_FIELD},
                "affected_users": {"custom_field_id": AFFECTED_USERS_FIELD_ID},
            },
        }

    def env(self) -> dict[str, str]:
        return {
            "ZENDESK_URL": self.base_url,
            "ZENDESK_EMAIL": self.email,
            "ZENDESK_API_TOKEN": self.api_token,
            "ZENDESK_CLIENT_ID": self.client_id,
            "ZENDESK_CLIENT_SECRET": self.client_secret,
            "ZENDESK_WEBHOOK_SECRET": self.webhook_secret,
        }

    def signed_delivery(self, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        body = json.dumps(payload).encode()
        stamp = iso(self.server.clock.now())
        signature = hmac_sha256_b64(self.webhook_secret.encode(), stamp.encode() + body)
        headers = {
            "Content-Type": "application/json",
            "X-Zendesk-Webhook-Id": "01HWEBHOOKEMULATOR000000000",
            "X-Zendesk-Webhook-Signature": signature,
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        }
        return headers, body

    # -- helpers tests use --------------------------------------------------------------
    def add_tags(self, ticket_id: str, *tags: str) -> None:
        """A person adds tags in the agent UI (one audit, ``tags`` Change event)."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            now = self.server.clock.now()
            merged = list(dict.fromkeys([*ticket["tags"], *tags]))
            event = self._change_event(ticket, "tags", merged)
            self._audit(ticket, self.agent_id, now, [event], channel="web")
        self._announce(ticket_id, "ticket.tags_changed")

    def comment_as(
        self,
        ticket_id: str,
        author_id: int,
        body: str,
        *,
        public: bool = True,
        at: datetime | None = None,
        channel: str = "web",
        source_rel: str | None = None,
    ) -> None:
        """A comment by any author (a light agent, the system user -1, a trigger via "rule")."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            when = at or self.server.clock.now()
            event = self._comment_event(author_id, body, public)
            self._audit(ticket, author_id, when, [event], channel=channel, rel=source_rel)
        self._announce(ticket_id, "ticket.comment_added")

    def inject_reset(
        self, method: str, path_pattern: str, *, count: int = 1, after_handling: bool = False
    ) -> None:
        """The next ``count`` matching requests lose their connection (TCP reset); with
        ``after_handling`` the request is carried out first and only the answer is lost."""
        self._server.inject_reset(method, path_pattern, count=count, after_handling=after_handling)

    # -- webhooks out -------------------------------------------------------------------
    def ticket_event_payload(
        self, ticket_id: str, kind: str = "ticket.comment_added"
    ) -> dict[str, Any]:
        """An event-subscription webhook payload naming ``ticket_id``."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            detail = {
                "id": str(ticket["id"]),
                "status": ticket["status"].upper(),
                "priority": (ticket["priority"] or "").upper() or None,
                "group_id": str(ticket["group_id"]) if ticket["group_id"] else None,
                "requester_id": str(ticket["requester_id"]),
                "tags": list(ticket["tags"]),
            }
        return {
            "type": f"zen:event-type:{kind}",
            "account_id": 1,
            "id": str(uuid.uuid4()),
            "time": iso(self.server.clock.now()),
            "zendesk_event_version": "2022-11-06",
            "subject": f"zen:ticket:{ticket_id}",
            "detail": detail,
            "event": {},
        }

    def _announce(self, ticket_id: str, kind: str) -> None:
        if self.webhook_url:
            self.deliver(self.ticket_event_payload(ticket_id, kind))
