"""The SLA clock: first response, next update and resolution, as of an instant ``now``.

Each target counts business time in its calendar over the spans in which the ticket's status
lets it run. First response runs from creation until the first public agent comment. Next update
starts at that first response and restarts at every later public agent comment. Resolution runs
from creation, stops at solved and resumes, keeping what had elapsed, when the ticket reopens.
A target is met by an event at or before its due instant and breached otherwise.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.calendar import BusinessCalendar, from_epoch, to_epoch
from engine.model import (
    STATUS_BY_VALUE,
    Priority,
    SlaState,
    Status,
    TargetName,
    TargetState,
    Ticket,
)

# (start, end, status): the ticket's status over time, contiguous, from creation to ``now``.
Span = tuple[int, int, Status]


@dataclass(frozen=True, slots=True)
class PriorityTargets:
    """One priority's targets in seconds of business time (None: no such target)."""

    calendar: BusinessCalendar
    first_response: int | None
    next_update: int | None
    resolution: int | None

    def seconds(self, name: TargetName) -> int | None:
        value: int | None = getattr(self, name.value)
        return value


@dataclass(slots=True)
class TargetClock:
    """A target's state at ``now`` and enough to say when a threshold will be crossed."""

    name: TargetName
    calendar: BusinessCalendar
    target: int
    base: int  # business seconds elapsed before ``open_since`` (all of it when not running)
    open_since: int | None  # start of the span running at ``now``; None when paused or stopped
    now: int
    met_at: int | None = None
    breached_at: int | None = None  # the first breach ever (next update: of any cycle)
    cycle_breach: int | None = None  # the breach of the current cycle, if it has breached
    stopped_due: int | None = None  # for a met target: when it would have fallen due
    started: bool = True
    _elapsed: int = -1

    @property
    def running(self) -> bool:
        return self.open_since is not None

    def elapsed(self) -> int:
        if self._elapsed < 0:  # computed once: every criterion asks
            if self.open_since is None:
                self._elapsed = self.base
            else:
                cal = self.calendar
                self._elapsed = self.base + cal.position(self.now) - cal.position(self.open_since)
        return self._elapsed

    def reaches(self, seconds: int) -> int | None:
        """The instant elapsed time reaches ``seconds`` if it keeps running; None when paused."""
        if self.open_since is None:
            return None
        return self.calendar.add_epoch(self.open_since, seconds - self.base)

    def due(self) -> int | None:
        """When the current cycle breaches (or breached, or would have, had it not been met);
        None while paused."""
        if self.cycle_breach is not None:
            return self.cycle_breach
        if self.open_since is not None:
            return self.reaches(self.target)
        return self.stopped_due

    def state(self) -> TargetState:
        due = self.due()
        return TargetState(
            name=self.name,
            calendar=self.calendar.name,
            target_seconds=self.target,
            elapsed_seconds=self.elapsed(),
            running=self.running,
            due=from_epoch(due) if due is not None else None,
            met_at=from_epoch(self.met_at) if self.met_at is not None else None,
            breached_at=from_epoch(self.breached_at) if self.breached_at is not None else None,
        )


def status_spans(ticket: Ticket, now: int, created: int | None = None) -> list[Span]:
    """The ticket's statuses from creation to ``now``, from its history of status changes."""
    if created is None:
        created = to_epoch(ticket.created_at)
    if not ticket.history:
        return [(created, created if created > now else now, ticket.status)]
    changes = [c for c in ticket.history if c.field == "status"]
    if not changes:
        return [(created, max(created, now), ticket.status)]
    spans: list[Span] = []
    current = _status(changes[0].old, ticket.status)
    since = created
    for change in changes:
        at = max(created, min(to_epoch(change.at), now))
        if at > since:
            spans.append((since, at, current))
        since = max(since, at)
        current = _status(change.new, current)
    spans.append((since, max(since, now), current))
    return spans


def _status(value: str | None, fallback: Status) -> Status:
    """The status a history value names; an unknown one (or none) keeps ``fallback``."""
    if value is None:
        return fallback
    return STATUS_BY_VALUE.get(value, fallback)


def public_agent_comment_times(ticket: Ticket) -> list[int]:
    if not ticket.comments:
        return []
    return sorted(
        to_epoch(c.at) for c in ticket.comments if c.is_agent_reply
    )


