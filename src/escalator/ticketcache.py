"""The tickets the sidecar knows, what it applied to each, and which source owns each.

Read from the store once, then kept up to date in memory on every pull and write: a re-plan
of every ticket must not re-read and decode them all. ``reset`` forgets it all (a takeover or
a reload), so it is read again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from engine.model import Action, Ticket
from engine.planner import Memory
from escalator.store import StateStore

_NO_MEMORY = Memory()  # never recorded into: ``recorded`` makes a new one


class TicketCache:
    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._owner: dict[str, str] = {}  # ticket key -> source name
        self._tickets: dict[str, Ticket] | None = None
        self._memories: dict[str, Memory] | None = None
        self._changed: set[str] = set()  # keys read or written since the last drain

    def drain_changed(self) -> set[str]:
        """The tickets that changed (read anew, written, their memory grew) since last asked."""
        changed, self._changed = self._changed, set()
        return changed

    def load(self) -> tuple[dict[str, Ticket], dict[str, Memory]]:
        """The tickets and their memories, read from the store the first time."""
        if self._tickets is None:
            self._tickets = {t.key: t for t in self._store.load_tickets()}
        if self._memories is None:
            self._memories = {
                key: Memory.of(key, actions) for key, actions in self._store.applied_per_ticket()
            }
        return self._tickets, self._memories

    def get(self, key: str) -> Ticket | None:
        return (self._tickets or {}).get(key)

    def owner(self, key: str) -> str | None:
        """The name of the source ``key`` was pulled from."""
        return self._owner.get(key)

    def remember(self, name: str, tickets: Sequence[Ticket], *, persist: bool = True) -> None:
        """Tickets just read from (or written to) source ``name``; a newer copy wins."""
        if not tickets:
            return
        kept = self._tickets
        if kept is not None:
            tickets = [_rating_kept(t, kept.get(t.key)) for t in tickets]
        if persist:
            self._store.save_tickets(name, tickets)
        for ticket in tickets:
            self._owner[ticket.key] = name
            self._changed.add(ticket.key)
            if kept is not None:
                old = kept.get(ticket.key)
                if old is None or old.updated_at <= ticket.updated_at:  # as the store does
                    kept[ticket.key] = ticket

    def recorded(self, action: Action) -> None:
        """``action`` is done (applied, or found already there): remember it for planning."""
        self._changed.add(action.ticket)
        if self._memories is not None:
            # a new memory in place of the old: a snapshot taken before keeps the old one whole
            kept = self._memories.get(action.ticket, _NO_MEMORY)
            self._memories[action.ticket] = kept.recorded(action.ticket, action)

    def reset(self, sources: Iterable[str]) -> None:
        """Learn which source owns each stored ticket (including tickets another process
        pulled into a shared store: a standby taking over never pulled them itself) and
        forget what is kept in memory, so it is read again."""
        for name in sources:
            for ticket in self._store.load_tickets(name):
                self._owner[ticket.key] = name
        self._tickets = None
        self._memories = None
        self._changed.clear()

    def snapshot(self) -> tuple[list[Ticket], dict[str, Memory]]:
        """Copies of the mappings (for the board, which only reads them). Tickets and memories
        are replaced, never changed in place, so what the copies hold stays whole."""
        tickets, memories = self.load()
        return list(tickets.values()), dict(memories)


def _rating_kept(ticket: Ticket, old: Ticket | None) -> Ticket:
    """``ticket``, with the customer's rating ``old`` had if the helpdesk sent none this time:
    a connector that could not read the rating now (a refused or failed read, a restart that
    looks back less far than the rating) must not erase one read before."""
    if ticket.satisfaction is not None or old is None or old.satisfaction is None:
        return ticket
    return dataclasses.replace(ticket, satisfaction=old.satisfaction)
