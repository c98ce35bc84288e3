"""Versioned schema migrations, applied in order when a store opens.

Each step runs in its own transaction with its row in ``schema_version``, under a lock (SQLite:
BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), so two processes opening the same
database at once migrate it once. A released step never changes: a new shape is a new step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    inspect,
    select,
)

from escalator.store.errors import SchemaTooNewError
from escalator.store.schema import AutoId, UtcDateTime, json_type, schema_version

# Key of the PostgreSQL advisory lock that serialises migrations ("escalatr" in ASCII).
_MIGRATION_LOCK = 0x657363616C617472


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


def _v1_initial_tables(conn: Connection) -> None:
    # Frozen copy of the first schema: later changes to schema.py must not alter this step.
    md = MetaData()
    Table(
        "actions", md,
        Column("key", String(500), primary_key=True),
        Column("ticket", String(300), nullable=False),
        Column("source", String(200), nullable=False),
        Column("kind", String(50), nullable=False),
        Column("rule", String(300), nullable=False),
        Column("status", String(20), nullable=False),
        Column("payload", json_type(), nullable=False),
        Column("detail", Text, nullable=False),
        Column("external_id", String(300)),
        Column("attempts", Integer, nullable=False),
        Column("begun_at", UtcDateTime, nullable=False),
        Column("finished_at", UtcDateTime),
        Index("ix_actions_ticket_status", "ticket", "status"),
        Index("ix_actions_status", "status"),
    )  # fmt: skip
    Table(
        "tickets", md,
        Column("key", String(300), primary_key=True),
        Column("source", String(200), nullable=False),
        Column("payload", json_type(), nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        Index("ix_tickets_updated_at", "updated_at"),
    )  # fmt: skip
    Table(
        "cursors", md,
        Column("source", String(200), primary_key=True),
        Column("cursor", Text),
        Column("polled_at", UtcDateTime, nullable=False),
    )  # fmt: skip
    Table(
        "audit", md,
        Column("id", AutoId, primary_key=True, autoincrement=True),
        Column("at", UtcDateTime, nullable=False),
        Column("ticket", String(300)),
        Column("event", String(100), nullable=False),
        Column("detail", json_type(), nullable=False),
        Index("ix_audit_ticket_at", "ticket", "at"),
        Index("ix_audit_at", "at"),
    )  # fmt: skip
    Table(
        "quarantine", md,
        Column("id", AutoId, primary_key=True, autoincrement=True),
        Column("source", String(200), nullable=False),
        Column("record_id", String(300)),
        Column("reason", Text, nullable=False),
        Column("first_at", UtcDateTime, nullable=False),
        Column("last_at", UtcDateTime, nullable=False),
        Column("times", Integer, nullable=False),
        UniqueConstraint("source", "record_id", name="uq_quarantine_record"),
    )  # fmt: skip
    Table(
        "policy_versions", md,
        Column("ticket", String(300), primary_key=True),
        Column("version", String(200), nullable=False),
    )  # fmt: skip
    Table(
        "leases", md,
        Column("name", String(200), primary_key=True),
        Column("holder", String(200), nullable=False),
        Column("expires_at", UtcDateTime, nullable=False),
    )  # fmt: skip
    md.create_all(conn)


def _v2_policy_snapshots(conn: Connection) -> None:
    # the config files of each policy version tickets are judged by, to rebuild it after a
    # restart: an admin's edit never re-judges a ticket in flight
    md = MetaData()
    Table(
        "policy_snapshots", md,
        Column("version", String(200), primary_key=True),
        Column("files", json_type(), nullable=False),  # file name -> YAML text
        Column("saved_at", UtcDateTime, nullable=False),
    )  # fmt: skip
    md.create_all(conn)


def _v3_credentials(conn: Connection) -> None:
    # OAuth tokens a connector was granted (a rotated refresh token among them): a restart or
    # a standby taking over reuses them instead of asking for new ones
    md = MetaData()
    Table(
        "credentials", md,
        Column("source", String(200), primary_key=True),
        Column("data", json_type(), nullable=False),
        Column("saved_at", UtcDateTime, nullable=False),
    )  # fmt: skip
    md.create_all(conn)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial tables", _v1_initial_tables),
    Migration(2, "policy snapshots", _v2_policy_snapshots),
    Migration(3, "connector credentials", _v3_credentials),
)
LATEST_VERSION = MIGRATIONS[-1].version


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
    # SQLite: the transaction began IMMEDIATE, which already excludes other writers.


def read_version(conn: Connection) -> int:
    """The version the database is at: 0 when it has never been migrated."""
    if not inspect(conn).has_table(schema_version.name):
        return 0
    version = conn.execute(select(func.max(schema_version.c.version))).scalar_one()
    return int(version or 0)


def migrate(engine: Engine, *, where: str, steps: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Apply the steps the database lacks, one transaction each; return its version now.

    ``where`` names the database in errors (a URL without its password).
    """
    latest = steps[-1].version if steps else 0
    while True:
        with engine.begin() as conn:
            _lock(conn)
            if not inspect(conn).has_table(schema_version.name):
                schema_version.create(conn)
            version = read_version(conn)
            if version > latest:
                raise SchemaTooNewError(
                    f"{where}: the state store is at schema version {version}, but this sidecar"
                    f" knows versions up to {latest}; run a newer sidecar (downgrades are not"
                    " supported)"
                )
            if version == latest:
                return version
            step = steps[version]  # steps are numbered 1..n without gaps (a test pins it)
            step.apply(conn)
            conn.execute(
                schema_version.insert().values(
                    version=step.version, name=step.name, applied_at=datetime.now(UTC)
                )
            )


def describe(conn: Connection) -> dict[str, set[str]]:
    """Table name -> column names as the database has them (for drift checks and `doctor`)."""
    inspector = inspect(conn)
    return {
        name: {col["name"] for col in inspector.get_columns(name)}
        for name in inspector.get_table_names()
    }
