"""The planner: given tickets, what the sidecar applied before, and ``now``, the actions due.

One planner serves ``plan``, ``simulate`` and ``run``. Every action carries a stable key; an
action whose key was applied before is never emitted again, which is also why a person's later
change is never fought: the sidecar only re-touches a field when a new, higher level is reached
(new keys). An action the ticket already shows is returned as ``satisfied``: recorded, not
written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.calendar import from_epoch, to_epoch
from engine.criteria import Context, Population
from engine.model import (
    ACTIVE_STATUSES,
    Action,
    AddLabels,
    Assign,
    CreateLinkedIssue,
    Decision,
    Notify,
    Plan,
    PostComment,
    Priority,
    RemoveLabels,
    SetPriority,
    TargetName,
    Ticket,
    TicketPlan,
)
from engine.policy import (
    AddLabelsStep,
    AssignStep,
    CommentStep,
    Level,
    LinkedIssueStep,
    NotifyStep,
    Policy,
    RaisePriorityStep,
    RemoveLabelsStep,
    Rule,
    SetPriorityStep,
    SlaPolicy,
    Step,
)
from engine.sla import (
    TargetClock,
    build_clocks,
    public_agent_comment_times,
    sla_state,
    status_spans,
)


@dataclass(slots=True)
class Memory:
    """What the sidecar did to one ticket before, derived from its applied actions."""

    keys: set[str] = field(default_factory=set)
    level: int = 0
    reached: list[tuple[int, datetime]] = field(default_factory=list)
    priority_sets: list[SetPriority] = field(default_factory=list)

    @classmethod
    def of(cls, actions: Iterable[Action]) -> Memory:
        memory = cls()
        seen_levels: set[int] = set()
        for action in actions:
            memory.keys.add(action.key)
            if action.level is not None and action.level not in seen_levels:
                seen_levels.add(action.level)
                memory.reached.append((action.level, action.at))
                memory.level = max(memory.level, action.level)
            if isinstance(action, SetPriority):
                memory.priority_sets.append(action)
        memory.reached.sort()
        return memory


def sla_priority(ticket: Ticket, memory: Memory) -> Priority:
    """The priority the SLA follows: the ticket's, unless it is one the sidecar set."""
    priority = ticket.priority
    for change in reversed(memory.priority_sets):
        if priority != change.priority:
            break
        priority = change.previous
    return priority


def plan(
    policy: Policy,
    tickets: Sequence[Ticket],
    applied: Mapping[str, Sequence[Action]],
    now: datetime,
    *,
    population: Population | None = None,
) -> Plan:
    """Plan every ticket at ``now``. ``population`` defaults to ``tickets`` themselves."""
    population = population if population is not None else Population(tickets)
    t = to_epoch(now)
    return Plan(
        now=now,
        tickets=tuple(
            plan_ticket(policy, ticket, applied.get(ticket.key, ()), t, population)
            for ticket in tickets
        ),
    )


def choose_sla_policy(policy: Policy, ctx: Context) -> SlaPolicy | None:
    for candidate in policy.sla_policies:
        if candidate.when.holds(ctx):
            return candidate
    return None


def plan_ticket(
    policy: Policy,
    ticket: Ticket,
    applied: Sequence[Action],
    now: int,
    population: Population,
) -> TicketPlan:
    memory = Memory.of(applied) if applied else Memory()
    ctx = Context(ticket, now, (), memory.level, population, policy.at_risk_percent)
    sla_policy = choose_sla_policy(policy, ctx)
    priority = sla_priority(ticket, memory)
    clocks: list[TargetClock] = []
    if sla_policy is not None and priority in sla_policy.targets:
        spans = status_spans(ticket, now)
        replies = public_agent_comment_times(ticket)
        clocks = build_clocks(
            ticket, sla_policy.targets[priority], policy.runs_while, now, spans, replies
        )
    ctx.clocks = clocks

    fired: list[tuple[Rule, str, TargetClock | None]] = []
    fired_names: set[str] = set()
    escalated_by: Rule | None = None
    active = ticket.status in ACTIVE_STATUSES
    progress = True
    while progress:  # a level reached now can make a level criterion hold now
        progress = False
        for rule in policy.rules:
            if rule.name in fired_names:
                continue
            if ticket.status not in (rule.statuses or ACTIVE_STATUSES):
                continue
            ctx.matched = None
            ctx.reason = ""
            if not rule.when.holds(ctx):
                continue
            fired_names.add(rule.name)
            fired.append((rule, ctx.reason or rule.when.describe(), ctx.matched))
            if active and rule.escalate_to is not None and rule.escalate_to > ctx.level:
                ctx.level = rule.escalate_to
                escalated_by = rule
            progress = True

    actions: list[Action] = []
    satisfied: list[Action] = []
    decisions: list[Decision] = []
    at = from_epoch(now)
    if fired:
        render = _Renderer(policy, ctx, memory, sla_policy, priority)
        for rule, reason, matched in fired:
            new_keys = _emit(
                (_bind(step, rule, ticket, at, render, matched) for step in rule.steps),
                ticket,
                memory,
                actions,
                satisfied,
            )
            if new_keys:
                decisions.append(Decision(ticket.key, rule.name, at, reason))
        if escalated_by is not None and ctx.level > memory.level:
            level = policy.levels[ctx.level]
            new_keys = _emit(
                _reach_level(level, policy, escalated_by, ticket, at, render),
                ticket,
                memory,
                actions,
                satisfied,
            )
            if new_keys:
                decisions.append(
                    Decision(
                        ticket.key,
                        escalated_by.name,
                        at,
                        f"reached level {level.number} ({level.name})",
                        level.number,
                    )
                )

    return TicketPlan(
        ticket=ticket.key,
        level=ctx.level,
        sla=sla_state(sla_policy.name, priority, clocks) if sla_policy else None,
        actions=tuple(actions),
        satisfied=tuple(satisfied),
        decisions=tuple(decisions),
        next_due=_next_due(policy, ctx, fired_names),
    )


