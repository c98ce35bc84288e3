"""One place that maps a Jira issue (Cloud REST v3 or Data Center v2 JSON) to the common
``Ticket``. Pure: the site's facts (API user, custom fields, customers) come in as callables."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.base import MappingWarning, parse_marker
from connectors.errors import MalformedRecord
from connectors.jira import adf
from connectors.jira.cursor import parse_jira_time
from connectors.jira.fieldvalues import read_count, read_label
from connectors.jira.settings import Settings
from connectors.jira.site import FieldMap, user_id
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


def issue_fields(custom: FieldMap) -> list[str]:
    return [*BASE_FIELDS, *custom.ids()]


def properties_of(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Entity properties as ``{key: value}`` (a list in comments, a dict on issues)."""
    props = raw.get("properties")
    if isinstance(props, list):
        return {str(p.get("key")): p.get("value") for p in props if isinstance(p, dict)}
    return dict(props) if isinstance(props, dict) else {}


def marker_of(raw: Mapping[str, Any]) -> str | None:
    value = properties_of(raw).get(MARKER_PROPERTY)
    return parse_marker(value.get("marker")) if isinstance(value, dict) else None


@dataclass(frozen=True, slots=True)
class Mapped:
    ticket: Ticket
    warnings: tuple[MappingWarning, ...] = ()


def _never(account: str, name: str | None) -> bool:
    return False


def _unrated(key: str, rated_at: str) -> tuple[str | None, str | None]:
    return None, None


