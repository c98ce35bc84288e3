"""One place that maps a Jira issue (REST v3 JSON) to the common ``Ticket``. Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.base import parse_marker
from connectors.errors import MalformedRecord
from connectors.jira import adf
from connectors.jira.cursor import parse_jira_time
from connectors.jira.settings import Settings
from engine.model import AuthorRole, Change, Comment, Priority, Status, Ticket

MARKER_PROPERTY = "escalation-sidecar"  # comment/issue entity property holding our marker
INTERNAL_PROPERTY = "sd.public.comment"  # JSM: {"internal": true} makes a comment internal

# What a pull asks for; custom field ids are added from the settings.
BASE_FIELDS = (
    "summary",
    "status",
    "priority",
    "labels",
    "assignee",
    "reporter",
    "components",
    "created",
    "updated",
    "comment",
)


def issue_fields(settings: Settings) -> list[str]:
    custom = settings.fields
    extra = [custom.category, custom.customer_tier, custom.affected_users, custom.organization]
    return [*BASE_FIELDS, *(f for f in extra if f)]


def properties_of(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Entity properties as ``{key: value}`` (a list in comments, a dict on issues)."""
    props = raw.get("properties")
    if isinstance(props, list):
        return {str(p.get("key")): p.get("value") for p in props if isinstance(p, dict)}
    return dict(props) if isinstance(props, dict) else {}


def marker_of(raw: Mapping[str, Any]) -> str | None:
    value = properties_of(raw).get(MARKER_PROPERTY)
    return parse_marker(value.get("marker")) if isinstance(value, dict) else None


