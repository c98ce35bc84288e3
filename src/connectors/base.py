"""The protocol every helpdesk implements, and the small types it speaks.

A connector translates; it holds no business rule. It pulls tickets into the common model
(``engine.model.Ticket``), applies the engine's actions, and verifies webhook deliveries.
A new helpdesk is one package ``connectors/<kind>/`` exposing ``Settings`` (a pydantic model
of its YAML section) and ``create(name, settings, *, retry)`` returning a ``Connector``.

Calls are synchronous (the SDKs are built on requests/urllib3); the app runs them off its
event loop in worker threads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from engine.model import Action, CreateLinkedIssue, LinkedIssue, Ticket

# Prefix of the invisible marker every comment the sidecar writes carries, followed by the
# action's idempotency key. Each connector hides it in the least visible place its API offers.
MARKER_PREFIX = "escalation-sidecar:"


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A record the connector could not translate; reported, never silently dropped."""

    source: str
    record_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class MappingWarning:
    """A value the connector understood only by falling back (e.g. an unmapped priority).

    The ticket is still returned; the app logs the warning and counts it in ``/metrics``.
    """

    source: str
    record_id: str | None
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class PullResult:
    tickets: tuple[Ticket, ...]
    cursor: str | None  # opaque; pass it back to the next pull
    quarantined: tuple[Quarantined, ...] = ()
    api_calls: int = 0
    # keys of returned tickets whose only change since the last pull is the sidecar's own write:
    # fresh state to store, but nothing a person did (no re-plan needed, not a customer update)
    echoes: tuple[str, ...] = ()
    warnings: tuple[MappingWarning, ...] = ()


class ActionStatus(StrEnum):
    APPLIED = "applied"  # written now
    ALREADY = "already"  # the helpdesk already showed it (e.g. marker found): recorded, not written
    CONFLICT = "conflict"  # the ticket changed under us: re-read and re-plan
    FAILED = "failed"  # not written; ``detail`` says why; will be retried next cycle


@dataclass(frozen=True, slots=True)
class ActionResult:
    key: str
    status: ActionStatus
    detail: str = ""
    external_id: str | None = None  # e.g. the comment id or the created issue key
    # the ticket's own stamp after the write, where the API returns it: the next write of the
    # same instant (a settled plan's later round) is then sent against the fresh stamp
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified delivery: which tickets to re-read now."""

    ticket_ids: tuple[str, ...]
    delivery_id: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class Connector(Protocol):
    name: str  # the source's name in the config (e.g. "zendesk")
    system: str  # the kind of helpdesk ("zendesk", "jira", "hubspot")

    def pull(self, cursor: str | None, *, start: datetime) -> PullResult:
        """Tickets changed since ``cursor`` (or since ``start`` on the first pull)."""
        ...

    def fetch(self, ticket_id: str) -> Ticket:
        """One ticket, fresh, with its comments and history."""
        ...

    def apply(self, ticket: Ticket, actions: Sequence[Action]) -> list[ActionResult]:
        """Write ``actions`` for ``ticket`` in as few calls as the API allows; one result each."""
        ...

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> WebhookEvent:
        """Check the signature and freshness; raise ``WebhookRejected`` otherwise."""
        ...

    def close(self) -> None: ...


class TokenKeeper(Protocol):
    """Where a connector keeps the OAuth tokens it was granted (the app gives it the state
    store, so a restart or a standby taking over reuses them instead of a new grant)."""

    def read(self) -> dict[str, Any] | None: ...

    def write(self, data: dict[str, Any]) -> None: ...


@runtime_checkable
class BatchWriter(Protocol):
    """A connector that writes many tickets' actions in fewer calls (HubSpot batch update)."""

    def apply_many(
        self, items: Sequence[tuple[Ticket, Sequence[Action]]]
    ) -> list[list[ActionResult]]:
        """``apply`` for each (ticket, actions) pair, one result list each, in order."""
        ...


@runtime_checkable
class IssueTracker(Protocol):
    """A connector that can host linked issues (Jira's ``ENG`` project)."""

    def create_linked_issue(self, origin: Ticket, action: CreateLinkedIssue) -> ActionResult:
        """Create the issue once (idempotent by ``action.key``) with a link back to ``origin``."""
        ...

    def read_linked_issues(self, keys: Sequence[str]) -> list[LinkedIssue]:
        """Current state of issues created before, so the engine learns when they resolve."""
        ...


def marker_for(key: str) -> str:
    return f"{MARKER_PREFIX}{key}"


def parse_marker(text: str | None) -> str | None:
    """The idempotency key hidden in ``text``, if the sidecar wrote it."""
    if not text:
        return None
    start = text.find(MARKER_PREFIX)
    if start < 0:
        return None
    rest = text[start + len(MARKER_PREFIX) :]
    end = 0
    while end < len(rest) and not rest[end].isspace() and rest[end] not in "\"'<>)]}":
        end += 1
    return rest[:end] or None
