"""When the review of open escalations is due: ``engine.digest.Digest.next_at``, exact.

The shipped example (config/channels.yaml, commented out): ``morning-review`` at 09:00 on the
``support-hours`` calendar (Europe/London, Monday to Friday, England's bank holidays and
2026-12-24 closed). London is on GMT until 2026-03-29 and on BST (UTC+1) after.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine.calendar import to_epoch
from engine.digest import Digest
from engine.policy import Policy
from tests.engine.people_sim import people_policy


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    return people_policy(tmp_path_factory.mktemp("people"))


@pytest.fixture(scope="module")
def morning(policy: Policy) -> Digest:
    (digest,) = policy.digests
    assert (digest.name, digest.channel, digest.at) == ("morning-review", "support-manager", 540)
    return digest


def _next(digest: Digest, after: datetime) -> datetime | None:
    at = digest.next_at(to_epoch(after))
    return None if at is None else datetime.fromtimestamp(at, UTC)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        # Tuesday morning before 09:00 -> the same day
        (utc(2026, 3, 10, 8, 59, 59), utc(2026, 3, 10, 9, 0)),
        # exactly at the instant -> the next business day (strictly after)
        (utc(2026, 3, 10, 9, 0), utc(2026, 3, 11, 9, 0)),
        # Friday after the digest -> Monday, across the weekend
        (utc(2026, 3, 6, 10, 0), utc(2026, 3, 9, 9, 0)),
        # Friday 27 March (GMT) -> Monday 30 March, 09:00 BST = 08:00 UTC
        (utc(2026, 3, 27, 9, 30), utc(2026, 3, 30, 8, 0)),
        # Thursday 2 April -> Good Friday (3 April) and Easter Monday (6 April) are bank
        # holidays in England: Tuesday 7 April, 09:00 BST
        (utc(2026, 4, 2, 8, 0), utc(2026, 4, 7, 8, 0)),
        # the calendar's own closed day, Thursday 24 December -> Friday 25 is Christmas, 28
        # is the substitute Boxing Day: Tuesday 29 December, 09:00 GMT
        (utc(2026, 12, 23, 9, 0), utc(2026, 12, 29, 9, 0)),
    ],
)
def test_the_next_digest_on_business_days(
    morning: Digest, after: datetime, expected: datetime
) -> None:
    assert _next(morning, after) == expected


def test_a_bank_holiday_has_no_digest(morning: Digest) -> None:
    assert not morning.is_business_day(date(2026, 4, 3))  # Good Friday
    assert not morning.is_business_day(date(2026, 4, 4))  # Saturday
    assert morning.is_business_day(date(2026, 4, 2))


def test_on_a_24x7_calendar_every_day_has_its_digest(policy: Policy, morning: Digest) -> None:
    daily = Digest("daily", "executive", 7 * 60 + 30, policy.calendars["24x7"])
    # Saturday 7 March: 07:30 London (GMT) is 07:30 UTC
    assert _next(daily, utc(2026, 3, 7, 0, 0)) == utc(2026, 3, 7, 7, 30)
    assert _next(daily, utc(2026, 3, 7, 7, 30)) == utc(2026, 3, 8, 7, 30)
    # Sunday 29 March, the clocks go forward at 01:00 UTC: 07:30 BST is 06:30 UTC
    assert _next(daily, utc(2026, 3, 28, 8, 0)) == utc(2026, 3, 29, 6, 30)
