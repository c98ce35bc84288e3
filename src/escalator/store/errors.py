"""What the state store raises: all of it is a ``StoreError``."""

from __future__ import annotations


class StoreError(Exception):
    """The state store cannot do what was asked; the message says what to fix."""


class SchemaTooNewError(StoreError):
    """The database was migrated by a newer version of the sidecar than this one."""


class UnknownActionError(StoreError):
    """``finish`` named an action key that was never begun."""


class ActionNotPendingError(StoreError):
    """``finish`` named an action that is not pending (finished twice)."""
