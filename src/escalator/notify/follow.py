"""A page follows its ticket: acknowledged when a person takes it up, resolved when it is solved.

Pure: from the ticket and what was already done for it, the follow-up actions now due. Each is
a ``Notify`` whose key is the page's key plus ``~acknowledge`` or ``~resolve``, so it goes
through the same ledger (recorded before and after) and is sent once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from engine.model import Action, Assign, Notify, RemoveLabels, Status, Ticket
from engine.policy import STEP_DOWN
from escalator.notify.delivery import FollowUp

SEPARATOR = "~"
STEPS: tuple[FollowUp, ...] = ("acknowledge", "resolve")
_DONE = (Status.SOLVED, Status.CLOSED)
_STEP_DOWN = f":{STEP_DOWN}:"


def follow_key(page_key: str, step: FollowUp) -> str:
    return f"{page_key}{SEPARATOR}{step}"


def split_follow_key(key: str) -> tuple[str, FollowUp] | None:
    """``(page key, step)`` for a follow-up's key; None for any other key."""
    base, sep, step = key.rpartition(SEPARATOR)
    if not sep or step not in STEPS:
        return None
    return base, "acknowledge" if step == "acknowledge" else "resolve"


def _raised(done: Sequence[Action], paging_channels: Collection[str]) -> list[Notify]:
    """The pages the sidecar raised (not their follow-ups) and not yet resolved."""
    keys = {a.key for a in done}
    return [
        page
        for page in done
        if isinstance(page, Notify)
        and page.channel in paging_channels
        and split_follow_key(page.key) is None
        and follow_key(page.key, "resolve") not in keys
    ]


def open_pages(
    ticket: Ticket, done: Sequence[Action], paging_channels: Collection[str]
) -> list[Notify]:
    """Pages about an open ticket not yet acknowledged or resolved: those worth asking the
    channel about (a person may have acknowledged one there)."""
    if ticket.status in _DONE:
        return []
    keys = {a.key for a in done}
    return [
        page
        for page in _raised(done, paging_channels)
        if follow_key(page.key, "acknowledge") not in keys
    ]


def follow_ups(
    ticket: Ticket,
    done: Sequence[Action],
    paging_channels: Collection[str],
    acknowledged: Mapping[str, datetime] | None = None,
) -> list[Notify]:
    """The acknowledge/resolve actions due now for the pages raised about ``ticket``.
    ``acknowledged``: page key -> when the channel was seen to show it acknowledged by a
    person; recorded as the acknowledgement, which stops the level's repeats."""
    keys = {a.key for a in done}
    own_assignees = {a.user for a in done if isinstance(a, Assign) and a.user}
    due: list[Notify] = []
    for page in _raised(done, paging_channels):
        if ticket.status in _DONE:
            due.append(_follow(page, "resolve", _solved_at(ticket)))
            continue
        stood_down_at = _stood_down_at(page, done)
        if stood_down_at is not None:  # the level de-escalated below the page's: no longer needed
            due.append(_follow(page, "resolve", stood_down_at))
            continue
        acknowledge = follow_key(page.key, "acknowledge")
        taken_at = _taken_up_at(ticket, page.at, own_assignees)
        seen_at = (acknowledged or {}).get(page.key)
        if seen_at is not None:
            taken_at = seen_at if taken_at is None else min(taken_at, seen_at)
        if acknowledge not in keys and taken_at is not None:
            due.append(_follow(page, "acknowledge", taken_at))
    return due


def _follow(page: Notify, step: FollowUp, at: datetime) -> Notify:
    # level None: a follow-up never counts as reaching a level in the planner's memory
    return replace(page, key=follow_key(page.key, step), at=max(at, page.at), level=None)


def _stood_down_at(page: Notify, done: Sequence[Action]) -> datetime | None:
    """When a step-down took the ticket below the page's level (its marker: the step's
    ``…:step_down:remove_labels``, whose level is the level stepped down to)."""
    if page.level is None:
        return None
    for action in done:
        if (
            isinstance(action, RemoveLabels)
            and action.level is not None
            and action.level < page.level
            and action.at >= page.at
            and _STEP_DOWN in action.key
        ):
            return action.at
    return None


def _solved_at(ticket: Ticket) -> datetime:
    changes = [c.at for c in ticket.history if c.field == "status" and c.new in _DONE]
    return changes[-1] if changes else ticket.updated_at


def _taken_up_at(ticket: Ticket, since: datetime, own_assignees: set[str]) -> datetime | None:
    """When a person took the ticket up after the page: a public agent reply, or the
    assignee changing to someone the sidecar did not assign."""
    instants = [c.at for c in ticket.comments if c.is_agent_reply and c.at >= since]
    instants += [
        c.at
        for c in ticket.history
        if c.field == "assignee" and c.new and c.new not in own_assignees and c.at >= since
    ]
    return min(instants) if instants else None
