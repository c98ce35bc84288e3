"""The one place HubSpot ticket properties become the common model, and back."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.errors import MalformedRecord
from connectors.hubspot.settings import Settings
from engine.model import Change, Comment, Priority, Status, Ticket

SYSTEM = "hubspot"
STAGE = "hs_pipeline_stage"
PRIORITY = "hs_ticket_priority"
OWNER = "hubspot_owner_id"
TEAM = "hubspot_team_id"
MODIFIED = "hs_lastmodifieddate"
CREATED = "createdate"
BASE_PROPERTIES = ("subject", "hs_pipeline", STAGE, PRIORITY, OWNER, TEAM, CREATED, MODIFIED)
HISTORY_PROPERTIES = (STAGE, PRIORITY, OWNER, TEAM)
# history field names in the common model, per HubSpot property
_HISTORY_FIELDS = {STAGE: "status", PRIORITY: "priority", OWNER: "assignee", TEAM: "group"}
_TICKET_STATES = {"OPEN": Status.OPEN, "CLOSED": Status.SOLVED}
# a comment this close to the ticket's creation (or before it) is what created it: its description
OPENING_GRACE = timedelta(seconds=5)
# digit-group separators a formatted number may carry ("1,200", "1 200", "1\u00a0200")
_GROUPING = re.compile(r"(?<=\d)[,\s\u00a0\u202f](?=\d{3}(?!\d))")


def parse_instant(value: Any) -> datetime:
    """HubSpot writes instants as ISO-8601 (``...Z``) or as epoch milliseconds."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"instant without a time zone: {text!r}")
    return parsed.astimezone(UTC)


