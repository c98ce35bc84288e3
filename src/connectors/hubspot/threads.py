"""What the connector knows about conversation threads, so a pull reads messages only for the
threads that changed (reference §3.5; issue 8's API budget).

HubSpot has no batch message read: one call per changed thread is the floor. Which threads
changed, and which ticket each belongs to, comes in pages from the threads list sorted by
``latestMessageTimestamp`` (``threadAssociations.associatedTicketId``), instead of one thread
lookup per ticket. The messages of unchanged threads are kept from the last read.

``covered`` is the span of ``latestMessageTimestamp`` (epoch ms) whose threads have all been
listed: a ticket created inside it whose thread is not known has no message since its
creation (at most an opening message from before it, which no clock counts). Everything is in
memory: after a restart the first pull lists from the earliest ticket it needs, costing pages,
never correctness.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from connectors.hubspot.client import JSON
from connectors.hubspot.mapping import parse_instant, to_millis

# listings overlap by this much: the threads list is eventually consistent like search
OVERLAP_MS = 60_000


@dataclass(frozen=True, slots=True)
class Span:
    start: int  # ms, exclusive: threads whose latest message is after it
    end: int  # ms, when that listing began


class ThreadIndex:
    def __init__(self, max_cached_threads: int = 20_000) -> None:
        self._lock = threading.Lock()
        self._thread_of: dict[str, str] = {}  # ticket id -> thread id
        self._ticket_of: dict[str, str] = {}  # thread id -> ticket id
        self._latest: dict[str, int] = {}  # thread id -> latestMessageTimestamp (ms) last listed
        self._messages: OrderedDict[str, tuple[int | None, list[JSON]]] = OrderedDict()
        self._max = max_cached_threads
        self._threadless: set[str] = set()  # tickets a lookup found without a thread
        self._records: dict[str, JSON] = {}  # thread id -> the thread as last listed
        self.covered: Span | None = None

    # -- tickets and threads ----------------------------------------------------------------
    def link(self, ticket_id: str, thread_id: str) -> None:
        with self._lock:
            self._thread_of[ticket_id] = thread_id
            self._ticket_of[thread_id] = ticket_id

    def remember(self, thread: JSON) -> None:
        """A thread record (channel, assignee) as read, for replies on it."""
        with self._lock:
            self._records[str(thread["id"])] = dict(thread)

    def record(self, thread_id: str) -> JSON | None:
        with self._lock:
            return self._records.get(thread_id)

    def ticket_of(self, thread_id: str) -> str | None:
        with self._lock:
            return self._ticket_of.get(thread_id)

    def thread_of(self, ticket_id: str) -> str | None:
        with self._lock:
            return self._thread_of.get(ticket_id)

    def knows_no_thread(self, ticket_id: str, created_ms: int | None) -> bool:
        """Whether a ticket with no known thread has none worth reading: it was created inside
        the covered span, or a lookup found none (a thread made later shows in a listing)."""
        span = self.covered
        with self._lock:
            if ticket_id in self._threadless:
                return True
        return span is not None and created_ms is not None and span.start <= created_ms

    def threadless(self, ticket_id: str) -> None:
        with self._lock:
            self._threadless.add(ticket_id)

    # -- listings ---------------------------------------------------------------------------
    def listing_start(self, needed_from: int | None, fallback: int, floor: int) -> int:
        """Where the next listing of changed threads starts (exclusive, ms): just before the
        last one ended, or earlier when a ticket created before the covered span needs it,
        but never before ``floor`` (older tickets are looked up one by one instead)."""
        span = self.covered
        if span is None:
            start = min(x for x in (needed_from, fallback) if x is not None)
        elif needed_from is not None and needed_from < span.start:
            start = needed_from
        else:
            start = span.end - OVERLAP_MS
        if span is not None:
            floor = min(floor, span.end - OVERLAP_MS)
        return max(start, floor)

    def listed(self, start: int, began: int, threads: Iterable[JSON], news_after: int) -> list[str]:
        """Record a listing from ``start`` made at ``began``; the tickets whose thread has a
        message after ``news_after`` that was not seen before (older ones were listed only to
        learn which ticket a thread belongs to)."""
        changed: list[str] = []
        with self._lock:
            for thread in threads:
                thread_id = str(thread["id"])
                ticket = (thread.get("threadAssociations") or {}).get("associatedTicketId")
                latest = thread.get("latestMessageTimestamp")
                stamp = to_millis(parse_instant(latest)) if latest else None
                self._records[thread_id] = dict(thread)
                if ticket:
                    self._thread_of[str(ticket)] = thread_id
                    self._ticket_of[thread_id] = str(ticket)
                    self._threadless.discard(str(ticket))
                if stamp is not None and self._latest.get(thread_id) != stamp:
                    self._latest[thread_id] = stamp
                    if ticket and stamp > news_after:
                        changed.append(str(ticket))
            span = self.covered
            if span is None or start <= span.start or start <= span.end:
                self.covered = Span(min(start, span.start) if span else start, began)
            else:
                self.covered = Span(start, began)
        return changed

    # -- messages ---------------------------------------------------------------------------
    def cached_messages(self, thread_id: str) -> list[JSON] | None:
        """The messages read before, if the thread has not changed since."""
        with self._lock:
            kept = self._messages.get(thread_id)
            if kept is None or kept[0] is None or kept[0] != self._latest.get(thread_id):
                return None
            self._messages.move_to_end(thread_id)
            return kept[1]

    def keep_messages(self, thread_id: str, messages: Sequence[JSON]) -> None:
        with self._lock:
            self._messages[thread_id] = (self._latest.get(thread_id), list(messages))
            self._messages.move_to_end(thread_id)
            while len(self._messages) > self._max:
                self._messages.popitem(last=False)

    def add_own_message(
        self, thread_id: str, before: Sequence[JSON], message: JSON
    ) -> None:
        """A message the sidecar just posted: the thread is its messages read before plus
        this one, and its latest stamp is this one's, so a listing that shows nothing newer
        brings no read of the thread."""
        created = message.get("createdAt")
        if not created:
            self.forget_messages(thread_id)
            return
        with self._lock:
            self._latest[thread_id] = to_millis(parse_instant(created))
        self.keep_messages(thread_id, [*before, message])

    def forget_messages(self, thread_id: str) -> None:
        """A webhook said the thread has a new message: read it again next time."""
        with self._lock:
            self._messages.pop(thread_id, None)
