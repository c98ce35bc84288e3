"""The HubSpot emulator's in-memory portal: tickets, notes, companies, conversation threads and
their messages, and the operations that change or read them.

No HTTP here: the routes (``emulator_routes``) and the test-facing ``HubSpotEmulator``
(``emulator``) both act through ``HubSpotState``, under its one re-entrant lock.
"""

from __future__ import annotations

import html
import json
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from connectors.emulation import SeedComment, SeedTicket
from connectors.hubspot.mapping import format_instant, parse_instant

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
DATE_PROPERTIES = {
    "createdate",
    "hs_lastmodifieddate",
    "closed_date",
    "notes_last_updated",
    "hs_createdate",
    "hs_submission_timestamp",
}
ENUMS = {"hs_ticket_priority": {"LOW", "MEDIUM", "HIGH", "URGENT"}}

# a new thread message, for the webhook the emulator announces it with
NewMessage = tuple[str, dict[str, Any]]  # (thread id, message)


@dataclass(slots=True)
class TicketRecord:
    id: str
    created: datetime
    props: dict[str, str] = field(default_factory=dict)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # newest first
    notes: list[str] = field(default_factory=list)
    companies: list[str] = field(default_factory=list)
    thread: str | None = None


@dataclass
class SubmissionRecord:
    """A survey response (``feedback_submissions``, object 0-19): read-only in the API, made
    by the customer answering a survey, associated with the ticket it rates."""

    id: str
    created: datetime
    props: dict[str, str] = field(default_factory=dict)
    tickets: list[str] = field(default_factory=list)


# A CSAT response as HubSpot's API reference shows one (``hs_response_group`` PROMOTER,
# ``hs_survey_type`` CSAT, ``hs_value`` "2", ``hs_survey_channel`` EMAIL):
# https://developers.hubspot.com/docs/api/crm/feedback-submissions ; the CSAT scale 0-2 and its
# groups: knowledge.hubspot.com/customer-feedback/feedback-submission-properties
CSAT_GROUPS = {0: "DETRACTOR", 1: "PASSIVE", 2: "PROMOTER"}


def client_of(author: str) -> dict[str, Any]:
    """The ``client`` a thread message shows for who wrote it."""
    if author in ("bot", "ai", "system"):
        return {"clientType": "SYSTEM"}
    if author == "integration":
        return {"clientType": "INTEGRATION", "integrationAppId": 99}
    return {"clientType": "HUBSPOT"}


