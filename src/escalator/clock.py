"""The one clock of the app: the cycle, the runner and the connectors read the same one, so a
test or a benchmark that moves it moves them all (the engine reads none: ``now`` is given)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


class Clock:
    def __init__(self, source: Callable[[], datetime] = utc_now) -> None:
        self._source = source

    def __call__(self) -> datetime:
        return self._source()

    def follow(self, source: Callable[[], datetime]) -> None:
        """Read ``source`` from now on (a fixed instant, an emulator's clock)."""
        self._source = source.__call__ if isinstance(source, Clock) else source

    def epoch(self) -> float:
        """Now in epoch seconds, for code that counts in them."""
        return self().timestamp()
