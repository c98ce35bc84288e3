"""Opening the store for commands that only read it (``audit``, ``quarantine``), and finding a
ticket by the id a person types."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from escalator.store import StateStore, open_store


class StoreMissing(LookupError):
    """The store a read-only command was pointed at does not exist (nothing ran there yet)."""


def open_existing_store(url: str) -> StateStore:
    """The store at ``url``; a SQLite file that does not exist is an error, not a new store."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if str(path) != ":memory:" and not path.exists():
            raise StoreMissing(f"no state store at {path}: has `escalator sync` or `run` run here?")
    return open_store(url)


class AmbiguousTicket(LookupError):
    def __init__(self, typed: str, choices: list[str]) -> None:
        self.choices = choices
        super().__init__(
            f"{typed!r} is held by several systems: {', '.join(choices)}; name one"
            if choices
            else f"no ticket {typed!r} in the store"
        )


def resolve_ticket_key(typed: str, known: Iterable[str]) -> str:
    """``SUP-1`` → ``jira:SUP-1`` when one system holds such an id; a full key as it is."""
    keys = set(known)
    if typed in keys:
        return typed
    if ":" in typed and typed.split(":", 1)[0] in {k.split(":", 1)[0] for k in keys}:
        return typed  # a full key of a known system: an empty answer says the rest
    matches = sorted(k for k in keys if k.split(":", 1)[1] == typed)
    if len(matches) == 1:
        return matches[0]
    raise AmbiguousTicket(typed, matches)
