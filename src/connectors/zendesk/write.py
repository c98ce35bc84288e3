"""Actions for one ticket → as few ``PUT /api/v2/tickets/{id}`` bodies as Zendesk allows.

One PUT carries priority, group, assignee, tags and one comment; only a second comment needs a
second PUT. On this endpoint ``tags`` replaces the whole list and ``additional_tags``/
``remove_tags`` are ignored (Zendesk's guide "Adding tags to tickets without overwriting existing
tags": they work only on ``update_many``), so the full list is computed from the ticket as read
and sent under ``safe_update`` + ``updated_stamp``: a tag a person added since our read turns
the PUT into a 409 (re-read, re-plan), never into a silent clobber. Pure: no I/O here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.base import ActionResult, ActionStatus, marker_for
from connectors.zendesk.mapping import SIDECAR_METADATA_KEY
from engine.model import (
    Action,
    AddLabels,
    Assign,
    CreateLinkedIssue,
    Notify,
    PostComment,
    RemoveLabels,
    SetPriority,
    Ticket,
)


@dataclass(slots=True)
class TicketWrite:
    """One PUT: its ``ticket`` body and the actions it carries."""

    body: dict[str, Any]
    actions: list[Action] = field(default_factory=list)
    comment: PostComment | None = None


@dataclass(slots=True)
class WritePlan:
    writes: list[TicketWrite]
    results: dict[str, ActionResult]  # decided without a call: ALREADY or FAILED


def shows(ticket: Ticket, action: Action) -> bool:
    """Does ``ticket`` already show what ``action`` would write?"""
    if isinstance(action, SetPriority):
        return ticket.priority is action.priority
    if isinstance(action, AddLabels):
        return all(label in ticket.labels for label in action.labels)
    if isinstance(action, RemoveLabels):
        return not any(label in ticket.labels for label in action.labels)
    if isinstance(action, Assign):
        group_ok = action.group is None or ticket.group == action.group
        user_ok = action.user is None or ticket.assignee == action.user
        return group_ok and user_ok
    if isinstance(action, PostComment):
        return any(c.marker == action.key for c in ticket.comments)
    return False


def plan_writes(  # noqa: PLR0912
    ticket: Ticket,
    actions: Sequence[Action],
    *,
    group_id: Callable[[str], int | None],
) -> WritePlan:
    results: dict[str, ActionResult] = {}
    fields: dict[str, Any] = {}
    carried: list[Action] = []
    comments: list[PostComment] = []
    add: dict[str, None] = {}  # ordered sets
    remove: dict[str, None] = {}
    for action in actions:
        if isinstance(action, Notify | CreateLinkedIssue):
            results[action.key] = ActionResult(
                action.key,
                ActionStatus.FAILED,
                f"{action.kind} is not a Zendesk write; route it to "
                f"{'the notifier' if isinstance(action, Notify) else 'the issue tracker'}",
            )
            continue
        if shows(ticket, action):
            already = next(
                (
                    c.id
                    for c in ticket.comments
                    if isinstance(action, PostComment) and c.marker == action.key
                ),
                None,
            )
            results[action.key] = ActionResult(
                action.key, ActionStatus.ALREADY, "the ticket already shows it", already
            )
            continue
        if isinstance(action, SetPriority):
            fields["priority"] = str(action.priority)
        elif isinstance(action, AddLabels):
            for label in action.labels:
                if label not in ticket.labels:
                    add[label] = None
                remove.pop(label, None)
        elif isinstance(action, RemoveLabels):
            for label in action.labels:
                if label in ticket.labels:
                    remove[label] = None
                add.pop(label, None)
        elif isinstance(action, Assign):
            if action.group is not None and ticket.group != action.group:
                gid = group_id(action.group)
                if gid is None:
                    results[action.key] = ActionResult(
                        action.key, ActionStatus.FAILED, f"no Zendesk group named {action.group!r}"
                    )
                    continue
                fields["group_id"] = gid
            if action.user is not None and ticket.assignee != action.user:
                if action.user.isdigit():
                    fields["assignee_id"] = int(action.user)
                else:
                    fields["assignee_email"] = action.user
        elif isinstance(action, PostComment):
            comments.append(action)
            continue
        carried.append(action)
    if add or remove:
        kept = [label for label in sorted(ticket.labels) if label not in remove]
        fields["tags"] = kept + [label for label in add if label not in ticket.labels]
    writes: list[TicketWrite] = []
    if fields or comments:
        first = comments[0] if comments else None
        writes.append(_write(fields, carried + ([first] if first else []), first))
        writes.extend(_write({}, [c], c) for c in comments[1:])
    elif carried:  # every change was already cancelled out (e.g. add then remove): nothing to send
        for action in carried:
            results[action.key] = ActionResult(
                action.key, ActionStatus.ALREADY, "the ticket already shows it"
            )
    return WritePlan(writes, results)


def _write(
    fields: dict[str, Any], actions: list[Action], comment: PostComment | None
) -> TicketWrite:
    body = dict(fields)
    custom: dict[str, Any] = {}
    if comment is not None:
        # public sent explicitly: Zendesk otherwise carries the ticket's first comment's value
        body["comment"] = {"body": comment.body, "public": bool(comment.public)}
        custom["marker"] = marker_for(comment.key)
    # audit metadata: invisible to agents and customers, returned with the audit and comment
    body["metadata"] = {SIDECAR_METADATA_KEY: custom}
    return TicketWrite(body=body, actions=actions, comment=comment)
