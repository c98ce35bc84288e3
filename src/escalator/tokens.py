"""A connector's OAuth tokens, kept in the state store (``connectors.base.TokenKeeper``)."""

from __future__ import annotations

from typing import Any

from escalator.store import StateStore


class StoredTokens:
    def __init__(self, store: StateStore, source: str) -> None:
        self._store = store
        self._source = source

    def read(self) -> dict[str, Any] | None:
        return self._store.read_credentials(self._source)

    def write(self, data: dict[str, Any]) -> None:
        self._store.write_credentials(self._source, data)
