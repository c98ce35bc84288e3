"""The pull bookmark of the connectors that search by a last-modified stamp (Jira, HubSpot).

An ``EdgeCursor`` is a watermark plus the records already delivered near its edge, each with
the stamp it was delivered with. The next query asks again from a little before the watermark
(``EdgeRule.horizon``, floored to the query's ``resolution``), so a record that reached a lagging
index late is still found; what it finds again with the same stamp is skipped. The watermark
only moves forward and never past the instant the pull started: a record stamped later may
reach the index after others stamped before it.

Pure and typed: no HTTP, no clock. Each connector brings its own ``EdgeRule``, its own units
and the cursor forms it wrote before this one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

FORMAT_PREFIX = "edge-cursor-v2:"  # v1 was two forms, one per connector (read by each)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class UnreadableCursor(ValueError):
    """The text is not an edge cursor in the current form."""


def floor_to(instant: datetime, resolution: timedelta) -> datetime:
    """``instant`` in UTC, rounded down to a whole number of ``resolution`` since the epoch."""
    return _EPOCH + (instant - _EPOCH) // resolution * resolution


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError(f"a cursor stamp needs a zone: {instant!r}")
    return instant.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class EdgeRule:
    """What one connector's query can promise, which decides what its cursor keeps."""

    horizon: timedelta  # how far before the watermark each query asks again (lagging index)
    resolution: timedelta  # the query's date filter granularity: its start is floored to it
    # a delivery stamped after the pull began: counted (moves the watermark, up to the start,
    # and is remembered so it is not delivered again) or ignored (delivered again next pull)
    count_past_start: bool

    def __post_init__(self) -> None:
        if self.horizon < timedelta(0) or self.resolution <= timedelta(0):
            raise ValueError(f"a horizon of zero or more and a positive resolution: {self!r}")


@dataclass(frozen=True, slots=True)
class EdgeCursor:
    watermark: datetime  # UTC
    edge: Mapping[str, datetime] = field(default_factory=dict)  # record id -> stamp delivered

    def __post_init__(self) -> None:
        # normalised and read-only: equal cursors encode alike, and no caller's dict leaks in
        object.__setattr__(self, "watermark", _utc(self.watermark))
        frozen = MappingProxyType({k: _utc(v) for k, v in self.edge.items()})
        object.__setattr__(self, "edge", frozen)

    def query_from(self, rule: EdgeRule) -> datetime:
        """The earliest stamp the next query asks for."""
        return floor_to(self.watermark - rule.horizon, rule.resolution)

    def is_new(self, record_id: str, stamp: datetime, rule: EdgeRule) -> bool:
        """Whether a record the query returned is to be delivered: not stamped before the
        query's start, and not delivered already with this very stamp."""
        return stamp >= self.query_from(rule) and self.edge.get(record_id) != stamp

    def advanced(
        self, delivered: Iterable[tuple[str, datetime]], *, started_at: datetime, rule: EdgeRule
    ) -> EdgeCursor:
        """The cursor after delivering ``(record id, stamp)`` pairs in a pull that began at
        ``started_at``: forward only, capped at ``started_at``; the edge keeps what the next
        query can return again."""
        start, since = _utc(started_at), self.query_from(rule)
        # stamped before the query's start: not new, so delivering it again changes nothing
        counted = [
            (k, s) for k, s in delivered if s >= since and (rule.count_past_start or s <= start)
        ]
        newest = max((s for _, s in counted), default=self.watermark)
        moved = EdgeCursor(max(self.watermark, min(newest, start)))
        keep_from = moved.query_from(rule)
        merged = {**self.edge, **dict(counted)}  # a record delivered twice: its last stamp
        return EdgeCursor(moved.watermark, {k: s for k, s in merged.items() if s >= keep_from})

    def encode(self) -> str:
        data = {
            "w": self.watermark.isoformat(),
            "edge": {k: v.isoformat() for k, v in self.edge.items()},
        }
        return FORMAT_PREFIX + json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def decode(cls, text: str) -> EdgeCursor:
        """``UnreadableCursor`` unless ``text`` came from ``encode``."""
        if not text.startswith(FORMAT_PREFIX):
            raise UnreadableCursor(f"not an edge cursor: {text[:40]!r}")
        try:
            data = json.loads(text.removeprefix(FORMAT_PREFIX))
            edge = {str(k): datetime.fromisoformat(v) for k, v in data["edge"].items()}
            return cls(datetime.fromisoformat(data["w"]), edge)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UnreadableCursor(f"unreadable edge cursor: {exc}") from None