def _next_due(policy: Policy, ctx: Context, fired: set[str]) -> datetime | None:
    best: int | None = None
    status = ctx.ticket.status
    for rule in policy.rules:
        if rule.name in fired or status not in (rule.statuses or ACTIVE_STATUSES):
            continue
        if not rule.when.time_based:
            continue
        at = rule.when.next_at(ctx)
        if at is not None and at > ctx.now and (best is None or at < best):
            best = at
    return from_epoch(best) if best is not None else None


def _emit(
    candidates: Iterable[Action | None],
    ticket: Ticket,
    memory: Memory,
    actions: list[Action],
    satisfied: list[Action],
) -> int:
    """Sort new candidates into writes and already-shown; returns how many were new."""
    new = 0
    for action in candidates:
        if action is None or action.key in memory.keys:
            continue
        new += 1
        needed = _still_needed(action, ticket)
        if needed is None:
            satisfied.append(action)
        else:
            actions.append(needed)
    return new


def _still_needed(action: Action, ticket: Ticket) -> Action | None:
    """The part of ``action`` the ticket does not show yet; None when it shows all of it."""
    if isinstance(action, AddLabels):
        missing = tuple(label for label in action.labels if label not in ticket.labels)
        if not missing:
            return None
        return action if missing == action.labels else _replace_labels(action, missing)
    if isinstance(action, RemoveLabels):
        present = tuple(label for label in action.labels if label in ticket.labels)
        if not present:
            return None
        return action if present == action.labels else _replace_labels(action, present)
    if isinstance(action, SetPriority):
        return None if ticket.priority == action.priority else action
    if isinstance(action, Assign):
        same_group = action.group is None or action.group == ticket.group
        same_user = action.user is None or action.user == ticket.assignee
        return None if same_group and same_user else action
    if isinstance(action, PostComment):
        return None if any(c.marker == action.key for c in ticket.comments) else action
    if isinstance(action, CreateLinkedIssue):
        return None if any(i.marker == action.key for i in ticket.linked_issues) else action
    return action


def _replace_labels(action: AddLabels | RemoveLabels, labels: tuple[str, ...]) -> Action:
    return type(action)(
        key=action.key,
        ticket=action.ticket,
        rule=action.rule,
        at=action.at,
        level=action.level,
        labels=labels,
    )


