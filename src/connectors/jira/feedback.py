"""The customer's satisfaction with a JSM request, read from its request feedback.

A pulled issue carries JSM's "Satisfaction date" once its customer has rated it; only then is
the feedback read, and each rating once per process (keyed by that date), so the pull pays one
call per new rating, not one per issue. Ratings are JSM's 1-5 stars: 4 and 5 are good (the
usual CSAT "top two boxes"), 3 neutral, 1 and 2 bad.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from connectors.errors import ConnectorError, refuses_credentials

GOOD_FROM = 4
BAD_UP_TO = 2
PAUSE_SECONDS = 900.0  # after a failed read, ask again this much later, not per issue

# (satisfaction, why it could not be read): the second is a warning for the pull to report
Rating = tuple[str | None, str | None]


def satisfaction_of(feedback: dict[str, Any] | None) -> str | None:
    """``good``, ``neutral`` or ``bad`` from a feedback body; None without a usable rating."""
    rating = (feedback or {}).get("rating")
    if isinstance(rating, bool) or not isinstance(rating, int | float):
        return None
    if rating >= GOOD_FROM:
        return "good"
    return "bad" if rating <= BAD_UP_TO else "neutral"


class FeedbackReader:
    """One read per rating: ``(key, rated_at)`` -> satisfaction, the most recent ``keep``
    ratings cached (a rating pushed out costs one more read if its issue changes again)."""

    def __init__(
        self,
        read: Callable[[str], dict[str, Any] | None],
        *,
        enabled: bool,
        keep: int = 50_000,
        reads_per_pull: int = 200,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._enabled = enabled  # Cloud only: Data Center documents no feedback resource
        self._keep = keep
        self._clock = clock
        self._lock = threading.Lock()
        self._known: OrderedDict[str, tuple[str, str | None]] = OrderedDict()
        self._paused_until = float("-inf")
        self._owed: dict[str, None] = {}  # rated issues whose rating could not be read yet
        # a first pull over weeks of rated issues reads a few hundred, the rest in later pulls
        self._reads_per_pull = reads_per_pull
        self._reads = 0

    def begin_pull(self) -> None:
        with self._lock:
            self._reads = 0

    def satisfaction(self, key: str, rated_at: str) -> Rating:
        """The rating of issue ``key`` rated at ``rated_at``. A failed read (403: the API user
        may not view the request's feedback; or the service failing) is no rating and a
        warning, never a failed pull: reads pause for a while, and the issue is ``owed``. A
        token refused (401) stops the pull, as it would at its next call."""
        if not self._enabled:
            return None, None
        with self._lock:
            known = self._known.get(key)
            if known is not None and known[0] == rated_at:
                self._known.move_to_end(key)
                return known[1], None
            if self._clock() < self._paused_until or self._reads >= self._reads_per_pull:
                self._owed[key] = None
                return None, None
            self._reads += 1
        try:
            value = satisfaction_of(self._read(key))
        except ConnectorError as exc:
            if refuses_credentials(exc):
                raise
            with self._lock:
                self._paused_until = self._clock() + PAUSE_SECONDS
                self._owed[key] = None
            pause = f"{PAUSE_SECONDS / 60:.0f} min"
            return None, f"request feedback not read, asked again in {pause}: {exc}"
        with self._lock:
            self._owed.pop(key, None)
            self._known[key] = (rated_at, value)
            self._known.move_to_end(key)
            while len(self._known) > self._keep:
                self._known.popitem(last=False)
        return value, None

    def owed(self, most: int) -> list[str]:
        """Up to ``most`` issues whose rating is still to be read, once reads may resume."""
        with self._lock:
            if not self._enabled or self._clock() < self._paused_until:
                return []
            return list(self._owed)[: min(most, self._reads_per_pull - self._reads)]

    def forget(self, key: str) -> None:
        """Issue ``key`` is gone: nothing is owed for it."""
        with self._lock:
            self._owed.pop(key, None)
