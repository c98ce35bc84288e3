"""Jira as home of linked issues (the ``ENG`` project): created once, read back until resolved."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from connectors.base import ActionResult, ActionStatus, marker_for
from connectors.errors import ConflictError, ConnectorError, FatalError, NotFoundError
from connectors.jira import adf
from connectors.jira.client import JiraClient
from connectors.jira.cursor import parse_jira_time
from connectors.jira.mapping import MARKER_PROPERTY, marker_of
from connectors.jira.settings import Settings
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


class LinkedIssues:
    def __init__(self, client: JiraClient, settings: Settings) -> None:
        self._client = client
        self._settings = settings

    def create(self, origin: Ticket, action: CreateLinkedIssue) -> ActionResult:
        key: str | None = None
        try:
            key = self._existing(action)
            status = ActionStatus.ALREADY
            if key is None:
                key = str(
                    self._client.create_issue(self._fields(action), self._props(origin, action))[
                        "key"
                    ]
                )
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

    def read(self, keys: Sequence[str]) -> list[LinkedIssue]:
        out: list[LinkedIssue] = []
        for key in keys:
            try:
                raw = self._client.issue(
                    key,
                    fields=["status", "resolutiondate", "statuscategorychangedate"],
                    expand=None,
                    properties=MARKER_PROPERTY,
                )
            except NotFoundError:
                continue  # deleted or moved out of reach: nothing to learn from it
            out.append(self._linked(raw))
        return out

    # -- parts ---------------------------------------------------------------------------
    def _existing(self, action: CreateLinkedIssue) -> str | None:
        """An issue created by an earlier attempt of this action (crash before record)."""
        jql = (
            f'project = "{action.project}" AND labels = "{link_label(action.key)}" ORDER BY key ASC'
        )
        page = self._client.search_page(jql, token=None, max_results=1, fields=["labels"])
        issues = page.get("issues") or []
        return str(issues[0]["key"]) if issues else None

    def _fields(self, action: CreateLinkedIssue) -> dict[str, Any]:
        linked = self._settings.linked_issue
        return {
            "project": {"key": action.project},
            "issuetype": {"name": linked.issue_type},
            "summary": action.summary[:255],
            "description": adf.to_adf(action.description),
            "priority": {"name": self._settings.priority_names[action.priority]},
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
