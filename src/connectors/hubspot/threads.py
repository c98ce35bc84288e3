"""What the connector knows about conversation threads: which ticket each belongs to.

Learnt from the threads the connector reads (each carries ``threadAssociations``), kept in
memory: after a restart it is learnt again, which costs reads, never correctness.
"""

from __future__ import annotations

import threading


class ThreadIndex:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread_of: dict[str, str] = {}  # ticket id -> thread id
        self._ticket_of: dict[str, str] = {}  # thread id -> ticket id

    def link(self, ticket_id: str, thread_id: str) -> None:
        with self._lock:
            self._thread_of[ticket_id] = thread_id
            self._ticket_of[thread_id] = ticket_id

    def ticket_of(self, thread_id: str) -> str | None:
        with self._lock:
            return self._ticket_of.get(thread_id)

    def thread_of(self, ticket_id: str) -> str | None:
        with self._lock:
            return self._thread_of.get(ticket_id)
