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
from datetime import datetime, timedelta
from typing import Any

from connectors.emulation import (
    Emulator,
    Request,
    Response,
    SeedComment,
    SeedTicket,
)
from connectors.webhooks import hmac_sha256_b64
from connectors.zendesk.emulator_exports import IncrementalExports
from connectors.zendesk.emulator_oauth import OAuthServer
from connectors.zendesk.emulator_server import (
    NOT_FOUND,
    ZendeskServer,
    iso,
    parse_iso,
)

CATEGORY_FIELD_ID = 360001
AFFECTED_USERS_FIELD_ID = 360002
TIER_ORG_FIELD = "customer_tier"
ACCOUNT_RATE_LIMIT = 700  # Suite Enterprise
TICKET_UPDATES_PER_WINDOW = 30
TICKET_UPDATE_WINDOW = timedelta(minutes=10)

_STATUS_TO_NATIVE = {"on_hold": "hold"}
_STATUS_FROM_NATIVE = {"hold": "on_hold"}
_TICKET = r"/api/v2/tickets/(?P<id>\d+)"
_JSON = r"(?:\.json)?"

class ZendeskEmulator(IncrementalExports, OAuthServer, Emulator):
    """In-memory Zendesk account on a real loopback HTTP server."""

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
        self._ids = 1000
        self._seq = 0
        self._access: dict[str, tuple[datetime, str | None]] = {}  # token → (expiry, refresh)
        self._refresh: dict[str, datetime] = {}  # valid refresh tokens → expiry
        self.tickets: dict[int, dict[str, Any]] = {}
        self.audits: dict[int, list[dict[str, Any]]] = {}
        self.deleted: dict[int, str] = {}  # soft-deleted ticket → the status it had
        self.scrubbed: set[int] = set()  # permanently deleted: only a scrubbed export row is left
        self._order: dict[int, tuple[int, int]] = {}  # ticket → (generated_timestamp, seq)
        self._updates: dict[int, deque[datetime]] = {}
        self._minute: tuple[int, int] = (0, 0)  # (minute, requests in it)
        self.users: dict[int, dict[str, Any]] = {}
        self._user_by_email: dict[str, int] = {}  # 10,000 seeded requesters: no linear scans
        self._org_by_name: dict[str, int] = {}
        self.groups: dict[int, dict[str, Any]] = {}
        self.organizations: dict[int, dict[str, Any]] = {}
        self._event_log: list[tuple[int, int, int]] = []  # (unix time, audit id, ticket id)
        self._event_log_sorted = True
        self.api_user_id = self._add_user("Escalation Sidecar", self.email, "admin")
        self.agent_id = self._add_user("Avery Agent", "agent@example.com", "agent")
        self.default_group_id = self.group_id("Support")
        self._routes()

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
                ("status", _STATUS_TO_NATIVE.get(status, status) if status else None),
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

    def delete(self, ticket_id: str) -> None:
        """Soft delete (``DELETE /api/v2/tickets/{id}``): 404 everywhere, ``status: deleted`` in
        the export; no audit is written."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            self.deleted[ticket["id"]] = ticket["status"]
            ticket["status"] = "deleted"
            self._touch(ticket, self.server.clock.now())

    def restore(self, ticket_id: str) -> None:
        """``PUT /api/v2/deleted_tickets/{id}/restore``: back as it was, no audit written."""
        with self._lock:
            ticket = self.tickets[int(ticket_id)]
            ticket["status"] = self.deleted.pop(ticket["id"])
            self._touch(ticket, self.server.clock.now())

    def scrub(self, ticket_id: str) -> None:
        """Permanent deletion: the export keeps a scrubbed row (ids and times, "SCRUBBED" text,
        no people, no tags), following "Ticket scrubbing" in Zendesk's incremental export guide
        (developer.zendesk.com/documentation/ticketing/managing-tickets/
        using-the-incremental-export-api)."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            self.deleted.setdefault(ticket["id"], ticket["status"])
            ticket.update(
                status="deleted",
                subject="SCRUBBED",
                raw_subject="SCRUBBED",
                description="SCRUBBED",
                requester_id=None,
                submitter_id=None,
                assignee_id=None,
                organization_id=None,
                tags=[],
                custom_fields=[
                    {"id": f["id"], "value": None} for f in ticket["custom_fields"]
                ],
            )
            self.scrubbed.add(ticket["id"])
            self.audits[ticket["id"]] = []
            self._touch(ticket, self.server.clock.now())

    def group_id(self, name: str) -> int:
        with self._lock:
            for group in self.groups.values():
                if group["name"] == name:
                    return int(group["id"])
            gid = self._next_id()
            stamp = iso(self.server.clock.now())
            self.groups[gid] = {
                "id": gid,
                "url": f"/api/v2/groups/{gid}.json",
                "name": name,
                "description": "",
                "default": not self.groups,
                "deleted": False,
                "is_public": True,
                "created_at": stamp,
                "updated_at": stamp,
            }
            return gid

    def user_id(self, email: str, *, name: str | None = None, role: str = "end-user") -> int:
        with self._lock:
            known = self._user_by_email.get(email)
            if known is not None:
                return known
            return self._add_user(name or email.split("@", maxsplit=1)[0], email, role)

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

    # -- state ----------------------------------------------------------------------------
    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _add_user(self, name: str, email: str, role: str) -> int:
        uid = self._next_id()
        stamp = iso(self.server.clock.now())
        self._user_by_email[email] = uid
        self.users[uid] = {
            "id": uid,
            "url": f"/api/v2/users/{uid}.json",
            "name": name,
            "email": email,
            "role": role,
            "active": True,
            "verified": True,
            "suspended": False,
            "organization_id": None,
            "time_zone": "UTC",
            "locale": "en-US",
            "tags": [],
            "user_fields": {},
            "created_at": stamp,
            "updated_at": stamp,
        }
        return uid

    def _organization_id(self, name: str, tier: str | None) -> int:
        known = self._org_by_name.get(name)
        if known is not None:
            if tier is not None:  # last seed wins
                self.organizations[known]["organization_fields"][TIER_ORG_FIELD] = tier
            return known
        oid = self._next_id()
        self._org_by_name[name] = oid
        stamp = iso(self.server.clock.now())
        self.organizations[oid] = {
            "id": oid,
            "url": f"/api/v2/organizations/{oid}.json",
            "name": name,
            "domain_names": [],
            "details": "",
            "notes": "",
            "group_id": None,
            "shared_tickets": False,
            "shared_comments": False,
            "tags": [],
            "organization_fields": {TIER_ORG_FIELD: tier} if tier is not None else {},
            "created_at": stamp,
            "updated_at": stamp,
        }
        return oid

    def _ticket(self, ticket_id: str | int) -> dict[str, Any]:
        ticket = self.tickets.get(int(ticket_id))
        if ticket is None or int(ticket_id) in self.deleted:
            raise KeyError(f"no ticket {ticket_id}")
        return ticket

    def _seed_one(self, seed: SeedTicket) -> int:
        tid = self._next_id()
        requester = self.user_id(seed.requester)
        org_id = (
            self._organization_id(seed.organization, seed.customer_tier)
            if seed.organization
            else None
        )
        if org_id is not None:
            self.users[requester]["organization_id"] = org_id
        custom_fields = [
            {"id": CATEGORY_FIELD_ID, "value": seed.category},
            {
                "id": AFFECTED_USERS_FIELD_ID,
                "value": None if seed.affected_users is None else str(seed.affected_users),
            },
        ]
        created = iso(seed.created_at)
        first_body = seed.comments[0].body if seed.comments else seed.title
        ticket: dict[str, Any] = {
            "id": tid,
            "url": f"{self._base()}/api/v2/tickets/{tid}.json",
            "external_id": None,
            "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": created,
            "updated_at": created,
            "generated_timestamp": int(seed.created_at.timestamp()),
            "type": None,
            "subject": seed.title,
            "raw_subject": seed.title,
            "description": first_body,
            # realistic: a ticket nobody prioritised has priority null (normal to the SLA)
            "priority": None if self.realistic and seed.priority == "normal" else seed.priority,
            "status": _STATUS_TO_NATIVE.get(seed.status, seed.status),
            "recipient": None,
            "requester_id": requester,
            "submitter_id": requester,
            "assignee_id": None,
            "organization_id": org_id,
            "group_id": None,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "problem_id": None,
            "has_incidents": False,
            "is_public": True,
            "due_at": None,
            "tags": list(dict.fromkeys(seed.labels)),
            "custom_fields": custom_fields,
            # CSAT on: not yet asked (Zendesk's "Satisfaction Ratings" reference)
            "satisfaction_rating": {"score": "unoffered"},
            "sharing_agreement_ids": [],
            "followup_ids": [],
            "brand_id": 1,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
        }
        self.tickets[tid] = ticket
        self.audits[tid] = []
        create_events: list[dict[str, Any]] = [
            {"id": self._next_id(), "type": "Create", "field_name": name, "value": ticket[name]}
            for name in ("status", "priority", "subject")
        ]
        comments = list(seed.comments)
        creator, channel = requester, "web"
        if comments and comments[0].author == "customer":
            first = comments.pop(0)
            create_events.insert(0, self._comment_event(requester, first.body, first.public))
        elif (
            self.realistic
            and comments
            and comments[0].author == "agent"
            and comments[0].at <= seed.created_at
        ):
            # an agent logged a phone call / API ticket on the customer's behalf: the agent's
            # comment is the description (Zendesk "via" channel "voice"; submitter is the agent)
            first = comments.pop(0)
            creator, channel = self.agent_id, "voice"
            ticket["submitter_id"] = self.agent_id
            ticket["via"] = {"channel": "voice", "source": {"from": {}, "to": {}, "rel": None}}
            create_events.insert(0, self._comment_event(creator, first.body, first.public))
        elif self.realistic:  # every Zendesk ticket has a description comment
            ticket["description"] = seed.title
            create_events.insert(0, self._comment_event(requester, seed.title, True))
        self._audit(ticket, creator, seed.created_at, create_events, channel=channel)
        if self.realistic:
            # what a default trigger leaves on every new ticket: a notification by the system
            # user, as in the "List Audits for a Ticket" example (via "rule", rel "trigger")
            notification = {
                "id": self._next_id(),
                "type": "Notification",
                "via": {
                    "channel": "rule",
                    "source": {
                        "from": {"id": 35079792, "title": "Notify requester of new request"},
                        "to": {},
                        "rel": "trigger",
                    },
                },
                "subject": "{{ticket.title}}",
                "body": "Your request has been received.",
                "recipients": [requester],
            }
            self._audit(
                ticket, -1, seed.created_at, [notification], channel="rule", rel="trigger"
            )
        for comment in comments:
            author = requester if comment.author == "customer" else self.agent_id
            event = self._comment_event(author, comment.body, comment.public)
            self._audit(ticket, author, comment.at, [event], channel="web")
        if seed.updated_at is not None and parse_iso(ticket["updated_at"]) < seed.updated_at:
            ticket["updated_at"] = iso(seed.updated_at)
            self._touch(ticket, seed.updated_at)
        return tid

    def _comment_event(self, author_id: int, body: str, public: bool) -> dict[str, Any]:
        return {
            "id": self._next_id(),
            "type": "Comment",
            "author_id": author_id,
            "body": body,
            "html_body": f'<div class="zd-comment" dir="auto">{_escape(body)}</div>',
            "plain_body": body,
            "public": public,
            "attachments": [],
        }

    def _audit(
        self,
        ticket: dict[str, Any],
        author_id: int,
        at: datetime,
        events: list[dict[str, Any]],
        *,
        channel: str,
        custom: dict[str, Any] | None = None,
        rel: str | None = None,
    ) -> dict[str, Any]:
        audit_id = self._next_id()
        audit = {
            "id": audit_id,
            "ticket_id": ticket["id"],
            "created_at": iso(at),
            "author_id": author_id,
            "metadata": {
                "system": {"client": "emulator", "ip_address": "127.0.0.1"},
                "custom": dict(custom or {}),
            },
            "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": rel}},
            "events": events,
        }
        for event in events:
            if event["type"] == "Comment":
                event["audit_id"] = audit_id
        self.audits[ticket["id"]].append(audit)
        self._event_log.append((int(at.timestamp()), audit_id, ticket["id"]))
        self._event_log_sorted = False
        self._stamp(ticket, at)
        return audit

    def _change(self, ticket: dict[str, Any], field: str, value: Any, at: datetime) -> None:
        if ticket[field] == value:
            return
        event = {
            "id": self._next_id(),
            "type": "Change",
            "field_name": field,
            "value": self._event_value(field, value),
            "previous_value": self._event_value(field, ticket[field]),
        }
        ticket[field] = value
        self._audit(ticket, self.agent_id, at, [event], channel="web")

    def _event_value(self, field: str, value: Any) -> Any:
        # audits carry id changes as strings ("value": "12345") on the live API
        if self.realistic and field in ("group_id", "assignee_id") and value is not None:
            return str(value)
        return value

    def _stamp(self, ticket: dict[str, Any], at: datetime) -> None:
        """updated_at moves forward, strictly: safe_update stamps must tell writes apart."""
        previous = parse_iso(ticket["updated_at"])
        whole = at.replace(microsecond=0)  # stamps have whole seconds: compare them as such
        new = whole if whole > previous else previous + timedelta(seconds=1)
        ticket["updated_at"] = iso(new)
        self._touch(ticket, max(new, self.server.clock.now()))

    def _touch(self, ticket: dict[str, Any], at: datetime) -> None:
        self._seq += 1
        ticket["generated_timestamp"] = int(at.timestamp())
        self._order[ticket["id"]] = (ticket["generated_timestamp"], self._seq)

    def _comment_json(self, audit: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": event["id"],
            "type": "Comment",
            "author_id": event["author_id"],
            "body": event["body"],
            "html_body": event["html_body"],
            "plain_body": event["plain_body"],
            "public": event["public"],
            "attachments": [],
            "audit_id": audit["id"],
            "via": audit["via"],
            "created_at": audit["created_at"],
            "metadata": audit["metadata"],
        }

    def _base(self) -> str:
        try:
            return self.server.base_url
        except RuntimeError:
            return "http://127.0.0.1"

    # -- webhooks out -------------------------------------------------------------------
    def _announce(self, ticket_id: str, kind: str) -> None:
        if self.webhook_url:
            self.deliver(self.ticket_event_payload(ticket_id, kind))

    # -- HTTP -----------------------------------------------------------------------------
    def _routes(self) -> None:
        route = self.server.route
        route("POST", r"/oauth/tokens")(self._oauth_tokens)
        route("GET", rf"/api/v2/incremental/tickets/cursor{_JSON}")(
            self._api(self._export_limited(self._export))
        )
        route("GET", rf"/api/v2/incremental/ticket_events{_JSON}")(
            self._api(self._export_limited(self._ticket_events))
        )
        route("GET", rf"{_TICKET}{_JSON}")(self._api(self._show_ticket))
        route("PUT", rf"{_TICKET}{_JSON}")(self._api(self._update_ticket))
        route("GET", rf"{_TICKET}/audits{_JSON}")(self._api(self._list_audits))
        route("GET", rf"/api/v2/users/show_many{_JSON}")(self._api(self._show_many_users))
        route("GET", rf"/api/v2/users/me{_JSON}")(self._api(self._show_me))
        route("GET", rf"/api/v2/organizations/show_many{_JSON}")(self._api(self._show_many_orgs))
        route("GET", rf"/api/v2/groups{_JSON}")(self._api(self._list_groups))

    def _rate_headers(self) -> dict[str, str]:
        minute = int(self.server.clock.now().timestamp() // 60)
        with self._lock:
            current, count = self._minute
            count = count + 1 if current == minute else 1
            self._minute = (minute, count)
        return {
            "X-Rate-Limit": str(ACCOUNT_RATE_LIMIT),
            "X-Rate-Limit-Remaining": str(max(0, ACCOUNT_RATE_LIMIT - count)),
        }

    def _api(self, handler: Any) -> Any:
        def guarded(request: Request) -> Response:
            denied = self._authenticate(request)
            response = denied if denied is not None else handler(request)
            response.headers.update(self._rate_headers())
            return response

        return guarded

    def _show_ticket(self, request: Request) -> Response:
        with self._lock:
            tid = int(request.params["id"])
            ticket = self.tickets.get(tid)
            if ticket is None or tid in self.deleted:
                return Response(404, NOT_FOUND)
            return Response(200, {"ticket": json.loads(json.dumps(ticket))})

    def _list_audits(self, request: Request) -> Response:
        """Offset pagination, oldest first: ``page``/``per_page`` (≤100), ``next_page`` URL."""
        tid = int(request.params["id"])
        try:
            page = max(1, int(request.arg("page") or 1))
            per_page = min(int(request.arg("per_page") or 100), 100, self.audit_page_size)
        except ValueError:
            return Response(400, {"error": "InvalidPaginationParameter"})
        with self._lock:
            audits = self.audits.get(tid)
            if audits is None or tid in self.deleted:
                return Response(404, NOT_FOUND)
            start = (page - 1) * per_page
            body = json.loads(json.dumps(audits[start : start + per_page]))
            total = len(audits)
        path = f"{self.base_url}/api/v2/tickets/{tid}/audits.json"
        more = start + per_page < total
        return Response(
            200,
            {
                "audits": body,
                "next_page": f"{path}?page={page + 1}&per_page={per_page}" if more else None,
                "previous_page": f"{path}?page={page - 1}&per_page={per_page}"
                if page > 1
                else None,
                "count": total,
            },
        )

    def _show_me(self, request: Request) -> Response:
        # API token and client-credentials tokens both act as the sidecar's admin user
        with self._lock:
            return Response(200, {"user": dict(self.users[self.api_user_id])})

    def _show_many_users(self, request: Request) -> Response:
        ids = [int(i) for i in (request.arg("ids") or "").split(",") if i.strip().isdigit()]
        with self._lock:
            users = [dict(self.users[i]) for i in ids[:100] if i in self.users]
        return Response(
            200, {"users": users, "next_page": None, "previous_page": None, "count": len(users)}
        )

    def _show_many_orgs(self, request: Request) -> Response:
        ids = [int(i) for i in (request.arg("ids") or "").split(",") if i.strip().isdigit()]
        with self._lock:
            orgs = [
                json.loads(json.dumps(self.organizations[i]))
                for i in ids[:100]
                if i in self.organizations
            ]
        return Response(
            200,
            {"organizations": orgs, "next_page": None, "previous_page": None, "count": len(orgs)},
        )

    def _list_groups(self, request: Request) -> Response:
        with self._lock:
            groups = [dict(g) for g in self.groups.values()]
        if request.arg("page[size]") is not None:  # cursor pagination, as zenpy asks for it
            return Response(
                200,
                {
                    "groups": groups,
                    "meta": {"has_more": False, "after_cursor": None, "before_cursor": None},
                    "links": {"next": None, "prev": None},
                },
            )
        return Response(
            200, {"groups": groups, "next_page": None, "previous_page": None, "count": len(groups)}
        )

    def _update_ticket(self, request: Request) -> Response:  # noqa: PLR0912
        try:
            body = request.json()
        except ValueError:
            body = None
        changes = body.get("ticket") if isinstance(body, dict) else None
        if not isinstance(changes, dict):
            return Response(
                400, {"error": "InvalidJSON", "description": "ticket parameter is missing"}
            )
        now = self.server.clock.now()
        with self._lock:
            ticket = self.tickets.get(int(request.params["id"]))
            if ticket is None or ticket["id"] in self.deleted:
                return Response(404, NOT_FOUND)
            if ticket["status"] == "closed":
                return _invalid("status", "Status: closed prevents ticket update")
            if "safe_update" in changes:  # any value turns the check on (OAS)
                stamp = changes.get("updated_stamp")
                if stamp is None or parse_iso(str(stamp)) != parse_iso(ticket["updated_at"]):
                    return Response(
                        409,
                        {
                            "error": "UpdateConflict",
                            "description": "Safe Update prevented the update due to outdated "
                            "ticket data. Please fetch the latest ticket data and try again.",
                            "details": {"updated_at": ticket["updated_at"]},
                        },
                    )
            limited = self._ticket_update_limited(ticket["id"], now)
            if limited is not None:
                return limited
            events: list[dict[str, Any]] = []
            for name in ("priority", "status", "group_id", "assignee_id"):
                if name in changes and changes[name] != ticket[name]:
                    value = changes[name]
                    problem = self._check_value(name, value)
                    if problem is not None:
                        return problem
                    events.append(self._change_event(ticket, name, value))
            if "assignee_email" in changes:
                user = next(
                    (u for u in self.users.values() if u["email"] == changes["assignee_email"]),
                    None,
                )
                if user is None or user["role"] == "end-user":
                    return _invalid("assignee", "Assignee is not an agent")
                if user["id"] != ticket["assignee_id"]:
                    events.append(self._change_event(ticket, "assignee_id", user["id"]))
            # Zendesk's "Adding tags to tickets without overwriting existing tags": on this
            # endpoint ``tags`` replaces the list and additional_tags/remove_tags do nothing
            # (they work only on update_many with ids in the query string)
            if "tags" in changes:
                tags = list(dict.fromkeys(str(t) for t in changes["tags"] or []))
                if tags != ticket["tags"]:
                    events.append(self._change_event(ticket, "tags", tags))
            comment = changes.get("comment")
            if isinstance(comment, dict) and (comment.get("body") or comment.get("html_body")):
                text = str(comment.get("body") or comment.get("html_body"))
                event = self._comment_event(
                    int(comment.get("author_id") or self.api_user_id),
                    text,
                    bool(comment.get("public", True)),
                )
                if comment.get("html_body"):
                    event["html_body"] = str(comment["html_body"])
                events.append(event)
            audit = None
            if events:
                custom = changes.get("metadata")
                audit = self._audit(
                    ticket,
                    self.api_user_id,
                    now,
                    events,
                    channel="api",
                    custom=custom if isinstance(custom, dict) else None,
                )
                self._updates.setdefault(ticket["id"], deque()).append(now)
            payload: dict[str, Any] = {"ticket": json.loads(json.dumps(ticket))}
            if audit is not None:
                payload["audit"] = json.loads(json.dumps(audit))
        if events:
            self._announce(str(ticket["id"]), "ticket.updated")
        return Response(200, payload)

    def _change_event(self, ticket: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
        event = {
            "id": self._next_id(),
            "type": "Change",
            "field_name": name,
            "value": self._event_value(name, value),
            "previous_value": self._event_value(name, ticket[name]),
        }
        ticket[name] = value
        return event

    def _check_value(self, name: str, value: Any) -> Response | None:
        if name == "priority" and value not in ("urgent", "high", "normal", "low", None):
            return _invalid("priority", f"Priority: {value} is not valid")
        if name == "status" and value not in ("new", "open", "pending", "hold", "solved"):
            return _invalid("status", f"Status: {value} is not valid")
        if name == "group_id" and value is not None and value not in self.groups:
            return _invalid("group", "Group: is invalid")
        if (
            name == "assignee_id"
            and value is not None
            and (value not in self.users or self.users[value]["role"] == "end-user")
        ):
            return _invalid("assignee", "Assignee is not an agent")
        return None

    def _ticket_update_limited(self, ticket_id: int, now: datetime) -> Response | None:
        if not self.enforce_ticket_update_limit:
            return None
        recent = self._updates.setdefault(ticket_id, deque())
        while recent and now - recent[0] >= TICKET_UPDATE_WINDOW:
            recent.popleft()
        if len(recent) < TICKET_UPDATES_PER_WINDOW:
            return None
        wait = int((recent[0] + TICKET_UPDATE_WINDOW - now).total_seconds()) + 1
        return Response(
            429,
            {
                "error": "TooManyRequests",
                "description": "You have made too many updates to this ticket. Please wait "
                "before trying again.",
            },
            {"Retry-After": str(wait)},
        )


def _invalid(field: str, description: str) -> Response:
    return Response(
        422,
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {field: [{"description": description, "error": "InvalidValue"}]},
        },
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
