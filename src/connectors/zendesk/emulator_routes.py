"""The Zendesk emulator's HTTP face, as a mixin of ``ZendeskEmulator``.

Paths and their handlers over the account in ``emulator_state``: auth on every API call, the
``X-Rate-Limit`` headers, query parsing and pagination, validation of ``PUT`` bodies, the
per-ticket update limit and Zendesk's error bodies. The incremental exports and OAuth live in
their own mixins (``emulator_exports``, ``emulator_oauth``); this one registers them too.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from connectors.emulation import Request, Response
from connectors.zendesk.emulator_exports import IncrementalExports
from connectors.zendesk.emulator_oauth import OAuthServer
from connectors.zendesk.emulator_server import NOT_FOUND, parse_iso
from connectors.zendesk.emulator_state import ZendeskState

ACCOUNT_RATE_LIMIT = 700  # Suite Enterprise
TICKET_UPDATES_PER_WINDOW = 30
TICKET_UPDATE_WINDOW = timedelta(minutes=10)

_TICKET = r"/api/v2/tickets/(?P<id>\d+)"
_JSON = r"(?:\.json)?"


class ZendeskRoutes(IncrementalExports, OAuthServer, ZendeskState):
    """The endpoints over the account; ``ZendeskEmulator`` sets the knobs and starts them."""

    audit_page_size: int
    enforce_ticket_update_limit: bool
    _updates: dict[int, deque[datetime]]  # ticket → its recent API updates (30 per 10 min)
    _minute: tuple[int, int]  # (minute, requests in it), for X-Rate-Limit-Remaining
    # the webhook a successful PUT sends; ZendeskEmulator defines it (it owns delivery)
    _announce: Callable[[str, str], None]

    def _init_routes(self) -> None:
        """The rate-limit counters, then every path on the server."""
        self._updates = {}
        self._minute = (0, 0)
        self._register_routes()

    def _register_routes(self) -> None:
        route = self.server.route
        route("POST", r"/oauth/tokens")(self._oauth_tokens)
        route("GET", rf"/api/v2/incremental/tickets/cursor{_JSON}")(
            self._api(self._export_limited(self._export))
        )
        route("GET", rf"/api/v2/incremental/ticket_events{_JSON}")(
            self._api(self._export_limited(self._ticket_events))
        )
        route("GET", rf"{_TICKET}{_JSON}")(self._api(self._show_ticket))
        route("PUT", rf"{_TICKET}{_JSON}")(self._api(self._update_ticket))
        route("GET", rf"{_TICKET}/audits{_JSON}")(self._api(self._list_audits))
        route("GET", rf"/api/v2/users/show_many{_JSON}")(self._api(self._show_many_users))
        route("GET", rf"/api/v2/users/me{_JSON}")(self._api(self._show_me))
        route("GET", rf"/api/v2/organizations/show_many{_JSON}")(self._api(self._show_many_orgs))
        route("GET", rf"/api/v2/groups{_JSON}")(self._api(self._list_groups))

    def _rate_headers(self) -> dict[str, str]:
        minute = int(self.server.clock.now().timestamp() // 60)
        with self._lock:
            current, count = self._minute
            count = count + 1 if current == minute else 1
            self._minute = (minute, count)
        return {
            "X-Rate-Limit": str(ACCOUNT_RATE_LIMIT),
            "X-Rate-Limit-Remaining": str(max(0, ACCOUNT_RATE_LIMIT - count)),
        }

    def _api(self, handler: Any) -> Any:
        def guarded(request: Request) -> Response:
            denied = self._authenticate(request)
            response = denied if denied is not None else handler(request)
            response.headers.update(self._rate_headers())
            return response

        return guarded

    def _show_ticket(self, request: Request) -> Response:
        with self._lock:
            tid = int(request.params["id"])
            ticket = self.tickets.get(tid)
            if ticket is None or tid in self.deleted:
                return Response(404, NOT_FOUND)
            return Response(200, {"ticket": json.loads(json.dumps(ticket))})

    def _list_audits(self, request: Request) -> Response:
        """Offset pagination, oldest first: ``page``/``per_page`` (≤100), ``next_page`` URL."""
        tid = int(request.params["id"])
        try:
            page = max(1, int(request.arg("page") or 1))
            per_page = min(int(request.arg("per_page") or 100), 100, self.audit_page_size)
        except ValueError:
            return Response(400, {"error": "InvalidPaginationParameter"})
        with self._lock:
            audits = self.audits.get(tid)
            if audits is None or tid in self.deleted:
                return Response(404, NOT_FOUND)
            start = (page - 1) * per_page
            body = json.loads(json.dumps(audits[start : start + per_page]))
            total = len(audits)
        path = f"{self.base_url}/api/v2/tickets/{tid}/audits.json"
        more = start + per_page < total
        return Response(
            200,
            {
                "audits": body,
                "next_page": f"{path}?page={page + 1}&per_page={per_page}" if more else None,
                "previous_page": f"{path}?page={page - 1}&per_page={per_page}"
                if page > 1
                else None,
                "count": total,
            },
        )

    def _show_me(self, request: Request) -> Response:
        # API token and client-credentials tokens both act as the sidecar's admin user
        with self._lock:
            return Response(200, {"user": dict(self.users[self.api_user_id])})

    def _show_many_users(self, request: Request) -> Response:
        ids = [int(i) for i in (request.arg("ids") or "").split(",") if i.strip().isdigit()]
        with self._lock:
            users = [dict(self.users[i]) for i in ids[:100] if i in self.users]
        return Response(
            200, {"users": users, "next_page": None, "previous_page": None, "count": len(users)}
        )

    def _show_many_orgs(self, request: Request) -> Response:
        ids = [int(i) for i in (request.arg("ids") or "").split(",") if i.strip().isdigit()]
        with self._lock:
            orgs = [
                json.loads(json.dumps(self.organizations[i]))
                for i in ids[:100]
                if i in self.organizations
            ]
        return Response(
            200,
            {"organizations": orgs, "next_page": None, "previous_page": None, "count": len(orgs)},
        )

    def _list_groups(self, request: Request) -> Response:
        with self._lock:
            groups = [dict(g) for g in self.groups.values()]
        if request.arg("page[size]") is not None:  # cursor pagination, as zenpy asks for it
            return Response(
                200,
                {
                    "groups": groups,
                    "meta": {"has_more": False, "after_cursor": None, "before_cursor": None},
                    "links": {"next": None, "prev": None},
                },
            )
        return Response(
            200, {"groups": groups, "next_page": None, "previous_page": None, "count": len(groups)}
        )

    def _update_ticket(self, request: Request) -> Response:  # noqa: PLR0912
        try:
            body = request.json()
        except ValueError:
            body = None
        changes = body.get("ticket") if isinstance(body, dict) else None
        if not isinstance(changes, dict):
            return Response(
                400, {"error": "InvalidJSON", "description": "ticket parameter is missing"}
            )
        now = self.server.clock.now()
        with self._lock:
            ticket = self.tickets.get(int(request.params["id"]))
            if ticket is None or ticket["id"] in self.deleted:
                return Response(404, NOT_FOUND)
            if ticket["status"] == "closed":
                return _invalid("status", "Status: closed prevents ticket update")
            if "safe_update" in changes:  # any value turns the check on (OAS)
                stamp = changes.get("updated_stamp")
                if stamp is None or parse_iso(str(stamp)) != parse_iso(ticket["updated_at"]):
                    return Response(
                        409,
                        {
                            "error": "UpdateConflict",
                            "description": "Safe Update prevented the update due to outdated "
                            "ticket data. Please fetch the latest ticket data and try again.",
                            "details": {"updated_at": ticket["updated_at"]},
                        },
                    )
            limited = self._ticket_update_limited(ticket["id"], now)
            if limited is not None:
                return limited
            events: list[dict[str, Any]] = []
            for name in ("priority", "status", "group_id", "assignee_id"):
                if name in changes and changes[name] != ticket[name]:
                    value = changes[name]
                    problem = self._check_value(name, value)
                    if problem is not None:
                        return problem
                    events.append(self._change_event(ticket, name, value))
            if "assignee_email" in changes:
                user = next(
                    (u for u in self.users.values() if u["email"] == changes["assignee_email"]),
                    None,
                )
                if user is None or user["role"] == "end-user":
                    return _invalid("assignee", "Assignee is not an agent")
                if user["id"] != ticket["assignee_id"]:
                    events.append(self._change_event(ticket, "assignee_id", user["id"]))
            # Zendesk's "Adding tags to tickets without overwriting existing tags": on this
            # endpoint ``tags`` replaces the list and additional_tags/remove_tags do nothing
            # (they work only on update_many with ids in the query string)
            if "tags" in changes:
                tags = list(dict.fromkeys(str(t) for t in changes["tags"] or []))
                if tags != ticket["tags"]:
                    events.append(self._change_event(ticket, "tags", tags))
            comment = changes.get("comment")
            if isinstance(comment, dict) and (comment.get("body") or comment.get("html_body")):
                text = str(comment.get("body") or comment.get("html_body"))
                event = self._comment_event(
                    int(comment.get("author_id") or self.api_user_id),
                    text,
                    bool(comment.get("public", True)),
                )
                if comment.get("html_body"):
                    event["html_body"] = str(comment["html_body"])
                events.append(event)
            audit = None
            if events:
                custom = changes.get("metadata")
                audit = self._audit(
                    ticket,
                    self.api_user_id,
                    now,
                    events,
                    channel="api",
                    custom=custom if isinstance(custom, dict) else None,
                )
                self._updates.setdefault(ticket["id"], deque()).append(now)
            payload: dict[str, Any] = {"ticket": json.loads(json.dumps(ticket))}
            if audit is not None:
                payload["audit"] = json.loads(json.dumps(audit))
        if events:
            self._announce(str(ticket["id"]), "ticket.updated")
        return Response(200, payload)

    def _check_value(self, name: str, value: Any) -> Response | None:
        if name == "priority" and value not in ("urgent", "high", "normal", "low", None):
            return _invalid("priority", f"Priority: {value} is not valid")
        if name == "status" and value not in ("new", "open", "pending", "hold", "solved"):
            return _invalid("status", f"Status: {value} is not valid")
        if name == "group_id" and value is not None and value not in self.groups:
            return _invalid("group", "Group: is invalid")
        if (
            name == "assignee_id"
            and value is not None
            and (value not in self.users or self.users[value]["role"] == "end-user")
        ):
            return _invalid("assignee", "Assignee is not an agent")
        return None

    def _ticket_update_limited(self, ticket_id: int, now: datetime) -> Response | None:
        if not self.enforce_ticket_update_limit:
            return None
        recent = self._updates.setdefault(ticket_id, deque())
        while recent and now - recent[0] >= TICKET_UPDATE_WINDOW:
            recent.popleft()
        if len(recent) < TICKET_UPDATES_PER_WINDOW:
            return None
        wait = int((recent[0] + TICKET_UPDATE_WINDOW - now).total_seconds()) + 1
        return Response(
            429,
            {
                "error": "TooManyRequests",
                "description": "You have made too many updates to this ticket. Please wait "
                "before trying again.",
            },
            {"Retry-After": str(wait)},
        )


def _invalid(field: str, description: str) -> Response:
    return Response(
        422,
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {field: [{"description": description, "error": "InvalidValue"}]},
        },
    )
