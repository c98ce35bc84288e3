"""The compiled policy the engine evaluates: calendars, SLA policies, levels and rules.

``escalator.config`` builds it from YAML once, checked; the engine only reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine.calendar import BusinessCalendar
from engine.criteria import Criterion, requested_level
from engine.digest import Digest
from engine.model import ACTIVE_STATUSES, Priority, Status, TargetName, Ticket
from engine.sla import PriorityTargets

# A sandboxed template, compiled: context in, text out.
Template = Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    name: str
    when: Criterion  # static criteria only (fields of the ticket), first match wins
    targets: Mapping[Priority, PriorityTargets]


# what acknowledges a level's repeated notification: an agent's public reply, the assignee
# changing to a person, or the level's page acknowledged (its ``~acknowledge`` follow-up recorded)
ACKNOWLEDGERS = frozenset({"reply", "assignee", "page"})


@dataclass(frozen=True, slots=True)
class Repeat:
    """A level's notification is sent again every ``every`` seconds of ``calendar`` time after
    the level was reached, ``times`` times, until it is acknowledged."""

    every: int
    times: int
    calendar: BusinessCalendar | None = None  # None: the ticket's SLA calendar, else clock time
    acknowledge: frozenset[str] = ACKNOWLEDGERS


@dataclass(frozen=True, slots=True)
class Contact:
    """One turn of a level's round robin: who is notified and/or assigned instead."""

    channel: str | None = None
    user: str | None = None


@dataclass(frozen=True, slots=True)
class Level:
    number: int
    name: str
    label: str
    group: str | None = None
    user: str | None = None
    channel: str | None = None
    customer_update: Template | None = None
    notification: Template | None = None
    repeat: Repeat | None = None
    round_robin: tuple[Contact, ...] = ()


# -- what a rule does, before it is bound to a ticket -------------------------------------------
@dataclass(frozen=True, slots=True)
class AddLabelsStep:
    kind: ClassVar[str] = "add_labels"
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RemoveLabelsStep:
    kind: ClassVar[str] = "remove_labels"
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SetPriorityStep:
    kind: ClassVar[str] = "set_priority"
    priority: Priority


@dataclass(frozen=True, slots=True)
class RaisePriorityStep:
    kind: ClassVar[str] = "set_priority"
    steps: int = 1


@dataclass(frozen=True, slots=True)
class AssignStep:
    kind: ClassVar[str] = "assign"
    group: str | None = None
    user: str | None = None


@dataclass(frozen=True, slots=True)
class CommentStep:
    kind: ClassVar[str] = "comment"
    public: bool
    template: Template


@dataclass(frozen=True, slots=True)
class LinkedIssueStep:
    kind: ClassVar[str] = "create_linked_issue"
    system: str
    project: str
    summary: Template
    description: Template


@dataclass(frozen=True, slots=True)
class NotifyStep:
    kind: ClassVar[str] = "notify"
    channel: str
    template: Template


STEP_DOWN = "step_down"  # in a step-down's keys: ``rule:step_down:remove_labels``

