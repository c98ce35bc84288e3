"""Echo suppression: a ticket whose last modification is our own write is not pulled back.

After ``apply`` the connector remembers the ``hs_lastmodifieddate`` its own writes produced.
The next pull skips a ticket still stamped at (or before) that mark: nothing a person did
since, so re-planning it would only re-read what the store already recorded. Any later human
edit or reply moves the stamp past the mark, and the ticket comes back. Marks live in memory:
after a restart the echo is pulled once more, which is harmless (the planner finds nothing).
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class EchoFilter:
    def __init__(self, max_entries: int = 10_000) -> None:
        self._marks: OrderedDict[str, int] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()
        self.suppressed = 0

    def wrote(self, ticket_id: str, modified_ms: int) -> None:
        with self._lock:
            self._marks[ticket_id] = max(modified_ms, self._marks.get(ticket_id, modified_ms))
            self._marks.move_to_end(ticket_id)
            if len(self._marks) > self._max:
                self._marks.popitem(last=False)

    def is_echo(self, ticket_id: str, modified_ms: int | None) -> bool:
        with self._lock:
            mark = self._marks.get(ticket_id)
            if mark is None or modified_ms is None or modified_ms > mark:
                return False
            self.suppressed += 1
            return True
