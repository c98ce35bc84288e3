"""Pacing so we stay inside HubSpot's budgets instead of collecting 429s (reference §3.2, §3.8).

Search has its own limit (~4/s per token) on top of the account's rolling 190 requests / 10 s;
one ``RequestBudget`` per source is shared by every call it makes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` per second; ``acquire`` waits for one."""

    def __init__(
        self,
        rate: float,
        capacity: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = capacity
        self._tokens = capacity
        self._clock = clock
        self._sleep = sleep
        self._stamp = clock()
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def acquire(self) -> float:
        """Take one token, sleeping until one is there; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                self._refill()
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    self.waited_seconds += waited
                    return waited
                wait = (1.0 - self._tokens) / self.rate
            self._sleep(wait)
            waited += wait


class RequestBudget:
    """The account-wide bucket plus the stricter search bucket."""

    def __init__(
        self,
        *,
        requests_per_10s: float = 190.0,
        search_per_second: float = 4.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.overall = TokenBucket(
            requests_per_10s / 10.0, requests_per_10s, clock=clock, sleep=sleep
        )
        self.search = TokenBucket(
            search_per_second, max(1.0, search_per_second), clock=clock, sleep=sleep
        )

    def acquire(self, *, search: bool = False) -> float:
        waited = self.search.acquire() if search else 0.0
        return waited + self.overall.acquire()
