"""Plan only what can have changed: tickets queued by the next instant a rule could start to
hold for them (``TicketPlan.due_epoch``, from the engine's ``next_at``).

Between two plans nothing changes for a ticket but time, unless the helpdesk or the sidecar
changed it. So a cycle re-plans the tickets marked changed and those whose instant has come;
the rest would decide nothing new. A full re-plan (at start, after a reload, and hourly as a
check) rebuilds the queue.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from engine.model import Plan


class PlanQueue:
    def __init__(self) -> None:
        self._due: dict[str, int] = {}  # ticket key -> its next instant (epoch seconds)
        self._heap: list[tuple[int, str]] = []  # (instant, key); stale entries skipped
        self._changed: set[str] = set()
        self.primed = False  # False until a full plan filled it: plan everything then

    def changed(self, keys: Iterable[str]) -> None:
        """These tickets changed (pulled, written, their memory grew): re-plan them."""
        self._changed.update(keys)

    def take(self, now: int) -> set[str]:
        """The tickets to re-plan at ``now``: changed ones and those whose instant came."""
        out = self._changed
        self._changed = set()
        heap, due = self._heap, self._due
        while heap and heap[0][0] <= now:
            at, key = heapq.heappop(heap)
            if due.get(key) == at:  # not a stale entry of an instant since moved
                del due[key]
                out.add(key)
        return out

    def record(self, plan: Plan) -> None:
        """Each planned ticket's next instant (a full plan primes the queue)."""
        due, heap = self._due, self._heap
        for tp in plan.tickets:
            at = tp.due_epoch
            if at is None:
                due.pop(tp.ticket, None)
            elif due.get(tp.ticket) != at:
                due[tp.ticket] = at
                heapq.heappush(heap, (at, tp.ticket))
        if len(heap) > 4 * len(due) + 1024:  # many stale entries: rebuild once
            self._heap = [(at, key) for key, at in due.items()]
            heapq.heapify(self._heap)

    def wake(self, key: str, at: int) -> None:
        """Plan ``key`` at ``at`` at the latest (a ticket whose creation is still ahead)."""
        if self._due.get(key, at + 1) > at:
            self._due[key] = at
            heapq.heappush(self._heap, (at, key))

    def reset(self) -> None:
        """Forget everything: the next plan is a full one."""
        self._due.clear()
        self._heap.clear()
        self._changed.clear()
        self.primed = False

    @property
    def next_due(self) -> int | None:
        while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None
