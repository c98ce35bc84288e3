"""Each ticket's audits, kept between pulls and fed by the ticket event export.

The event export (``GET /api/v2/incremental/ticket_events?include=comment_events``) returns
every update as an ``Audit`` row whose ``child_events`` hold the comment (author, public, body)
and each changed field as a key of its own next to ``previous_value``. Rows are turned into the
audits endpoint's shape, so one mapper reads both. A ticket's timeline is complete when it was
read through the audits endpoint or its ``Create`` row came through the export; from then on
the export keeps it current and the ticket costs no call of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.errors import MalformedRecord
from connectors.zendesk.mapping import SIDECAR_METADATA_KEY, as_id, parse_instant

TRACKED_KEYS = ("status", "priority", "group_id", "assignee_id")
# keys of a child event that describe it rather than name the changed field
CHILD_META_KEYS = frozenset(
    {"id", "via", "via_reference_id", "event_type", "previous_value", "type", "audit_id"}
)
# channels whose comments may be the sidecar's own (written through the API); the export carries
# no audit metadata, so such a comment is read back through the audits endpoint once
API_CHANNELS = frozenset({"api"})


def audit_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """An event-export ``Audit`` row in the audits endpoint's shape."""
    events: list[dict[str, Any]] = []
    for child in row.get("child_events") or []:
        if not isinstance(child, Mapping):
            continue
        kind = child.get("event_type") or child.get("type")
        if kind in ("Comment", "VoiceComment"):
            if "body" not in child and "public" not in child:
                continue  # without the comment_events side-load only flags are sent
            events.append(
                {
                    "id": child.get("id"),
                    "type": kind,
                    "author_id": child.get("author_id", row.get("updater_id")),
                    "body": child.get("body") or "",
                    "public": child.get("public", child.get("comment_public", True)),
                    "via": child.get("via"),
                }
            )
        elif kind in ("Create", "Change"):
            name = next((k for k in TRACKED_KEYS if k in child), None) or next(
                (k for k in child if k not in CHILD_META_KEYS), None
            )
            events.append(
                {
                    "id": child.get("id"),
                    "type": kind,
                    "field_name": name,
                    "value": child.get(name) if name else None,
                    "previous_value": child.get("previous_value"),
                }
            )
        else:
            events.append({"id": child.get("id"), "type": kind})
    created = row.get("created_at")
    if not isinstance(created, str) and isinstance(row.get("timestamp"), int):
        created = datetime.fromtimestamp(row["timestamp"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    metadata = row.get("metadata")
    return {
        "id": row.get("id"),
        "ticket_id": row.get("ticket_id"),
        "created_at": created,
        "author_id": row.get("updater_id"),
        "via": row.get("via"),
        "metadata": metadata if isinstance(metadata, Mapping) else {},
        "events": events,
    }


def opens_ticket(audit: Mapping[str, Any]) -> bool:
    return any(e.get("type") == "Create" for e in audit.get("events") or [])


def api_comment_authors(audit: Mapping[str, Any]) -> set[int]:
    """Authors of comments written through the API in an audit without our metadata: one of
    them may be the sidecar itself (the export does not carry the metadata with our marker)."""
    via = audit.get("via")
    channel = via.get("channel") if isinstance(via, Mapping) else None
    metadata = audit.get("metadata")
    custom = metadata.get("custom") if isinstance(metadata, Mapping) else None
    if channel not in API_CHANNELS or (
        isinstance(custom, Mapping) and SIDECAR_METADATA_KEY in custom
    ):
        return set()
    authors = (
        as_id(e.get("author_id", audit.get("author_id")))
        for e in audit.get("events") or []
        if e.get("type") == "Comment"
    )
    return {a for a in authors if a is not None}


def may_be_ours(audit: Mapping[str, Any], own_user: int | None) -> bool:
    """An API comment by the user the sidecar runs as (any API comment while that is unknown)."""
    authors = api_comment_authors(audit)
    return bool(authors) and (own_user is None or own_user in authors)


@dataclass(slots=True)
class Timeline:
    audits: list[dict[str, Any]] = field(default_factory=list)
    ids: set[Any] = field(default_factory=set)
    latest: float = 0.0  # epoch seconds of the newest audit
    unsure: bool = False  # holds an API comment that may be ours: read the audits once
    stamp: str | None = None  # the ticket's updated_at when these audits were known complete

    def add(self, audit: dict[str, Any]) -> None:
        if audit.get("id") in self.ids:
            return
        self.ids.add(audit.get("id"))
        self.audits.append(audit)
        try:
            at = parse_instant(audit.get("created_at"), "audit created_at", None).timestamp()
        except MalformedRecord:  # reported by the mapper, with the ticket's id
            at = self.latest
        if at < self.latest:
            self.audits.sort(key=lambda a: (str(a.get("created_at")), as_id(a.get("id")) or 0))
        self.latest = max(self.latest, at)


class TimelineCache:
    """Ticket id → its complete audits, for the tickets this process has seen in full."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._timelines: dict[int, Timeline] = {}
        self.events_through: int | None = None  # the event export consumed up to here

    def get(self, ticket_id: int) -> Timeline | None:
        with self._lock:
            return self._timelines.get(ticket_id)

    def replace(
        self, ticket_id: int, audits: Iterable[dict[str, Any]], stamp: str | None
    ) -> Timeline:
        timeline = Timeline(stamp=stamp)
        for audit in audits:
            timeline.add(audit)
        with self._lock:
            self._timelines[ticket_id] = timeline
        return timeline

    def add_own(self, ticket_id: int, audit: dict[str, Any], stamp: str | None) -> None:
        """The audit a PUT of ours answered with (its metadata names the sidecar), and the
        ``updated_at`` it left: the timeline stays complete until the ticket moves again."""
        with self._lock:
            timeline = self._timelines.get(ticket_id)
            if timeline is not None:
                timeline.add(audit)
                timeline.stamp = stamp

    def feed(self, rows: Iterable[Mapping[str, Any]], own_user: int | None = None) -> None:
        """Event-export rows: extend known timelines, start one at each ticket's creation.
        ``own_user`` is the user the sidecar writes as (None: not known)."""
        with self._lock:
            for row in rows:
                tid = as_id(row.get("ticket_id"))
                if tid is None:
                    continue
                audit = audit_from_row(row)
                timeline = self._timelines.get(tid)
                if timeline is None:
                    if not opens_ticket(audit):
                        continue  # history before our window: read through audits if needed
                    timeline = self._timelines[tid] = Timeline()
                if audit.get("id") in timeline.ids:
                    continue
                timeline.add(audit)
                timeline.stamp = None  # fed by the export: current up to its end, not a stamp
                timeline.unsure = timeline.unsure or may_be_ours(audit, own_user)

    def drop(self, ticket_id: int) -> None:
        with self._lock:
            self._timelines.pop(ticket_id, None)

    def clear(self) -> None:
        with self._lock:
            self._timelines.clear()
            self.events_through = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._timelines)
