"""Criteria of the escalation matrix, compiled once from YAML and evaluated per ticket.

Each criterion answers two questions about a ticket at ``now``: does it hold, and if not, at
which instant would it start to hold if nothing else happened. Time only moves SLA clocks
forward, so the time criteria are thresholds on elapsed business time, crossed at an instant
the clock computes exactly. That second answer is what lets ``simulate`` stamp each action at
the second its condition first holds, and ``run`` wake exactly when the next one falls due.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from engine.calendar import to_epoch
from engine.model import Priority, SlaState, Status, TargetName, Ticket
from engine.sla import PriorityTargets, TargetClock, build_clocks, sla_state


class Population:
    """Indexes over all known tickets, for criteria that look across tickets."""

    def __init__(self, tickets: Iterable[Ticket]) -> None:
        by_group: dict[tuple[str | None, str | None], list[int]] = {}
        by_category: dict[str | None, list[int]] = {}
        self.created: dict[str, int] = {}  # ticket key -> creation in epoch seconds
        for t in tickets:
            created = to_epoch(t.created_at)
            self.created[t.key] = created
            by_group.setdefault((t.organization, t.category), []).append(created)
            by_category.setdefault(t.category, []).append(created)
        for times in by_group.values():
            times.sort()
        for times in by_category.values():
            times.sort()
        self._by_org_category = by_group
        self._by_category = by_category
        self._counts: dict[tuple[str, str, int], int] = {}  # answers don't change: remember

    def add(self, ticket: Ticket) -> bool:
        """A ticket planned for the first time since the indexes were built. True when it is
        older than a ticket already indexed with its organisation and category, or its
        category: then counts already given for those may change (re-plan them)."""
        created = to_epoch(ticket.created_at)
        self.created[ticket.key] = created
        group = self._by_org_category.setdefault((ticket.organization, ticket.category), [])
        category = self._by_category.setdefault(ticket.category, [])
        late = bool(group and group[-1] >= created) or bool(category and category[-1] >= created)
        bisect.insort(group, created)
        bisect.insort(category, created)
        if late:
            self._counts.clear()  # remembered answers may count it now
        return late

    def same_org_category_before(self, ticket: Ticket, window: int) -> int:
        """Other tickets of the same organisation and category created in ``window`` before."""
        key = ticket.key
        memo = ("recurrence", key, window)
        count = self._counts.get(memo)
        if count is None:
            known = self.created.get(key)
            created = known if known is not None else to_epoch(ticket.created_at)
            times = self._by_org_category.get((ticket.organization, ticket.category), [])
            count = bisect.bisect_left(times, created) - bisect.bisect_left(times, created - window)
            self._counts[memo] = count
        return count

    def same_category_within(self, ticket: Ticket, window: int) -> int:
        """Tickets of the same category (this one included) created in ``window`` up to it."""
        memo = ("surge", ticket.key, window)
        count = self._counts.get(memo)
        if count is None:
            known = self.created.get(ticket.key)
            created = known if known is not None else to_epoch(ticket.created_at)
            times = self._by_category.get(ticket.category, [])
            count = bisect.bisect_right(times, created) - bisect.bisect_right(
                times, created - window
            )
            self._counts[memo] = count
        return count


@dataclass(slots=True)
class Context:
    """One ticket under evaluation at ``now``."""

    ticket: Ticket
    now: int
    level: int
    population: Population
    at_risk_percent: int
    # the SLA clocks are built on first use: a ticket whose SLA rules all fired needs none
    make_clocks: Callable[[], Sequence[TargetClock]] = tuple
    # or the planner names what they follow: kept here rather than in a partial (and the SLA
    # state reported from them) for a fraction of the memory, 100,000 tickets over
    targets: PriorityTargets | None = None
    runs_while: Mapping[TargetName, frozenset[Status]] = field(default_factory=dict)
    created: int | None = None
    sla_policy: str = ""
    sla_priority: Priority = Priority.NORMAL
    _agent_comments: int | None = field(default=None)
    _clocks: Sequence[TargetClock] | None = field(default=None)

    @property
    def clocks(self) -> Sequence[TargetClock]:
        if self._clocks is None:
            if self.targets is not None:
                self._clocks = build_clocks(
                    self.ticket, self.targets, self.runs_while, self.now, created=self.created
                )
            else:
                self._clocks = self.make_clocks()
        return self._clocks

    def sla_state(self) -> SlaState:
        """The SLA state at ``now`` under ``sla_policy``, following ``sla_priority``."""
        return sla_state(self.sla_policy, self.sla_priority, self.clocks)

    @property
    def public_agent_comments(self) -> int:
        if self._agent_comments is None:
            self._agent_comments = sum(
                1 for c in self.ticket.comments if c.is_agent_reply
            )
        return self._agent_comments


@dataclass(frozen=True, slots=True)
class Match:
    """What a holding criterion saw: the audit log's reason, and the SLA target it matched."""

    reason: str = ""
    matched: TargetClock | None = None


