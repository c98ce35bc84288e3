"""Zendesk JSON → the common model: the one place that knows Zendesk's field semantics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.base import parse_marker
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
    "deleted": Status.CLOSED,  # deleted tickets stay in the export; nothing is left to escalate
}
PRIORITIES: dict[str | None, Priority] = {
    "urgent": Priority.URGENT,
    "high": Priority.HIGH,
    "normal": Priority.NORMAL,
    "low": Priority.LOW,
    None: Priority.NORMAL,  # Zendesk allows no priority; the SLA treats it as normal
}
AGENT_ROLES = frozenset({"agent", "admin"})
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


def author_role(author_id: Any, requester_id: Any, directory: Directory) -> AuthorRole:
    user = directory.users.get(author_id) if isinstance(author_id, int) else None
    if user is not None:
        return AuthorRole.AGENT if user.get("role") in AGENT_ROLES else AuthorRole.CUSTOMER
    # unknown (deleted) user: the requester is a customer, anyone else most likely staff
    return AuthorRole.CUSTOMER if author_id == requester_id else AuthorRole.AGENT


class TicketMapper:
    """Builds ``Ticket`` from a Zendesk ticket, its audits and the account directory."""

    def __init__(self, system: str, base_url: str, fields: FieldMapping) -> None:
        self.system = system
        self.base_url = base_url
        self.fields = fields

    def ticket(
        self,
        raw: Mapping[str, Any],
        audits: Sequence[Mapping[str, Any]],
        directory: Directory,
    ) -> Ticket:
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
        org = directory.organizations.get(raw.get("organization_id") or -1)
        requester_id = raw.get("requester_id")
        requester = directory.users.get(requester_id) if isinstance(requester_id, int) else None
        group_id = raw.get("group_id")
        assignee_id = raw.get("assignee_id")
        comments, history = self._timeline(audits, requester_id, directory, rid)
        affected = self._field(self.fields.affected_users, raw, tags, org)
        return Ticket(
            system=self.system,
            id=rid,
            created_at=parse_instant(raw.get("created_at"), "created_at", rid),
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
        )

    def _timeline(
        self,
        audits: Sequence[Mapping[str, Any]],
        requester_id: Any,
        directory: Directory,
        rid: str,
    ) -> tuple[list[Comment], list[Change]]:
        comments: list[Comment] = []
        history: list[Change] = []
        for audit in audits:
            at = parse_instant(audit.get("created_at"), "audit created_at", rid)
            ours, marker = sidecar_marker(audit)
            for event in audit.get("events") or []:
                kind = event.get("type")
                if kind in ("Comment", "VoiceComment"):
                    author_id = event.get("author_id", audit.get("author_id"))
                    role = (
                        AuthorRole.SIDECAR
                        if ours and marker
                        else author_role(author_id, requester_id, directory)
                    )
                    comments.append(
                        Comment(
                            at=at,
                            author_role=role,
                            public=bool(event.get("public", True)),
                            body=str(event.get("body") or ""),
                            id=str(event["id"]) if event.get("id") is not None else None,
                            author_id=str(author_id) if author_id is not None else None,
                            marker=marker if ours else None,
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
        return comments, history

    def _value(self, name: str, value: Any, directory: Directory) -> str | None:
        if name == "status":
            status = STATUSES.get(value) if isinstance(value, str) else None
            return str(status) if status else (str(value) if value is not None else None)
        if name == "priority":
            priority = PRIORITIES.get(value) if value is None or isinstance(value, str) else None
            return str(priority) if priority else str(value)
        if name == "group_id":
            return self._group(_as_int(value), directory)
        return str(value) if value not in (None, "") else None

    @staticmethod
    def _group(group_id: Any, directory: Directory) -> str | None:
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


def _as_int(value: Any) -> int | None:
    # free-text custom fields can hold anything; a non-number is "unknown", not a bad record
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None
