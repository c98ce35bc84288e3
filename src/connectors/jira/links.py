"""Jira as home of linked issues (the ``ENG`` project): created once, read back until resolved."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import ActionResult, ActionStatus, marker_for
from connectors.errors import ConflictError, ConnectorError, FatalError
from connectors.jira import adf
from connectors.jira.client import JiraClient
from connectors.jira.cursor import jql_minute, parse_jira_time
from connectors.jira.http_errors import RequestRejected
from connectors.jira.mapping import MARKER_PROPERTY, marker_of
from connectors.jira.settings import Settings
from connectors.jira.site import SiteFacts
from engine.model import CreateLinkedIssue, LinkedIssue, Status, Ticket


def link_label(action_key: str) -> str:
    """A label only this action's issue carries: JQL can find it (issue properties it cannot)."""
    return "sidecar-" + hashlib.sha256(action_key.encode()).hexdigest()[:20]


def remote_link(origin: Ticket, relationship: str) -> dict[str, Any]:
    """The link back; its ``globalId`` is deterministic so re-posting updates it in place."""
    return {
        "globalId": f"system={origin.system}&id={origin.id}",
        "application": {"type": f"com.{origin.system}", "name": origin.system.capitalize()},
        "relationship": relationship,
        "object": {
            "url": origin.url,
            "title": origin.key,
            "summary": origin.title[:255],
            "status": {"resolved": origin.status in (Status.SOLVED, Status.CLOSED)},
        },
    }