def _walk(
    cal: BusinessCalendar,
    spans: Sequence[Span],
    running: frozenset[Status],
    lo: int,
    hi: int,
    target: int,
    now: int,
    can_run: bool = True,
) -> tuple[int, int | None, int | None, int]:
    """Business time over running spans within [lo, hi]:
    (elapsed before the open span, the open span's start, the breach, elapsed in all)."""
    breach: int | None
    if len(spans) == 1:  # no status history: one span, the common case, without the loop
        start, end, status = spans[0]
        s = start if start > lo else lo
        e = end if end < hi else hi
        is_open = can_run and e == now
        if status not in running or e < s or (e == s and not is_open):
            return 0, None, None, 0
        seg = cal.position(e) - cal.position(s)
        breach = cal.add_epoch(s, target) if 0 < target <= seg else None
        if is_open:
            return 0, s, breach, seg
        return seg, None, breach, seg
    elapsed = 0
    total = 0
    breach = None
    open_since: int | None = None
    last = len(spans) - 1
    for i, (start, end, status) in enumerate(spans):
        if status not in running:
            continue
        s = start if start > lo else lo
        e = end if end < hi else hi
        # only the current status's span can still be running, and only if the clock can
        is_open = can_run and i == last and e == now
        if e < s or (e == s and not is_open):
            continue
        seg = cal.position(e) - cal.position(s)
        if breach is None and elapsed < target <= elapsed + seg:
            breach = cal.add_epoch(s, target - elapsed)
        elapsed += seg
        total = elapsed
        if is_open:
            open_since = s
            elapsed -= seg  # ``base`` excludes the open span
    return elapsed, open_since, breach, total


def build_clocks(
    ticket: Ticket,
    targets: PriorityTargets,
    runs_while: Mapping[TargetName, frozenset[Status]],
    now: int,
    spans: Sequence[Span] | None = None,
    replies: Sequence[int] | None = None,
    created: int | None = None,
) -> list[TargetClock]:
    """The three target clocks of ``ticket`` at ``now`` (targets set to None are left out)."""
    cal = targets.calendar
    if created is None:
        created = to_epoch(ticket.created_at)
    spans = spans if spans is not None else status_spans(ticket, now, created)
    replies = replies if replies is not None else public_agent_comment_times(ticket)
    clocks: list[TargetClock] = []
    first_reply = replies[0] if replies else None

    fr = targets.first_response
    if fr is not None:
        hi = first_reply if first_reply is not None else now
        base, open_since, breach, total = _walk(
            cal,
            spans,
            runs_while[TargetName.FIRST_RESPONSE],
            created,
            hi,
            fr,
            now,
            can_run=first_reply is None,  # met (even this very second): no longer running
        )
        if first_reply is not None and breach is not None and first_reply <= breach:
            breach = None
        met = first_reply if breach is None else None
        clocks.append(
            TargetClock(  # positional: this runs for every ticket of every re-plan
                TargetName.FIRST_RESPONSE,
                cal,
                fr,
                base,
                open_since,
                now,
                met,  # met_at
                breach,  # breached_at
                breach,  # cycle_breach
                cal.add_epoch(met, fr - base) if met is not None else None,  # stopped_due
                True,  # started
                total,  # _elapsed
            )
        )

    nu = targets.next_update
    if nu is not None:
        running = runs_while[TargetName.NEXT_UPDATE]
        clocks.append(_next_update(cal, spans, running, replies, nu, now))

    res = targets.resolution
    if res is not None:
        base, open_since, breach, total = _walk(
            cal, spans, runs_while[TargetName.RESOLUTION], created, now, res, now
        )
        met = None
        if ticket.status in (Status.SOLVED, Status.CLOSED) and spans:
            met = _entered_final_state(spans)
            if breach is not None and met is not None and met <= breach:
                breach = None
        clocks.append(
            TargetClock(
                TargetName.RESOLUTION,
                cal,
                res,
                base,
                open_since,
                now,
                met if breach is None else None,  # met_at
                breach,  # breached_at
                breach,  # cycle_breach
                cal.add_epoch(met, res - base) if met is not None else None,  # stopped_due
                True,  # started
                total,  # _elapsed
            )
        )
    return clocks


def _entered_final_state(spans: Sequence[Span]) -> int | None:
    """When the current solved/closed stretch began."""
    entered = None
    for start, _end, status in reversed(spans):
        if status not in (Status.SOLVED, Status.CLOSED):
            break
        entered = start
    return entered


def _next_update(
    cal: BusinessCalendar,
    spans: Sequence[Span],
    running: frozenset[Status],
    replies: Sequence[int],
    target: int,
    now: int,
) -> TargetClock:
    if not replies:
        return TargetClock(TargetName.NEXT_UPDATE, cal, target, 0, None, now, started=False)
    first_breach: int | None = None
    met: int | None = None
    for start, end in itertools.pairwise(replies):
        _, _, breach, _ = _walk(cal, spans, running, start, end, target, now, can_run=False)
        if breach is not None and breach < end:
            first_breach = breach if first_breach is None else first_breach
        else:
            met = end
    base, open_since, breach, total = _walk(cal, spans, running, replies[-1], now, target, now)
    if first_breach is None:
        first_breach = breach
    return TargetClock(
        TargetName.NEXT_UPDATE,
        cal,
        target,
        base,
        open_since,
        now,
        met_at=met,
        breached_at=first_breach,
        cycle_breach=breach,
        _elapsed=total,
    )


def sla_state(policy: str, priority: Priority, clocks: Sequence[TargetClock]) -> SlaState:
    return SlaState(policy=policy, priority=priority, targets=tuple(c.state() for c in clocks))
