"""The one retry policy: tenacity, one instance per source, honouring ``Retry-After``.

Every call a connector makes to its API goes through ``RetryPolicy.call``; nothing else sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from connectors.budget import RequestBudget
from connectors.errors import RateLimited, RetryableError

T = TypeVar("T")


@dataclass(slots=True)
class RetryStats:
    """Counters the metrics endpoint exports per source."""

    calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    waited_seconds: float = 0.0
    budget: RequestBudget | None = None  # the source's request budget, when it has one


class RetryPolicy:
    """Retries ``RetryableError`` with exponential backoff, or exactly ``Retry-After`` on 429.

    ``max_wait`` caps any single wait: a server asking for longer makes the call fail as
    retryable, so the scheduler moves on instead of blocking a worker for minutes.
    """

    def __init__(
        self,
        source: str,
        *,
        max_attempts: int = 5,
        max_wait: float = 60.0,
        initial_backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[str, float, BaseException], None] | None = None,
        budget: RequestBudget | None = None,
    ) -> None:
        self.source = source
        self.budget = budget
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.stats = RetryStats(budget=budget)
        self._sleep = sleep
        self._on_wait = on_wait
        self._backoff = wait_exponential_jitter(
            multiplier=initial_backoff, max=max_wait, jitter=initial_backoff
        )

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            seconds = float(exc.retry_after)
        else:
            seconds = float(self._backoff(state))
        return max(0.0, seconds)

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        seconds = state.next_action.sleep if state.next_action else 0.0
        self.stats.retries += 1
        self.stats.waited_seconds += seconds
        if self._on_wait is not None and exc is not None:
            self._on_wait(self.source, seconds, exc)

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return exc.retry_after <= self.max_wait
        return isinstance(exc, RetryableError)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying transient failures; re-raises the last error when out of tries."""
        self.stats.calls += 1
        retrying = Retrying(
            retry=retry_if_exception(self._retryable),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._before_sleep,
            after=self._count_rate_limit,
            reraise=True,
        )
        if self.budget is None:
            return retrying(fn)
        budget = self.budget

        def paced() -> T:  # every attempt is a request: each takes its share of the budget
            budget.acquire()
            return fn()

        return retrying(paced)

    def _count_rate_limit(self, state: RetryCallState) -> None:
        if state.outcome is not None and isinstance(state.outcome.exception(), RateLimited):
            self.stats.rate_limited += 1


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds, from either form RFC 9110 allows: delay-seconds or an
    HTTP-date (a date in the past means "now": 0). Garbage gives None (then we back off)."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT; a zone-less one is read as such
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    return seconds if seconds >= 0 else None
