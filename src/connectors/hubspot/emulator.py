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

import html
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any
from urllib.parse import parse_qs

from connectors.emulation import (
    Emulator,
    EmulatorServer,
    Request,
    Response,
    SeedComment,
    SeedTicket,
)
from connectors.hubspot.mapping import format_instant, parse_instant, to_millis
from connectors.hubspot.webhook import signature_v3

TOKEN = "pat-na1-emulator-0000"
CLIENT_ID = "emulator-client-id"
CLIENT_SECRET = "emulator-client-secret"
REFRESH_TOKEN = "emulator-refresh-token"
PORTAL_ID = "4242"
APP_ID = "1234"
AGENT_ACTOR = "A-7001"
CUSTOMER_ACTOR = "V-9001"
# non-human actors (HubSpot "Get actors" reference): a chatflow bot, an AI agent, system, an app
OTHER_ACTORS = {
    "bot": ("B-3001", "Support bot"),
    "ai": ("L-4001", "Customer Agent"),
    "system": ("S-hubspot", "HubSpot"),
    "integration": ("I-1234", "Escalation app"),
}
BOT_GREETING = "Thanks for reaching out! A member of our team will get back to you shortly."
# where another integration wrote a note's hs_timestamp with its local offset
INTEGRATION_OFFSET = timezone(timedelta(hours=-5))
CHANNEL_ID = "1002"  # email
CHANNEL_ACCOUNT_ID = "5501"
MAX_PER_10S = 190

STAGES = [  # id, label, ticketState
    ("1", "New", "OPEN"),
    ("2", "Waiting on contact", "OPEN"),
    ("3", "Waiting on us", "OPEN"),
    ("4", "Closed", "CLOSED"),
    ("5", "On hold (third party)", "OPEN"),
    ("6", "With engineering", "OPEN"),  # left out of settings(): read through ticketState
]
STAGE_OF_STATUS = {
    "new": "1", "pending": "2", "open": "3", "on_hold": "5", "solved": "4", "closed": "4",
}  # fmt: skip
PRIORITY_OF = {"low": "LOW", "normal": "MEDIUM", "high": "HIGH", "urgent": "URGENT"}
CATEGORY_OF = {
    "billing": "BILLING_ISSUE",
    "technical": "PRODUCT_ISSUE",
    "account": "GENERAL_INQUIRY",
}
OWNERS = [  # id, userId, email, first, last, team
    ("201", 7001, "agent.one@example.com", "Alex", "Agent", ("3001", "Tier 1 Support")),
    ("202", 7002, "tier2.lead@example.com", "Tara", "Lead", ("3002", "Tier 2 Support")),
    ("203", 7003, "support.manager@example.com", "Sam", "Manager", ("3003", "Support Managers")),
    ("204", 7004, "vp.support@example.com", "Eve", "Exec", ("3004", "Executive Escalations")),
]
GROUPS = {
    "Tier 2 Support": {"owner_id": "202"},
    "Support Managers": {"owner_id": "203"},
    "Executive Escalations": {"owner_id": "204", "team_id": "3004"},
}
DATE_PROPERTIES = {"createdate", "hs_lastmodifieddate", "closed_date", "notes_last_updated"}
ENUMS = {"hs_ticket_priority": {"LOW", "MEDIUM", "HIGH", "URGENT"}}


DATED_VERSIONS = r"(?P<version>2026-03|2026-09)"


def _retired(request: Request) -> Response:
    """A numbered path after its cut-off. HubSpot documents only that sunset APIs "return an
    error" (developers.hubspot.com/docs/api-reference/deprecated-apis); we answer 410 Gone,
    as Atlassian does for its removed search, in HubSpot's standard error body."""
    return _error(
        410,
        f"{request.method} {request.path} is no longer supported: API versions v1-v4 have "
        "reached end of support. Use a date-based version such as /crm/objects/2026-09/.",
        "GONE",
    )


def _error(status: int, message: str, category: str, **extra: Any) -> Response:
    body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }
    return Response(status, body)


@dataclass(slots=True)
class _Ticket:
    id: str
    created: datetime
    props: dict[str, str] = field(default_factory=dict)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # newest first
    notes: list[str] = field(default_factory=list)
    companies: list[str] = field(default_factory=list)
    thread: str | None = None


class _Server(EmulatorServer):
    def fault_body(self, status: int) -> Any:
        if status == 429:
            return {
                "status": "error",
                "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": "TEN_SECONDLY_ROLLING",
                "groupName": f"publicapi:private-app:{APP_ID}",
            }
        return {
            "status": "error",
            "message": "internal error",
            "correlationId": str(uuid.uuid4()),
            "category": "INTERNAL_ERROR",
        }

    def not_found(self, request: Request) -> Response:
        return _error(404, f"no route for {request.method} {request.path}", "OBJECT_NOT_FOUND")

    def _respond(self, request: Request) -> Response:
        response = super()._respond(request)
        if response.status == 429:  # HubSpot's own rate-limit headers come with its 429s
            for name, value in RATE_LIMITED_HEADERS.items():
                response.headers.setdefault(name, value)
        return response


