"""Business-hours calendars: weekly opening hours in a time zone, minus holidays.

Time is counted in the calendar's own zone, so opening hours follow daylight-saving changes.
Internally an instant is an integer of epoch seconds and the open intervals of each year are
precomputed with a running total of business seconds; adding and measuring business time are
then two binary searches. Years are added on demand, in either direction.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Weekly hours: weekday (0 = Monday) -> opening spans as (start, end) minutes after midnight.
WeeklyHours = Mapping[int, Sequence[tuple[int, int]]]

_FIRST_YEAR, _LAST_YEAR = 1971, 2200


def to_epoch(instant: datetime) -> int:
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant.isoformat()}: instants must carry a zone")
    return int(instant.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class BusinessCalendar:
    """Adds and measures business time. ``always_open`` calendars are plain clock time."""

    def __init__(
        self,
        name: str,
        zone: ZoneInfo,
        weekly: WeeklyHours | None = None,
        *,
        closed_on: Callable[[int], Iterable[date]] | None = None,
        always_open: bool = False,
    ) -> None:
        self.name = name
        self.zone = zone
        self.always_open = always_open
        self._weekly = {day: tuple(sorted(spans)) for day, spans in (weekly or {}).items()}
        self._closed_on = closed_on or (lambda year: ())
        if not always_open and not any(self._weekly.values()):
            raise ValueError(f"calendar {name!r} has no opening hours")
        self._years: tuple[int, int] | None = None
        self._lo = self._hi = 0  # epoch range the table covers with a year of margin
        self._last = self._prev = (-1, 0)  # the last two positions asked for
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._cum: list[int] = []  # business seconds before interval i
        self._cum_end: list[int] = []  # business seconds up to the end of interval i

    # -- public API on datetimes --------------------------------------------------------------
    def add(self, start: datetime, seconds: int) -> datetime:
        """The instant at which ``seconds`` of business time have passed since ``start``."""
        return from_epoch(self.add_epoch(to_epoch(start), seconds))

    def between(self, start: datetime, end: datetime) -> int:
        """Business seconds from ``start`` to ``end`` (negative when ``end`` is earlier)."""
        return self.position(to_epoch(end)) - self.position(to_epoch(start))

    def is_open(self, instant: datetime) -> bool:
        t = to_epoch(instant)
        return self.position(t + 1) - self.position(t) == 1

    # -- hot path on epoch seconds ------------------------------------------------------------
    def position(self, t: int) -> int:
        """Business seconds from a fixed origin to ``t``: differences of positions are durations."""
        if self.always_open:
            return t
        last, prev = self._last, self._prev
        if t == last[0]:  # a re-plan asks for ``now`` and each creation time more than once
            return last[1]
        if t == prev[0]:
            return prev[1]
        if not self._lo <= t < self._hi:
            self._cover(t)
        i = bisect.bisect_right(self._ends, t)
        if i == len(self._starts):
            pos = self._cum_end[-1]
        else:
            start = self._starts[i]
            pos = self._cum[i] + (t - start) if start <= t else self._cum[i]
        self._prev, self._last = last, (t, pos)
        return pos

    def add_epoch(self, t: int, seconds: int) -> int:
        if seconds <= 0:
            return t
        if self.always_open:
            return t + seconds
        target = self.position(t) + seconds
        while True:
            j = bisect.bisect_left(self._cum_end, target)
            if j < len(self._cum_end):
                return self._ends[j] - (self._cum_end[j] - target)
            self._extend_forward()

    # -- interval table -------------------------------------------------------------------------
    def _cover(self, t: int) -> None:
        year = datetime.fromtimestamp(t, UTC).year
        if self._years is None:
            self._build(year - 1, year + 1)
            return
        lo, hi = self._years
        # a margin of one year on each side keeps local-time edges of New Year covered
        if year - 1 < lo or year + 1 > hi:
            self._build(min(lo, year - 1), max(hi, year + 1))

    def _extend_forward(self) -> None:
        if self._years is None:  # pragma: no cover - position() builds first
            raise RuntimeError("calendar table not built")
        lo, hi = self._years
        if hi >= _LAST_YEAR:
            raise ValueError(f"calendar {self.name!r} has no opening time before {_LAST_YEAR}")
        self._build(lo, min(_LAST_YEAR, hi + 2))

    def _build(self, first_year: int, last_year: int) -> None:
        first_year, last_year = max(first_year, _FIRST_YEAR), min(last_year, _LAST_YEAR)
        closed: set[date] = set()
        for year in range(first_year, last_year + 1):
            closed.update(self._closed_on(year))
        starts: list[int] = []
        ends: list[int] = []
        day = date(first_year, 1, 1)
        last = date(last_year, 12, 31)
        one = timedelta(days=1)
        while day <= last:
            if day not in closed:
                for begin, finish in self._weekly.get(day.weekday(), ()):
                    s = self._local_epoch(day, begin)
                    e = self._local_epoch(day, finish)
                    if e <= s:
                        continue
                    if ends and s <= ends[-1]:  # touching spans merge into one
                        ends[-1] = max(ends[-1], e)
                    else:
                        starts.append(s)
                        ends.append(e)
            day += one
        cum: list[int] = []
        cum_end: list[int] = []
        total = 0
        for s, e in zip(starts, ends, strict=True):
            cum.append(total)
            total += e - s
            cum_end.append(total)
        if not starts:
            raise ValueError(f"calendar {self.name!r} is closed all of {first_year}-{last_year}")
        if self._starts:
            # keep positions stable across rebuilds: the old first instant keeps its position
            anchor = self._starts[0]
            k = bisect.bisect_right(ends, anchor)
            here = cum[k] + max(0, anchor - starts[k])
            shift = self._cum[0] - here
            cum = [c + shift for c in cum]
            cum_end = [c + shift for c in cum_end]
        self._starts, self._ends, self._cum, self._cum_end = starts, ends, cum, cum_end
        self._years = (first_year, last_year)
        self._last = self._prev = (-1, 0)
        self._lo = int(datetime(first_year + 1, 1, 1, tzinfo=UTC).timestamp())
        self._hi = int(datetime(last_year, 1, 1, tzinfo=UTC).timestamp())

    def _local_epoch(self, day: date, minutes: int) -> int:
        if minutes >= 24 * 60:
            return self._local_epoch(day + timedelta(days=1), minutes - 24 * 60)
        wall = datetime.combine(day, time(minutes // 60, minutes % 60), self.zone)
        return int(wall.timestamp())

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.name!r}, {self.zone.key})"
