"""Jira's side of the pull bookmark, without HTTP: the JQL minute, the overlap, and cursors
stored before the shared edge cursor (``tests/connectors/test_cursor.py`` has the rule)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from connectors.cursor import EdgeCursor
from connectors.emulation import SeedTicket
from connectors.errors import FatalError
from connectors.jira import JiraConnector
from connectors.jira.cursor import decode_cursor, edge_rule, jql_minute, parse_jira_time
from connectors.jira.emulator import JiraEmulator

T = datetime(2026, 11, 20, 13, 5, 42, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
RULE = edge_rule(MINUTE)
# written by the connector before the shared cursor (v1): kept in running sidecars' stores
V1 = (
    '{"at": "2026-11-20T13:05:42+00:00", "seen": {"SUP-1": "2026-11-20T13:05:42+00:00", '
    '"SUP-2": "2026-11-20T13:05:12.123000+00:00"}, "v": 1}'
)


def test_query_starts_one_overlap_before_the_watermark_floored_to_the_minute() -> None:
    assert EdgeCursor(T).query_from(RULE) == datetime(2026, 11, 20, 13, 4, tzinfo=UTC)
    assert EdgeCursor(T).query_from(edge_rule(timedelta(0))) == T.replace(second=0)
    assert jql_minute(T, "UTC") == "2026-11-20 13:05"
    assert jql_minute(T, "Europe/Berlin") == "2026-11-20 14:05"  # the API user's zone


def test_same_updated_is_skipped_a_later_one_is_not() -> None:
    mark = EdgeCursor(T).advanced([("SUP-1", T)], started_at=T + MINUTE, rule=RULE)
    assert not mark.is_new("SUP-1", T, RULE)
    assert mark.is_new("SUP-1", T + timedelta(seconds=1), RULE)
    assert mark.is_new("SUP-2", T, RULE)


def test_an_issue_updated_past_the_pull_start_is_remembered() -> None:
    future = EdgeCursor(T).advanced(
        [("SUP-2", T + timedelta(hours=1))], started_at=T + MINUTE, rule=RULE
    )
    assert future.watermark == T + MINUTE
    assert "SUP-2" in future.edge  # beyond the cap: kept so the next pull skips it


def test_a_v1_cursor_is_still_read() -> None:
    mark = decode_cursor(V1)
    assert mark == EdgeCursor(
        T, {"SUP-1": T, "SUP-2": datetime(2026, 11, 20, 13, 5, 12, 123000, tzinfo=UTC)}
    )
    assert not mark.is_new("SUP-2", parse_jira_time("2026-11-20T13:05:12.123+0000"), RULE)
    assert decode_cursor('{"v": 1, "at": "2026-11-20T13:05:42+00:00"}') == EdgeCursor(T)


def test_the_cursor_is_written_in_the_current_form_and_round_trips() -> None:
    mark = decode_cursor(V1).advanced([("SUP-3", T)], started_at=T, rule=RULE)
    assert mark.encode().startswith("edge-cursor-v2:")
    assert decode_cursor(mark.encode()) == mark


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"v": 1}',
        '{"v": 1, "at": "2026-11-20T13:05:42"}',  # no zone
        '{"v": 1, "at": "2026-11-20T13:05:42+00:00", "seen": {"SUP-1": 5}}',
        '{"v": 3, "at": "2026-11-20T13:05:42+00:00"}',
        "edge-cursor-v2:{",
        "eyJ2IjoxLCJ3IjoxNzk1MTc5OTQyMjUwLCJpZHMiOltdfQ",  # HubSpot's v1: not ours
    ],
)
def test_an_unreadable_cursor_is_a_fatal_error(text: str) -> None:
    with pytest.raises(FatalError, match="unreadable jira cursor"):
        decode_cursor(text)


def test_jira_timestamps_parse_with_their_offset() -> None:
    assert parse_jira_time("2026-11-20T14:05:42.000+0100") == T


def test_a_pull_from_an_unreadable_cursor_is_a_fatal_error(connector: JiraConnector) -> None:
    with pytest.raises(FatalError, match="unreadable jira cursor"):
        connector.pull("not json", start=T)


def test_a_pull_resumes_from_a_v1_cursor(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    emulator.seed([seed(i) for i in range(3)])
    first = connector.pull(None, start=T - timedelta(days=30))
    assert first.cursor is not None
    # the same position, as the connector wrote it before the shared cursor
    mark = decode_cursor(first.cursor)
    seen = {k: v.isoformat() for k, v in mark.edge.items()}
    v1 = json.dumps({"v": 1, "at": mark.watermark.isoformat(), "seen": seen}, sort_keys=True)
    assert decode_cursor(v1) == mark
    assert connector.pull(v1, start=T).tickets == ()  # the overlap re-read them: skipped