NO_MATCH = Match()


class Criterion:
    """A condition on a ticket. Subclasses override ``holds`` and, when time-based, ``next_at``;
    those that can say what they saw override ``why``. Nothing here changes ``ctx``."""

    time_based = False
    # whether ``holds`` can change with ``ctx.level`` alone (the planner re-asks only those
    # after a level is reached); a criterion that does not say is assumed to
    reads_level = True

    def holds(self, ctx: Context) -> bool:
        raise NotImplementedError

    def why(self, ctx: Context) -> Match:
        """What made it hold (asked only once it holds)."""
        return NO_MATCH

    def next_at(self, ctx: Context) -> int | None:
        """The instant it starts to hold if nothing changes; None when time alone won't do it."""
        return None

    def describe(self) -> str:
        return type(self).__name__


class Always(Criterion):
    reads_level = False

    def holds(self, ctx: Context) -> bool:
        return True

    def describe(self) -> str:
        return "always"


@dataclass(frozen=True, slots=True)
class AllOf(Criterion):
    children: tuple[Criterion, ...]

    def holds(self, ctx: Context) -> bool:
        for child in self.children:  # noqa: SIM110 - a plain loop: this runs per ticket per rule
            if not child.holds(ctx):
                return False
        return True

    def why(self, ctx: Context) -> Match:
        found = NO_MATCH  # every child holds: the last that says something speaks
        for child in self.children:
            seen = child.why(ctx)
            if seen.reason or seen.matched is not None:
                found = seen
        return found

    def next_at(self, ctx: Context) -> int | None:
        latest = ctx.now
        for child in self.children:
            if child.holds(ctx):
                continue
            at = child.next_at(ctx)
            if at is None:
                return None
            latest = max(latest, at)
        return latest

    @property
    def time_based(self) -> bool:  # type: ignore[override]
        return any(c.time_based for c in self.children)

    @property
    def reads_level(self) -> bool:  # type: ignore[override]
        return any(c.reads_level for c in self.children)

    def describe(self) -> str:
        return " and ".join(c.describe() for c in self.children)


@dataclass(frozen=True, slots=True)
class AnyOf(Criterion):
    children: tuple[Criterion, ...]

    def holds(self, ctx: Context) -> bool:
        for child in self.children:  # noqa: SIM110 - a plain loop: this runs per ticket per rule
            if child.holds(ctx):
                return True
        return False

    def why(self, ctx: Context) -> Match:
        for child in self.children:  # the first that holds, as ``holds`` stops there
            if child.holds(ctx):
                return child.why(ctx)
        return NO_MATCH

    def next_at(self, ctx: Context) -> int | None:
        times = [t for c in self.children if (t := c.next_at(ctx)) is not None]
        return min(times) if times else None

    @property
    def time_based(self) -> bool:  # type: ignore[override]
        return any(c.time_based for c in self.children)

    @property
    def reads_level(self) -> bool:  # type: ignore[override]
        return any(c.reads_level for c in self.children)

    def describe(self) -> str:
        return "(" + " or ".join(c.describe() for c in self.children) + ")"


@dataclass(frozen=True, slots=True)
class NoneOf(Criterion):
    """Holds when its child does not. Time only makes time criteria start holding, so a
    negated one never starts holding by itself: ``next_at`` stays None."""

    child: Criterion

    def holds(self, ctx: Context) -> bool:
        return not self.child.holds(ctx)

    @property
    def reads_level(self) -> bool:  # type: ignore[override]
        return self.child.reads_level

    def describe(self) -> str:
        return f"not {self.child.describe()}"


@dataclass(frozen=True, slots=True)
class FieldIn(Criterion):
    """A ticket field is one of the values (priority, status, category, customer_tier, …)."""

    field_name: str
    values: frozenset[str]

    reads_level = False

    def holds(self, ctx: Context) -> bool:
        value = getattr(ctx.ticket, self.field_name)  # str or StrEnum: both hash as the text
        return value is not None and value in self.values

    def describe(self) -> str:
        return f"{self.field_name} in {sorted(self.values)}"


