"""Rows the store hands back that are not model objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    ticket: str | None
    event: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """A record a connector could not translate, reported until someone clears it."""

    source: str
    record_id: str | None
    reason: str  # the latest reason
    first_at: datetime
    last_at: datetime
    times: int  # how many pulls met it


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One action of the idempotency ledger and its outcome, as reports read it."""

    key: str
    ticket: str
    source: str
    kind: str
    rule: str
    status: str  # pending | applied | already | failed | conflict
    payload: dict[str, Any]  # engine.codec.action_to_dict
    begun_at: datetime
    finished_at: datetime | None
