"""Why a rule holds or not for one ticket at ``now``: pure introspection for ``explain``.

The planner answers *what* to do; this module answers *why*, with the same context the planner
builds (SLA policy, the priority the SLA follows, the level reached): which conditions of each
rule hold, what each one saw, and when a rule that does not hold would start to hold if nothing
else changed (the criteria's own ``next_at``). No I/O, no clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from engine.calendar import from_epoch, to_epoch
from engine.criteria import (
    AllOf,
    AnyOf,
    Between,
    Context,
    Criterion,
    FieldIn,
    HasLabels,
    LinkedIssueResolved,
    NoneOf,
    Population,
    Recurrence,
    Requested,
    SlaBreached,
    SlaThreshold,
    Surge,
    requested_level,
)
from engine.model import Action, Status, TargetName, Ticket
from engine.planner import Memory, choose_sla_policy, sla_priority
from engine.policy import Policy, Rule, SlaPolicy
from engine.sla import TargetClock, build_clocks, status_spans


@dataclass(frozen=True, slots=True)
class ConditionCheck:
    """One leaf condition of a rule: what it asks, whether it holds and what it saw."""

    condition: str
    holds: bool
    seen: str
    next_at: datetime | None = None  # when time alone makes it hold; None: time won't


@dataclass(frozen=True, slots=True)
class RuleCheck:
    rule: str
    description: str
    holds: bool  # the condition holds at ``now`` (and the status lets the rule be evaluated)
    spent: bool  # it fired before and can decide nothing new
    conditions: tuple[ConditionCheck, ...]  # every leaf, in the order written
    next_at: datetime | None = None  # when the rule would next hold, if it does not now
    escalate_to: int | None = None

    @property
    def failed(self) -> tuple[ConditionCheck, ...]:
        return tuple(c for c in self.conditions if not c.holds)


@dataclass(frozen=True, slots=True)
class Paused:
    start: datetime
    end: datetime
    status: Status


@dataclass(frozen=True, slots=True)
class TargetCheck:
    name: TargetName
    calendar: str
    target_seconds: int
    elapsed_seconds: int
    percent_used: int  # of the target, now (over 100 once breached)
    running: bool
    due: datetime | None
    met_at: datetime | None
    breached_at: datetime | None
    paused: tuple[Paused, ...]  # spans in which the status stopped this target's clock


@dataclass(frozen=True, slots=True)
class TicketCheck:
    ticket: str
    now: datetime
    level: int
    sla_policy: str | None
    sla_priority: str
    zone: str | None  # the SLA calendar's time zone: the ticket's story is told in it
    targets: tuple[TargetCheck, ...]
    rules: tuple[RuleCheck, ...]


def check_ticket(
    policy: Policy,
    ticket: Ticket,
    applied: Sequence[Action],
    now: datetime,
    population: Population | None = None,
) -> TicketCheck:
    """Every rule of ``policy`` and every SLA target of ``ticket`` at ``now``."""
    population = population if population is not None else Population([ticket])
    memory = Memory.of(ticket.key, [a for a in applied if a.at <= now])
    ctx, sla_policy, clocks = _context(policy, ticket, memory, to_epoch(now), population)
    priority = sla_priority(ticket, memory)
    targets = tuple(_target(c, ticket, policy, ctx.now) for c in clocks)
    rules = tuple(_rule(rule, ctx, memory) for rule in policy.rules)
    zone = clocks[0].calendar.zone.key if clocks else None
    return TicketCheck(
        ticket=ticket.key,
        now=now,
        level=memory.level,
        sla_policy=sla_policy.name if sla_policy else None,
        sla_priority=priority.value,
        zone=zone,
        targets=targets,
        rules=rules,
    )


def inputs_at(
    policy: Policy,
    rule: Rule,
    ticket: Ticket,
    applied: Sequence[Action],
    at: datetime,
    population: Population | None = None,
) -> tuple[ConditionCheck, ...]:
    """What each condition of ``rule`` saw at ``at``, on the ticket as it was then."""
    population = population if population is not None else Population([ticket])
    then = ticket_as_of(ticket, at)
    # a level reached at this very instant counts: the planner re-evaluates with it
    memory = Memory.of(ticket.key, [a for a in applied if a.at <= at])
    ctx, _, _ = _context(policy, then, memory, to_epoch(at), population)
    return tuple(_leaves(rule.when, ctx))


def ticket_as_of(ticket: Ticket, at: datetime) -> Ticket:
    """The ticket as it was at ``at``: later comments and changes undone (tracked fields)."""
    history = tuple(c for c in ticket.history if c.at <= at)
    later = [c for c in ticket.history if c.at > at]
    updates: dict[str, object] = {
        "comments": tuple(c for c in ticket.comments if c.at <= at),
        "history": history,
        "linked_issues": tuple(
            dataclasses.replace(i, resolved_at=None)
            if i.resolved_at is not None and i.resolved_at > at
            else i
            for i in ticket.linked_issues
        ),
    }
    for change in later:  # the oldest later change of a field holds the value it had then
        if change.field in updates:
            continue
        if change.field == "status":
            updates["status"] = Status(change.old) if change.old else ticket.status
        elif change.field == "priority" and change.old:
            updates["priority"] = type(ticket.priority)(change.old)
        elif change.field in ("group", "assignee"):
            updates[change.field] = change.old
    return dataclasses.replace(ticket, **updates)  # type: ignore[arg-type]


# -- internals -----------------------------------------------------------------------------------
def _context(
    policy: Policy, ticket: Ticket, memory: Memory, now: int, population: Population
) -> tuple[Context, SlaPolicy | None, list[TargetClock]]:
    ctx = Context(ticket, now, memory.level, population, policy.at_risk_percent)
    sla_policy = choose_sla_policy(policy, ctx)
    priority = sla_priority(ticket, memory)
    clocks: list[TargetClock] = []
    if sla_policy is not None and priority in sla_policy.targets:
        targets = sla_policy.targets[priority]
        clocks = build_clocks(ticket, targets, policy.runs_while, now)
        ctx.make_clocks = lambda: clocks
    return ctx, sla_policy, clocks


def _target(clock: TargetClock, ticket: Ticket, policy: Policy, now: int) -> TargetCheck:
    state = clock.state()
    running = policy.runs_while[clock.name]
    end = to_epoch(state.met_at) if state.met_at is not None else now
    paused = tuple(
        Paused(from_epoch(start), from_epoch(min(stop, end)), status)
        for start, stop, status in status_spans(ticket, now)
        if status not in running and start < end and status not in (Status.SOLVED, Status.CLOSED)
    )
    return TargetCheck(
        name=clock.name,
        calendar=clock.calendar.name,
        target_seconds=clock.target,
        elapsed_seconds=clock.elapsed(),
        percent_used=(100 * clock.elapsed()) // clock.target if clock.target else 0,
        running=clock.running,
        due=state.due,
        met_at=state.met_at,
        breached_at=state.breached_at,
        paused=paused if clock.started else (),
    )


def _rule(rule: Rule, ctx: Context, memory: Memory) -> RuleCheck:
    conditions = list(_leaves(rule.when, ctx))
    gate_ok = ctx.ticket.status in rule.gate
    gate = f"status in {sorted(s.value for s in rule.gate)}"
    if not gate_ok and all(c.condition != gate for c in conditions):
        conditions.insert(0, ConditionCheck(gate, False, f"status={ctx.ticket.status.value}"))
    holds = gate_ok and rule.when.holds(ctx)
    next_at = None
    if not holds and gate_ok:
        at = rule.when.next_at(ctx)
        next_at = from_epoch(at) if at is not None and at > ctx.now else None
    return RuleCheck(
        rule=rule.name,
        description=rule.description,
        holds=holds,
        spent=memory.spent(rule),
        conditions=tuple(conditions),
        next_at=next_at,
        escalate_to=rule.escalate_to,
    )


def _leaves(criterion: Criterion, ctx: Context) -> list[ConditionCheck]:
    if isinstance(criterion, AllOf | AnyOf):
        out: list[ConditionCheck] = []
        for child in criterion.children:
            out.extend(_leaves(child, ctx))
        if isinstance(criterion, AnyOf):  # one line for the alternatives, then each of them
            holding = sum(1 for c in criterion.children if c.holds(ctx))
            out.insert(0, _check(criterion, ctx, f"{holding} of {len(criterion.children)} hold"))
        return out
    return [_check(criterion, ctx, _seen(criterion, ctx))]


def _check(criterion: Criterion, ctx: Context, seen: str) -> ConditionCheck:
    holds = criterion.holds(ctx)
    at = None if holds else criterion.next_at(ctx)
    return ConditionCheck(
        criterion.describe(),
        holds,
        seen,
        from_epoch(at) if at is not None and at > ctx.now else None,
    )


def _seen(criterion: Criterion, ctx: Context) -> str:  # noqa: PLR0911
    """The ticket's input the criterion looks at, as text."""
    t = ctx.ticket
    if isinstance(criterion, FieldIn):
        return f"{criterion.field_name}={getattr(t, criterion.field_name)}"
    if isinstance(criterion, HasLabels):
        return "labels=" + ",".join(sorted(t.labels))
    if isinstance(criterion, Between):
        return f"{criterion.quantity}={criterion.value(ctx)}"
    if isinstance(criterion, SlaThreshold | SlaBreached):
        parts = [
            f"{c.name.value} {100 * c.elapsed() // c.target if c.target else 0}%"
            + ("" if c.running else " (stopped)")
            + (" breached" if c.breached_at is not None and c.breached_at <= ctx.now else "")
            for c in ctx.clocks
            if c.name in criterion.targets and c.started
        ]
        return "; ".join(parts) or "no running target"
    if isinstance(criterion, Recurrence):
        if t.organization is None or t.category is None:
            return "no organisation or category"
        n = ctx.population.same_org_category_before(t, criterion.window)
        return f"{n} other {t.category} tickets from {t.organization}"
    if isinstance(criterion, Surge):
        if t.category is None:
            return "no category"
        return f"{ctx.population.same_category_within(t, criterion.window)} {t.category} tickets"
    if isinstance(criterion, LinkedIssueResolved):
        resolved = [i.key for i in t.linked_issues if i.resolved_at is not None]
        return "resolved: " + ", ".join(resolved) if resolved else "none resolved"
    if isinstance(criterion, Requested):
        wanted, label = requested_level(criterion.requests, t)
        return f"label {label} asks for level {wanted}" if label else "no request label"
    if isinstance(criterion, NoneOf):
        return "the negated condition " + ("holds" if criterion.child.holds(ctx) else "fails")
    return ""