@dataclass(frozen=True, slots=True)
class HasLabels(Criterion):
    labels: frozenset[str]

    reads_level = False

    def holds(self, ctx: Context) -> bool:
        return self.labels <= ctx.ticket.labels

    def describe(self) -> str:
        return f"labels include {sorted(self.labels)}"


@dataclass(frozen=True, slots=True)
class Between(Criterion):
    """A number is within [at_least, at_most]: affected users, level, comments, reassignments."""

    quantity: str  # affected_users | level | agent_comments | group_reassignments
    at_least: int | None = None
    at_most: int | None = None

    def value(self, ctx: Context) -> int | None:
        if self.quantity == "affected_users":
            return ctx.ticket.affected_users
        if self.quantity == "level":
            return ctx.level
        if self.quantity == "agent_comments":
            return ctx.public_agent_comments
        if self.quantity == "group_reassignments":
            return sum(1 for c in ctx.ticket.history if c.field == "group" and c.old is not None)
        raise ValueError(self.quantity)  # pragma: no cover - config validates the name

    @property
    def reads_level(self) -> bool:  # type: ignore[override]
        return self.quantity == "level"

    def holds(self, ctx: Context) -> bool:
        v = self.value(ctx)
        if v is None:
            return False
        if self.at_least is not None and v < self.at_least:
            return False
        return self.at_most is None or v <= self.at_most

    def describe(self) -> str:
        parts = []
        if self.at_least is not None:
            parts.append(f"≥ {self.at_least}")
        if self.at_most is not None:
            parts.append(f"≤ {self.at_most}")
        return f"{self.quantity} {' and '.join(parts)}"


