"""What of a decided action the ticket already shows: the planner writes only the rest, and
records an action the ticket shows all of as satisfied (never written)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from engine.model import (
    Action,
    AddLabels,
    Assign,
    Comment,
    CreateLinkedIssue,
    LinkedIssue,
    Notify,
    PostComment,
    RemoveLabels,
    SetPriority,
    Ticket,
)

# the part of an action still to write, or None when the ticket shows all of it
Unshown = Callable[[Any, Ticket], Action | None]


def _labels_to_add(action: AddLabels, ticket: Ticket) -> Action | None:
    shown = ticket.labels
    if not action.labels:
        return None
    if not shown or shown.isdisjoint(action.labels):
        return action
    missing = tuple(label for label in action.labels if label not in shown)
    return _with_labels(action, missing) if missing else None


def _labels_to_remove(action: RemoveLabels, ticket: Ticket) -> Action | None:
    shown = ticket.labels
    if not shown or shown.isdisjoint(action.labels):
        return None
    return _with_labels(action, tuple(label for label in action.labels if label in shown))


def _with_labels(action: AddLabels | RemoveLabels, labels: tuple[str, ...]) -> Action:
    """``action`` for ``labels`` only (itself when that is all of them)."""
    if labels == action.labels:
        return action
    return type(action)(
        key=action.key,
        ticket=action.ticket,
        rule=action.rule,
        at=action.at,
        level=action.level,
        labels=labels,
    )


def _marked(things: Iterable[Comment | LinkedIssue], key: str) -> bool:
    """One of ``things`` carries the marker of the action keyed ``key``: it was written."""
    for thing in things:  # noqa: SIM110 - a plain loop: it runs for each comment decided
        if thing.marker == key:
            return True
    return False


def _comment(action: PostComment, ticket: Ticket) -> Action | None:
    return None if _marked(ticket.comments, action.key) else action


def _assignment(action: Assign, ticket: Ticket) -> Action | None:
    same_group = action.group is None or action.group == ticket.group
    same_user = action.user is None or action.user == ticket.assignee
    return None if same_group and same_user else action


def _priority(action: SetPriority, ticket: Ticket) -> Action | None:
    return None if ticket.priority == action.priority else action


def _linked_issue(action: CreateLinkedIssue, ticket: Ticket) -> Action | None:
    return None if _marked(ticket.linked_issues, action.key) else action


def _notification(action: Notify, ticket: Ticket) -> Action | None:
    return action  # the ticket shows nothing of a notification


_BY_KIND: dict[type[Any], Unshown] = {
    AddLabels: _labels_to_add,
    RemoveLabels: _labels_to_remove,
    PostComment: _comment,
    Assign: _assignment,
    SetPriority: _priority,
    CreateLinkedIssue: _linked_issue,
    Notify: _notification,
}
# by exact type, subclasses (texts rendered later) included: found once, then one lookup
_BY_TYPE: dict[type[Any], Unshown] = dict(_BY_KIND)


def unshown_of(kind: type[Any]) -> Unshown:
    """The function that says what of a ``kind`` action a ticket does not show yet."""
    found = _BY_TYPE.get(kind)
    if found is None:
        found = next(_BY_KIND[base] for base in kind.__mro__ if base in _BY_KIND)
        _BY_TYPE[kind] = found
    return found


def sort_action(
    action: Action, ticket: Ticket, actions: list[Action], satisfied: list[Action]
) -> None:
    """A new decision goes to the writes (the part of it the ticket does not show yet), or to
    ``satisfied`` when the ticket shows all of it."""
    # one lookup by exact type rather than a chain of isinstance: every action of a first plan
    needed = (_BY_TYPE.get(type(action)) or unshown_of(type(action)))(action, ticket)
    if needed is None:
        satisfied.append(action)
    else:
        actions.append(needed)