@dataclass(slots=True)
class IssueMapper:
    settings: Settings
    sidecar_account: str | None = None  # the API user: whatever it writes is the sidecar's
    status_category: Callable[[str], str | None] = lambda name: None  # for changelog names
    system: str = "jira"

    # -- whole issue ---------------------------------------------------------------------
    def ticket(
        self, issue: Mapping[str, Any], comments: Sequence[Mapping[str, Any]] | None = None
    ) -> Ticket:
        key = issue.get("key")
        try:
            return self._ticket(issue, comments)
        except MalformedRecord:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MalformedRecord(
                f"issue {key}: {type(exc).__name__}: {exc}", record_id=key, raw=issue
            ) from None

    def _ticket(
        self, issue: Mapping[str, Any], comments: Sequence[Mapping[str, Any]] | None
    ) -> Ticket:
        key = str(issue["key"])
        f: Mapping[str, Any] = issue["fields"]
        status = f["status"]
        reporter = (f.get("reporter") or {}).get("accountId")
        raw_comments = (
            comments if comments is not None else (f.get("comment") or {}).get("comments", [])
        )
        return Ticket(
            system=self.system,
            id=key,
            created_at=parse_jira_time(f["created"]),
            updated_at=parse_jira_time(f["updated"]),
            status=self.status(status["name"], (status.get("statusCategory") or {}).get("key")),
            priority=self.priority((f.get("priority") or {}).get("name"), key),
            title=str(f.get("summary") or ""),
            url=f"{self.settings.issue_browse_base}/browse/{key}",
            requester=reporter,
            organization=self._organization(f),
            assignee=(f.get("assignee") or {}).get("accountId"),
            group=self.group_of(f),
            labels=frozenset(str(label) for label in f.get("labels") or []),
            category=self._option(f, self.settings.fields.category),
            customer_tier=self._option(f, self.settings.fields.customer_tier),
            affected_users=self._count(f, self.settings.fields.affected_users, key),
            comments=tuple(
                sorted((self.comment(c, reporter) for c in raw_comments), key=lambda c: c.at)
            ),
            history=self.history(issue.get("changelog") or {}),
        )

    # -- single values -------------------------------------------------------------------
    def status(self, name: str, category: str | None) -> Status:
        by_name = {k.casefold(): v for k, v in self.settings.status_map.items()}
        if name.casefold() in by_name:
            return by_name[name.casefold()]
        if category in self.settings.status_category_map:
            return self.settings.status_category_map[category]
        raise MalformedRecord(f"status {name!r} (category {category!r}) is not mapped")

    def priority(self, name: str | None, key: str | None = None) -> Priority:
        if name is None:
            return self.settings.default_priority
        if name in self.settings.priority_map:
            return self.settings.priority_map[name]
        raise MalformedRecord(f"issue {key}: priority {name!r} is not mapped", record_id=key)

    def group_of(self, fields: Mapping[str, Any]) -> str | None:
        components = {c.get("name") for c in fields.get("components") or []}
        assignee = (fields.get("assignee") or {}).get("accountId")
        for group, target in self.settings.groups.items():
            if target.component and target.component in components:
                return group
        for group, target in self.settings.groups.items():
            if target.assignee and target.assignee == assignee:
                return group
        return None

    def _organization(self, fields: Mapping[str, Any]) -> str | None:
        field_id = self.settings.fields.organization
        value = fields.get(field_id) if field_id else None
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, dict):
            value = value.get("name") or value.get("value")
        return str(value) if value else None

    @staticmethod
    def _option(fields: Mapping[str, Any], field_id: str | None) -> str | None:
        value = fields.get(field_id) if field_id else None
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, dict):
            value = value.get("value") or value.get("name")
        return str(value) if value not in (None, "") else None

    @staticmethod
    def _count(fields: Mapping[str, Any], field_id: str | None, key: str) -> int | None:
        value = fields.get(field_id) if field_id else None
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not float(value).is_integer() or float(value) < 0:
            raise MalformedRecord(f"issue {key}: affected users {value!r} is not a count", key)
        return int(float(value))

    # -- comments and history ------------------------------------------------------------
    def comment(self, raw: Mapping[str, Any], reporter: str | None) -> Comment:
        author = raw.get("author") or {}
        account = author.get("accountId")
        marker = marker_of(raw)
        internal = properties_of(raw).get(INTERNAL_PROPERTY) or {}
        public = not (
            raw.get("jsdPublic") is False
            or (isinstance(internal, dict) and internal.get("internal") is True)
            or raw.get("visibility")
        )
        return Comment(
            at=parse_jira_time(raw["created"]),
            author_role=self.role(account, author.get("accountType"), reporter, marker),
            public=public,
            body=adf.to_text(raw.get("body")),
            id=str(raw["id"]),
            author_id=account,
            marker=marker,
        )

    def role(
        self,
        account: str | None,
        account_type: str | None,
        reporter: str | None,
        marker: str | None,
    ) -> AuthorRole:
        if marker is not None or (account is not None and account == self.sidecar_account):
            return AuthorRole.SIDECAR
        if account_type in self.settings.customer_account_types or account == reporter:
            return AuthorRole.CUSTOMER
        if self.settings.agent_account_ids:
            agents = self.settings.agent_account_ids
            return AuthorRole.AGENT if account in agents else AuthorRole.CUSTOMER
        return AuthorRole.AGENT

    def history(self, changelog: Mapping[str, Any]) -> tuple[Change, ...]:
        changes: list[Change] = []
        histories = sorted(changelog.get("histories") or [], key=lambda h: h["created"])
        for entry in histories:
            at = parse_jira_time(entry["created"])
            for item in entry.get("items") or []:
                changes.extend(self._changes(at, item))
        return tuple(changes)

    def _changes(self, at: Any, item: Mapping[str, Any]) -> list[Change]:
        name = str(item.get("fieldId") or item.get("field") or "").casefold()
        old, new = item.get("fromString"), item.get("toString")
        if name == "status":
            return [Change(at, "status", self._status_name(old), self._status_name(new))]
        if name == "priority":
            priorities = self.settings.priority_map
            return [Change(at, "priority", _mapped(old, priorities), _mapped(new, priorities))]
        if name == "assignee":
            out = [Change(at, "assignee", item.get("from"), item.get("to"))]
            old_group = self.group_of({"assignee": {"accountId": item.get("from")}})
            new_group = self.group_of({"assignee": {"accountId": item.get("to")}})
            if old_group != new_group:
                out.append(Change(at, "group", old_group, new_group))
            return out
        if name in ("components", "component"):
            old_group = self.group_of({"components": [{"name": old}]}) if old else None
            new_group = self.group_of({"components": [{"name": new}]}) if new else None
            if old_group != new_group:
                return [Change(at, "group", old_group, new_group)]
        return []

    def _status_name(self, name: str | None) -> str | None:
        if name is None:
            return None
        try:
            return str(self.status(name, self.status_category(name)))
        except MalformedRecord:
            return name  # an unmapped historic status is kept as it was named


def _mapped(name: str | None, table: Mapping[str, Priority]) -> str | None:
    return str(table[name]) if name is not None and name in table else name
