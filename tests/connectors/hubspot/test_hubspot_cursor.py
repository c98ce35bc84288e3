"""HubSpot's side of the pull bookmark, without HTTP: milliseconds, no overlap, and cursors
stored before the shared edge cursor (``tests/connectors/test_cursor.py`` has the rule)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from connectors.cursor import EdgeCursor
from connectors.errors import FatalError
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.cursor import Cursor, instant_of, millis_of
from connectors.hubspot.emulator import HubSpotEmulator
from tests.connectors.hubspot.hubspot_helpers import NOW, seed_ticket

W = 1795179942250  # 2026-11-20T13:05:42.250Z
# written by the connector before the shared cursor (v1): kept in running sidecars' stores
V1 = "eyJ2IjoxLCJ3IjoxNzk1MTc5OTQyMjUwLCJpZHMiOlsiMTAxIiwiMTAyIl19"  # w=W, ids 101 and 102
V1_EMPTY = "eyJ2IjoxLCJ3IjoxNzk1MTc5OTQyMjUwLCJpZHMiOltdfQ"


def test_milliseconds_convert_exactly() -> None:
    assert instant_of(W) == datetime(2026, 11, 20, 13, 5, 42, 250000, tzinfo=UTC)
    assert all(millis_of(instant_of(ms)) == ms for ms in range(W - 1000, W + 1000))


def test_a_v1_cursor_is_still_read() -> None:
    cursor = Cursor.decode(V1)
    assert cursor.watermark == W
    assert cursor.edge == EdgeCursor(instant_of(W), {"101": instant_of(W), "102": instant_of(W)})
    assert not cursor.is_new("101", W)
    assert cursor.is_new("103", W)
    assert Cursor.decode(V1_EMPTY) == Cursor(EdgeCursor(instant_of(W)))


def test_only_ids_at_the_watermark_are_kept() -> None:
    cursor = Cursor.decode(V1)
    assert not cursor.is_new("104", W - 1)  # before the search's filter
    assert cursor.is_new("101", W + 1)
    moved = cursor.advanced("104", W + 5, ceiling_ms=W + 10)
    assert (moved.watermark, set(moved.edge.edge)) == (W + 5, {"104"})
    assert cursor.advanced("105", W + 11, ceiling_ms=W + 10) == cursor  # past the pull start
    assert cursor.advanced("106", W - 1, ceiling_ms=W + 10) == cursor


def test_the_cursor_is_written_in_the_current_form_and_round_trips() -> None:
    cursor = Cursor.decode(V1).advanced("103", W, ceiling_ms=W + 10)
    assert cursor.encode().startswith("edge-cursor-v2:")
    assert Cursor.decode(cursor.encode()) == cursor
    assert Cursor.decode(cursor.encode()).watermark == W


@pytest.mark.parametrize(
    "text",
    [
        "not a cursor",
        "e30",  # {}
        "eyJ2IjoyLCJ3IjoxLCJpZHMiOltdfQ",  # {"v":2,"w":1,"ids":[]}: no such v
        "edge-cursor-v2:{",
        '{"at": "2026-11-20T13:05:42+00:00", "seen": {}, "v": 1}',  # Jira's v1: not ours
    ],
)
def test_an_unreadable_cursor_is_a_value_error(text: str) -> None:
    # the connector's pull turns it into a FatalError, as before
    with pytest.raises(ValueError, match="cursor"):
        Cursor.decode(text)


def test_a_pull_from_an_unreadable_cursor_is_a_fatal_error(connector: HubSpotConnector) -> None:
    with pytest.raises(FatalError, match="not a hubspot cursor"):
        connector.pull("not a cursor", start=NOW)


def test_a_pull_resumes_from_a_v1_cursor(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    [earlier, _] = emulator.seed(
        [
            seed_ticket("earlier", updated_at=NOW - timedelta(hours=1)),
            seed_ticket("newest", updated_at=NOW - timedelta(minutes=30)),
        ]
    )
    first = connector.pull(None, start=NOW - timedelta(days=1))
    assert first.cursor is not None
    # the same position, as the connector wrote it before the shared cursor
    edge = Cursor.decode(first.cursor).edge
    v1 = {"v": 1, "w": millis_of(edge.watermark), "ids": sorted(edge.edge)}
    text = base64.urlsafe_b64encode(json.dumps(v1).encode()).decode().rstrip("=")
    assert Cursor.decode(text) == Cursor.decode(first.cursor)
    assert connector.pull(text, start=NOW).tickets == ()
    emulator.server.clock.advance(60)
    emulator.update(earlier, priority="high")
    assert [t.id for t in connector.pull(text, start=NOW).tickets] == [earlier]
