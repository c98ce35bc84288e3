"""The tables as the code reads and writes them today, and the column types they share.

This is the current shape; ``migrations.py`` holds the frozen steps that build it. A change here
needs a new migration step (a test compares the migrated database with these tables).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out: timestamptz on PostgreSQL, naive-UTC text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store takes aware UTC datetimes")
        value = value.astimezone(UTC)
        # SQLite stores text and compares it as text: one offset-free UTC form keeps order right.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_type() -> JSON:
    """JSON on SQLite, JSONB on PostgreSQL."""
    return JSON().with_variant(JSONB(), "postgresql")


# BIGINT on PostgreSQL (bigserial), INTEGER on SQLite (so it aliases the rowid).
AutoId = BigInteger().with_variant(Integer(), "sqlite")

# Values of actions.status. "failed" rows may be begun again; the others hold the key.
PENDING = "pending"
APPLIED = "applied"
ALREADY = "already"
FAILED = "failed"
CONFLICT = "conflict"
DONE_STATUSES = (APPLIED, ALREADY)
RETRYABLE_STATUSES = (FAILED, CONFLICT)

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("applied_at", UtcDateTime, nullable=False),
)

# The idempotency ledger: one row per action key, written before and after the API call.
actions = Table(
    "actions",
    metadata,
    Column("key", String(500), primary_key=True),
    Column("ticket", String(300), nullable=False),
    Column("source", String(200), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("rule", String(300), nullable=False),
    Column("status", String(20), nullable=False),
    Column("payload", json_type(), nullable=False),  # engine.codec.action_to_dict
    Column("detail", Text, nullable=False, default=""),
    Column("external_id", String(300)),
    Column("attempts", Integer, nullable=False, default=1),
    Column("begun_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Index("ix_actions_ticket_status", "ticket", "status"),
    Index("ix_actions_status", "status"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("source", String(200), nullable=False),
    Column("payload", json_type(), nullable=False),  # engine.codec.ticket_to_dict
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_tickets_updated_at", "updated_at"),
)

cursors = Table(
    "cursors",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("cursor", Text),
    Column("polled_at", UtcDateTime, nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("ticket", String(300)),
    Column("event", String(100), nullable=False),
    Column("detail", json_type(), nullable=False),
    Index("ix_audit_ticket_at", "ticket", "at"),
    Index("ix_audit_at", "at"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=False),
    Column("record_id", String(300)),
    Column("reason", Text, nullable=False),
    Column("first_at", UtcDateTime, nullable=False),
    Column("last_at", UtcDateTime, nullable=False),
    Column("times", Integer, nullable=False, default=1),
    UniqueConstraint("source", "record_id", name="uq_quarantine_record"),
)

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("ticket", String(300), primary_key=True),
    Column("version", String(200), nullable=False),
)

policy_snapshots = Table(
    "policy_snapshots",
    metadata,
    Column("version", String(200), primary_key=True),
    Column("files", json_type(), nullable=False),  # file name -> YAML text
    Column("saved_at", UtcDateTime, nullable=False),
)

credentials = Table(
    "credentials",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("data", json_type(), nullable=False),  # the connector's tokens, as it keeps them
    Column("saved_at", UtcDateTime, nullable=False),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)


def json_ready(value: Any) -> Any:
    """``default=`` hook for json.dumps: instants as codec instants, sets as sorted lists."""
    from engine.codec import format_instant

    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
