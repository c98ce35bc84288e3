"""The incremental exports the Zendesk emulator serves, as a mixin of ``ZendeskEmulator``.

``GET /api/v2/incremental/tickets/cursor`` (cursor-based, side-loads) and ``GET
/api/v2/incremental/ticket_events`` (time-based, ``include=comment_events``), with the exports'
own per-minute limit. Shapes follow "Incremental Exports" and "Using the Incremental Exports API"
(developer.zendesk.com) and ``helpdesk-apis.md`` 1.2.
"""

from __future__ import annotations

import base64
import bisect
import json
import threading
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from connectors.emulation import EmulatorServer, Request, Response
from connectors.zendesk.emulator_server import RATE_LIMITED, parse_iso


class IncrementalExports:
    """The export endpoints over the emulator's in-memory account."""

    server: EmulatorServer
    page_size: int
    events_page_size: int
    export_limit_per_minute: int | None
    tickets: dict[int, dict[str, Any]]
    audits: dict[int, list[dict[str, Any]]]
    deleted: dict[int, str]
    users: dict[int, dict[str, Any]]
    groups: dict[int, dict[str, Any]]
    organizations: dict[int, dict[str, Any]]
    _lock: threading.RLock
    _order: dict[int, tuple[int, int]]
    _event_log: list[tuple[int, int, int]]
    _event_log_sorted: bool
    _export_calls: deque[datetime]

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def _export_limited(self, handler: Any) -> Any:
        """The incremental exports' own per-minute limit: 429 with Retry-After in seconds."""

        def limited(request: Request) -> Response:
            limit = self.export_limit_per_minute
            if limit is None:
                return handler(request)  # type: ignore[no-any-return]
            now = self.server.clock.now()
            with self._lock:
                calls = self._export_calls
                while calls and now - calls[0] >= timedelta(minutes=1):
                    calls.popleft()
                if len(calls) >= limit:
                    wait = int((calls[0] + timedelta(minutes=1) - now).total_seconds()) + 1
                    return Response(429, RATE_LIMITED, {"Retry-After": str(wait)})
                calls.append(now)
            return handler(request)  # type: ignore[no-any-return]

        return limited

    def _export(self, request: Request) -> Response:
        per_page = min(int(request.arg("per_page") or 1000), 1000, self.page_size)
        cursor = request.arg("cursor")
        start_time = request.arg("start_time")
        now = self.server.clock.now()
        if cursor:
            try:
                gts, seq = (int(p) for p in base64.urlsafe_b64decode(cursor).decode().split("."))
            except ValueError:
                return Response(
                    400, {"error": "InvalidPaginationParameter", "description": "Invalid cursor"}
                )
            position = (gts, seq)
        elif start_time is not None and start_time.isdigit():
            if int(start_time) > now.timestamp() - 60:
                return Response(
                    400,
                    {
                        "error": "InvalidValue",
                        "description": "Too recent start_time. Use a start_time older than 1 "
                        "minute",
                    },
                )
            position = (int(start_time), 0)
        else:
            return Response(
                400,
                {"error": "InvalidPaginationParameter", "description": "start_time is required"},
            )
        exclude_deleted = request.arg("exclude_deleted") == "true"
        with self._lock:
            later = sorted(
                (order, tid)
                for tid, order in self._order.items()
                if (order > position or (not cursor and order[0] >= position[0]))
                and not (exclude_deleted and tid in self.deleted)
            )
            page = later[:per_page]
            tickets = [json.loads(json.dumps(self.tickets[tid])) for _, tid in page]
            sideloads = self._sideloads(tickets, request.arg("include") or "")
        last = page[-1][0] if page else position
        after = base64.urlsafe_b64encode(f"{last[0]}.{last[1]}".encode()).decode()
        return Response(
            200,
            {
                "tickets": tickets,
                **sideloads,
                "after_cursor": after,
                "after_url": f"{self.base_url}/api/v2/incremental/tickets/cursor.json?"
                f"cursor={after}",
                "before_cursor": None,
                "before_url": None,
                "end_of_stream": len(later) <= per_page,
            },
        )

    def _sideloads(self, tickets: list[dict[str, Any]], include: str) -> dict[str, Any]:
        """``include=users,groups,organizations``: the records the page's tickets point at."""
        wanted = {part.strip() for part in include.split(",") if part.strip()}
        out: dict[str, Any] = {}
        if "users" in wanted:
            ids = {t[k] for t in tickets for k in ("requester_id", "submitter_id", "assignee_id")}
            out["users"] = [dict(self.users[i]) for i in sorted(ids - {None}) if i in self.users]
        if "groups" in wanted:
            ids = {t["group_id"] for t in tickets} - {None}
            out["groups"] = [dict(self.groups[i]) for i in sorted(ids) if i in self.groups]
        if "organizations" in wanted:
            ids = {t["organization_id"] for t in tickets} - {None}
            out["organizations"] = [
                json.loads(json.dumps(self.organizations[i]))
                for i in sorted(ids)
                if i in self.organizations
            ]
        return out

    def _ticket_events(self, request: Request) -> Response:
        """Time-based ticket event export: every audit as an ``Audit`` row with its
        ``child_events`` (comments only with ``include=comment_events``), oldest first;
        ``end_time`` is the next ``start_time`` (rows at that second come again: clients drop
        them by id). Zendesk withholds the last minute from every incremental export; this
        emulator's ticket export does not (tests change a ticket and pull at once), so neither
        does its event export: a ticket never shows up here before its events. Shaped on
        "Incremental Ticket Event Export" and "Exporting ticket events" (developer.zendesk.com/
        api-reference/ticketing/ticket-management/incremental_exports/)."""
        start_time = request.arg("start_time")
        if start_time is None or not start_time.isdigit():
            return Response(
                400,
                {"error": "InvalidPaginationParameter", "description": "start_time is required"},
            )
        start = int(start_time)
        now = int(self.server.clock.now().timestamp())
        if start > now - 60:
            return Response(
                400,
                {
                    "error": "InvalidValue",
                    "description": "Too recent start_time. Use a start_time older than 1 minute",
                },
            )
        horizon = now
        comments = "comment_events" in (request.arg("include") or "")
        with self._lock:
            if not self._event_log_sorted:
                self._event_log.sort()
                self._event_log_sorted = True
            log = self._event_log
            first = bisect.bisect_left(log, (start, -1, -1))
            stop = bisect.bisect_right(log, (horizon, 1 << 62, 1 << 62))
            chosen = log[first:stop]
            page = chosen[: self.events_page_size]
            if page and len(chosen) > len(page):  # never split one second across two pages
                last_second = page[-1][0]
                page = [e for e in chosen if e[0] <= last_second]
            rows = [self._event_row(tid, aid, comments) for _, aid, tid in page]
        done = len(page) == len(chosen)
        # a page holds whole seconds: when more follows, the next page starts after its last
        end_time = (page[-1][0] + (0 if done else 1)) if page else start
        return Response(
            200,
            {
                "ticket_events": [r for r in rows if r is not None],
                "next_page": None
                if done
                else f"{self.base_url}/api/v2/incremental/ticket_events.json?start_time={end_time}"
                + ("&include=comment_events" if comments else ""),
                "count": len(rows),
                "end_time": end_time,
                "end_of_stream": done,
            },
        )

    def _event_row(self, tid: int, audit_id: int, comments: bool) -> dict[str, Any] | None:
        audit = next((a for a in self.audits.get(tid, []) if a["id"] == audit_id), None)
        if audit is None:  # scrubbed
            return None
        children: list[dict[str, Any]] = []
        for event in audit["events"]:
            base = {"id": event["id"], "via": audit["via"], "via_reference_id": None}
            if event["type"] == "Comment":
                if comments:
                    children.append(
                        {
                            **base,
                            "type": "Comment",
                            "author_id": event["author_id"],
                            "body": event["body"],
                            "html_body": event["html_body"],
                            "public": event["public"],
                            "attachments": [],
                            "audit_id": audit_id,
                            "created_at": audit["created_at"],
                            "event_type": "Comment",
                        }
                    )
                else:
                    children.append(
                        {
                            **base,
                            "comment_present": True,
                            "comment_public": event["public"],
                            "event_type": "Comment",
                        }
                    )
            elif event["type"] in ("Create", "Change"):
                # the changed field is a key of its own, next to previous_value
                child = {**base, event["field_name"]: event["value"], "event_type": event["type"]}
                if event["type"] == "Change":
                    child["previous_value"] = event.get("previous_value")
                children.append(child)
            else:
                children.append({**base, "event_type": event["type"]})
        created = parse_iso(audit["created_at"])
        return {
            "id": audit_id,
            "ticket_id": tid,
            "timestamp": int(created.timestamp()),
            "created_at": audit["created_at"],
            "updater_id": audit["author_id"],
            "via": audit["via"],
            "system": audit["metadata"]["system"],
            "event_type": "Audit",
            "child_events": children,
        }
