"""The Fakedesk emulator: its whole API on a real loopback HTTP server."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from connectors.emulation import (
    Emulator,
    EmulatorServer,
    Request,
    Response,
    SeedComment,
    SeedTicket,
)
from connectors.webhooks import hmac_sha256_hex

TOKEN = "fakedesk-token"
WEBHOOK_SECRET = "fakedesk-webhook-secret"
PAGE = 50


def _iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


class FakedeskEmulator(Emulator):
    def __init__(self, *, webhook_url: str | None = None, page_size: int = PAGE) -> None:
        self.server = EmulatorServer("fakedesk")
        self.webhook_url = webhook_url
        self.page_size = page_size
        self.tickets: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        route = self.server.route
        route("GET", r"/api/tickets")(self._list)
        route("GET", r"/api/tickets/(?P<id>\d+)")(self._show)
        route("PATCH", r"/api/tickets/(?P<id>\d+)")(self._patch)
        route("POST", r"/api/tickets/(?P<id>\d+)/comments")(self._comment)

    # -- the contract ------------------------------------------------------------------------
    def seed(self, tickets: Sequence[SeedTicket]) -> list[str]:
        ids = []
        with self._lock:
            for seed in tickets:
                ticket_id = str(next(self._ids))
                stamp = _iso(seed.updated_at or seed.created_at)
                self.tickets[ticket_id] = {
                    "id": int(ticket_id),
                    "title": seed.title,
                    "status": seed.status,
                    "priority": seed.priority,
                    "created_at": _iso(seed.created_at),
                    "updated_at": stamp,
                    "organization": seed.organization,
                    "category": seed.category,
                    "customer_tier": seed.customer_tier,
                    "affected_users": seed.affected_users,
                    "labels": list(seed.labels),
                    "group": None,
                    "assignee": None,
                    "comments": [],
                    "history": [],
                }
                ids.append(ticket_id)
                for comment in seed.comments:
                    self._add(ticket_id, comment.author, comment.public, comment.body, comment.at)
        for ticket_id in ids:
            self._announce(ticket_id)
        return ids

    def update(
        self,
        ticket_id: str,
        *,
        status: str | None = None,
        priority: str | None = None,
        group: str | None = None,
    ) -> None:
        with self._lock:
            ticket = self.tickets[ticket_id]
            now = _iso(self.server.clock.now())
            for field, value in (("status", status), ("priority", priority), ("group", group)):
                if value is not None and ticket[field] != value:
                    ticket["history"].append(
                        {"at": now, "field": field, "old": ticket[field], "new": value}
                    )
                    ticket[field] = value
            ticket["updated_at"] = now
        self._announce(ticket_id)

    def add_comment(self, ticket_id: str, comment: SeedComment) -> None:
        with self._lock:
            self._add(ticket_id, comment.author, comment.public, comment.body, comment.at)
        self._announce(ticket_id)

    def labels(self, ticket_id: str) -> set[str]:
        with self._lock:
            return set(self.tickets[ticket_id]["labels"])

    def comments(self, ticket_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self.tickets[ticket_id]["comments"]]

    def env(self) -> dict[str, str]:
        return {
            "FAKEDESK_URL": self.server.base_url,
            "FAKEDESK_TOKEN": TOKEN,
            "FAKEDESK_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }

    def settings(self, name: str = "fakedesk") -> dict[str, Any]:
        return {"url": self.server.base_url, "token": TOKEN, "webhook_secret": WEBHOOK_SECRET}

    @classmethod
    def source_section(cls, name: str) -> dict[str, Any]:
        return {
            "kind": "fakedesk",
            "poll_interval": "60s",
            "url": "${FAKEDESK_URL}",
            "token": "${FAKEDESK_TOKEN}",
            "webhook_secret": "${FAKEDESK_WEBHOOK_SECRET}",
        }

    def signed_delivery(self, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        body = json.dumps(payload).encode()
        signature = hmac_sha256_hex(WEBHOOK_SECRET.encode(), body)
        return {"Content-Type": "application/json", "X-Fakedesk-Signature": signature}, body

    # -- the API -----------------------------------------------------------------------------
    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    def _list(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(401, {"error": "unauthorised"})
        since = request.arg("updated_since") or "1970-01-01T00:00:00+00:00"
        page = int(request.arg("page") or 1)
        with self._lock:
            cutoff = datetime.fromisoformat(since.replace("Z", "+00:00"))
            changed = sorted(
                (t for t in self.tickets.values()
                 if datetime.fromisoformat(t["updated_at"].replace("Z", "+00:00")) >= cutoff),
                key=lambda t: (t["updated_at"], t["id"]),
            )  # fmt: skip
            chunk = changed[(page - 1) * self.page_size : page * self.page_size]
            more = len(changed) > page * self.page_size
            return Response(200, {"tickets": chunk, "next_page": page + 1 if more else None})

    def _show(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(401, {"error": "unauthorised"})
        with self._lock:
            ticket = self.tickets.get(request.params["id"])
            return Response(200, {"ticket": ticket}) if ticket else Response(404, {"error": "gone"})

    def _patch(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(401, {"error": "unauthorised"})
        fields = (request.json() or {}).get("ticket") or {}
        ticket_id = request.params["id"]
        with self._lock:
            ticket = self.tickets[ticket_id]
            now = _iso(self.server.clock.now())
            for field in ("labels", "priority", "group", "assignee"):
                if field in fields and fields[field] is not None and ticket[field] != fields[field]:
                    if field != "labels":
                        ticket["history"].append(
                            {"at": now, "field": field, "old": ticket[field], "new": fields[field]}
                        )
                    ticket[field] = fields[field]
            ticket["updated_at"] = now
        self._announce(ticket_id)
        return Response(200, {"ticket": ticket})

    def _comment(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(401, {"error": "unauthorised"})
        body = request.json() or {}
        ticket_id = request.params["id"]
        with self._lock:
            made = self._add(
                ticket_id, "agent", bool(body.get("public")), str(body.get("body") or ""),
                self.server.clock.now(), marker=body.get("marker"),
            )  # fmt: skip
        self._announce(ticket_id)
        return Response(201, {"comment": made, "id": made["id"]})

    def _add(
        self,
        ticket_id: str,
        author: str,
        public: bool,
        body: str,
        at: datetime,
        *,
        marker: str | None = None,
    ) -> dict[str, Any]:
        ticket = self.tickets[ticket_id]
        comment = {
            "id": next(self._ids), "at": _iso(at), "author_role": author, "public": public,
            "body": body, "marker": marker, "opening": not ticket["comments"],
        }  # fmt: skip
        ticket["comments"].append(comment)
        ticket["updated_at"] = max(ticket["updated_at"], _iso(self.server.clock.now()))
        return comment

    def _announce(self, ticket_id: str) -> None:
        if self.webhook_url:
            self.deliver({"ticket_id": ticket_id})
