"""Zendesk JSON → the common model: the one place that knows Zendesk's field semantics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from connectors.base import MappingWarning, parse_marker
from connectors.errors import MalformedRecord
from connectors.zendesk.settings import FieldMapping, FieldSource
from engine.model import AuthorRole, Change, Comment, Priority, Status, Ticket

# Key of the audit's ``metadata.custom`` the sidecar writes on every update it makes; its
# ``marker`` holds ``marker_for(action.key)`` when the update carries a comment.
SIDECAR_METADATA_KEY = "escalation_sidecar"

STATUSES: dict[str, Status] = {
    "new": Status.NEW,
    "open": Status.OPEN,
    "pending": Status.PENDING,
    "hold": Status.ON_HOLD,
    "solved": Status.SOLVED,
    "closed": Status.CLOSED,
    # deleted (and scrubbed) tickets stay in the export with this status; nothing is left to
    # escalate. Deleting writes no audit, so a restored ticket shows no close/reopen in history.
    "deleted": Status.CLOSED,
}
PRIORITIES: dict[str | None, Priority] = {
    "urgent": Priority.URGENT,
    "high": Priority.HIGH,
    "normal": Priority.NORMAL,
    "low": Priority.LOW,
    None: Priority.NORMAL,  # Zendesk allows no priority; the SLA treats it as normal
}
# users.role: "end-user", "agent" or "admin"; light agents and custom roles are role "agent"
# (developer.zendesk.com/api-reference/ticketing/users/users/, "role" and "role_type")
AGENT_ROLES = frozenset({"agent", "admin"})
RULE_RELS = frozenset({"trigger", "automation"})  # via.source.rel of business-rule updates
SYSTEM_USER_ID = -1  # author of audits written by Zendesk itself (triggers, automations)
# via.channel of audits that no person wrote: business rules (triggers/automations), merges,
# Answer Bot and AI agents (developer.zendesk.com/documentation/ticketing/reference-guides/
# via-object-reference)
BOT_CHANNELS = frozenset(
    {
        "rule",
        "merge",
        "system",
        "answer_bot",
        "answer_bot_api",
        "answer_bot_for_agents",
        "answer_bot_for_sdk",
        "answer_bot_for_slack",
        "answer_bot_for_web_widget",
        "ai_agent",
    }
)
def satisfaction(rating: Any) -> str | None:
    """The customer's rating: ``satisfaction_rating.score`` is good, bad, offered (asked, not
    answered) or unoffered (Zendesk's "Satisfaction Ratings" reference): only an answer counts."""
    score = rating.get("score") if isinstance(rating, Mapping) else None
    return score if score in ("good", "bad") else None


def _tag_text(value: Any) -> str | None:
    """Zendesk sends a tags change's values as lists of tags (older audits: one string)."""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value) if value is not None else None


TRACKED_FIELDS = {
    "status": "status",
    "priority": "priority",
    "group_id": "group",
    "assignee_id": "assignee",
}


@dataclass(slots=True)
class Directory:
    """What ids mean in this account: users (role, email), organizations, group names."""

    users: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    organizations: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    groups: dict[int, str] = field(default_factory=dict)


def parse_instant(value: Any, what: str, record_id: str | None) -> datetime:
    if not isinstance(value, str):
        raise MalformedRecord(f"{what} is missing or not a string: {value!r}", record_id)
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedRecord(f"{what} is not an ISO-8601 instant: {value!r}", record_id) from exc
    if instant.tzinfo is None:
        raise MalformedRecord(f"{what} has no time zone: {value!r}", record_id)
    return instant


def ticket_id_of(raw: Any) -> int:
    """The ticket's numeric id, or MalformedRecord: checked before any further call is made."""
    if not isinstance(raw, Mapping):
        raise MalformedRecord(f"ticket is not an object: {type(raw).__name__}")
    value = raw.get("id")
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedRecord(f"ticket id is not an integer: {value!r}", None, raw)
    return value


def sidecar_marker(audit: Mapping[str, Any]) -> tuple[bool, str | None]:
    """(written by the sidecar?, the comment's idempotency key if any) from audit metadata."""
    metadata = audit.get("metadata")
    custom = metadata.get("custom") if isinstance(metadata, Mapping) else None
    if not isinstance(custom, Mapping) or SIDECAR_METADATA_KEY not in custom:
        return False, None
    ours = custom[SIDECAR_METADATA_KEY]
    marker = ours.get("marker") if isinstance(ours, Mapping) else None
    return True, parse_marker(marker if isinstance(marker, str) else None)


