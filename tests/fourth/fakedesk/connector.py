"""The Fakedesk connector: pull by ``updated_since``, coalesced PATCH, marked comments."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from connectors.base import (
    ActionResult,
    ActionStatus,
    PullResult,
    WebhookEvent,
    marker_for,
    parse_marker,
)
from connectors.errors import AuthError, NotFoundError, RetryableError, WebhookRejected
from connectors.retry import RetryPolicy
from connectors.webhooks import hmac_sha256_hex, require_equal
from engine.model import (
    Action,
    AddLabels,
    Assign,
    AuthorRole,
    Change,
    Comment,
    PostComment,
    Priority,
    RemoveLabels,
    SetPriority,
    Status,
    Ticket,
)

OVERLAP = timedelta(seconds=1)  # the cursor looks back a second: equal stamps are not lost


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    token: SecretStr
    webhook_secret: SecretStr | None = None


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class FakedeskConnector:
    system = "fakedesk"

    def __init__(self, name: str, settings: Settings, *, retry: RetryPolicy) -> None:
        self.name = name
        self.settings = settings
        self.retry = retry
        self._http = httpx.Client(
            base_url=settings.url,
            headers={"Authorization": f"Bearer {settings.token.get_secret_value()}"},
            timeout=10.0,
        )

    # -- transport --------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        def attempt() -> Any:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                raise RetryableError(type(exc).__name__) from None
            if response.status_code in (401, 403):
                raise AuthError(response.text)
            if response.status_code == 404:
                raise NotFoundError(path)
            if response.status_code >= 429:
                raise RetryableError(f"HTTP {response.status_code}")
            return response.json()

        return self.retry.call(attempt)

    # -- Connector --------------------------------------------------------------------------
    def pull(self, cursor: str | None, *, start: datetime) -> PullResult:
        since = parse_time(cursor) if cursor else start
        tickets: list[Ticket] = []
        page: int | None = 1
        newest = since
        calls = 0
        while page is not None:
            body = self._call(
                "GET", "/api/tickets", params={"updated_since": since.isoformat(), "page": page}
            )
            calls += 1
            for raw in body["tickets"]:
                ticket = self._ticket(raw)
                tickets.append(ticket)
                newest = max(newest, ticket.updated_at)
            page = body.get("next_page")
        return PullResult(tuple(tickets), (newest - OVERLAP).isoformat(), api_calls=calls)

    def fetch(self, ticket_id: str) -> Ticket:
        return self._ticket(self._call("GET", f"/api/tickets/{ticket_id}")["ticket"])

    def apply(self, ticket: Ticket, actions: Sequence[Action]) -> list[ActionResult]:
        results: list[ActionResult] = []
        labels = set(ticket.labels)
        fields: dict[str, Any] = {}
        for action in actions:
            if isinstance(action, AddLabels):
                labels |= set(action.labels)
            elif isinstance(action, RemoveLabels):
                labels -= set(action.labels)
            elif isinstance(action, SetPriority):
                fields["priority"] = action.priority.value
            elif isinstance(action, Assign):
                fields.update({"group": action.group, "assignee": action.user})
        if labels != set(ticket.labels):
            fields["labels"] = sorted(labels)
        if fields:
            self._call("PATCH", f"/api/tickets/{ticket.id}", json={"ticket": fields})
        for action in actions:
            if isinstance(action, PostComment):
                if any(c.marker == action.key for c in ticket.comments):
                    results.append(ActionResult(action.key, ActionStatus.ALREADY))
                    continue
                made = self._call(
                    "POST",
                    f"/api/tickets/{ticket.id}/comments",
                    json={"body": action.body, "public": action.public,
                          "marker": marker_for(action.key)},
                )  # fmt: skip
                made_id = str(made["id"])
                results.append(ActionResult(action.key, ActionStatus.APPLIED, external_id=made_id))
            else:
                results.append(ActionResult(action.key, ActionStatus.APPLIED))
        return results

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> WebhookEvent:
        if self.settings.webhook_secret is None:
            raise WebhookRejected(401, "no webhook_secret configured")
        lower = {k.lower(): v for k, v in headers.items()}
        secret = self.settings.webhook_secret.get_secret_value().encode()
        require_equal(hmac_sha256_hex(secret, body), lower.get("x-fakedesk-signature"))
        try:
            payload = json.loads(body)
            return WebhookEvent((str(payload["ticket_id"]),))
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected(400, "not a Fakedesk delivery") from exc

    def close(self) -> None:
        self._http.close()

    # -- mapping ----------------------------------------------------------------------------
    def _ticket(self, raw: Mapping[str, Any]) -> Ticket:
        return Ticket(
            system=self.system,
            id=str(raw["id"]),
            created_at=parse_time(raw["created_at"]),
            updated_at=parse_time(raw["updated_at"]),
            status=Status(raw["status"]),
            priority=Priority(raw["priority"]),
            title=raw.get("title") or "",
            url=f"{self.settings.url}/tickets/{raw['id']}",
            organization=raw.get("organization"),
            assignee=raw.get("assignee"),
            group=raw.get("group"),
            labels=frozenset(raw.get("labels") or ()),
            category=raw.get("category"),
            customer_tier=raw.get("customer_tier"),
            affected_users=raw.get("affected_users"),
            comments=tuple(
                Comment(
                    parse_time(c["at"]),
                    AuthorRole(c["author_role"]) if not c.get("marker") else AuthorRole.SIDECAR,
                    bool(c["public"]),
                    c.get("body") or "",
                    id=str(c["id"]),
                    marker=parse_marker(c.get("marker")),
                    opening=bool(c.get("opening")),
                )
                for c in raw.get("comments") or []
            ),
            history=tuple(
                Change(parse_time(h["at"]), h["field"], h.get("old"), h.get("new"))
                for h in raw.get("history") or []
            ),
        )
