"""Apply the engine's actions to one issue: every field change in one PUT, then the comments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.base import ActionResult, ActionStatus, marker_for
from connectors.errors import ConflictError, ConnectorError, FatalError
from connectors.jira import adf
from connectors.jira.client import JiraClient
from connectors.jira.mapping import INTERNAL_PROPERTY, MARKER_PROPERTY
from connectors.jira.settings import Settings
from engine.model import (
    Action,
    AddLabels,
    Assign,
    CreateLinkedIssue,
    PostComment,
    RemoveLabels,
    SetPriority,
    Ticket,
)


@dataclass(slots=True)
class IssueEdit:
    """The one ``PUT /rest/api/3/issue/{key}`` the field actions coalesce into."""

    labels_before: frozenset[str]
    labels: set[str]
    fields: dict[str, Any] = field(default_factory=dict)
    components: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # actions this edit carries

    def body(self) -> dict[str, Any]:
        update: dict[str, Any] = {}
        ops = [{"add": x} for x in sorted(self.labels - self.labels_before)]
        ops += [{"remove": x} for x in sorted(self.labels_before - self.labels)]
        if ops:
            update["labels"] = ops
        if self.components:
            update["components"] = self.components
        body: dict[str, Any] = {}
        if update:
            body["update"] = update
        if self.fields:
            body["fields"] = self.fields
        return body


def comment_properties(action: PostComment) -> list[dict[str, Any]]:
    """The invisible marker, and the JSM internal flag for internal notes."""
    props: list[dict[str, Any]] = [
        {"key": MARKER_PROPERTY, "value": {"marker": marker_for(action.key)}}
    ]
    if not action.public:
        props.append({"key": INTERNAL_PROPERTY, "value": {"internal": True}})
    return props


class IssueWriter:
    def __init__(
        self,
        client: JiraClient,
        settings: Settings,
        *,
        create_linked: Callable[[Ticket, CreateLinkedIssue], ActionResult],
        own_comments: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        self._client = client
        self._settings = settings
        self._create_linked = create_linked
        self._own_comments = own_comments if own_comments is not None else {}

    def apply(self, ticket: Ticket, actions: Sequence[Action]) -> list[ActionResult]:
        results: dict[str, ActionResult] = {}
        edit = IssueEdit(labels_before=ticket.labels, labels=set(ticket.labels))
        comments: list[PostComment] = []
        for action in actions:
            if isinstance(action, PostComment):
                comments.append(action)
            elif isinstance(action, CreateLinkedIssue):
                results[action.key] = self._create_linked(ticket, action)
            elif isinstance(action, AddLabels | RemoveLabels | SetPriority | Assign):
                result = self._plan_field(ticket, edit, action)
                if result is not None:
                    results[action.key] = result
            else:
                results[action.key] = ActionResult(
                    action.key, ActionStatus.FAILED, f"{action.kind} is not written to Jira"
                )
        body = edit.body()
        if body:
            outcome = self._write(lambda: self._client.edit_issue(ticket.id, body))
            for key in edit.keys:
                results[key] = ActionResult(key, outcome[0], outcome[1])
        else:  # the batch cancelled itself out (add then remove a label): nothing to send
            for key in edit.keys:
                results[key] = ActionResult(key, ActionStatus.APPLIED, "net change none")
        for comment in comments:
            results[comment.key] = self._comment(ticket, comment)
        return [results[a.key] for a in actions]

    # -- fields --------------------------------------------------------------------------
    def _plan_field(
        self,
        ticket: Ticket,
        edit: IssueEdit,
        action: AddLabels | RemoveLabels | SetPriority | Assign,
    ) -> ActionResult | None:
        """Fold ``action`` into ``edit``; a result only when it needs no write or cannot be."""
        changed = False
        if isinstance(action, AddLabels | RemoveLabels):
            spaced = [x for x in action.labels if not x or any(c.isspace() for c in x)]
            if spaced:
                return ActionResult(action.key, ActionStatus.FAILED, f"bad Jira labels {spaced}")
            before = set(edit.labels)
            if isinstance(action, AddLabels):
                edit.labels |= set(action.labels)
            else:
                edit.labels -= set(action.labels)
            changed = edit.labels != before
        elif isinstance(action, SetPriority):
            name = self._settings.write_priority_names[action.priority]
            changed = ticket.priority != action.priority
            if changed:
                edit.fields["priority"] = {"name": name}
        else:
            return self._plan_assign(ticket, edit, action)
        if changed:
            edit.keys.append(action.key)
            return None
        return ActionResult(action.key, ActionStatus.ALREADY, "issue already shows it")

    def _plan_assign(self, ticket: Ticket, edit: IssueEdit, action: Assign) -> ActionResult | None:
        changed = False
        if action.user is not None:
            if ticket.assignee != action.user:
                edit.fields["assignee"] = self._person(action.user)
                changed = True
        elif action.group is not None:
            target = self._settings.groups.get(action.group)
            if target is None:
                detail = f"group {action.group!r} has no Jira mapping (settings.groups)"
                return ActionResult(action.key, ActionStatus.FAILED, detail)
            if target.assignee and ticket.assignee != target.assignee:
                edit.fields["assignee"] = self._person(target.assignee)
                changed = True
            if target.component and ticket.group != action.group:
                edit.components.append({"add": {"name": target.component}})
                previous = self._settings.groups.get(ticket.group or "")
                if previous is not None and previous.component not in (None, target.component):
                    edit.components.append({"remove": {"name": previous.component}})
                changed = True
        else:
            return ActionResult(action.key, ActionStatus.FAILED, "assign names no group or user")
        if changed:
            edit.keys.append(action.key)
            return None
        return ActionResult(action.key, ActionStatus.ALREADY, "issue already shows it")

    def _person(self, account: str) -> dict[str, str]:
        """Cloud names a person by ``accountId``; Data Center by username (``name``)."""
        return {"accountId" if self._settings.is_cloud else "name": account}

    # -- comments ------------------------------------------------------------------------
    def _comment(self, ticket: Ticket, action: PostComment) -> ActionResult:
        for existing in ticket.comments:
            if existing.marker == action.key:  # written before a crash: never post twice
                return ActionResult(action.key, ActionStatus.ALREADY, "marker found", existing.id)
        created: list[dict[str, Any]] = []

        # v3 takes an ADF document; Data Center's v2 takes the text (wiki markup) as it is
        body = adf.to_adf(action.body) if self._settings.is_cloud else action.body

        properties = comment_properties(action)

        def post() -> None:
            created.append(self._client.add_comment(ticket.id, body, properties))

        status, detail = self._write(post)
        external = str(created[0].get("id")) if created else None
        if external is not None:
            self._own_comments[external] = properties
        return ActionResult(action.key, status, detail, external)

    @staticmethod
    def _write(call: Callable[[], None]) -> tuple[ActionStatus, str]:
        try:
            call()
        except FatalError:
            raise  # auth or a removed endpoint: the source stops until a person acts
        except ConflictError as exc:
            return ActionStatus.CONFLICT, str(exc)
        except ConnectorError as exc:
            return ActionStatus.FAILED, str(exc)
        return ActionStatus.APPLIED, ""