class HubSpotState:
    """Every record of the emulated portal. ``now`` is the emulator server's clock (read at
    each call, so tests that move the clock move the stamps); ``realistic`` as in
    ``HubSpotEmulator``."""

    def __init__(self, *, now: Callable[[], datetime], realistic: bool) -> None:
        self.now = now
        self.realistic = realistic
        # one re-entrant lock for the store and the routes: handlers run under it, and call
        # back into the store
        self.lock = threading.RLock()
        self.tickets: dict[str, TicketRecord] = {}
        self.notes: dict[str, dict[str, Any]] = {}
        self.companies: dict[str, dict[str, Any]] = {}
        self.threads: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.submissions: dict[str, SubmissionRecord] = {}
        self.writes_that_changed_nothing = 0  # property writes that set only what was there
        self._next_id = 1000

    def new_id(self) -> str:
        with self.lock:
            self._next_id += 1
            return str(self._next_id)

    # -- what people do (the test-facing side) --------------------------------------------------
    def seed_ticket(self, seed: SeedTicket) -> str:
        """Create one ticket as people did, at its times; its id."""
        ticket = TicketRecord(self.new_id(), seed.created_at)
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
        with self.lock:
            for name, value in props.items():
                if value:
                    self.set_tracked(ticket, name, value, at, "CRM_UI")
            ticket.props["hs_lastmodifieddate"] = format_instant(at)
            if seed.organization:
                ticket.companies.append(self._company(seed.organization))
            self.tickets[ticket.id] = ticket
            for comment in seed.comments:
                self._write_comment(ticket, comment, seed.requester)
            last = seed.updated_at or max([at, *(c.at for c in seed.comments)])
            ticket.props["hs_lastmodifieddate"] = format_instant(last)
        return ticket.id

    def _number(self, value: int | None) -> str:
        if value is None:
            return ""
        return f"{value:,}" if self.realistic else str(value)

    def add_comment(self, ticket_id: str, comment: SeedComment) -> NewMessage | None:
        """A note or a thread message written now; the message, if it was one."""
        with self.lock:
            ticket = self.tickets[ticket_id]
            added = self._write_comment(ticket, comment, "customer@example.com")
            self.touch(ticket, self.now())
        return added

    def add_message(self, ticket_id: str, fields: dict[str, Any], *, touch: bool) -> NewMessage:
        at = parse_instant(fields["createdAt"])
        with self.lock:
            ticket = self.tickets[ticket_id]
            if ticket.thread is None:
                ticket.thread = self.new_thread(ticket, at)
            message = self.store_message(ticket.thread, fields, at)
            if touch:
                self.touch(ticket, self.now())
            return ticket.thread, message

    def update(
        self,
        ticket_id: str,
        *,
        status: str | None = None,
        priority: str | None = None,
        group: str | None = None,
    ) -> None:
        now = self.now()
        with self.lock:
            ticket = self.tickets[ticket_id]
            if status is not None:
                self.set_tracked(
                    ticket, "hs_pipeline_stage", STAGE_OF_STATUS[status], now, "CRM_UI"
                )
            if priority is not None:
                self.set_tracked(ticket, "hs_ticket_priority", PRIORITY_OF[priority], now, "CRM_UI")
            if group is not None:
                for name, value in GROUPS[group].items():
                    prop = "hubspot_owner_id" if name == "owner_id" else "hubspot_team_id"
                    self.set_tracked(ticket, prop, value, now, "CRM_UI")
            self.touch(ticket, now)

    def submit_feedback(self, ticket_id: str, value: int, survey_type: str, content: str) -> str:
        """The customer answers a survey about the ticket; the ticket itself is not touched."""
        with self.lock:
            at = format_instant(self.now())
            response = SubmissionRecord(self.new_id(), self.now(), tickets=[ticket_id])
            response.props = {
                "hs_object_id": response.id,
                "hs_createdate": at,
                "hs_lastmodifieddate": at,
                "hs_submission_timestamp": at,
                "hs_survey_type": survey_type,
                "hs_survey_name": "Customer Satisfaction Survey",
                "hs_survey_channel": "EMAIL",
                "hs_value": str(value),
                "hs_response_group": CSAT_GROUPS.get(value, "") if survey_type == "CSAT" else "",
                "hs_content": content,
            }
            self.submissions[response.id] = response
            return response.id

    def set_property(self, ticket_id: str, name: str, value: str) -> None:
        with self.lock:
            ticket = self.tickets[ticket_id]
            ticket.props[name] = value
            if name != "hs_lastmodifieddate":
                self.touch(ticket, self.now())

    def record(self, ticket_id: str) -> dict[str, Any]:
        with self.lock:
            ticket = self.tickets[ticket_id]
            return self.render(ticket, None, list(ticket.history))

    def comments(self, ticket_id: str) -> list[dict[str, Any]]:
        """A copy of the ticket's notes, then its thread's messages."""
        with self.lock:
            ticket = self.tickets[ticket_id]
            notes = [self.notes[n] for n in ticket.notes]
            messages = self.messages.get(ticket.thread or "", [])
            return [*json.loads(json.dumps(notes)), *json.loads(json.dumps(messages))]

    # -- the store ---------------------------------------------------------------------------
    def set_tracked(
        self, ticket: TicketRecord, name: str, value: str, at: datetime, source: str
    ) -> bool:
        """Set a property, recording the version; False if it already had that value."""
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

    def touch(self, ticket: TicketRecord, at: datetime) -> None:
        ticket.props["hs_lastmodifieddate"] = format_instant(at)

    def write(self, ticket: TicketRecord, changes: dict[str, str]) -> None:
        """An integration's property write (PATCH or batch update)."""
        now = self.now()
        written = [
            self.set_tracked(ticket, n, str(v), now, "INTEGRATION") for n, v in changes.items()
        ]
        self.writes_that_changed_nothing += not any(written)
        self.touch(ticket, now)

    def _company(self, name: str) -> str:
        for company_id, company in self.companies.items():
            if company["properties"]["name"] == name:
                return company_id
        company_id = self.new_id()
        stamp = format_instant(self.now())
        self.companies[company_id] = {
            "id": company_id,
            "properties": {"name": name, "hs_object_id": company_id},
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }
        return company_id

    def _write_comment(
        self, ticket: TicketRecord, comment: SeedComment, requester: str
    ) -> NewMessage | None:
        """A note (internal) or a thread message; returns ``(thread id, message)`` for messages."""
        body_html = f"<p>{html.escape(comment.body)}</p>"
        if not comment.public:
            stamp = comment.at
            if self.realistic and comment.author == "integration":
                stamp = comment.at.astimezone(INTEGRATION_OFFSET)
            self.store_note(ticket, body_html, stamp, "201")
            return None
        first = ticket.thread is None
        if ticket.thread is None:
            ticket.thread = self.new_thread(ticket, comment.at)
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
        message = self.store_message(
            ticket.thread,
            {
                "type": "MESSAGE",
                "text": comment.body,
                "richText": body_html,
                "senders": [sender],
                "recipients": [recipient],
                "direction": "INCOMING" if incoming else "OUTGOING",
                "subject": ticket.props.get("subject", ""),
                "client": client_of(comment.author),
                "createdBy": sender["actorId"],
            },
            comment.at,
        )
        if self.realistic and first and incoming:
            # the inbox's chatflow bot acknowledges a new conversation at once: never a reply
            actor, name = OTHER_ACTORS["bot"]
            self.store_message(
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

    def new_thread(self, ticket: TicketRecord, at: datetime) -> str:
        thread_id = str(8_000_000 + int(ticket.id))
        self.threads[thread_id] = {
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
        self.messages[thread_id] = []
        return thread_id

    def store_message(self, thread_id: str, fields: dict[str, Any], at: datetime) -> dict[str, Any]:
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
        self.messages[thread_id].append(message)
        thread = self.threads[thread_id]
        latest = thread.get("latestMessageTimestamp")
        if latest is None or parse_instant(latest) < at:
            thread["latestMessageTimestamp"] = format_instant(at)
        return message

    def store_note(
        self, ticket: TicketRecord, body: str, at: datetime, owner: str | None
    ) -> dict[str, Any]:
        note_id = self.new_id()
        stamp = format_instant(self.now())
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
        self.notes[note_id] = note
        ticket.notes.append(note_id)
        return note

    def render_submission(
        self, response: SubmissionRecord, properties: Sequence[str]
    ) -> dict[str, Any]:
        keep = {*properties, "hs_object_id", "hs_createdate", "hs_lastmodifieddate"}
        return {
            "id": response.id,
            "properties": {k: response.props.get(k) for k in sorted(keep)},
            "createdAt": format_instant(response.created),
            "updatedAt": response.props["hs_lastmodifieddate"],
            "archived": False,
        }

    def render(
        self, ticket: TicketRecord, properties: Sequence[str] | None, history: Sequence[str]
    ) -> dict[str, Any]:
        """The ticket as the CRM objects API shows it (``properties`` None: all of them)."""
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
