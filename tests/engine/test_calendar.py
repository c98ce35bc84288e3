"""Business-hours arithmetic of the reference calendars, to the second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.calendar import BusinessCalendar
from engine.policy import Policy

H = 3600


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def support(policy: Policy) -> BusinessCalendar:
    return policy.calendars["support-hours"]


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # Friday afternoon rolls over the weekend to Monday
        ("2026-03-06T15:00:00Z", 4, "2026-03-09T11:00:00Z"),
        # starting on a Saturday counts from Monday 09:00
        ("2026-03-07T12:00:00Z", 1, "2026-03-09T10:00:00Z"),
        # the UK moves to BST on Sunday 2026-03-29: Monday opens at 08:00 UTC
        ("2026-03-27T16:00:00Z", 4, "2026-03-30T11:00:00Z"),
        # Easter 2026: Good Friday 3 April and Easter Monday 6 April are closed
        ("2026-04-02T14:00:00Z", 4, "2026-04-07T10:00:00Z"),
        # Christmas: 24 Dec is our own closed day, 25 Dec and the Boxing Day substitute 28 Dec
        ("2026-12-23T16:00:00Z", 2, "2026-12-29T10:00:00Z"),
        # back to GMT on 2026-10-25: Monday 26 October opens at 09:00 UTC
        ("2026-10-23T15:00:00Z", 2, "2026-10-26T10:00:00Z"),
        # exactly the end of a day is due at closing time, not the next morning
        ("2026-03-09T09:00:00Z", 8, "2026-03-09T17:00:00Z"),
        # early May bank holiday, Monday 4 May 2026
        ("2026-05-01T15:00:00Z", 3, "2026-05-05T10:00:00Z"),  # 16:00 BST + 1 h, then 2 h
    ],
)
def test_add_business_hours(
    support: BusinessCalendar, start: str, hours: int, expected: str
) -> None:
    assert support.add(utc(start), hours * H) == utc(expected)


def test_between_counts_only_open_time(support: BusinessCalendar) -> None:
    # Friday 16:00 to Monday 10:00 London: 1 h + 1 h
    assert support.between(utc("2026-03-06T16:00:00Z"), utc("2026-03-09T10:00:00Z")) == 2 * H
    # the whole Easter weekend, Thursday 17:00 BST to Tuesday 09:00 BST, is closed
    assert support.between(utc("2026-04-02T16:00:00Z"), utc("2026-04-07T08:00:00Z")) == 0
    # backwards is negative
    assert support.between(utc("2026-03-09T10:00:00Z"), utc("2026-03-09T09:00:00Z")) == -H


def test_is_open_follows_daylight_saving(support: BusinessCalendar) -> None:
    assert not support.is_open(utc("2026-03-30T07:59:59Z"))
    assert support.is_open(utc("2026-03-30T08:00:00Z"))  # 09:00 BST
    assert not support.is_open(utc("2026-03-30T16:00:00Z"))  # 17:00 BST
    assert support.is_open(utc("2026-03-27T16:59:59Z"))  # 16:59:59 GMT, before the change
    assert not support.is_open(utc("2026-04-03T10:00:00Z"))  # Good Friday


def test_always_open_is_clock_time(policy: Policy) -> None:
    cal = policy.calendars["24x7"]
    start = utc("2026-03-28T23:30:00Z")  # across the night the clocks change
    assert cal.add(start, 2 * H) == utc("2026-03-29T01:30:00Z")
    assert cal.between(start, utc("2026-03-29T01:30:00Z")) == 2 * H


def test_far_years_extend_the_table(support: BusinessCalendar) -> None:
    # a position taken before and after the table grows stays the same
    a, b = utc("2026-01-05T09:00:00Z"), utc("2026-01-05T10:00:00Z")
    assert support.between(a, b) == H
    assert support.between(utc("2012-01-04T09:00:00Z"), utc("2012-01-04T10:00:00Z")) == H
    assert support.between(a, b) == H
    assert support.add(utc("2040-12-21T16:00:00Z"), 2 * H) == utc("2040-12-24T10:00:00Z")


def test_new_york_calendar_across_its_own_dst() -> None:
    ny = BusinessCalendar(
        "us", ZoneInfo("America/New_York"), {d: [(9 * 60, 17 * 60)] for d in range(5)}
    )
    # the US moves to EDT on 2026-03-08: Friday 16:00 EST is 21:00 UTC, Monday 09:00 EDT 13:00
    assert ny.add(utc("2026-03-06T21:00:00Z"), 2 * H) == utc("2026-03-09T14:00:00Z")


def test_a_calendar_without_hours_is_refused() -> None:
    with pytest.raises(ValueError, match="no opening hours"):
        BusinessCalendar("never", ZoneInfo("UTC"), {})


instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2032, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))
durations = st.integers(min_value=0, max_value=2_000 * H)


@settings(max_examples=300, deadline=None)
@given(start=instants, seconds=durations)
def test_adding_then_measuring_gives_it_back(
    support: BusinessCalendar, start: datetime, seconds: int
) -> None:
    end = support.add(start, seconds)
    assert end >= start
    assert support.between(start, end) == seconds


@settings(max_examples=300, deadline=None)
@given(start=instants, a=durations, b=durations)
def test_adding_is_monotonic(support: BusinessCalendar, start: datetime, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert support.add(start, low) <= support.add(start, high)


@settings(max_examples=300, deadline=None)
@given(a=instants, b=instants, c=instants)
def test_measuring_is_additive(
    support: BusinessCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    assert support.between(a, b) + support.between(b, c) == support.between(a, c)
    assert support.between(a, b) <= max(0, int((b - a).total_seconds()))


@settings(max_examples=200, deadline=None)
@given(start=instants, seconds=st.integers(min_value=1, max_value=500 * H))
def test_due_instants_fall_inside_opening_hours(
    support: BusinessCalendar, start: datetime, seconds: int
) -> None:
    end = support.add(start, seconds)
    # the last business second before a due instant was open
    assert support.is_open(end - timedelta(seconds=1))
