"""The pull bookmark: an ``updated`` watermark plus the issues already delivered at its edge.

JQL dates have minute resolution, so each pull asks from one overlap window (default one
minute) before the watermark, floored to the minute, and skips issues already delivered with
the same ``updated``. The watermark only moves forward and never past the time the pull started.
Pure: tested without HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from connectors.errors import FatalError


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


def _floor_minute(instant: datetime) -> datetime:
    return instant.replace(second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class Watermark:
    at: datetime
    seen: dict[str, str] = field(default_factory=dict)  # issue key -> ``updated`` delivered

    @classmethod
    def initial(cls, start: datetime) -> Watermark:
        return cls(at=start.astimezone(UTC))

    @classmethod
    def decode(cls, cursor: str) -> Watermark:
        try:
            data = json.loads(cursor)
            return cls(at=datetime.fromisoformat(data["at"]), seen=dict(data.get("seen", {})))
        except (ValueError, KeyError, TypeError) as exc:
            raise FatalError(f"unreadable jira cursor: {exc}") from None

    def encode(self) -> str:
        return json.dumps({"v": 1, "at": self.at.isoformat(), "seen": self.seen}, sort_keys=True)

    def query_from(self, overlap: timedelta) -> datetime:
        """The earliest ``updated`` the next JQL asks for (minute resolution)."""
        return _floor_minute(self.at - overlap)

    def is_new(self, key: str, updated: datetime) -> bool:
        return self.seen.get(key) != updated.isoformat()

    def advance(
        self,
        delivered: Iterable[tuple[str, datetime]],
        *,
        started_at: datetime,
        overlap: timedelta,
    ) -> Watermark:
        """The bookmark after delivering ``(key, updated)`` pairs: forward only, capped."""
        seen = dict(self.seen)
        newest = self.at
        for key, updated in delivered:
            seen[key] = updated.isoformat()
            newest = max(newest, updated)
        at = max(self.at, min(newest, started_at.astimezone(UTC)))
        horizon = _floor_minute(at - overlap)
        kept = {k: v for k, v in seen.items() if datetime.fromisoformat(v) >= horizon}
        return Watermark(at=at, seen=kept)
