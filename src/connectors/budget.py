"""A per-source request budget: the sidecar paces itself under a share of the helpdesk's
rate limit, which every integration of the account shares.

A token bucket holding one minute's requests: bursts up to the budget pass at once, then
requests flow at ``per_minute / 60`` a second. ``RetryPolicy`` takes one token per attempt, so
retries count too. The one place besides ``RetryPolicy`` that sleeps.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RequestBudget:
    def __init__(
        self,
        per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("a request budget must allow at least one request a minute")
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._tokens = float(per_minute)
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()  # instants of the requests of the last minute
        self.waited_seconds = 0.0
        self.requests = 0

    def acquire(self) -> float:
        """Take one request from the budget, waiting for it if it is spent; the wait."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.per_minute, self._tokens + (now - self._last) * self._rate)
            self._last = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self._rate
            self._tokens -= 1  # reserved now: concurrent callers queue behind it
            self.requests += 1
            self.waited_seconds += wait
            self._recent.append(now + wait)
        if wait > 0:
            self._sleep(wait)
        return wait

    def used_last_minute(self) -> int:
        """Requests sent in the minute up to now: what ``/metrics`` shows against the budget."""
        with self._lock:
            horizon = self._clock() - 60.0
            while self._recent and self._recent[0] <= horizon:
                self._recent.popleft()
            return len(self._recent)