def last_audit_is_ours(audits: Sequence[Mapping[str, Any]]) -> bool:
    return bool(audits) and sidecar_marker(audits[-1])[0]


def as_id(value: Any) -> int | None:
    """An id Zendesk sent as a number or as a string (audit values, webhooks): ``"123"`` → 123."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    return None


def author_role(
    author_id: Any,
    via: Mapping[str, Any] | None,
    directory: Directory,
    bots: frozenset[int] = frozenset(),
) -> AuthorRole | None:
    """Who wrote a comment, from identity only: the author's role, or a rule/bot channel.

    None when the author is unknown (not in the directory): never guessed from position.
    """
    uid = as_id(author_id)
    channel = via.get("channel") if via else None
    source = via.get("source") if via else None
    rel = source.get("rel") if isinstance(source, Mapping) else None
    if (
        uid == SYSTEM_USER_ID
        or (uid is not None and uid in bots)
        or channel in BOT_CHANNELS
        or rel in RULE_RELS  # an API comment a trigger or automation caused
    ):
        return AuthorRole.BOT
    user = directory.users.get(uid) if uid is not None else None
    if user is None:
        return None
    return AuthorRole.AGENT if user.get("role") in AGENT_ROLES else AuthorRole.CUSTOMER


class TicketMapper:
    """Builds ``Ticket`` from a Zendesk ticket, its audits and the account directory."""

    def __init__(
        self,
        system: str,
        base_url: str,
        fields: FieldMapping,
        bot_users: frozenset[int] = frozenset(),
    ) -> None:
        self.system = system
        self.base_url = base_url
        self.fields = fields
        self.bot_users = bot_users  # integration accounts: agents by role, never a person

    def ticket(
        self,
        raw: Mapping[str, Any],
        audits: Sequence[Mapping[str, Any]],
        directory: Directory,
        warnings: list[MappingWarning] | None = None,
    ) -> Ticket:
        """``warnings`` collects values understood only by falling back (an unknown author)."""
        tid = ticket_id_of(raw)
        rid = str(tid)
        status_raw = raw.get("status")
        if status_raw not in STATUSES:
            raise MalformedRecord(f"unknown status {status_raw!r}", rid, raw)
        priority_raw = raw.get("priority")
        if priority_raw not in PRIORITIES:
            raise MalformedRecord(f"unknown priority {priority_raw!r}", rid, raw)
        tags = raw.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise MalformedRecord(f"tags is not a list of strings: {tags!r}", rid, raw)
        org_id = as_id(raw.get("organization_id"))
        org = directory.organizations.get(org_id) if org_id is not None else None
        requester_id = as_id(raw.get("requester_id"))
        requester = directory.users.get(requester_id) if requester_id is not None else None
        group_id = as_id(raw.get("group_id"))
        assignee_id = as_id(raw.get("assignee_id"))
        created_at = parse_instant(raw.get("created_at"), "created_at", rid)
        comments, history = self._timeline(audits, created_at, directory, rid, warnings)
        affected = self._field(self.fields.affected_users, raw, tags, org)
        return Ticket(
            system=self.system,
            id=rid,
            created_at=created_at,
            updated_at=parse_instant(raw.get("updated_at"), "updated_at", rid),
            status=STATUSES[status_raw],
            priority=PRIORITIES[priority_raw],
            title=str(raw.get("subject") or ""),
            url=f"{self.base_url}/agent/tickets/{tid}",
            requester=str(requester.get("email") or requester_id)
            if requester
            else (str(requester_id) if requester_id is not None else None),
            organization=str(org.get("name")) if org else None,
            assignee=str(assignee_id) if assignee_id is not None else None,
            group=self._group(group_id, directory),
            labels=frozenset(tags),
            category=self._field(self.fields.category, raw, tags, org),
            customer_tier=self._field(self.fields.customer_tier, raw, tags, org),
            affected_users=_as_int(affected),
            comments=tuple(comments),
            history=tuple(history),
            satisfaction=satisfaction(raw.get("satisfaction_rating")),
        )

    def _timeline(
        self,
        audits: Sequence[Mapping[str, Any]],
        created_at: datetime,
        directory: Directory,
        rid: str,
        warnings: list[MappingWarning] | None,
    ) -> tuple[list[Comment], list[Change]]:
        comments: list[Comment] = []
        history: list[Change] = []
        for audit in audits:
            at = parse_instant(audit.get("created_at"), "audit created_at", rid)
            ours, marker = sidecar_marker(audit)
            events = audit.get("events") or []
            # the comment of the audit that created the ticket is its description, never a reply
            creates = any(e.get("type") == "Create" for e in events if isinstance(e, Mapping))
            audit_via = _via(audit)
            for event in events:
                if not isinstance(event, Mapping):
                    continue
                kind = event.get("type")
                if kind in ("Comment", "VoiceComment"):
                    author_id = event.get("author_id", audit.get("author_id"))
                    role = (
                        AuthorRole.SIDECAR
                        if ours and marker
                        else author_role(
                            author_id, _via(event) or audit_via, directory, self.bot_users
                        )
                    )
                    if role is None:  # a user we cannot look up: never counted as an agent's
                        role = AuthorRole.CUSTOMER
                        if warnings is not None:
                            warnings.append(
                                MappingWarning(
                                    self.system,
                                    rid,
                                    "comment.author_id",
                                    f"author {author_id!r} of comment {event.get('id')!r} is "
                                    "not a known user: counted as a customer's comment",
                                )
                            )
                    uid = as_id(author_id)
                    comments.append(
                        Comment(
                            at=at,
                            author_role=role,
                            public=bool(event.get("public", True)),
                            body=str(event.get("body") or ""),
                            id=str(event["id"]) if event.get("id") is not None else None,
                            author_id=str(uid) if uid is not None else None,
                            marker=marker if ours else None,
                            opening=creates and role is not AuthorRole.SIDECAR,
                        )
                    )
                elif kind == "Change" and event.get("field_name") == "tags":
                    # who tagged: an agent's escalation request names its requester
                    who = as_id(audit.get("author_id"))
                    person = directory.users.get(who) if who is not None else None
                    history.append(
                        Change(
                            at=at,
                            field="labels",
                            old=_tag_text(event.get("previous_value")),
                            new=_tag_text(event.get("value")),
                            # the person by name (an email), else by id
                            by=str((person or {}).get("email") or who) if who is not None else None,
                        )
                    )
                elif kind in ("Change", "Create") and event.get("field_name") in TRACKED_FIELDS:
                    name = str(event["field_name"])
                    old = self._value(name, event.get("previous_value"), directory)
                    new = self._value(name, event.get("value"), directory)
                    if kind == "Create" or old != new:
                        history.append(
                            Change(
                                at=at,
                                field=TRACKED_FIELDS[name],
                                old=None if kind == "Create" else old,
                                new=new,
                            )
                        )
        comments.sort(key=lambda c: c.at)
        history.sort(key=lambda c: c.at)
        if comments and not any(c.opening for c in comments) and comments[0].at <= created_at:
            # no Create audit at hand: the comment written at creation is the description
            first = comments[0]
            if first.author_role is not AuthorRole.SIDECAR:
                comments[0] = replace(first, opening=True)
        return comments, history

    def _value(self, name: str, value: Any, directory: Directory) -> str | None:
        if name == "status":
            status = STATUSES.get(value) if isinstance(value, str) else None
            return str(status) if status else (str(value) if value is not None else None)
        if name == "priority":
            priority = PRIORITIES.get(value) if value is None or isinstance(value, str) else None
            return str(priority) if priority else str(value)
        if name == "group_id":
            return self._group(as_id(value), directory)
        if name == "assignee_id":  # "12345" and 12345 are the same assignee
            uid = as_id(value)
            return str(uid) if uid is not None else None
        return str(value) if value not in (None, "") else None

    @staticmethod
    def _group(group_id: int | None, directory: Directory) -> str | None:
        if group_id is None:
            return None
        return directory.groups.get(group_id, str(group_id))

    @staticmethod
    def _field(
        source: FieldSource,
        raw: Mapping[str, Any],
        tags: Sequence[str],
        org: Mapping[str, Any] | None,
    ) -> str | None:
        if source.custom_field_id is not None:
            for item in raw.get("custom_fields") or []:
                if isinstance(item, Mapping) and item.get("id") == source.custom_field_id:
                    value = item.get("value")
                    if value not in (None, ""):
                        return str(value)
        if source.organization_field is not None and org is not None:
            value = (org.get("organization_fields") or {}).get(source.organization_field)
            if value not in (None, ""):
                return str(value)
        if source.tag_prefix:
            for tag in sorted(tags):
                if tag.startswith(source.tag_prefix) and len(tag) > len(source.tag_prefix):
                    return tag[len(source.tag_prefix) :]
        return None


def _via(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    via = record.get("via")
    return via if isinstance(via, Mapping) else None


def _as_int(value: Any) -> int | None:
    # free-text custom fields can hold anything; a non-number is "unknown", not a bad record
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None
