"""Replays a timeline through the planner with exact, event-driven time.

Between two events nothing changes but the SLA clocks, so the next instant anything can happen
is the earliest of: the next event, the next ticket created, and each ticket's ``next_due``. The
simulation jumps from one such instant to the next and plans there, so each action is stamped
at the second its condition first holds. Events at an instant are applied before planning.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.calendar import from_epoch, to_epoch
from engine.criteria import Population
from engine.model import (
    Action,
    Change,
    Comment,
    Decision,
    Plan,
    Priority,
    Status,
    Ticket,
    TicketPlan,
    apply_action,
)
from engine.planner import plan_ticket
from engine.policy import Policy
from engine.settle import UnsettledError, settle

PERSON_FIELDS = frozenset(
    {
        "status",
        "priority",
        "labels",
        "category",
        "customer_tier",
        "affected_users",
        "assignee",
        "group",
        "title",
        "organization",
    }
)
_TRACKED = frozenset({"status", "priority", "group", "assignee"})


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """Something a person or another system did to a ticket at ``at``."""

    at: datetime
    ticket: str  # Ticket.key
    comment: Comment | None = None
    changes: Mapping[str, Any] = field(default_factory=dict)
    linked_issue_resolved: bool = False


@dataclass(slots=True)
class SimulationResult:
    actions: list[Action]  # written, in order
    satisfied: list[Action]  # decided, already shown by the ticket
    decisions: list[Decision]
    tickets: dict[str, Ticket]  # final state, by key
    plans: dict[str, TicketPlan]  # the state at ``until``, by key


class SimulationError(ValueError):
    pass


def simulate(
    policy: Policy,
    tickets: Sequence[Ticket],
    events: Sequence[TicketEvent],
    until: datetime,
    *,
    max_steps: int = 1_000_000,
) -> SimulationResult:
    keys = [t.key for t in tickets]
    if len(set(keys)) != len(keys):
        raise SimulationError("ticket ids must be unique")
    end = to_epoch(until)
    population = Population(tickets)
    by_key = {t.key: t for t in tickets}
    for e in events:
        if e.ticket not in by_key:
            raise SimulationError(f"event at {e.at.isoformat()} names unknown ticket {e.ticket!r}")
        if e.at < by_key[e.ticket].created_at:
            raise SimulationError(
                f"event at {e.at.isoformat()} on {e.ticket} is before the ticket was created"
            )
    # one queue of instants: (time, order, kind, payload); kind 0 = create, 1 = event, 2 = due
    queue: list[tuple[int, int, int, str, int]] = []
    for i, t in enumerate(tickets):
        heapq.heappush(queue, (to_epoch(t.created_at), 0, i, t.key, -1))
    for i, e in enumerate(sorted(events, key=lambda e: e.at)):
        heapq.heappush(queue, (to_epoch(e.at), 1, i, e.ticket, i))
    ordered_events = sorted(events, key=lambda e: e.at)

    live: dict[str, Ticket] = {}
    applied: dict[str, list[Action]] = {}
    due: dict[str, int] = {}
    result = SimulationResult([], [], [], live, {})
    steps = 0
    while queue and queue[0][0] <= end:
        now = queue[0][0]
        dirty: set[str] = set()
        while queue and queue[0][0] == now:
            _, kind, _, key, index = heapq.heappop(queue)
            if kind == 0:
                live[key] = by_key[key]
            elif kind == 1:
                live[key] = apply_event(live[key], ordered_events[index])
            elif due.get(key) != now:
                continue  # a stale wake-up: the ticket changed since it was scheduled
            dirty.add(key)
        for key in sorted(dirty):
            steps += 1
            if steps > max_steps:
                raise SimulationError(f"gave up after {max_steps} planning steps")
            next_due = _settle(policy, key, live, applied, now, population, result)
            if next_due is not None and next_due <= end:
                due[key] = next_due
                heapq.heappush(queue, (next_due, 2, 0, key, -1))
            else:
                due.pop(key, None)
    for key, ticket in live.items():
        result.plans[key] = plan_ticket(policy, ticket, applied.get(key, ()), end, population)
    return result


def _settle(
    policy: Policy,
    key: str,
    live: dict[str, Ticket],
    applied: dict[str, list[Action]],
    now: int,
    population: Population,
    result: SimulationResult,
) -> int | None:
    """Plan one ticket at ``now`` and settle it there; the ticket's next due instant."""

    def one(_: Collection[str] = ()) -> Plan:
        p = plan_ticket(policy, live[key], applied.get(key, ()), now, population)
        return Plan(from_epoch(now), (p,))

    def carry_out(plan: Plan) -> set[str]:
        changed: set[str] = set()
        for p in plan.tickets:
            if not p.actions and not p.satisfied:
                continue
            done = applied.setdefault(p.ticket, [])
            done.extend(p.actions)
            done.extend(p.satisfied)
            result.actions.extend(p.actions)
            result.satisfied.extend(p.satisfied)
            result.decisions.extend(p.decisions)
            ticket = live[p.ticket]
            for action in p.actions:
                ticket = apply_action(ticket, action)
            live[p.ticket] = ticket
            changed.add(p.ticket)
        return changed

    try:
        settled = settle(one(), carry_out, one)
    except UnsettledError as exc:
        raise SimulationError(f"{key}: the plan did not settle at one instant") from exc
    return settled.tickets[0].due_epoch


def apply_event(ticket: Ticket, event: TicketEvent) -> Ticket:
    """A person's change (or another system's) to the simulated ticket."""
    updates: dict[str, Any] = {"updated_at": event.at}
    history = list(ticket.history)
    for name, raw in event.changes.items():
        value = _person_value(name, raw)
        if name in _TRACKED:
            old = getattr(ticket, name)
            history.append(Change(event.at, name, _text(old), _text(value)))
        updates[name] = value
    if event.comment is not None:
        updates["comments"] = (*ticket.comments, event.comment)
    if event.linked_issue_resolved:
        updates["linked_issues"] = tuple(
            dataclasses.replace(i, resolved_at=i.resolved_at or event.at)
            for i in ticket.linked_issues
        )
    updates["history"] = tuple(history)
    return dataclasses.replace(ticket, **updates)


def _person_value(name: str, raw: Any) -> Any:
    if name not in PERSON_FIELDS:
        raise SimulationError(f"cannot set {name!r}; settable: {sorted(PERSON_FIELDS)}")
    if name == "status":
        return Status(raw)
    if name == "priority":
        return Priority(raw)
    if name == "labels":
        return frozenset(raw or ())
    return raw


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
