"""The sidecar's state store: idempotency ledger, ticket cache, cursors, audit log, quarantine,
per-ticket policy versions and the high-availability lease.

``open_store("sqlite:///var/lib/escalator/state.db")`` or ``open_store("postgresql://...")``
returns a migrated ``StateStore``. Errors::

    StoreError
    ├── SchemaTooNewError       the database was migrated by a newer sidecar
    ├── UnknownActionError      finish() of a key never begun
    └── ActionNotPendingError   finish() of a key already finished
"""

from __future__ import annotations

from escalator.store.errors import (
    ActionNotPendingError,
    SchemaTooNewError,
    StoreError,
    UnknownActionError,
)
from escalator.store.migrations import LATEST_VERSION
from escalator.store.records import AuditEntry, QuarantineEntry
from escalator.store.sql import StateStore, open_store

__all__ = [
    "LATEST_VERSION",
    "ActionNotPendingError",
    "AuditEntry",
    "QuarantineEntry",
    "SchemaTooNewError",
    "StateStore",
    "StoreError",
    "UnknownActionError",
    "open_store",
]