class _Keys:
    """Stable keys: ``zendesk:42:sla-breached:set_priority``; repeats of a kind get ``.2``."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._seen: dict[str, int] = {}

    def __call__(self, kind: str) -> str:
        n = self._seen.get(kind, 0) + 1
        self._seen[kind] = n
        return f"{self._prefix}:{kind}" if n == 1 else f"{self._prefix}:{kind}.{n}"


def _bind(
    step: Step,
    rule: Rule,
    ticket: Ticket,
    at: datetime,
    render: _Renderer,
    matched: TargetClock | None,
    keys: dict[str, _Keys] | None = None,
) -> Action | None:
    key = render.keys_for(rule.name)
    common: dict[str, Any] = {"ticket": ticket.key, "rule": rule.name, "at": at}
    if isinstance(step, AddLabelsStep):
        return AddLabels(key=key("add_labels"), labels=step.labels, **common)
    if isinstance(step, RemoveLabelsStep):
        return RemoveLabels(key=key("remove_labels"), labels=step.labels, **common)
    if isinstance(step, SetPriorityStep):
        return SetPriority(
            key=key("set_priority"), priority=step.priority, previous=ticket.priority, **common
        )
    if isinstance(step, RaisePriorityStep):
        raised = ticket.priority.raised(step.steps)
        return SetPriority(
            key=key("set_priority"), priority=raised, previous=ticket.priority, **common
        )
    if isinstance(step, AssignStep):
        return Assign(key=key("assign"), group=step.group, user=step.user, **common)
    if isinstance(step, CommentStep):
        body = step.template(render.context(rule, None, matched))
        return PostComment(key=key("comment"), public=step.public, body=body, **common)
    if isinstance(step, LinkedIssueStep):
        context = render.context(rule, None, matched)
        return CreateLinkedIssue(
            key=key("create_linked_issue"),
            system=step.system,
            project=step.project,
            summary=step.summary(context),
            description=step.description(context),
            priority=ticket.priority,
            **common,
        )
    if isinstance(step, NotifyStep):
        text = step.template(render.context(rule, None, matched))
        return Notify(key=key("notify"), channel=step.channel, text=text, **common)
    raise TypeError(step)  # pragma: no cover


def _reach_level(
    level: Level, policy: Policy, rule: Rule, ticket: Ticket, at: datetime, render: _Renderer
) -> list[Action | None]:
    prefix = f"{ticket.key}:L{level.number}"
    common: dict[str, Any] = {
        "ticket": ticket.key,
        "rule": rule.name,
        "at": at,
        "level": level.number,
    }
    lower = tuple(other.label for n, other in sorted(policy.levels.items()) if n != level.number)
    out: list[Action | None] = [
        RemoveLabels(key=f"{prefix}:remove_labels", labels=lower, **common),
        AddLabels(key=f"{prefix}:add_labels", labels=(level.label,), **common),
    ]
    if level.group is not None or level.user is not None:
        out.append(Assign(key=f"{prefix}:assign", group=level.group, user=level.user, **common))
    if level.customer_update is not None:
        body = level.customer_update(render.context(rule, level, None))
        out.append(PostComment(key=f"{prefix}:comment", public=True, body=body, **common))
    if level.channel is not None and level.notification is not None:
        text = level.notification(render.context(rule, level, None))
        out.append(Notify(key=f"{prefix}:notify", channel=level.channel, text=text, **common))
    return out


class _Renderer:
    """Builds template contexts for one ticket, lazily: only firing rules pay for it."""

    def __init__(
        self,
        policy: Policy,
        ctx: Context,
        memory: Memory,
        sla_policy: SlaPolicy | None,
        priority: Priority,
    ) -> None:
        self._policy = policy
        self._ctx = ctx
        self._memory = memory
        self._sla_policy = sla_policy
        self._priority = priority
        self._keys: dict[str, _Keys] = {}
        self._base: dict[str, Any] | None = None

    def keys_for(self, rule: str) -> _Keys:
        if rule not in self._keys:
            self._keys[rule] = _Keys(f"{self._ctx.ticket.key}:{rule}")
        return self._keys[rule]

    def _format(self, epoch: int | None, clock: TargetClock | None = None) -> str | None:
        if epoch is None:
            return None
        zone = (clock.calendar.zone if clock is not None else None) or self._zone()
        return from_epoch(epoch).astimezone(zone).strftime(self._policy.time_format)

    def _zone(self) -> Any:
        if self._ctx.clocks:
            return self._ctx.clocks[0].calendar.zone
        first = next(iter(self._policy.calendars.values()), None)
        return first.zone if first is not None else None

    def _shared(self) -> dict[str, Any]:
        if self._base is not None:
            return self._base
        ctx, t = self._ctx, self._ctx.ticket
        sla: dict[str, Any] = {}
        for clock in ctx.clocks:
            sla[clock.name.value] = {
                "due": self._format(clock.due(), clock),
                "met_at": self._format(clock.met_at, clock),
                "breached_at": self._format(clock.breached_at, clock),
                "running": clock.running,
                "elapsed_percent": (100 * clock.elapsed()) // clock.target if clock.target else 0,
            }
        promise = [
            (due, c)
            for c in ctx.clocks
            if c.running
            and c.name in (TargetName.FIRST_RESPONSE, TargetName.NEXT_UPDATE)
            and (due := c.due()) is not None
            and due >= ctx.now
        ]
        earliest = min(promise, key=lambda p: p[0]) if promise else None
        self._base = {
            "ticket": {
                "id": t.id,
                "key": t.key,
                "system": t.system,
                "title": t.title,
                "url": t.url,
                "status": t.status.value,
                "priority": t.priority.value,
                "sla_priority": self._priority.value,
                "organization": t.organization,
                "requester": t.requester,
                "category": t.category,
                "customer_tier": t.customer_tier,
                "affected_users": t.affected_users,
                "group": t.group,
                "assignee": t.assignee,
            },
            "sla": sla,
            "sla_policy": self._sla_policy.name if self._sla_policy else None,
            "promised_update": self._format(*earliest) if earliest else None,
            "levels_reached": [
                {
                    "number": n,
                    "name": self._policy.levels[n].name,
                    "at": self._format(to_epoch(when)),
                }
                for n, when in self._memory.reached
                if n in self._policy.levels
            ],
            "now": self._format(ctx.now),
        }
        return self._base

    def context(
        self, rule: Rule, level: Level | None, matched: TargetClock | None
    ) -> dict[str, Any]:
        context = dict(self._shared())
        context["rule"] = {"name": rule.name, "description": rule.description}
        context["level"] = (
            {
                "number": level.number,
                "name": level.name,
                "group": level.group,
                "channel": level.channel,
            }
            if level is not None
            else None
        )
        context["target"] = (
            {
                "name": matched.name.value,
                "label": matched.name.value.replace("_", " "),
                "due": self._format(matched.due(), matched),
            }
            if matched is not None
            else None
        )
        return context