Step = (
    AddLabelsStep
    | RemoveLabelsStep
    | SetPriorityStep
    | RaisePriorityStep
    | AssignStep
    | CommentStep
    | LinkedIssueStep
    | NotifyStep
)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    when: Criterion
    steps: tuple[Step, ...] = ()
    escalate_to: int | None = None
    # statuses in which the rule is evaluated; by default only while the ticket is active
    statuses: frozenset[Status] = frozenset()
    description: str = ""
    review: bool = False  # a post-escalation review (the report lists what it opened)
    # de-escalation: when ``when`` holds above this level, the ticket steps down to it
    step_down_to: int | None = None
    stand_down: Template | None = None  # the stood-down level's notice (a default text if None)
    # key of each step after the ticket's: ``rule:kind``, numbered when a kind repeats
    step_keys: tuple[str, ...] = field(init=False, default=())
    # the steps with their keys, paired once (a first plan walks them for every ticket)
    keyed_steps: tuple[tuple[Step, str], ...] = field(
        init=False, default=(), repr=False, compare=False
    )
    # every key the rule itself decides: its steps' and a step-down's (what ``spent`` checks)
    done_keys: tuple[str, ...] = field(init=False, default=())
    timed: bool = field(init=False, default=False)  # time alone can make it hold
    gate: frozenset[Status] = field(init=False, default=frozenset())  # statuses evaluated in
    # whether reaching a level can make ``when`` hold (asked again after one is reached)
    reads_level: bool = field(init=False, default=True, repr=False, compare=False)
    # ``when`` in words: the reason a decision gives when the criterion names none
    when_text: str = field(init=False, default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        seen: dict[str, int] = {}
        keys = []
        for step in self.steps:
            n = seen[step.kind] = seen.get(step.kind, 0) + 1
            kind = step.kind if n == 1 else f"{step.kind}.{n}"
            keys.append(f"{self.name}:{kind}")
        object.__setattr__(self, "step_keys", tuple(keys))
        object.__setattr__(self, "keyed_steps", tuple(zip(self.steps, keys, strict=True)))
        if self.step_down_to is not None:
            keys.append(f"{self.name}:{STEP_DOWN}:remove_labels")
        object.__setattr__(self, "done_keys", tuple(keys))
        object.__setattr__(self, "timed", self.when.time_based)
        object.__setattr__(self, "gate", self.statuses or ACTIVE_STATUSES)
        object.__setattr__(self, "reads_level", self.when.reads_level)
        object.__setattr__(self, "when_text", self.when.describe())


@dataclass(frozen=True, slots=True)
class Policy:
    version: str  # a digest of the source YAML: tickets record the version they are judged by
    calendars: Mapping[str, BusinessCalendar]
    runs_while: Mapping[TargetName, frozenset[Status]]
    at_risk_percent: int
    sla_policies: tuple[SlaPolicy, ...]
    levels: Mapping[int, Level]
    rules: tuple[Rule, ...]
    time_format: str = "%A %d %B %Y, %H:%M %Z"
    # labels an agent adds to ask for a level: system -> label -> level ("" for every system)
    requests: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    digests: tuple[Digest, ...] = ()  # reviews of open escalations, on their schedules
    # channels whose alert follows the ticket (PagerDuty, Opsgenie): a step-down resolves the
    # stood-down level's alert there instead of raising a new one to say so
    paging_channels: frozenset[str] = frozenset()
    # levels whose notification repeats until acknowledged (empty: the planner skips it all)
    repeating: frozenset[int] = field(init=False, default=frozenset())
    # users the sidecar itself assigns: an assignee change to anyone else is a person's
    own_users: frozenset[str] = field(init=False, default=frozenset())
    _by_name: dict[str, Rule] = field(init=False, default_factory=dict, repr=False)
    _by_status: dict[Status, list[Rule]] = field(init=False, default_factory=dict, repr=False)
    # per level, the other levels' labels (what reaching it removes), in level order
    _others: dict[int, tuple[str, ...]] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {r.name: r for r in self.rules})
        repeating = frozenset(n for n, level in self.levels.items() if level.repeat is not None)
        object.__setattr__(self, "repeating", repeating)
        users = {level.user for level in self.levels.values()}
        users |= {c.user for level in self.levels.values() for c in level.round_robin}
        users |= {s.user for r in self.rules for s in r.steps if isinstance(s, AssignStep)}
        object.__setattr__(self, "own_users", frozenset(u for u in users if u))
        object.__setattr__(
            self, "_by_status", {s: [r for r in self.rules if s in r.gate] for s in Status}
        )
        ordered = sorted(self.levels.items())
        others = {n: tuple(o.label for m, o in ordered if m != n) for n in self.levels}
        object.__setattr__(self, "_others", others)

    def live_rules(self, status: Status) -> list[Rule]:
        """The rules evaluated for a ticket in ``status`` that nothing was applied to yet."""
        return self._by_status[status]

    def other_labels(self, number: int) -> tuple[str, ...]:
        """The labels of every level but ``number``, in level order."""
        return self._others[number]

    def rule_named(self, name: str) -> Rule | None:
        return self._by_name.get(name)

    def requested_level(self, ticket: Ticket) -> tuple[int, str | None]:
        """The highest level an agent asked for with a label on ``ticket``, and that label."""
        return requested_level(self.requests, ticket)