@dataclass(slots=True)
class IssueMapper:
    settings: Settings
    sidecar_account: str | None = None  # the API user: whatever it writes is the sidecar's
    status_category: Callable[[str], str | None] = lambda name: None  # for changelog names
    custom: Callable[[], FieldMap] = FieldMap  # the site's custom fields, resolved by name
    is_customer: Callable[[str, str | None], bool] = _never  # on the service desk's list
    # the customer's rating, given the issue key and its "Satisfaction date" (jira/feedback.py)
    satisfaction: Callable[[str, str], tuple[str | None, str | None]] = _unrated
    system: str = "jira"
    source: str = "jira"

    # -- whole issue ---------------------------------------------------------------------
    def ticket(
        self, issue: Mapping[str, Any], comments: Sequence[Mapping[str, Any]] | None = None
    ) -> Ticket:
        return self.map(issue, comments).ticket

    def map(
        self,
        issue: Mapping[str, Any],
        comments: Sequence[Mapping[str, Any]] | None = None,
        histories: Sequence[Mapping[str, Any]] | None = None,
    ) -> Mapped:
        """The ticket and what was understood only by falling back; MalformedRecord if none."""
        key = issue.get("key")
        warnings: list[MappingWarning] = []
        try:
            ticket = self._ticket(issue, comments, histories, warnings)
        except MalformedRecord:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MalformedRecord(
                f"issue {key}: {type(exc).__name__}: {exc}", record_id=key, raw=issue
            ) from None
        return Mapped(ticket, tuple(warnings))

    def _ticket(
        self,
        issue: Mapping[str, Any],
        comments: Sequence[Mapping[str, Any]] | None,
        histories: Sequence[Mapping[str, Any]] | None,
        warnings: list[MappingWarning],
    ) -> Ticket:
        key = str(issue["key"])
        f: Mapping[str, Any] = issue["fields"]
        status = f["status"]
        raw_comments = (
            comments if comments is not None else (f.get("comment") or {}).get("comments", [])
        )
        if histories is None:
            histories = (issue.get("changelog") or {}).get("histories") or []
        custom = self.custom()
        return Ticket(
            system=self.system,
            id=key,
            created_at=parse_jira_time(f["created"]),
            updated_at=parse_jira_time(f["updated"]),
            status=self.status(status["name"], (status.get("statusCategory") or {}).get("key")),
            priority=self.priority((f.get("priority") or {}).get("name"), key, warnings),
            title=str(f.get("summary") or ""),
            url=f"{self.settings.issue_browse_base}/browse/{key}",
            requester=user_id(f.get("reporter")),
            organization=read_label(f, custom.organization),
            assignee=user_id(f.get("assignee")),
            group=self.group_of(f),
            labels=frozenset(str(label) for label in f.get("labels") or []),
            category=self._label(f, custom, "category", key, warnings),
            customer_tier=self._label(f, custom, "customer_tier", key, warnings),
            affected_users=self._count(f, custom, key, warnings),
            comments=tuple(sorted((self.comment(c) for c in raw_comments), key=lambda c: c.at)),
            history=self.history(histories, user_keys(f, raw_comments, histories)),
            satisfaction=self._rating(key, f, custom, warnings),
        )

    # -- single values -------------------------------------------------------------------
    def _rating(
        self, key: str, f: Mapping[str, Any], custom: FieldMap, warnings: list[MappingWarning]
    ) -> str | None:
        rated_at = f.get(custom.satisfaction_date.id) if custom.satisfaction_date else None
        if not rated_at:
            return None
        value, refused = self.satisfaction(key, str(rated_at))
        if refused is not None:
            warnings.append(MappingWarning(self.source, key, "satisfaction", refused))
        return value

    def status(self, name: str, category: str | None) -> Status:
        by_name = {k.casefold(): v for k, v in self.settings.status_map.items()}
        if name.casefold() in by_name:
            return by_name[name.casefold()]
        if category in self.settings.status_category_map:
            return self.settings.status_category_map[category]
        raise MalformedRecord(f"status {name!r} (category {category!r}) is not mapped")

    def priority(
        self, name: str | None, key: str | None, warnings: list[MappingWarning]
    ) -> Priority:
        """Mapped, or the configured default with a warning: an odd name never drops a ticket."""
        if name is None:
            return self.settings.default_priority
        if name in self.settings.priority_map:
            return self.settings.priority_map[name]
        fallback = self.settings.default_priority
        message = f"priority {name!r} is not mapped: read as {fallback}"
        warnings.append(MappingWarning(self.source, key, "priority", message))
        return fallback

    def group_of(self, fields: Mapping[str, Any]) -> str | None:
        components = {c.get("name") for c in fields.get("components") or []}
        assignee = user_id(fields.get("assignee"))
        for group, target in self.settings.groups.items():
            if target.component and target.component in components:
                return group
        for group, target in self.settings.groups.items():
            if target.assignee and target.assignee == assignee:
                return group
        return None

    def _label(
        self,
        fields: Mapping[str, Any],
        custom: FieldMap,
        name: str,
        key: str,
        warnings: list[MappingWarning],
    ) -> str | None:
        try:
            return read_label(fields, getattr(custom, name))
        except ValueError as exc:  # a value of the wrong type: the ticket goes on without it
            warnings.append(MappingWarning(self.source, key, name, str(exc)))
            return None

    def _count(
        self, fields: Mapping[str, Any], custom: FieldMap, key: str, warnings: list[MappingWarning]
    ) -> int | None:
        try:
            return read_count(fields, custom.affected_users)
        except ValueError as exc:
            warnings.append(MappingWarning(self.source, key, "affected_users", str(exc)))
            return None

    # -- comments and history ------------------------------------------------------------
    def comment(self, raw: Mapping[str, Any]) -> Comment:
        author = raw.get("author") or {}
        marker = marker_of(raw)
        internal = properties_of(raw).get(INTERNAL_PROPERTY) or {}
        public = not (
            raw.get("jsdPublic") is False
            or raw.get("public") is False  # the JSM API's own comment shape
            or (isinstance(internal, dict) and internal.get("internal") is True)
            or raw.get("visibility")
        )
        return Comment(
            at=parse_jira_time(raw["created"]),
            author_role=self.role(author, marker),
            public=public,
            body=adf.to_text(raw.get("body")),
            id=str(raw["id"]),
            author_id=user_id(author),
            marker=marker,
        )

    def role(self, author: Mapping[str, Any], marker: str | None = None) -> AuthorRole:
        """From identity only, never from position (a licensed reporter is still an agent)."""
        account = user_id(author)
        kind = author.get("accountType")
        if marker is not None or (account is not None and account == self.sidecar_account):
            return AuthorRole.SIDECAR
        if kind in self.settings.bot_account_types or account in self.settings.bot_account_ids:
            return AuthorRole.BOT
        if kind in self.settings.customer_account_types:
            return AuthorRole.CUSTOMER
        if account is not None and self.is_customer(account, author.get("displayName")):
            return AuthorRole.CUSTOMER
        if self.settings.agent_account_ids:
            agents = self.settings.agent_account_ids
            return AuthorRole.AGENT if account in agents else AuthorRole.CUSTOMER
        return AuthorRole.AGENT

    def history(
        self, histories: Sequence[Mapping[str, Any]], keys: Mapping[str, str] | None = None
    ) -> tuple[Change, ...]:
        """Tracked changes; ``keys`` turns Data Center user keys in items into usernames."""
        changes: list[Change] = []
        for entry in sorted(histories, key=lambda h: parse_jira_time(h["created"])):
            at = parse_jira_time(entry["created"])
            for item in entry.get("items") or []:
                if str(item.get("field") or "").casefold() == "labels":
                    # who labelled: an agent's escalation request names its requester
                    old, new = item.get("fromString"), item.get("toString")
                    by = user_id(entry.get("author"))
                    changes.append(Change(at, "labels", old, new, by=by))
                    continue
                changes.extend(self._changes(at, item, keys or {}))
        return tuple(changes)

    def _changes(self, at: Any, item: Mapping[str, Any], keys: Mapping[str, str]) -> list[Change]:
        name = str(item.get("fieldId") or item.get("field") or "").casefold()
        old, new = item.get("fromString"), item.get("toString")
        if name == "status":
            return [Change(at, "status", self._status_name(old), self._status_name(new))]
        if name == "priority":
            priorities = self.settings.priority_map
            return [Change(at, "priority", _mapped(old, priorities), _mapped(new, priorities))]
        if name == "assignee":
            before = _user_named(item.get("from"), keys)
            after = _user_named(item.get("to"), keys)
            out = [Change(at, "assignee", before, after)]
            old_group = self._group_of_user(before)
            new_group = self._group_of_user(after)
            if old_group != new_group:
                out.append(Change(at, "group", old_group, new_group))
            return out
        if name in ("components", "component"):
            old_group = self.group_of({"components": [{"name": old}]}) if old else None
            new_group = self.group_of({"components": [{"name": new}]}) if new else None
            if old_group != new_group:
                return [Change(at, "group", old_group, new_group)]
        return []

    def _group_of_user(self, account: str | None) -> str | None:
        return self.group_of({"assignee": {"accountId": account}} if account else {})

    def _status_name(self, name: str | None) -> str | None:
        if name is None:
            return None
        try:
            return str(self.status(name, self.status_category(name)))
        except MalformedRecord:
            return name  # an unmapped historic status is kept as it was named


def user_keys(
    fields: Mapping[str, Any],
    comments: Sequence[Mapping[str, Any]],
    histories: Sequence[Mapping[str, Any]],
) -> dict[str, str]:
    """Data Center user key -> username for every person the payload shows (changelog items
    name people by key; the rest of the API, and our settings, by username)."""
    people = [fields.get("assignee"), fields.get("reporter")]
    people += [c.get("author") for c in comments] + [h.get("author") for h in histories]
    out: dict[str, str] = {}
    for person in people:
        if isinstance(person, dict) and person.get("key") and person.get("name"):
            out[str(person["key"])] = str(person["name"])
    return out


def _user_named(ident: Any, keys: Mapping[str, str]) -> str | None:
    return None if ident is None else keys.get(str(ident), str(ident))


def _mapped(name: str | None, table: Mapping[str, Priority]) -> str | None:
    return str(table[name]) if name is not None and name in table else name
