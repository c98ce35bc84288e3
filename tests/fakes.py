"""Test fakes shared across the suite."""

from __future__ import annotations


class Sleeps(list[float]):
    """A recording stand-in for ``time.sleep`` (a RetryPolicy's, a limiter's): every wait is
    kept to be asserted, none is slept."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    @property
    def waits(self) -> list[float]:
        return self