def to_millis(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def format_instant(instant: datetime) -> str:
    """The ISO form HubSpot returns: milliseconds and ``Z``."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{instant.microsecond // 1000:03d}Z"
    )


def parse_count(value: Any, name: str) -> int | None:
    """A whole number from a number property: ``null``/empty is unset, ``"1,200"`` is 1200."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    if isinstance(value, int | float):
        return int(value)
    text = _GROUPING.sub("", str(value).strip())
    try:
        return int(float(text))
    except ValueError:
        raise ValueError(f"{name}: expected a number, got {value!r}") from None


def mark_opening(comments: Sequence[Comment], created: datetime) -> tuple[Comment, ...]:
    """Oldest first; the earliest comment, if it came no later than the ticket's creation, is the
    ticket's description (``opening``): whoever wrote it, it is never a reply."""
    ordered = sorted(comments, key=lambda c: c.at)
    if ordered and ordered[0].at <= created + OPENING_GRACE and not ordered[0].marker:
        ordered[0] = dataclasses.replace(ordered[0], opening=True)
    return tuple(ordered)


def split_labels(value: str | None) -> frozenset[str]:
    """A multiple-checkbox value: options separated by ``;``."""
    return frozenset(part.strip() for part in (value or "").split(";") if part.strip())


def join_labels(labels: Iterable[str]) -> str:
    return ";".join(sorted(set(labels)))


class FieldMap:
    """Settings-driven translation; ``stage_states`` is each stage's ``metadata.ticketState``."""

    def __init__(self, settings: Settings, stage_states: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.stage_states = dict(stage_states or {})
        self._native_priority = {p: native for native, p in settings.priorities.items()}
        self._group_by_owner = {
            g.owner_id: name for name, g in settings.groups.items() if g.owner_id is not None
        }
        self._group_by_team = {
            g.team_id: name for name, g in settings.groups.items() if g.team_id is not None
        }

    @property
    def properties(self) -> list[str]:
        s = self.settings
        extra = [
            s.labels_property,
            s.category_property,
            s.customer_tier_property,
            s.affected_users_property,
        ]
        return [*BASE_PROPERTIES, *(p for p in extra if p)]

    # -- single values -----------------------------------------------------------------------
    def status(self, stage: str | None) -> Status:
        if stage and stage in self.settings.pipeline_stages:
            return self.settings.pipeline_stages[stage]
        state = self.stage_states.get(stage or "")
        if state in _TICKET_STATES:
            return _TICKET_STATES[state]
        raise ValueError(f"unknown pipeline stage {stage!r}")

    def priority(self, value: str | None) -> Priority:
        if not value:
            return Priority.NORMAL  # many portals leave priority empty
        try:
            return self.settings.priorities[value.upper()]
        except KeyError:
            raise ValueError(f"unknown {PRIORITY} {value!r}") from None

    def native_priority(self, priority: Priority) -> str:
        return self._native_priority[priority]

    def group(self, owner: str | None, team: str | None) -> str | None:
        if team and team in self._group_by_team:
            return self._group_by_team[team]
        if owner and owner in self._group_by_owner:
            return self._group_by_owner[owner]
        return None

    def _history_value(self, prop: str, value: str | None) -> str | None:
        if not value:
            return None
        if prop == STAGE:
            try:
                return str(self.status(value))
            except ValueError:
                return value
        if prop == PRIORITY:
            try:
                return str(self.priority(value))
            except ValueError:
                return value
        if prop == TEAM:
            return self._group_by_team.get(value, value)
        return value

    # -- records -----------------------------------------------------------------------------
    def history(self, record: Mapping[str, Any], created: datetime) -> tuple[Change, ...]:
        """Changes of status, priority, assignee and group from ``propertiesWithHistory``;
        a first value set after ``created`` is a change from nothing."""
        changes: list[Change] = []
        for prop, versions in (record.get("propertiesWithHistory") or {}).items():
            if prop not in _HISTORY_FIELDS:
                continue
            ordered = sorted(versions, key=lambda v: parse_instant(v["timestamp"]))
            previous: str | None = None
            for index, version in enumerate(ordered):
                value = self._history_value(prop, version.get("value"))
                at = parse_instant(version["timestamp"])
                if (index > 0 or at > created) and value != previous:
                    changes.append(Change(at, _HISTORY_FIELDS[prop], previous, value))
                previous = value
        return tuple(sorted(changes, key=lambda c: c.at))

    def ticket(
        self,
        record: Mapping[str, Any],
        *,
        comments: Sequence[Comment] = (),
        organization: str | None = None,
        satisfaction: str | None = None,
    ) -> Ticket:
        """A ticket from a CRM record; ``MalformedRecord`` when it does not fit.
        ``satisfaction``: its customer's rating, from a survey response (``feedback.py``)."""
        record_id = str(record.get("id") or "") or None
        props: Mapping[str, Any] = record.get("properties") or {}
        s = self.settings
        try:
            created = parse_instant(props.get(CREATED) or record["createdAt"])
            updated = parse_instant(props.get(MODIFIED) or record["updatedAt"])
            affected = (
                parse_count(props.get(s.affected_users_property), s.affected_users_property)
                if s.affected_users_property
                else None
            )
            category_raw = props.get(s.category_property) if s.category_property else None
            category = (
                s.category_values.get(category_raw, category_raw.lower()) if category_raw else None
            )
            tier = props.get(s.customer_tier_property) if s.customer_tier_property else None
            owner = props.get(OWNER) or None
            ticket = Ticket(
                system=SYSTEM,
                id=str(record["id"]),
                created_at=created,
                updated_at=updated,
                status=self.status(props.get(STAGE)),
                priority=self.priority(props.get(PRIORITY)),
                title=str(props.get("subject") or ""),
                url=self.url(str(record["id"])),
                organization=organization,
                assignee=owner,
                group=self.group(owner, props.get(TEAM) or None),
                labels=split_labels(props.get(s.labels_property)),
                category=category,
                customer_tier=tier or None,
                affected_users=affected,
                comments=mark_opening(comments, created),
                history=self.history(record, created),
                satisfaction=satisfaction,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MalformedRecord(f"ticket {record_id}: {exc}", record_id, record) from exc
        return ticket

    def url(self, ticket_id: str) -> str | None:
        if self.settings.portal_id is None:
            return None
        return f"https://app.hubspot.com/contacts/{self.settings.portal_id}/ticket/{ticket_id}"
