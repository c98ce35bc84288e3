"""When a digest of open escalations is due: a time of day on each business day of a calendar.

Pure: ``next_at`` answers from the calendar alone, so the schedule is exact and testable. A day
counts when the calendar is open at some time of it (a bank holiday or a weekend is skipped);
an always-open calendar has every day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from engine.calendar import BusinessCalendar, from_epoch
from engine.criteria import Always, Criterion

SEARCH_DAYS = 400  # a calendar open on no day of a year and more has no digest


@dataclass(frozen=True, slots=True)
class Digest:
    name: str
    channel: str
    at: int  # minutes after local midnight, in the calendar's zone
    calendar: BusinessCalendar
    when: Criterion = field(default_factory=Always)  # which open escalations it lists

    def next_at(self, after: int) -> int | None:
        """The first digest instant strictly after ``after`` (epoch seconds)."""
        zone = self.calendar.zone
        day = from_epoch(after).astimezone(zone).date()
        for _ in range(SEARCH_DAYS):
            if self.is_business_day(day):
                instant = int(self._local(day).timestamp())
                if instant > after:
                    return instant
            day += timedelta(days=1)
        return None

    def is_business_day(self, day: date) -> bool:
        if self.calendar.always_open:
            return True
        start = int(self._local(day, 0).timestamp())
        end = int(self._local(day + timedelta(days=1), 0).timestamp())
        return self.calendar.position(end) > self.calendar.position(start)

    def _local(self, day: date, minutes: int | None = None) -> datetime:
        m = self.at if minutes is None else minutes
        return datetime.combine(day, time(m // 60, m % 60), self.calendar.zone)
