"""The watermark rules, without HTTP: overlap, dedupe, forward only, never past the pull start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.errors import FatalError
from connectors.jira.cursor import Watermark, jql_minute, parse_jira_time

T = datetime(2026, 11, 20, 13, 5, 42, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_query_starts_one_overlap_before_the_watermark_floored_to_the_minute() -> None:
    assert Watermark(at=T).query_from(MINUTE) == datetime(2026, 11, 20, 13, 4, tzinfo=UTC)
    assert jql_minute(T, "UTC") == "2026-11-20 13:05"
    assert jql_minute(T, "Europe/Berlin") == "2026-11-20 14:05"  # the API user's zone


def test_same_updated_is_skipped_a_later_one_is_not() -> None:
    mark = Watermark(at=T).advance([("SUP-1", T)], started_at=T + MINUTE, overlap=MINUTE)
    assert not mark.is_new("SUP-1", T)
    assert mark.is_new("SUP-1", T + timedelta(seconds=1))
    assert mark.is_new("SUP-2", T)


def test_moves_forward_only_and_never_past_the_pull_start() -> None:
    mark = Watermark(at=T)
    earlier = mark.advance([("SUP-1", T - timedelta(hours=1))], started_at=T, overlap=MINUTE)
    assert earlier.at == T
    future = mark.advance(
        [("SUP-2", T + timedelta(hours=1))], started_at=T + MINUTE, overlap=MINUTE
    )
    assert future.at == T + MINUTE
    assert "SUP-2" in future.seen  # beyond the cap: kept so the next pull skips it


def test_seen_keys_outside_the_overlap_are_forgotten() -> None:
    old = T - timedelta(minutes=10)
    mark = Watermark(at=old, seen={"SUP-1": old.isoformat()})
    moved = mark.advance([("SUP-2", T)], started_at=T, overlap=MINUTE)
    assert set(moved.seen) == {"SUP-2"}


def test_cursor_round_trips_and_garbage_is_a_clear_error() -> None:
    mark = Watermark(at=T, seen={"SUP-1": T.isoformat()})
    assert Watermark.decode(mark.encode()) == mark
    with pytest.raises(FatalError, match="unreadable jira cursor"):
        Watermark.decode("not json")


def test_jira_timestamps_parse_with_their_offset() -> None:
    assert parse_jira_time("2026-11-20T14:05:42.000+0100") == T
