"""The shared edge cursor, without HTTP: forward only, capped at the pull's start, the ids at the
edge, and the horizon that decides how long they are kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors.cursor import EdgeCursor, EdgeRule, UnreadableCursor, floor_to

T = datetime(2026, 11, 20, 13, 5, 42, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)
OVERLAP = EdgeRule(horizon=MINUTE, resolution=MINUTE, count_past_start=True)  # Jira's shape
EXACT = EdgeRule(horizon=timedelta(0), resolution=timedelta(milliseconds=1), count_past_start=False)


def test_the_query_starts_one_horizon_back_floored_to_the_resolution() -> None:
    assert EdgeCursor(T).query_from(OVERLAP) == datetime(2026, 11, 20, 13, 4, tzinfo=UTC)
    assert EdgeCursor(T).query_from(EXACT) == T
    assert floor_to(T + timedelta(microseconds=1500), timedelta(milliseconds=1)) == T + timedelta(
        milliseconds=1
    )


def test_the_watermark_moves_forward_only() -> None:
    for rule in (OVERLAP, EXACT):
        cursor = EdgeCursor(T)
        assert cursor.advanced([("a", T - SECOND)], started_at=T + MINUTE, rule=rule).watermark == T
        assert cursor.advanced([], started_at=T + MINUTE, rule=rule).watermark == T
        later = cursor.advanced([("a", T + SECOND)], started_at=T + MINUTE, rule=rule)
        assert later.watermark == T + SECOND


def test_the_watermark_never_passes_the_pull_start() -> None:
    future = [("a", T + timedelta(hours=1))]
    counted = EdgeCursor(T).advanced(future, started_at=T + MINUTE, rule=OVERLAP)
    assert counted.watermark == T + MINUTE
    assert not counted.is_new("a", T + timedelta(hours=1), OVERLAP)  # kept: skipped next time
    ignored = EdgeCursor(T).advanced(future, started_at=T + MINUTE, rule=EXACT)
    assert ignored == EdgeCursor(T)  # as if not delivered: the next pull delivers it again
    assert ignored.is_new("a", T + timedelta(hours=1), EXACT)


def test_ids_delivered_at_the_edge_are_skipped_only_with_the_same_stamp() -> None:
    for rule in (OVERLAP, EXACT):
        cursor = EdgeCursor(T).advanced([("a", T)], started_at=T + MINUTE, rule=rule)
        assert not cursor.is_new("a", T, rule)
        assert cursor.is_new("a", T + SECOND, rule)  # changed again
        assert cursor.is_new("b", T, rule)  # same stamp, another record


def test_a_stamp_before_the_query_start_is_not_new() -> None:
    cursor = EdgeCursor(T)
    assert not cursor.is_new("a", T - timedelta(milliseconds=1), EXACT)
    assert cursor.is_new("a", datetime(2026, 11, 20, 13, 4, tzinfo=UTC), OVERLAP)
    assert not cursor.is_new("a", datetime(2026, 11, 20, 13, 3, 59, tzinfo=UTC), OVERLAP)


def test_the_edge_keeps_what_the_next_query_can_return_again() -> None:
    old = T - timedelta(minutes=10)
    cursor = EdgeCursor(old, {"a": old})
    moved = cursor.advanced(
        [("b", T), ("c", datetime(2026, 11, 20, 13, 4, 0, tzinfo=UTC))], started_at=T, rule=OVERLAP
    )
    assert dict(moved.edge) == {"b": T, "c": datetime(2026, 11, 20, 13, 4, tzinfo=UTC)}
    # no horizon: only the ids stamped exactly at the watermark
    exact = EdgeCursor(T, {"a": T}).advanced(
        [("b", T), ("c", T - SECOND)], started_at=T, rule=EXACT
    )
    assert dict(exact.edge) == {"a": T, "b": T}
    past = exact.advanced([("d", T + SECOND)], started_at=T + MINUTE, rule=EXACT)
    assert past == EdgeCursor(T + SECOND, {"d": T + SECOND})


def test_a_record_delivered_twice_keeps_its_last_stamp() -> None:
    # the last state delivered is what the next query is compared with
    for rule in (OVERLAP, EXACT):
        cursor = EdgeCursor(T).advanced([("a", T + SECOND), ("a", T)], started_at=T, rule=rule)
        assert cursor.edge["a"] == T
        assert cursor.is_new("a", T + SECOND, rule)


def test_a_delivery_stamped_before_the_query_start_changes_nothing() -> None:
    cursor = EdgeCursor(T, {"a": T})
    for rule in (OVERLAP, EXACT):
        early = cursor.query_from(rule) - SECOND
        assert cursor.advanced([("a", early)], started_at=T + MINUTE, rule=rule) == cursor


def test_a_cursor_is_immutable_and_in_utc() -> None:
    stamps = {"a": T.astimezone(timezone(timedelta(hours=-5)))}
    cursor = EdgeCursor(T.astimezone(timezone(timedelta(hours=2))), stamps)
    stamps["b"] = T
    assert dict(cursor.edge) == {"a": T}
    assert cursor.watermark.tzinfo is UTC
    with pytest.raises(TypeError):
        cursor.edge["c"] = T  # type: ignore[index]
    with pytest.raises(ValueError, match="needs a zone"):
        EdgeCursor(datetime(2026, 11, 20, 13, 5))


def test_the_current_form_round_trips_and_names_its_version() -> None:
    cursor = EdgeCursor(
        T + timedelta(microseconds=7), {"SUP-1": T, "123": T - timedelta(milliseconds=5)}
    )
    text = cursor.encode()
    assert text.startswith("edge-cursor-v2:")
    assert EdgeCursor.decode(text) == cursor
    assert EdgeCursor.decode(EdgeCursor(T).encode()) == EdgeCursor(T)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a cursor",
        '{"v": 1, "at": "2026-11-20T13:05:42+00:00", "seen": {}}',  # a v1 form: read by its own
        "edge-cursor-v2:",
        "edge-cursor-v2:{}",
        'edge-cursor-v2:{"w": "yesterday", "edge": {}}',
        'edge-cursor-v2:{"w": "2026-11-20T13:05:42", "edge": {}}',  # no zone
        'edge-cursor-v2:{"w": "2026-11-20T13:05:42+00:00", "edge": []}',
    ],
)
def test_anything_else_is_unreadable(text: str) -> None:
    with pytest.raises(UnreadableCursor):
        EdgeCursor.decode(text)
    assert issubclass(UnreadableCursor, ValueError)


def test_a_rule_needs_a_horizon_of_zero_or_more_and_a_positive_resolution() -> None:
    with pytest.raises(ValueError, match="horizon"):
        EdgeRule(horizon=-SECOND, resolution=SECOND, count_past_start=True)
    with pytest.raises(ValueError, match="resolution"):
        EdgeRule(horizon=SECOND, resolution=timedelta(0), count_past_start=True)
