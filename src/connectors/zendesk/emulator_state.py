"""The Zendesk emulator's account state, as a mixin of ``ZendeskEmulator``.

The in-memory records (tickets, their audits and comments, users, groups, organizations) and
the methods that read and change them the way Zendesk does: every change is an audit with
events, ``updated_at`` moves forward strictly, and each touch reorders the incremental export.
No HTTP here: ``emulator_routes`` serves these records, ``emulator`` adds the webhooks out.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from connectors.emulation import EmulatorServer, SeedTicket
from connectors.zendesk.emulator_server import iso, parse_iso

CATEGORY_FIELD_ID = 360001
AFFECTED_USERS_FIELD_ID = 360002
TIER_ORG_FIELD = "customer_tier"

STATUS_TO_NATIVE = {"on_hold": "hold"}
STATUS_FROM_NATIVE = {"hold": "on_hold"}


class ZendeskState:
    """An in-memory Zendesk account: the records and the audited ways they change.

    Callers hold ``_lock`` around the private methods; the public ones take it themselves.
    """

    server: EmulatorServer
    realistic: bool
    email: str  # the API user's address
    _lock: threading.RLock
    _ids: int
    _seq: int
    tickets: dict[int, dict[str, Any]]
    audits: dict[int, list[dict[str, Any]]]
    deleted: dict[int, str]  # soft-deleted ticket → the status it had
    scrubbed: set[int]  # permanently deleted: only a scrubbed export row is left
    _order: dict[int, tuple[int, int]]  # ticket → (generated_timestamp, seq)
    users: dict[int, dict[str, Any]]
    _user_by_email: dict[str, int]  # 10,000 seeded requesters: no linear scans
    _org_by_name: dict[str, int]
    groups: dict[int, dict[str, Any]]
    organizations: dict[int, dict[str, Any]]
    _event_log: list[tuple[int, int, int]]  # (unix time, audit id, ticket id)
    _event_log_sorted: bool
    api_user_id: int
    agent_id: int
    default_group_id: int

    def _init_records(self) -> None:
        """An empty account with the API's own user, one agent and the default group.

        Needs ``server``, ``realistic``, ``email`` and ``_lock`` set first: the records get
        stamps from the clock and ids from the counter.
        """
        self._ids = 1000
        self._seq = 0
        self.tickets = {}
        self.audits = {}
        self.deleted = {}
        self.scrubbed = set()
        self._order = {}
        self.users = {}
        self._user_by_email = {}
        self._org_by_name = {}
        self.groups = {}
        self.organizations = {}
        self._event_log = []
        self._event_log_sorted = True
        self.api_user_id = self._add_user("Escalation Sidecar", self.email, "admin")
        self.agent_id = self._add_user("Avery Agent", "agent@example.com", "agent")
        self.default_group_id = self.group_id("Support")

    # -- helpers tests use --------------------------------------------------------------
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
                custom_fields=[{"id": f["id"], "value": None} for f in ticket["custom_fields"]],
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

    # -- records ------------------------------------------------------------------------
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
            "status": STATUS_TO_NATIVE.get(seed.status, seed.status),
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
            self._audit(ticket, -1, seed.created_at, [notification], channel="rule", rel="trigger")
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


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