# what a 429 from the rolling ten-second policy carries besides its body (reference §3.8)
RATE_LIMITED_HEADERS = {
    "X-HubSpot-RateLimit-Max": "190",
    "X-HubSpot-RateLimit-Remaining": "0",
    "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
}


@dataclass(slots=True)
class LaterFault:
    """Let ``after`` matching requests through, then fail the next ``count``."""

    method: str
    path: re.Pattern[str]
    after: int
    status: int
    count: int
    retry_after: float | None = None
    body: Any = None


class HubSpotEmulator(Emulator):
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
        self.realistic = realistic
        # after HubSpot's cut-off (v4 2027-03-30, v1-v3 September 2027) the numbered paths go
        self.legacy_retired = legacy_retired
        self.oauth_expires_in = 1800
        self.server = _Server("hubspot")
        self.exchanges: list[tuple[Request, Response]] = []  # for contract tests
        self.writes_that_changed_nothing = 0  # property writes that set only what was there
        self._late: list[LaterFault] = []
        self._lock = threading.RLock()
        self._tickets: dict[str, _Ticket] = {}
        self._notes: dict[str, dict[str, Any]] = {}
        self._companies: dict[str, dict[str, Any]] = {}
        self._threads: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._oauth_tokens: dict[str, float] = {}  # token -> expiry (epoch seconds, clock)
        self._next_id = 1000
        self._recent: deque[float] = deque()
        self._routes()

    # -- life ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.server.base_url

    def _now(self) -> datetime:
        return self.server.clock.now()

    def _id(self) -> str:
        with self._lock:
            self._next_id += 1
            return str(self._next_id)

    # -- people and the test act on the data ----------------------------------------------------
    def seed(self, tickets: Sequence[SeedTicket]) -> list[str]:
        ids = []
        for seed in tickets:
            ticket = _Ticket(self._id(), seed.created_at)
            at = seed.created_at
            props = {
                "subject": seed.title,
                "content": seed.title,
                "hs_pipeline": "0",
                "hs_pipeline_stage": STAGE_OF_STATUS[seed.status],
                "hs_ticket_priority": PRIORITY_OF[seed.priority],
                "createdate": format_instant(at),
                "hs_object_id": ticket.id,
                "escalation_labels": ";".join(sorted(seed.labels)),
                "hs_ticket_category": CATEGORY_OF.get(seed.category or "", seed.category or ""),
                "customer_tier": seed.customer_tier or "",
                "affected_users": self._number(seed.affected_users),
            }
            with self._lock:
                for name, value in props.items():
                    if value:
                        self._set(ticket, name, value, at, "CRM_UI")
                ticket.props["hs_lastmodifieddate"] = format_instant(at)
                if seed.organization:
                    ticket.companies.append(self._company(seed.organization))
                self._tickets[ticket.id] = ticket
                for comment in seed.comments:
                    self._add_comment(ticket, comment, seed.requester)
                last = seed.updated_at or max([at, *(c.at for c in seed.comments)])
                ticket.props["hs_lastmodifieddate"] = format_instant(last)
            ids.append(ticket.id)
            self._notify(ticket.id, "ticket.creation")
        return ids

    def _number(self, value: int | None) -> str:
        if value is None:
            return ""
        return f"{value:,}" if self.realistic else str(value)

    def add_comment(self, ticket_id: str, comment: SeedComment) -> None:
        """A person (or, with ``author`` bot/ai/system/integration, a non-human actor) writes."""
        with self._lock:
            ticket = self._tickets[ticket_id]
            added = self._add_comment(ticket, comment, "customer@example.com")
            self._touch(ticket, self._now())
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
        at = parse_instant(fields["createdAt"])
        with self._lock:
            ticket = self._tickets[ticket_id]
            if ticket.thread is None:
                ticket.thread = self._new_thread(ticket, at)
            message = self._store_message(ticket.thread, fields, at)
            if touch:
                self._touch(ticket, self._now())
            thread_id = ticket.thread
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
        now = self._now()
        with self._lock:
            ticket = self._tickets[ticket_id]
            if status is not None:
                self._set(ticket, "hs_pipeline_stage", STAGE_OF_STATUS[status], now, "CRM_UI")
            if priority is not None:
                self._set(ticket, "hs_ticket_priority", PRIORITY_OF[priority], now, "CRM_UI")
            if group is not None:
                for name, value in GROUPS[group].items():
                    prop = "hubspot_owner_id" if name == "owner_id" else "hubspot_team_id"
                    self._set(ticket, prop, value, now, "CRM_UI")
            self._touch(ticket, now)
        self._notify(ticket_id, "ticket.propertyChange")

    def set_property(self, ticket_id: str, name: str, value: str) -> None:
        """Raw write, for tests that need an odd value (a malformed date, an unknown stage)."""
        with self._lock:
            ticket = self._tickets[ticket_id]
            ticket.props[name] = value
            if name != "hs_lastmodifieddate":
                self._touch(ticket, self._now())

    def open_thread(self, ticket_id: str, customer_text: str = "Hello, any news?") -> str:
        """A customer writes in through the inbox: the ticket gains a conversation thread."""
        comment = SeedComment(self._now(), "customer", True, customer_text)
        self.add_comment(ticket_id, comment)
        thread = self._tickets[ticket_id].thread
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
        with self._lock:
            ticket = self._tickets[ticket_id]
            return self._object(ticket, None, list(ticket.history))

    def comments(self, ticket_id: str) -> list[dict[str, Any]]:
        with self._lock:
            ticket = self._tickets[ticket_id]
            notes = [self._notes[n] for n in ticket.notes]
            messages = self._messages.get(ticket.thread or "", [])
            return [*json.loads(json.dumps(notes)), *json.loads(json.dumps(messages))]

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

    # -- the store ---------------------------------------------------------------------------
    def _set(self, ticket: _Ticket, name: str, value: str, at: datetime, source: str) -> bool:
        if ticket.props.get(name, "") == value and name in ticket.props:
            return False
        ticket.props[name] = value
        version: dict[str, Any] = {
            "value": value,
            "timestamp": format_instant(at),
            "sourceType": source,
        }
        if source == "INTEGRATION":
            version["sourceId"] = APP_ID
        ticket.history.setdefault(name, []).insert(0, version)
        return True

    def _touch(self, ticket: _Ticket, at: datetime) -> None:
        ticket.props["hs_lastmodifieddate"] = format_instant(at)

    def _company(self, name: str) -> str:
        for company_id, company in self._companies.items():
            if company["properties"]["name"] == name:
                return company_id
        company_id = self._id()
        stamp = format_instant(self._now())
        self._companies[company_id] = {
            "id": company_id,
            "properties": {"name": name, "hs_object_id": company_id},
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }
        return company_id

    def _add_comment(
        self, ticket: _Ticket, comment: SeedComment, requester: str
    ) -> tuple[str, dict[str, Any]] | None:
        """A note (internal) or a thread message; returns ``(thread id, message)`` for messages."""
        body_html = f"<p>{html.escape(comment.body)}</p>"
        if not comment.public:
            stamp = comment.at
            if self.realistic and comment.author == "integration":
                stamp = comment.at.astimezone(INTEGRATION_OFFSET)
            self._store_note(ticket, body_html, stamp, "201")
            return None
        first = ticket.thread is None
        if ticket.thread is None:
            ticket.thread = self._new_thread(ticket, comment.at)
        customer = {
            "actorId": CUSTOMER_ACTOR,
            "name": "Customer",
            "deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": requester},
        }
        if comment.author == "customer":
            sender: dict[str, Any] = customer
        elif comment.author in OTHER_ACTORS:
            actor, name = OTHER_ACTORS[comment.author]
            sender = {"actorId": actor, "name": name}
        else:
            sender = {"actorId": AGENT_ACTOR, "name": "Alex Agent"}
        incoming = comment.author == "customer"
        recipient = (
            {"deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "support@example.com"}}
            if incoming
            else {"actorId": CUSTOMER_ACTOR, "deliveryIdentifier": customer["deliveryIdentifier"]}
        )
        message = self._store_message(
            ticket.thread,
            {
                "type": "MESSAGE",
                "text": comment.body,
                "richText": body_html,
                "senders": [sender],
                "recipients": [recipient],
                "direction": "INCOMING" if incoming else "OUTGOING",
                "subject": ticket.props.get("subject", ""),
                "client": _client_of(comment.author),
                "createdBy": sender["actorId"],
            },
            comment.at,
        )
        if self.realistic and first and incoming:
            # the inbox's chatflow bot acknowledges a new conversation at once: never a reply
            actor, name = OTHER_ACTORS["bot"]
            self._store_message(
                ticket.thread,
                {
                    "type": "MESSAGE",
                    "text": BOT_GREETING,
                    "richText": f"<p>{BOT_GREETING}</p>",
                    "senders": [{"actorId": actor, "name": name}],
                    "recipients": [
                        {
                            "actorId": CUSTOMER_ACTOR,
                            "deliveryIdentifier": customer["deliveryIdentifier"],
                        }
                    ],
                    "direction": "OUTGOING",
                    "subject": ticket.props.get("subject", ""),
                    "client": {"clientType": "SYSTEM"},
                    "createdBy": actor,
                },
                comment.at + timedelta(seconds=1),
            )
        return ticket.thread, message

    def _new_thread(self, ticket: _Ticket, at: datetime) -> str:
        thread_id = str(8_000_000 + int(ticket.id))
        self._threads[thread_id] = {
            "id": thread_id,
            "createdAt": format_instant(at),
            "status": "OPEN",
            "inboxId": "147",
            "associatedContactId": "9001",
            "originalChannelId": CHANNEL_ID,
            "originalChannelAccountId": CHANNEL_ACCOUNT_ID,
            "archived": False,
            "spam": False,
            "assignedTo": AGENT_ACTOR,
            "threadAssociations": {"associatedTicketId": ticket.id},
        }
        self._messages[thread_id] = []
        return thread_id

    def _store_message(
        self, thread_id: str, fields: dict[str, Any], at: datetime
    ) -> dict[str, Any]:
        message = {
            "id": uuid.uuid4().hex,
            "conversationsThreadId": thread_id,
            "createdAt": format_instant(at),
            "archived": False,
            "attachments": [],
            "channelId": CHANNEL_ID,
            "channelAccountId": CHANNEL_ACCOUNT_ID,
            "truncationStatus": "NOT_TRUNCATED",
            "status": {"statusType": "SENT"},
            **fields,
        }
        self._messages[thread_id].append(message)
        thread = self._threads[thread_id]
        latest = thread.get("latestMessageTimestamp")
        if latest is None or parse_instant(latest) < at:
            thread["latestMessageTimestamp"] = format_instant(at)
        return message

    def _store_note(
        self, ticket: _Ticket, body: str, at: datetime, owner: str | None
    ) -> dict[str, Any]:
        note_id = self._id()
        stamp = format_instant(self._now())
        props = {
            "hs_note_body": body,
            # kept in the writer's offset when it sent one (UTC ``Z`` otherwise)
            "hs_timestamp": format_instant(at)
            if at.utcoffset() == timedelta(0)
            else at.isoformat(timespec="milliseconds"),
            "hs_createdate": stamp,
            "hs_lastmodifieddate": stamp,
            "hs_object_id": note_id,
        }
        if owner:
            props["hubspot_owner_id"] = owner
        note = {
            "id": note_id,
            "properties": props,
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }
        self._notes[note_id] = note
        ticket.notes.append(note_id)
        return note

    def _object(
        self, ticket: _Ticket, properties: Sequence[str] | None, history: Sequence[str]
    ) -> dict[str, Any]:
        props: dict[str, str | None] = dict(ticket.props)
        if properties is not None:
            keep = {*properties, "hs_object_id", "createdate", "hs_lastmodifieddate"}
            # a requested property that is unset comes back as null, not left out
            props = {k: ticket.props.get(k) for k in sorted(keep)}
        record: dict[str, Any] = {
            "id": ticket.id,
            "properties": props,
            "createdAt": format_instant(ticket.created),
            "updatedAt": ticket.props.get("hs_lastmodifieddate", format_instant(ticket.created)),
            "archived": False,
        }
        if history:
            record["propertiesWithHistory"] = {
                name: list(ticket.history.get(name, [])) for name in history
            }
        return record

    # -- HTTP --------------------------------------------------------------------------------
    def _routes(self) -> None:
        legacy = {
            "objects": r"/crm/v3/objects",
            "associations": r"/crm/v4/associations",
            "owners": r"/crm/v3/owners/?",
            "pipelines": r"/crm/v3/pipelines",
            "threads": r"/conversations/v3/conversations/threads",
        }
        dated = {  # the date-based versions the emulator knows (specs in shared/specs/hubspot)
            "objects": rf"/crm/objects/{DATED_VERSIONS}",
            "associations": rf"/crm/associations/{DATED_VERSIONS}",
            "owners": rf"/crm/owners/{DATED_VERSIONS}",
            "pipelines": rf"/crm/pipelines/{DATED_VERSIONS}",
            "threads": rf"/conversations/conversations/{DATED_VERSIONS}/threads",
        }
        for prefixes, is_legacy in ((legacy, True), (dated, False)):
            for method, pattern, handler in self._api(prefixes):
                self.server.route(method, pattern)(self._wrap(handler, True, legacy=is_legacy))
        self.server.route("POST", r"/oauth/(?:v1|2026-03)/token")(
            self._wrap(self._oauth_token, False)
        )

    def _api(self, at: dict[str, str]) -> list[tuple[str, str, Callable[[Request], Response]]]:
        objects, threads = at["objects"], at["threads"]
        return [
            ("POST", rf"{objects}/tickets/search", self._search),
            ("POST", rf"{objects}/tickets/batch/read", self._tickets_read),
            ("POST", rf"{objects}/tickets/batch/update", self._tickets_update),
            ("GET", rf"{objects}/tickets/(?P<id>[^/]+)", self._ticket_get),
            ("PATCH", rf"{objects}/tickets/(?P<id>[^/]+)", self._ticket_patch),
            ("POST", rf"{objects}/notes", self._note_create),
            ("POST", rf"{objects}/notes/batch/read", self._notes_read),
            ("POST", rf"{objects}/companies/batch/read", self._companies_read),
            (
                "POST",
                rf"{at['associations']}/(?P<src>\w+)/(?P<dst>\w+)/batch/read",
                self._associations,
            ),
            ("GET", at["owners"], self._owners),
            ("GET", rf"{at['pipelines']}/tickets", self._pipelines),
            ("GET", threads, self._threads_list),
            ("GET", rf"{threads}/(?P<id>\d+)", self._thread_get),
            ("GET", rf"{threads}/(?P<id>\d+)/messages", self._messages_list),
            ("POST", rf"{threads}/(?P<id>\d+)/messages", self._message_send),
        ]

    def _wrap(
        self, handler: Callable[[Request], Response], needs_auth: bool, *, legacy: bool = False
    ) -> Callable[[Request], Response]:
        def serve(request: Request) -> Response:
            late = self._late_fault(request)
            if late is not None:
                response = late
            elif legacy and self.legacy_retired:
                response = _retired(request)
            elif needs_auth and not self._authorised(request):
                response = _error(
                    401,
                    "Authentication credentials not found. This API supports OAuth 2.0 "
                    "authentication and you can find more details at "
                    "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                    "INVALID_AUTHENTICATION",
                )
            else:
                try:
                    with self._lock:
                        response = handler(request)
                except (KeyError, ValueError, TypeError) as exc:
                    response = _error(400, f"Invalid input: {exc}", "VALIDATION_ERROR")
            response.headers = {**self._limit_headers(), **response.headers}
            with self._lock:
                self.exchanges.append((request, response))
            return response

        return serve

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
        with self._lock:
            self._late.append(
                LaterFault(
                    method, re.compile(path_pattern), after, status, count, retry_after, body
                )
            )

    def _late_fault(self, request: Request) -> Response | None:
        with self._lock:
            for fault in self._late:
                if fault.method != request.method or not fault.path.search(request.path):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    return None
                fault.count -= 1
                if fault.count <= 0:
                    self._late.remove(fault)
                headers = dict(RATE_LIMITED_HEADERS) if fault.status == 429 else {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                body = fault.body if fault.body is not None else self._fault_body(fault.status)
                return Response(fault.status, body, headers)
        return None

    def _fault_body(self, status: int) -> Any:
        if status == 401:  # an access token past its expiry (HubSpot's OAuth error body)
            return {
                "status": "error",
                "message": "The OAuth token used to make this call expired 1 minute(s) ago.",
                "correlationId": str(uuid.uuid4()),
                "category": "EXPIRED_AUTHENTICATION",
            }
        return self.server.fault_body(status)

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return False
        token = header[len("Bearer ") :]
        if token == TOKEN:
            return True
        expiry = self._oauth_tokens.get(token)
        return expiry is not None and self._now().timestamp() < expiry

    def _limit_headers(self) -> dict[str, str]:
        now = time.monotonic()
        with self._lock:
            self._recent.append(now)
            while self._recent and self._recent[0] < now - 10:
                self._recent.popleft()
            used = len(self._recent)
        return {
            "X-HubSpot-RateLimit-Max": str(MAX_PER_10S),
            "X-HubSpot-RateLimit-Remaining": str(max(0, MAX_PER_10S - used)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Daily": "1000000",
            "X-HubSpot-RateLimit-Daily-Remaining": "999000",
        }

    @staticmethod
    def _names(request: Request, name: str) -> list[str]:
        return [p for value in request.query.get(name, []) for p in value.split(",") if p]

    # tickets
    def _search(self, request: Request) -> Response:
        body = request.json()
        limit = min(int(body.get("limit") or 10), 200, self.page_size)
        after = int(body.get("after") or 0)
        if after >= self.search_cap:
            return _error(
                400,
                f"Paging past {self.search_cap} results is not supported by search; "
                "narrow the query.",
                "VALIDATION_ERROR",
            )
        groups = body.get("filterGroups") or []
        matches = [t for t in self._tickets.values() if _matches(t.props, groups)]
        for sort in reversed(body.get("sorts") or []):
            name, descending = _sort_spec(sort)
            matches.sort(key=partial(_sort_key, name), reverse=descending)
        if not body.get("sorts"):
            matches.sort(key=lambda t: int(t.id))
        page = matches[after : min(after + limit, self.search_cap)]
        props = body.get("properties") or []
        result: dict[str, Any] = {
            "total": len(matches),
            "results": [self._object(t, props, []) for t in page],
        }
        if after + limit < len(matches):  # past the cap too: asking for it then gives a 400
            nxt = str(after + limit)
            result["paging"] = {"next": {"after": nxt, "link": f"?after={nxt}"}}
        return Response(200, result)

    def _tickets_read(self, request: Request) -> Response:
        body = request.json()
        found, missing = [], []
        for item in body["inputs"]:
            ticket = self._tickets.get(str(item["id"]))
            if ticket is None:
                missing.append(str(item["id"]))
            else:
                props = body.get("properties") or None
                found.append(self._object(ticket, props, body.get("propertiesWithHistory") or []))
        return self._batch(found, missing)

    def _batch(self, found: list[dict[str, Any]], missing: list[str]) -> Response:
        stamp = format_instant(self._now())
        result: dict[str, Any] = {
            "status": "COMPLETE",
            "results": found,
            "startedAt": stamp,
            "completedAt": stamp,
        }
        if missing:
            result["numErrors"] = 1
            result["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not get some objects, they may be deleted or not exist.",
                    "context": {"ids": missing},
                }
            ]
            return Response(207, result)
        return Response(200, result)

    def _ticket_get(self, request: Request) -> Response:
        ticket = self._tickets.get(request.params["id"])
        if ticket is None:
            return _error(404, "Object not found.", "OBJECT_NOT_FOUND")
        props = self._names(request, "properties") or None
        return Response(
            200, self._object(ticket, props, self._names(request, "propertiesWithHistory"))
        )

    def _ticket_patch(self, request: Request) -> Response:
        ticket = self._tickets.get(request.params["id"])
        if ticket is None:
            return _error(404, "Object not found.", "OBJECT_NOT_FOUND")
        changes: dict[str, str] = request.json()["properties"]
        invalid = self._invalid(changes)
        if invalid is not None:
            return invalid
        self._write(ticket, changes)
        return Response(200, self._object(ticket, None, []))

    def _invalid(self, changes: dict[str, str]) -> Response | None:
        stages = {s[0] for s in STAGES}
        for name, value in changes.items():
            if name in ENUMS and value not in ENUMS[name] and value != "":
                return _error(
                    400,
                    f'Property values were not valid: "{value}" is not an option for {name}',
                    "VALIDATION_ERROR",
                )
            if name == "hs_pipeline_stage" and value not in stages:
                return _error(400, f"{value} is not a valid pipeline stage", "VALIDATION_ERROR")
        return None

    def _write(self, ticket: _Ticket, changes: dict[str, str]) -> None:
        now = self._now()
        written = [self._set(ticket, n, str(v), now, "INTEGRATION") for n, v in changes.items()]
        self.writes_that_changed_nothing += not any(written)
        self._touch(ticket, now)

    def _tickets_update(self, request: Request) -> Response:
        inputs = request.json()["inputs"]
        if len(inputs) > 100:
            return _error(400, "Batch size is limited to 100 inputs", "VALIDATION_ERROR")
        for item in inputs:  # all or nothing: validate every input before writing any
            if str(item["id"]) not in self._tickets:
                return _error(404, f"Object {item['id']} not found.", "OBJECT_NOT_FOUND")
            invalid = self._invalid(item["properties"])
            if invalid is not None:
                return invalid
        results = []
        for item in inputs:
            ticket = self._tickets[str(item["id"])]
            self._write(ticket, item["properties"])
            results.append(self._object(ticket, None, []))
        stamp = format_instant(self._now())
        body = {"status": "COMPLETE", "results": results, "startedAt": stamp, "completedAt": stamp}
        return Response(200, body)

    # notes, companies, associations
    def _note_create(self, request: Request) -> Response:
        body = request.json()
        props = body.get("properties") or {}
        if not props.get("hs_timestamp"):
            return _error(400, "hs_timestamp is required", "VALIDATION_ERROR")
        targets = []
        for association in body.get("associations") or []:
            type_ids = {t["associationTypeId"] for t in association["types"]}
            ticket = self._tickets.get(str(association["to"]["id"]))
            if 228 in type_ids:
                if ticket is None:
                    return _error(400, "association target not found", "VALIDATION_ERROR")
                targets.append(ticket)
        if not targets:
            return _error(400, "a note must be associated to a ticket here", "VALIDATION_ERROR")
        note = self._store_note(
            targets[0], props["hs_note_body"], parse_instant(props["hs_timestamp"]),
            props.get("hubspot_owner_id"),
        )  # fmt: skip
        for ticket in targets[1:]:
            ticket.notes.append(note["id"])
        now = self._now()
        for ticket in targets:  # the ticket's notes_last_updated moves, and so its stamp
            ticket.props["notes_last_updated"] = format_instant(now)
            self._touch(ticket, now)
        return Response(201, note)

    def _notes_read(self, request: Request) -> Response:
        body = request.json()
        ids = [str(i["id"]) for i in body["inputs"]]
        return self._batch(
            [self._notes[i] for i in ids if i in self._notes],
            [i for i in ids if i not in self._notes],
        )

    def _companies_read(self, request: Request) -> Response:
        body = request.json()
        ids = [str(i["id"]) for i in body["inputs"]]
        return self._batch(
            [self._companies[i] for i in ids if i in self._companies],
            [i for i in ids if i not in self._companies],
        )

    def _associations(self, request: Request) -> Response:
        src, dst = request.params["src"], request.params["dst"]
        if src != "tickets" or dst not in ("notes", "companies"):
            return _error(400, f"unsupported association {src}->{dst}", "VALIDATION_ERROR")
        type_id = 227 if dst == "notes" else 339
        results = []
        for item in request.json()["inputs"]:
            ticket = self._tickets.get(str(item["id"]))
            linked = (ticket.notes if dst == "notes" else ticket.companies) if ticket else []
            if linked:
                results.append(
                    {
                        "from": {"id": str(item["id"])},
                        "to": [
                            {
                                "toObjectId": other,
                                "associationTypes": [
                                    {"category": "HUBSPOT_DEFINED", "typeId": type_id}
                                ],
                            }
                            for other in linked
                        ],
                    }
                )
        stamp = format_instant(self._now())
        return Response(
            200,
            {"status": "COMPLETE", "results": results, "startedAt": stamp, "completedAt": stamp},
        )

    # owners, pipelines
    def _owners(self, request: Request) -> Response:
        email = request.arg("email")
        stamp = "2025-01-01T00:00:00.000Z"
        results = [
            {
                "id": owner_id,
                "userId": user_id,
                "email": mail,
                "firstName": first,
                "lastName": last,
                "type": "PERSON",
                "archived": False,
                "createdAt": stamp,
                "updatedAt": stamp,
                "teams": [{"id": team[0], "name": team[1], "primary": True}],
            }
            for owner_id, user_id, mail, first, last, team in OWNERS
            if email is None or mail == email
        ]
        return Response(200, {"results": results})

    def _pipelines(self, request: Request) -> Response:
        stamp = "2025-01-01T00:00:00.000Z"
        stages = [
            {
                "id": stage_id,
                "label": label,
                "displayOrder": order,
                "metadata": {"ticketState": state, "isClosed": str(state == "CLOSED").lower()},
                "archived": False,
                "createdAt": stamp,
                "updatedAt": stamp,
                "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
            }
            for order, (stage_id, label, state) in enumerate(STAGES)
        ]
        pipeline = {
            "id": "0",
            "label": "Support Pipeline",
            "displayOrder": 0,
            "archived": False,
            "createdAt": stamp,
            "updatedAt": stamp,
            "stages": stages,
        }
        return Response(200, {"results": [pipeline]})

    # conversations
    def _threads_list(self, request: Request) -> Response:
        ticket_id = request.arg("associatedTicketId")
        with_tickets = "TICKET" in request.query.get("association", [])
        sorts = request.query.get("sort", [])
        after_ts = request.arg("latestMessageTimestampAfter")
        if "latestMessageTimestamp" in sorts and not after_ts:
            return _error(
                400,
                "latestMessageTimestampAfter is required when sorting by latestMessageTimestamp",
                "VALIDATION_ERROR",
            )
        threads = list(self._threads.values())
        if ticket_id:
            threads = [
                t for t in threads if t["threadAssociations"]["associatedTicketId"] == ticket_id
            ]
        if after_ts:
            floor = parse_instant(after_ts)
            threads = [t for t in threads if parse_instant(t["latestMessageTimestamp"]) > floor]
        if "latestMessageTimestamp" in sorts:
            threads.sort(key=lambda t: (parse_instant(t["latestMessageTimestamp"]), int(t["id"])))
        limit = min(int(request.arg("limit") or 100), 500, self.page_size)
        start = int(request.arg("after") or 0)
        results = []
        for thread in threads[start : start + limit]:
            shown = dict(thread)
            if not with_tickets:
                shown.pop("threadAssociations")
            results.append(shown)
        body: dict[str, Any] = {"results": results}
        if start + limit < len(threads):
            body["paging"] = {"next": {"after": str(start + limit)}}
        return Response(200, body)

    def _thread_get(self, request: Request) -> Response:
        thread = self._threads.get(request.params["id"])
        if thread is None:
            return _error(404, f"Thread {request.params['id']} not found", "OBJECT_NOT_FOUND")
        shown = dict(thread)
        if "TICKET" not in request.query.get("association", []):
            shown.pop("threadAssociations")
        return Response(200, shown)

    def _messages_list(self, request: Request) -> Response:
        thread_id = request.params["id"]
        if thread_id not in self._threads:
            return _error(404, f"Thread {thread_id} not found", "OBJECT_NOT_FOUND")
        messages = self._messages[thread_id]
        limit = min(int(request.arg("limit") or 100), 500, self.page_size)
        after = int(request.arg("after") or 0)
        result: dict[str, Any] = {"results": messages[after : after + limit]}
        if after + limit < len(messages):
            result["paging"] = {"next": {"after": str(after + limit)}}
        return Response(200, result)

    def _message_send(self, request: Request) -> Response:
        thread_id = request.params["id"]
        thread = self._threads.get(thread_id)
        if thread is None:
            return _error(404, f"Thread {thread_id} not found", "OBJECT_NOT_FOUND")
        body = request.json()
        if body.get("type") == "COMMENT":
            required = ["text", "type"]
        else:
            required = ["attachments", "channelAccountId", "channelId", "recipients"]
            required += ["senderActorId", "text", "type"]
        missing = [name for name in required if name not in body]
        if missing:
            return _error(400, f"missing fields: {', '.join(missing)}", "VALIDATION_ERROR")
        if body["type"] == "MESSAGE" and (
            body["channelId"] != thread["originalChannelId"]
            or body["channelAccountId"] != thread["originalChannelAccountId"]
        ):
            return _error(400, "channel does not match the thread", "VALIDATION_ERROR")
        now = self._now()
        fields: dict[str, Any] = {
            "type": body["type"],
            "text": body["text"],
            "richText": body.get("richText") or body["text"],
            "senders": [{"actorId": body.get("senderActorId", AGENT_ACTOR)}],
            "recipients": [
                {"actorId": r.get("actorId"), "deliveryIdentifier": r["deliveryIdentifiers"][0]}
                if r.get("actorId")
                else {"deliveryIdentifier": r["deliveryIdentifiers"][0]}
                for r in body.get("recipients") or []
            ],
            "client": {"clientType": "INTEGRATION", "integrationAppId": int(APP_ID)},
            "createdBy": body.get("senderActorId", AGENT_ACTOR),
        }
        if body["type"] == "MESSAGE":
            fields["direction"] = "OUTGOING"
        else:
            for key in ("channelId", "channelAccountId", "truncationStatus", "status"):
                fields[key] = None
        if body.get("subject"):
            fields["subject"] = body["subject"]
        message = self._store_message(thread_id, fields, now)
        message = {k: v for k, v in message.items() if v is not None}
        self._messages[thread_id][-1] = message
        ticket = self._tickets[thread["threadAssociations"]["associatedTicketId"]]
        ticket.props["hs_last_message_sent_at"] = format_instant(now)
        self._touch(ticket, now)
        return Response(201, message, {"Location": f"{request.path}/{message['id']}"})

    # oauth
    def _oauth_token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != REFRESH_TOKEN:
            return Response(
                400,
                {
                    "status": "BAD_REFRESH_TOKEN",
                    "message": "missing or unknown refresh token",
                    "correlationId": str(uuid.uuid4()),
                },
            )
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return Response(
                400,
                {
                    "status": "BAD_CLIENT_ID",
                    "message": "missing or unknown client id",
                    "correlationId": str(uuid.uuid4()),
                },
            )
        token = f"emu-oauth-{uuid.uuid4().hex[:12]}"
        self._oauth_tokens[token] = self._now().timestamp() + self.oauth_expires_in
        return Response(
            200,
            {
                "token_type": "bearer",
                "access_token": token,
                "refresh_token": REFRESH_TOKEN,
                "expires_in": self.oauth_expires_in,
            },
        )


def _client_of(author: str) -> dict[str, Any]:
    if author in ("bot", "ai", "system"):
        return {"clientType": "SYSTEM"}
    if author == "integration":
        return {"clientType": "INTEGRATION", "integrationAppId": 99}
    return {"clientType": "HUBSPOT"}


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


# -- search semantics -------------------------------------------------------------------------
def _comparable(name: str, value: str | None) -> Any:
    if value is None or value == "":
        return None
    if name in DATE_PROPERTIES:
        try:
            return to_millis(parse_instant(value))
        except ValueError:
            return None
    try:
        return float(value)
    except ValueError:
        return value


def _matches(props: dict[str, str], groups: list[dict[str, Any]]) -> bool:
    if not groups:
        return True
    return any(all(_holds(props, f) for f in g.get("filters") or []) for g in groups)


def _holds(props: dict[str, str], flt: dict[str, Any]) -> bool:
    name, op = flt["propertyName"], flt["operator"]
    have = _comparable(name, props.get(name))
    if op == "HAS_PROPERTY":
        return have is not None
    if op == "NOT_HAS_PROPERTY":
        return have is None
    if op in ("IN", "NOT_IN"):
        inside = have in {_comparable(name, v) for v in flt.get("values") or []}
        return inside if op == "IN" else not inside
    want = _comparable(name, flt.get("value"))
    if op == "EQ":
        return bool(have == want)
    if op == "NEQ":
        return bool(have != want)
    if have is None or want is None or type(have) is not type(want):
        return False
    if op == "BETWEEN":
        high = _comparable(name, flt.get("highValue"))
        return bool(want <= have <= high)
    comparisons: dict[str, Callable[[Any, Any], bool]] = {
        "GT": lambda a, b: a > b,
        "GTE": lambda a, b: a >= b,
        "LT": lambda a, b: a < b,
        "LTE": lambda a, b: a <= b,
    }
    if op in comparisons:
        return comparisons[op](have, want)
    raise ValueError(f"operator {op} is not emulated")


def _sort_spec(sort: Any) -> tuple[str, bool]:
    if isinstance(sort, dict):
        return str(sort["propertyName"]), sort.get("direction") == "DESCENDING"
    text = str(sort)
    return text.lstrip("-"), text.startswith("-")


def _sort_key(name: str, ticket: _Ticket) -> tuple[tuple[int, float, str], int]:
    return _sort_value(ticket.props, name), int(ticket.id)


def _sort_value(props: dict[str, str], name: str) -> tuple[int, float, str]:
    value = _comparable(name, props.get(name))
    if value is None:
        return (2, 0.0, "")
    if isinstance(value, int | float):
        return (0, float(value), "")
    return (1, 0.0, str(value))
