"""The planner: given tickets, what the sidecar applied before, and ``now``, the actions due.

One planner serves ``plan``, ``simulate`` and ``run``. Every action carries a stable key; an
action whose key was applied before is never emitted again, which is also why a person's later
change is never fought: the sidecar only re-touches a field when a new, higher level is reached
(new keys). An action the ticket already shows is returned as ``satisfied``: recorded, not
written.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from engine.calendar import from_epoch, to_epoch
from engine.criteria import Context, Population, requested_level
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
    Status,
    Ticket,
    TicketPlan,
    deferred,
)
from engine.policy import (
    STEP_DOWN,
    AddLabelsStep,
    AssignStep,
    CommentStep,
    Level,
    LinkedIssueStep,
    NotifyStep,
    Policy,
    RaisePriorityStep,
    RemoveLabelsStep,
    Repeat,
    Rule,
    SetPriorityStep,
    SlaPolicy,
    Step,
)
from engine.render import Renderer
from engine.shown import sort_action
from engine.sla import (
    TargetClock,
)

# Memories of 100,000 tickets are mostly the same few sets of keys and the same few level
# records: one shared copy of each (and of each string in it) instead of one per ticket keeps a
# steady ``run`` small. A memory's fields are therefore never changed in place: ``record``
# replaces them.
_SHARED_SETS: dict[frozenset[str], frozenset[str]] = {}
_SHARED_MAPS: dict[tuple[tuple[int, Any], ...], Mapping[int, Any]] = {}
_SHARED_LIMIT = 100_000  # distinct histories are few; never grow unbounded
# the rules still live for a history, by (policy version, status, keys done, level)
_LIVE_RULES: dict[tuple[str, Status, frozenset[str], int], list[Rule]] = {}
_NOTHING: Mapping[int, Any] = MappingProxyType({})


def _shared(keys: frozenset[str]) -> frozenset[str]:
    """The one copy of ``keys`` (its strings interned)."""
    found = _SHARED_SETS.get(keys)
    if found is None:
        found = frozenset(sys.intern(k) for k in keys)
        if len(_SHARED_SETS) < _SHARED_LIMIT:
            _SHARED_SETS[found] = found
    return found


def _shared_map(items: Mapping[int, Any]) -> Mapping[int, Any]:
    """The one read-only copy of a level -> value mapping (values hashable)."""
    key = tuple(sorted(items.items()))
    found = _SHARED_MAPS.get(key)
    if found is None:
        found = MappingProxyType(dict(key))
        if len(_SHARED_MAPS) < _SHARED_LIMIT:
            _SHARED_MAPS[key] = found
    return found


@dataclass(slots=True)
class Memory:
    """What the sidecar did to one ticket before, derived from its applied actions.

    Every field holds an immutable value, most of them shared between tickets with the same
    history; ``record`` replaces fields, never changes one in place."""

    # keys without the ticket's prefix: ``sla-breached:set_priority``, ``L2:notify``
    done: frozenset[str] = frozenset()
    level: int = 0
    reached: tuple[tuple[int, datetime], ...] = ()  # (level, first reached), by level
    priority_sets: tuple[SetPriority, ...] = ()
    # the rule that reached each level, and the kinds written per level (the shared empty
    # mapping by default: a factory only because dataclasses refuse a mappingproxy default)
    level_rule: Mapping[int, str] = field(default_factory=lambda: _NOTHING)
    level_done: Mapping[int, frozenset[str]] = field(default_factory=lambda: _NOTHING)
    # de-escalation: levels stepped down from (never reached again) and each step's target
    left: frozenset[int] = frozenset()
    downs: tuple[int, ...] = ()
    # ``level_unfinished`` for the policy it was last asked for: one (policy, answer) pair,
    # written at once, as two planners (the cycle's, the digest's) may ask at the same time
    _unfinished: tuple[Policy, bool] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, ticket_key: str, actions: Sequence[Action]) -> Memory:
        cut = len(ticket_key) + 1
        done = _shared(frozenset(action.key[cut:] for action in actions))
        memory = cls(done)
        first_reached: dict[int, datetime] = {}
        level_rule: dict[int, str] = {}
        level_done: dict[int, frozenset[str]] = {}
        priority_sets: list[SetPriority] = []
        for action in actions:  # in the order they were decided: a step-down lowers the level
            if action.level is not None:
                if _STEP_DOWN_KEY in action.key:
                    if isinstance(action, RemoveLabels):  # a step-down's first write marks it
                        memory._step_down(action.level)
                    continue
                if isinstance(action, AddLabels) and action.level not in first_reached:
                    first_reached[action.level] = action.at  # the level label marks arrival
                    level_rule[action.level] = action.rule
                    memory.level = max(memory.level, action.level)
                kinds = level_done.get(action.level, frozenset())
                level_done[action.level] = _shared(kinds | {action.kind.value})
            if isinstance(action, SetPriority):
                priority_sets.append(action)
        if first_reached:
            memory.reached = tuple(sorted(first_reached.items()))
        if level_rule:
            memory.level_rule = _shared_map(level_rule)
        if level_done:
            memory.level_done = _shared_map(level_done)
        if priority_sets:
            memory.priority_sets = tuple(priority_sets)
        return memory

    def _step_down(self, target: int) -> None:
        # every level from the one left down to above the target: not reached again
        self.left = self.left | set(range(target + 1, self.level + 1))
        self.downs = (*self.downs, target)
        self.level = target

    def live_rules(self, policy: Policy, status: Status) -> list[Rule]:
        """The rules worth evaluating for this ticket in ``status``: the same for every ticket
        with the same history, so one list is kept for all of them."""
        cache_key = (policy.version, status, self.done, self.level)
        rules = _LIVE_RULES.get(cache_key)
        if rules is None:
            rules = [r for r in policy.rules if status in r.gate and not self.spent(r)]
            if len(_LIVE_RULES) < 100_000:
                _LIVE_RULES[cache_key] = rules
        return rules

    def level_unfinished(self, policy: Policy) -> bool:
        """Some write of the level reached is not done (it failed, and was released)."""
        known = self._unfinished
        if known is not None and known[0] is policy:
            return known[1]
        level = policy.levels.get(self.level)
        # a level stepped down to was not reached: its writes are not owed
        unfinished = (
            level is not None
            and self.level not in self.downs
            and not self.level_done.get(self.level, frozenset()).issuperset(_level_kinds(level))
        )
        self._unfinished = (policy, unfinished)
        return unfinished

    def recorded(self, ticket_key: str, action: Action) -> Memory:
        """A new memory: this one and ``action``. This one stays as it was, so a reader in
        another thread holding it (the board's snapshot) never sees it half-updated."""
        new = Memory(
            self.done, self.level, self.reached, self.priority_sets, self.level_rule,
            self.level_done, self.left, self.downs,
        )  # fmt: skip - every field immutable: a shallow copy shares them safely
        new.record(ticket_key, action)
        return new

    def record(self, ticket_key: str, action: Action) -> None:
        """Remember one more applied action."""
        self.done = _shared(self.done | {action.key[len(ticket_key) + 1 :]})
        if action.level is not None and _STEP_DOWN_KEY in action.key:
            if isinstance(action, RemoveLabels):
                self._step_down(action.level)
        elif action.level is not None:
            if isinstance(action, AddLabels) and action.level not in self.level_rule:
                self.level_rule = _shared_map({**self.level_rule, action.level: action.rule})
                self.reached = tuple(sorted([*self.reached, (action.level, action.at)]))
                self.level = max(self.level, action.level)
            kinds = self.level_done.get(action.level, frozenset())
            done_now = _shared(kinds | {action.kind.value})
            self.level_done = _shared_map({**self.level_done, action.level: done_now})
        if isinstance(action, SetPriority):
            self.priority_sets = (*self.priority_sets, action)
        self._unfinished = None

    def spent(self, rule: Rule) -> bool:
        """Firing ``rule`` again could decide nothing new for this ticket."""
        return self.done.issuperset(rule.done_keys) and (
            rule.escalate_to is None
            or rule.escalate_to <= self.level
            or rule.escalate_to in self.left
        )


_EMPTY = Memory()
_STEP_DOWN_KEY = f":{STEP_DOWN}:"


def sla_priority(ticket: Ticket, memory: Memory) -> Priority:
    """The priority the SLA follows: the ticket's, unless it is one the sidecar set."""
    priority = ticket.priority
    if not memory.priority_sets:
        return priority
    for change in reversed(memory.priority_sets):
        if priority != change.priority:
            break
        # the sidecar's write is one change of priority after its decision; a second one is a
        # person choosing a priority again, perhaps the very same: theirs then
        later = sum(1 for c in ticket.history if c.field == "priority" and c.at >= change.at)
        if later > 1:
            break
        priority = change.previous
    return priority


def plan(
    policy: Policy,
    tickets: Sequence[Ticket],
    applied: Mapping[str, Sequence[Action] | Memory],
    now: datetime,
    *,
    population: Population | None = None,
) -> Plan:
    """Plan every ticket at ``now``. ``applied`` holds, per ticket key, the actions applied
    before or a ``Memory`` of them kept up to date by the caller (cheaper to re-plan with).
    ``population`` defaults to ``tickets`` themselves."""
    population = population if population is not None else Population(tickets)
    t = to_epoch(now)
    # planning makes no reference cycles (tests/engine/test_no_cycles.py): a caller planning
    # many thousands may pause the cycle collector around this (``escalator.gcpause``); that
    # is the process's to decide
    if not applied:  # a first plan: no key to look up
        planned = tuple(plan_ticket(policy, ticket, (), t, population) for ticket in tickets)
    else:
        planned = tuple(
            plan_ticket(policy, ticket, applied.get(ticket.key, ()), t, population)
            for ticket in tickets
        )
    return Plan(now=now, tickets=planned)


def choose_sla_policy(policy: Policy, ctx: Context) -> SlaPolicy | None:
    for candidate in policy.sla_policies:
        if candidate.when.holds(ctx):
            return candidate
    return None


def plan_ticket(  # noqa: PLR0912, PLR0915
    policy: Policy,
    ticket: Ticket,
    applied: Sequence[Action] | Memory,
    now: int,
    population: Population,
) -> TicketPlan:
    ticket_key = ticket.key
    if isinstance(applied, Memory):
        memory = applied
    else:
        memory = Memory.of(ticket_key, applied) if applied else _EMPTY
    ctx = Context(ticket, now, memory.level, population, policy.at_risk_percent)
    sla_policy = choose_sla_policy(policy, ctx)
    priority = sla_priority(ticket, memory)
    if sla_policy is not None and priority in sla_policy.targets:
        ctx.targets = sla_policy.targets[priority]
        ctx.runs_while = policy.runs_while
        ctx.created = population.created.get(ticket_key)

    status = ticket.status
    rules = memory.live_rules(policy, status) if memory.done else policy.live_rules(status)
    fired: list[tuple[Rule, str, TargetClock | None]] = []
    fired_names: set[str] = set()
    escalated_by: Rule | None = None
    active = ticket.status in ACTIVE_STATUSES
    progress, again = True, False
    while progress:  # a level reached now can make a level criterion hold now
        progress = False
        for rule in rules:
            if rule.name in fired_names or (again and not rule.reads_level):
                continue  # fired, or what it reads has not changed since it was asked
            if not rule.when.holds(ctx):
                continue
            fired_names.add(rule.name)
            seen = rule.when.why(ctx)
            fired.append((rule, seen.reason, seen.matched))
            if (
                active
                and rule.escalate_to is not None
                and rule.escalate_to > ctx.level
                and rule.escalate_to not in memory.left  # stepped down from: not again
            ):
                ctx.level = rule.escalate_to
                escalated_by = rule
                progress = True  # only the level can change what other rules see
        again = True

    if sla_policy is not None:
        ctx.sla_policy, ctx.sla_priority = sla_policy.name, priority
    sla_of = ctx.sla_state if sla_policy else _no_sla
    retry = active and memory.level > 0 and memory.level_unfinished(policy)
    repeat: tuple[Notify | None, int | None] = (None, None)
    render: Renderer | None = None
    if active and memory.level in policy.repeating and ctx.level == memory.level:
        # only a ticket at a level that repeats pays for this
        render = Renderer(policy, ctx, memory, sla_policy, priority, ticket_key)
        repeat = _repeat(policy, ticket, memory, ctx, render)
    if not fired and not retry and repeat[0] is None:  # a re-plan's common case: nothing new
        due = _next_due(rules, ctx, set())
        return TicketPlan(ticket_key, ctx.level, sla_of, due_epoch=_earliest(due, repeat[1]))

    actions: list[Action] = []
    satisfied: list[Action] = []
    decisions: list[Decision] = []
    at = _instant(now)
    if render is None:
        render = Renderer(policy, ctx, memory, sla_policy, priority, ticket_key)
    if fired:
        priority_now = ticket.priority  # a raise decided this instant counts for later steps
        for rule, reason, matched in fired:
            new = False
            for step, tail in rule.keyed_steps:
                if tail in memory.done:
                    continue  # decided before: never again, whatever the ticket shows now
                new = True
                key = f"{ticket_key}:{tail}"
                action = _bind(step, key, rule, ticket, at, render, matched, priority_now)
                if isinstance(action, SetPriority):
                    priority_now = action.priority
                sort_action(action, ticket, actions, satisfied)
            if new:
                decisions.append(
                    Decision(ticket_key, rule.name, at, reason or rule.when_text)
                )
        if escalated_by is not None and ctx.level > memory.level:
            level = policy.levels[ctx.level]
            new = False
            for action in _reach_level(level, policy, escalated_by, ticket, at, render, memory):
                new = True
                sort_action(action, ticket, actions, satisfied)
            if new:
                decisions.append(
                    Decision(
                        ticket_key,
                        escalated_by.name,
                        at,
                        _reached(level),
                        level.number,
                    )
                )
        if escalated_by is None and active:
            for rule, reason, _ in fired:
                if rule.step_down_to is None:
                    continue
                steps = _step_down(policy, rule, ticket, ctx, memory, at, render)
                if steps:
                    for action in steps:
                        sort_action(action, ticket, actions, satisfied)
                    target = steps[0].level
                    decisions.append(
                        Decision(
                            ticket_key,
                            rule.name,
                            at,
                            f"stepped down to level {target} ({reason or rule.when_text})",
                            target,
                        )
                    )
                    ctx.level = target if target is not None else ctx.level
                    break  # one step down at a time
    if repeat[0] is not None and ctx.level == memory.level:
        actions.append(repeat[0])  # a notification: the ticket shows nothing of it
        decisions.append(
            Decision(
                ticket_key,
                repeat[0].rule,
                at,
                f"repeated {repeat[0].key.rsplit(':', 1)[1]}"
                f" of level {memory.level}: not acknowledged",
                memory.level,
            )
        )
    if retry and ctx.level == memory.level:
        # a write of the current level that failed earlier is due again (its key was released)
        level = policy.levels[memory.level]
        reached_by = policy.rule_named(memory.level_rule.get(level.number, ""))
        if reached_by is not None:
            for action in _reach_level(level, policy, reached_by, ticket, at, render, memory):
                sort_action(action, ticket, actions, satisfied)

    return TicketPlan(
        ticket=ticket_key,
        level=ctx.level,
        sla_of=sla_of,
        actions=tuple(actions),
        satisfied=tuple(satisfied),
        decisions=tuple(decisions),
        due_epoch=_earliest(_next_due(rules, ctx, fired_names), repeat[1]),
    )


def _reached(level: Level) -> str:
    """``reached level 2 (Department Manager)``: one copy for every ticket that reaches it."""
    text = _REACHED.get((level.number, level.name))
    if text is None:
        text = f"reached level {level.number} ({level.name})"
        if len(_REACHED) < 10_000:  # levels are few; never grow unbounded
            _REACHED[(level.number, level.name)] = text
    return text


_REACHED: dict[tuple[int, str], str] = {}


def _instant(now: int) -> datetime:
    """``now`` as a datetime: one object for every action of a plan (they all share it)."""
    global _LAST_INSTANT  # noqa: PLW0603 - a one-entry memo of a pure function
    last = _LAST_INSTANT
    if last[0] != now:
        last = _LAST_INSTANT = (now, from_epoch(now))
    return last[1]


_LAST_INSTANT: tuple[int, datetime] = (-1, from_epoch(0))


def _blank() -> str:
    return ""


def _earliest(a: int | None, b: int | None) -> int | None:
    if b is None:
        return a
    return b if a is None or b < a else a


def _no_sla() -> None:
    return None


def _next_due(rules: Sequence[Rule], ctx: Context, fired: set[str]) -> int | None:
    best: int | None = None
    for rule in rules:
        if not rule.timed or rule.name in fired:
            continue
        at = rule.when.next_at(ctx)
        if at is not None and at > ctx.now and (best is None or at < best):
            best = at
    return best


def _bind(
    step: Step,
    key: str,
    rule: Rule,
    ticket: Ticket,
    at: datetime,
    render: Renderer,
    matched: TargetClock | None,
    priority_now: Priority,
) -> Action:
    # keywords spelled out rather than ``**common``: a first plan binds hundreds of thousands
    ticket_key, name = render.ticket_key, rule.name
    if isinstance(step, AddLabelsStep):
        return AddLabels(key=key, ticket=ticket_key, rule=name, at=at, labels=step.labels)
    if isinstance(step, RemoveLabelsStep):
        return RemoveLabels(key=key, ticket=ticket_key, rule=name, at=at, labels=step.labels)
    if isinstance(step, SetPriorityStep | RaisePriorityStep):
        was = ticket.priority
        to = step.priority if isinstance(step, SetPriorityStep) else was.raised(step.steps)
        return SetPriority(key=key, ticket=ticket_key, rule=name, at=at, priority=to, previous=was)
    if isinstance(step, AssignStep):
        return Assign(
            key=key, ticket=ticket_key, rule=name, at=at, group=step.group, user=step.user
        )
    # texts are rendered when first read (written, shown): see ``engine.model.deferred``
    if isinstance(step, CommentStep):
        body = render.later(step.template, rule, None, matched)
        return deferred(
            PostComment, key=key, ticket=ticket_key, rule=name, at=at, public=step.public,
            body=body,
        )  # fmt: skip
    if isinstance(step, LinkedIssueStep):
        return deferred(
            CreateLinkedIssue, key=key, ticket=ticket_key, rule=name, at=at,
            system=step.system, project=step.project, priority=priority_now,
            summary=render.later(step.summary, rule, None, matched),
            description=render.later(step.description, rule, None, matched),
        )  # fmt: skip
    if isinstance(step, NotifyStep):
        text = render.later(step.template, rule, None, matched)
        return deferred(
            Notify, key=key, ticket=ticket_key, rule=name, at=at, channel=step.channel,
            text=text,
        )  # fmt: skip
    raise TypeError(step)  # pragma: no cover


def _level_kinds(level: Level) -> set[str]:
    kinds = {"remove_labels", "add_labels"}
    channels = level.channel or any(turn.channel for turn in level.round_robin)
    users = level.user or any(turn.user for turn in level.round_robin)
    if level.group is not None or users:
        kinds.add("assign")
    if level.customer_update is not None:
        kinds.add("comment")
    if channels and level.notification is not None:
        kinds.add("notify")
    return kinds


def _reach_level(
    level: Level,
    policy: Policy,
    rule: Rule,
    ticket: Ticket,
    at: datetime,
    render: Renderer,
    memory: Memory,
) -> list[Action]:
    """What reaching ``level`` does, skipping what was done before (keys in ``memory``)."""
    ticket_key, n = render.ticket_key, level.number
    tail = f"L{n}:"
    prefix = f"{ticket_key}:{tail}"
    name = rule.name
    done: Collection[str] = (
        {key[len(tail) :] for key in memory.done if key.startswith(tail)} if memory.done else ()
    )
    channel, user = contact_of(level, ticket) if level.round_robin else (level.channel, level.user)
    out: list[Action] = []
    # keywords spelled out rather than ``**common``: a first plan reaches 100,000 levels
    if "remove_labels" not in done:
        others = policy.other_labels(n)
        out.append(
            RemoveLabels(
                key=prefix + "remove_labels", ticket=ticket_key, rule=name, at=at, level=n,
                labels=others,
            )
        )  # fmt: skip
    if "add_labels" not in done:
        out.append(
            AddLabels(
                key=prefix + "add_labels", ticket=ticket_key, rule=name, at=at, level=n,
                labels=(level.label,),
            )
        )  # fmt: skip
    if (level.group is not None or user is not None) and "assign" not in done:
        out.append(
            Assign(
                key=prefix + "assign", ticket=ticket_key, rule=name, at=at, level=n,
                group=level.group, user=user,
            )
        )  # fmt: skip
    if level.customer_update is not None and "comment" not in done:
        body = render.later(level.customer_update, rule, level, None)
        out.append(
            deferred(
                PostComment, key=prefix + "comment", ticket=ticket_key, rule=name, at=at,
                level=n, public=True, body=body,
            )
        )  # fmt: skip
    if channel and level.notification is not None and "notify" not in done:
        text = render.later(level.notification, rule, level, None)
        out.append(
            deferred(
                Notify, key=prefix + "notify", ticket=ticket_key, rule=name, at=at, level=n,
                channel=channel, text=text,
            )
        )  # fmt: skip
    return out


def contact_of(level: Level, ticket: Ticket) -> tuple[str | None, str | None]:
    """The channel and user of ``level`` for ``ticket``: with a round robin, the turn
    ``crc32(ticket key, level) mod turns``. A stable hash, not a counter: the same answer in
    ``simulate``, ``plan`` and after any restart, with nothing to store, and spread evenly."""
    if not level.round_robin:
        return level.channel, level.user
    turns = level.round_robin
    turn = turns[zlib.crc32(f"{ticket.key}:L{level.number}".encode()) % len(turns)]
    return turn.channel or level.channel, turn.user or level.user


def _repeat(
    policy: Policy, ticket: Ticket, memory: Memory, ctx: Context, render: Renderer
) -> tuple[Notify | None, int | None]:
    """The repeat of the current level's notification due now (the latest, if the sidecar was
    away for several), and the instant of the next one; nothing once acknowledged."""
    level = policy.levels[memory.level]
    repeat = level.repeat
    channel, _ = contact_of(level, ticket)
    reached_at = dict(memory.reached).get(level.number)
    if (
        repeat is None
        or reached_at is None
        or not channel
        or level.notification is None
        or level.number in memory.downs
    ):
        return None, None
    since = to_epoch(reached_at)
    if _acknowledged(policy, level, repeat, ticket, memory, since):
        return None, None
    tail = f"L{level.number}:notify.r"
    last = max((int(k[len(tail) :]) for k in memory.done if k.startswith(tail)), default=0)
    calendar = repeat.calendar
    if calendar is None and ctx.clocks:
        calendar = ctx.clocks[0].calendar  # the ticket's SLA calendar
    due_now: int | None = None
    for k in range(last + 1, repeat.times + 1):
        due = calendar.add_epoch(since, k * repeat.every) if calendar else since + k * repeat.every
        if due > ctx.now:
            if due_now is None:
                return None, due
            break
        due_now = k
    if due_now is None:
        return None, None
    k = due_now
    due = calendar.add_epoch(since, k * repeat.every) if calendar else since + k * repeat.every
    rule = policy.rule_named(memory.level_rule.get(level.number, ""))
    text = render.later(level.notification, rule, level, None) if rule is not None else (_blank,)
    action = deferred(
        Notify,
        text=text,
        key=f"{ticket.key}:{tail}{k}",
        ticket=ticket.key,
        rule=rule.name if rule is not None else "",
        at=from_epoch(due),
        level=level.number,
        channel=channel,
    )
    following = None
    if k < repeat.times:
        following = (
            calendar.add_epoch(since, (k + 1) * repeat.every)
            if calendar
            else since + (k + 1) * repeat.every
        )
    return action, following


def _acknowledged(
    policy: Policy, level: Level, repeat: Repeat, ticket: Ticket, memory: Memory, since: int
) -> bool:
    """Someone took the level up after it was reached: an agent's public reply, the assignee
    changed to a person (not a user the sidecar assigns), or the level's page acknowledged."""
    ack = repeat.acknowledge
    if "reply" in ack and any(
        c.is_agent_reply and to_epoch(c.at) >= since for c in ticket.comments
    ):
        return True
    if "assignee" in ack and any(
        c.field == "assignee"
        and c.new
        and c.new not in policy.own_users
        and to_epoch(c.at) >= since
        for c in ticket.history
    ):
        return True
    if "page" in ack:
        head = f"L{level.number}:notify"
        return any(k.startswith(head) and k.endswith("~acknowledge") for k in memory.done)
    return False


def hand_set_floor(policy: Policy, ticket: Ticket, memory: Memory) -> int:
    """The highest level a person set by hand: a level's label the sidecar did not write, or a
    level an agent asked for with a request label. A step-down never goes below it."""
    floor, _ = requested_level(policy.requests, ticket) if policy.requests else (0, None)
    for n, level in policy.levels.items():
        if n > floor and level.label in ticket.labels:
            written = f"L{n}:add_labels" in memory.done or n in memory.downs
            if not written:
                floor = n
    return floor


def _step_down(
    policy: Policy,
    rule: Rule,
    ticket: Ticket,
    ctx: Context,
    memory: Memory,
    at: datetime,
    render: Renderer,
) -> list[Action]:
    """Step from the level reached down to ``rule.step_down_to`` (never below a level a person
    set by hand): the higher levels' labels off, the target's on, the stood-down level told."""
    assert rule.step_down_to is not None
    current = ctx.level
    target = max(rule.step_down_to, hand_set_floor(policy, ticket, memory))
    if target >= current or current not in policy.levels:
        return []
    prefix = f"{ticket.key}:{rule.name}:{STEP_DOWN}:"
    done = {k for k in memory.done if k.startswith(f"{rule.name}:{STEP_DOWN}:")}
    common: dict[str, Any] = {"ticket": ticket.key, "rule": rule.name, "at": at, "level": target}
    above = tuple(lv.label for n, lv in sorted(policy.levels.items()) if n > target)
    out: list[Action] = []
    if f"{rule.name}:{STEP_DOWN}:remove_labels" not in done:
        out.append(RemoveLabels(key=prefix + "remove_labels", labels=above, **common))
    if target in policy.levels and f"{rule.name}:{STEP_DOWN}:add_labels" not in done:
        label = policy.levels[target].label
        out.append(AddLabels(key=prefix + "add_labels", labels=(label,), **common))
    stood_down = policy.levels[current]
    channel, _ = contact_of(stood_down, ticket)
    if channel in policy.paging_channels:
        channel = None  # its page is resolved (escalator.notify.follow), not paged again
    if channel and f"{rule.name}:{STEP_DOWN}:notify" not in done:
        if rule.stand_down is not None:
            text = rule.stand_down(render.context(rule, stood_down, None))
        else:
            text = (
                f'Stood down: {ticket.key} "{ticket.title}" no longer needs level '
                f"{current} ({stood_down.name}); it is back at level {target}"
                f" (rule {rule.name})."
            )
        out.append(Notify(key=prefix + "notify", channel=channel, text=text, **common))
    return out