_MISSING_KEY = re.compile(r"An issue with key '([^']+)' does not exist")
LINKED_FIELDS = ["status", "resolutiondate", "statuscategorychangedate"]
KEYS_PER_QUERY = 100  # keeps the JQL (and the GET's URL) well inside Jira's limits


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LinkedIssues:
    """Creates issues once; reads them back in one JQL search per cycle: the keys never read
    before, and of the rest only those updated since the last read (the others are cached)."""

    def __init__(
        self,
        client: JiraClient,
        settings: Settings,
        site: SiteFacts,
        *,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._client = client
        self._settings = settings
        self._site = site
        self._now = now
        self._lock = threading.Lock()
        self._known: dict[str, LinkedIssue] = {}
        self._read_at: datetime | None = None
        self._checked: dict[str, str | None] = {}  # action key -> issue found by ``prepare``
        self._gone: set[str] = set()  # keys Jira said do not exist (deleted): not asked again

    def create(self, origin: Ticket, action: CreateLinkedIssue) -> ActionResult:
        key: str | None = None
        try:
            key = self._existing(action)
            status = ActionStatus.ALREADY
            if key is None:
                made = self._client.create_issue(
                    self._fields(action),
                    self._props(origin, action),
                    landed=lambda: self._labelled(action),  # a retry after a lost answer
                )
                key = str(made["key"])
                status = ActionStatus.APPLIED
            if origin.url:  # re-posted every time: heals a crash between create and link
                link = remote_link(origin, self._settings.linked_issue.relationship)
                self._client.upsert_remote_link(key, link)
        except FatalError:
            raise
        except ConflictError as exc:
            return ActionResult(action.key, ActionStatus.CONFLICT, str(exc), key)
        except ConnectorError as exc:
            return ActionResult(action.key, ActionStatus.FAILED, str(exc), key)
        detail = "" if origin.url else "origin has no url: no remote link"
        return ActionResult(action.key, status, detail, key)

    def prepare(self, actions: Sequence[CreateLinkedIssue]) -> None:
        """The duplicate check of a batch of creates in one JQL search per project (``labels
        in (...)``), remembered for each action's ``create``; one search instead of one each."""
        by_project: dict[str, list[CreateLinkedIssue]] = {}
        for action in actions:
            by_project.setdefault(action.project, []).append(action)
        for project, batch in by_project.items():
            for i in range(0, len(batch), KEYS_PER_QUERY):
                part = batch[i : i + KEYS_PER_QUERY]
                labels = {link_label(a.key): a.key for a in part}
                jql = (
                    f'project = "{project}" AND labels in '
                    f"({', '.join(sorted(labels))}) ORDER BY key ASC"
                )
                found: dict[str, str] = {}
                for raw in self._search_all(jql, ["labels"]):
                    for label in (raw.get("fields") or {}).get("labels") or []:
                        if label in labels:
                            found.setdefault(labels[label], str(raw["key"]))
                with self._lock:
                    self._checked.update({a.key: found.get(a.key) for a in part})

    def read(self, keys: Sequence[str]) -> list[LinkedIssue]:
        with self._lock:
            started = self._now()
            fresh = sorted({k for k in keys if k not in self._known and k not in self._gone})
            cached = sorted({k for k in keys if k in self._known})
            step = KEYS_PER_QUERY
            batches = [(fresh[i : i + step], "") for i in range(0, len(fresh), step)]
            if cached and self._read_at is not None:
                since = self._read_at - timedelta(seconds=self._settings.overlap_seconds)
                changed = f' AND updated >= "{jql_minute(since, self._site.time_zone)}"'
                batches += [(cached[i : i + step], changed) for i in range(0, len(cached), step)]
            for batch, extra in batches:
                for raw in self._search_keys(batch, extra):
                    linked = self._linked(raw)
                    self._known[linked.key] = linked
            self._read_at = started
            return [self._known[k] for k in keys if k in self._known]

    def _search_keys(self, keys: Sequence[str], extra: str) -> list[dict[str, Any]]:
        """Jira refuses a whole ``key in (...)`` naming one deleted issue: drop those, ask again."""
        wanted = list(keys)
        while wanted:
            try:
                return self._search_all(f"key in ({', '.join(wanted)}){extra} ORDER BY key ASC")
            except RequestRejected as exc:
                gone = set(_MISSING_KEY.findall(str(exc))) & set(wanted)
                if not gone:
                    raise
                self._gone |= gone
                wanted = [k for k in wanted if k not in gone]
        return []

    def _search_all(self, jql: str, fields: list[str] = LINKED_FIELDS) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self._settings.is_cloud:
            token: str | None = None
            while True:
                page = self._client.search_page(
                    jql, token=token, max_results=KEYS_PER_QUERY, fields=fields,
                    properties=MARKER_PROPERTY,
                )  # fmt: skip
                out += page.get("issues") or []
                token = page.get("nextPageToken")
                if not token:
                    return out
        while True:
            page = self._client.search_offset(
                jql, start_at=len(out), max_results=KEYS_PER_QUERY, fields=fields
            )
            batch = page.get("issues") or []
            out += batch
            if not batch or len(out) >= int(page.get("total") or 0):
                return out

    # -- parts ---------------------------------------------------------------------------
    def _existing(self, action: CreateLinkedIssue) -> str | None:
        """An issue created by an earlier attempt of this action (crash before record)."""
        with self._lock:
            if action.key in self._checked:  # the batch's one search answered it
                return self._checked.pop(action.key)
        found = self._labelled(action)
        return str(found["key"]) if found else None

    def _labelled(self, action: CreateLinkedIssue) -> dict[str, Any] | None:
        """The issue carrying this action's label, if one exists."""
        jql = (
            f'project = "{action.project}" AND labels = "{link_label(action.key)}" ORDER BY key ASC'
        )
        if self._settings.is_cloud:
            page = self._client.search_page(jql, token=None, max_results=1, fields=["labels"])
        else:
            page = self._client.search_offset(jql, start_at=0, max_results=1, fields=["labels"])
        issues: list[dict[str, Any]] = page.get("issues") or []
        return issues[0] if issues else None

    def _fields(self, action: CreateLinkedIssue) -> dict[str, Any]:
        linked = self._settings.linked_issue
        return {
            "project": {"key": action.project},
            "issuetype": {"name": linked.issue_type},
            "summary": action.summary[:255],
            "description": (
                adf.to_adf(action.description) if self._settings.is_cloud else action.description
            ),  # Data Center (v2) takes wiki text
            "priority": {"name": self._settings.write_priority_names[action.priority]},
            "labels": [*linked.labels, link_label(action.key)],
        }

    @staticmethod
    def _props(origin: Ticket, action: CreateLinkedIssue) -> list[dict[str, Any]]:
        value = {"marker": marker_for(action.key), "origin": origin.key}
        return [{"key": MARKER_PROPERTY, "value": value}]

    def _linked(self, raw: dict[str, Any]) -> LinkedIssue:
        fields = raw.get("fields") or {}
        category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
        resolved = fields.get("resolutiondate")
        if resolved is None and category == "done":
            resolved = fields.get("statuscategorychangedate")
        return LinkedIssue(
            system="jira",
            key=str(raw["key"]),
            url=f"{self._settings.issue_browse_base}/browse/{raw['key']}",
            resolved_at=parse_jira_time(resolved) if resolved and category == "done" else None,
            marker=marker_of(raw),
        )
