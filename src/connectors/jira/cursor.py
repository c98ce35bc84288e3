"""Jira's side of the pull bookmark (the rule itself is ``connectors.cursor``): JQL dates have
minute resolution and the API user's zone, and each pull asks again from one overlap window
(default one minute) before the watermark; Jira's time forms; the cursor form written before.
Pure: tested without HTTP.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from connectors.cursor import FORMAT_PREFIX, EdgeCursor, EdgeRule
from connectors.errors import FatalError

JQL_RESOLUTION = timedelta(minutes=1)


def edge_rule(overlap: timedelta) -> EdgeRule:
    # the overlap re-reads a lagging index, so a delivery stamped past the pull's start (clock
    # skew upstream) can be remembered and skipped when the next query returns it again
    return EdgeRule(horizon=overlap, resolution=JQL_RESOLUTION, count_past_start=True)


def decode_cursor(cursor: str) -> EdgeCursor:
    """A cursor this connector wrote, in either form; ``FatalError`` for anything else."""
    try:
        if cursor.startswith(FORMAT_PREFIX):
            return EdgeCursor.decode(cursor)
        # v1: {"v": 1, "at": iso, "seen": {issue key: updated iso}}
        data = json.loads(cursor)
        if data.get("v", 1) != 1:
            raise ValueError(f"cursor version {data.get('v')!r}")
        seen = {str(k): datetime.fromisoformat(v) for k, v in data.get("seen", {}).items()}
        return EdgeCursor(datetime.fromisoformat(data["at"]), seen)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FatalError(f"unreadable jira cursor: {exc}") from None


def parse_jira_time(text: str) -> datetime:
    """Jira's ``2026-11-20T13:05:12.345+0000`` (or any ISO form) as an aware UTC datetime."""
    try:
        value = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"timestamp without a zone: {text!r}")
    return value.astimezone(UTC)


def format_jira_time(instant: datetime) -> str:
    """The form Jira writes: milliseconds and a ``+0000`` offset."""
    utc = instant.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def jql_minute(instant: datetime, zone: str) -> str:
    """A JQL date literal (``yyyy-MM-dd HH:mm``) in the API user's time zone, floored."""
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