def _threshold(target: int, percent: int) -> int:
    """Business seconds at which ``percent`` of ``target`` has elapsed (rounded up)."""
    return -(-target * percent // 100)


@dataclass(frozen=True, slots=True)
class SlaThreshold(Criterion):
    """Some target (of ``targets``) has run ``percent`` of its time, or has at most
    ``seconds_left`` before its breach. ``running_only``: the target must still be running."""

    targets: frozenset[TargetName]
    percent: int | None = None  # None: the policy's at-risk percentage
    seconds_left: int | None = None
    running_only: bool = True
    label: str = ""

    time_based = True
    reads_level = False

    def _mark(self, ctx: Context, clock: TargetClock) -> int:
        if self.seconds_left is not None:
            return max(0, clock.target - self.seconds_left)
        percent = self.percent if self.percent is not None else ctx.at_risk_percent
        return _threshold(clock.target, percent)

    def holds(self, ctx: Context) -> bool:
        targets, running_only = self.targets, self.running_only
        for clock in ctx.clocks:  # every rule of every ticket: locals, and ``running`` inline
            if clock.name not in targets or not clock.started:
                continue
            if running_only and clock.open_since is None:
                continue
            if clock.elapsed() >= self._mark(ctx, clock):
                return True
        return False

    def why(self, ctx: Context) -> Match:
        for clock in ctx.clocks:
            if clock.name not in self.targets or not clock.started:
                continue
            if self.running_only and not clock.running:
                continue
            if clock.elapsed() >= self._mark(ctx, clock):
                return Match(_said(clock.name, self.describe()), clock)
        return NO_MATCH

    def next_at(self, ctx: Context) -> int | None:
        return _earliest_crossing(ctx, self.targets, lambda clock: self._mark(ctx, clock))

    def describe(self) -> str:
        return self.label or "sla threshold"


@dataclass(frozen=True, slots=True)
class SlaBreached(Criterion):
    """Some target (of ``targets``) has breached, in any cycle, running or not."""

    targets: frozenset[TargetName]

    time_based = True
    reads_level = False

    def holds(self, ctx: Context) -> bool:
        for clock in ctx.clocks:
            breached = clock.breached_at
            if clock.name in self.targets and breached is not None and breached <= ctx.now:
                return True
        return False

    def why(self, ctx: Context) -> Match:
        for clock in ctx.clocks:
            breached = clock.breached_at
            if clock.name in self.targets and breached is not None and breached <= ctx.now:
                return Match(_said(clock.name, "breached"), clock)
        return NO_MATCH

    def next_at(self, ctx: Context) -> int | None:
        return _earliest_crossing(ctx, self.targets, lambda clock: clock.target)

    def describe(self) -> str:
        return "sla breached"


# "first_response at risk": the same few reasons for 100,000 tickets, one copy of each
_SAID: dict[tuple[TargetName, str], str] = {}


def _said(target: TargetName, what: str) -> str:
    reason = _SAID.get((target, what))
    if reason is None:
        reason = f"{target.value} {what}"
        if len(_SAID) < 10_000:  # a policy names few; never grow unbounded
            _SAID[(target, what)] = reason
    return reason


def _earliest_crossing(
    ctx: Context, targets: frozenset[TargetName], mark: Callable[[TargetClock], int]
) -> int | None:
    """The first instant a running target of ``targets`` reaches its ``mark`` of elapsed time."""
    best: int | None = None
    for clock in ctx.clocks:
        if clock.name not in targets or not clock.running:
            continue
        seconds = mark(clock)
        if clock.elapsed() >= seconds:
            continue
        at = clock.reaches(seconds)
        if at is not None and (best is None or at < best):
            best = at
    return best


@dataclass(frozen=True, slots=True)
class Recurrence(Criterion):
    """The same organisation had ``at_least`` other tickets of the same category created in
    ``window`` seconds before this one (across every connected system)."""

    window: int
    at_least: int

    reads_level = False

    def holds(self, ctx: Context) -> bool:
        t = ctx.ticket
        if t.organization is None or t.category is None:
            return False
        n = ctx.population.same_org_category_before(t, self.window)
        return n >= self.at_least

    def why(self, ctx: Context) -> Match:
        t = ctx.ticket
        n = ctx.population.same_org_category_before(t, self.window)
        return Match(f"{n} other {t.category} tickets from {t.organization}")

    def describe(self) -> str:
        return f"recurrence ≥ {self.at_least} in {self.window // 86400}d"


@dataclass(frozen=True, slots=True)
class Surge(Criterion):
    """``at_least`` tickets of this ticket's category (this one included) were created across
    all sources within ``window`` seconds up to this ticket's creation."""

    window: int
    at_least: int

    reads_level = False

    def holds(self, ctx: Context) -> bool:
        t = ctx.ticket
        if t.category is None:
            return False
        n = ctx.population.same_category_within(t, self.window)
        return n >= self.at_least

    def describe(self) -> str:
        return f"surge ≥ {self.at_least} in {self.window // 60}m"


@dataclass(frozen=True, slots=True)
class LinkedIssueResolved(Criterion):
    """An issue the sidecar created for this ticket (e.g. in Jira ENG) is resolved."""

    reads_level = False

    def holds(self, ctx: Context) -> bool:
        return any(i.resolved_at is not None for i in ctx.ticket.linked_issues)

    def describe(self) -> str:
        return "linked issue resolved"


def requested_level(
    requests: Mapping[str, Mapping[str, int]], ticket: Ticket
) -> tuple[int, str | None]:
    """The highest level an agent asked for with a label on ``ticket`` (0: none), and the label.
    ``requests``: system -> label -> level; the ``""`` entry serves systems not named."""
    labels = requests.get(ticket.system)
    if labels is None:
        labels = requests.get("", {})
    best, found = 0, None
    for label, level in labels.items():
        if level > best and label in ticket.labels:
            best, found = level, label
    return best, found


def requester(ticket: Ticket, label: str) -> str | None:
    """Who added ``label``, when the ticket's history says (a labels/tags change with ``by``)."""
    for change in reversed(ticket.history):
        named = change.field in ("labels", "tags") and change.by and change.new
        if named and label in (change.new or "").replace(",", " ").split():
            return change.by
    return None


@dataclass(frozen=True, slots=True)
class Requested(Criterion):
    """An agent asked for ``level`` with a label (``escalate-l2``), above the level reached: a
    request below a level already reached changes nothing."""

    level: int
    requests: Mapping[str, Mapping[str, int]]

    def holds(self, ctx: Context) -> bool:
        wanted, label = requested_level(self.requests, ctx.ticket)
        return wanted == self.level and wanted > ctx.level and label is not None

    def why(self, ctx: Context) -> Match:
        wanted, label = requested_level(self.requests, ctx.ticket)
        by = requester(ctx.ticket, label) if label else None
        return Match(f"level {wanted} requested with label {label!r}" + (f" by {by}" if by else ""))

    def describe(self) -> str:
        return f"level {self.level} requested"


ALL_TARGETS = frozenset(TargetName)
