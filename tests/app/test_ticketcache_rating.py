"""The ticket cache. A connector that could not read a customer's rating this time (a refused
or failed read, a restart that looks back less far than the rating) must not erase the rating
read before; a snapshot for the board stays as it was taken."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

from engine.model import AddLabels, Assign
from escalator.store import open_store
from escalator.ticketcache import TicketCache
from tests.fakes import HIGH_TICKET


def test_a_copy_without_a_rating_keeps_the_one_read_before(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/state.db") as store:
        cache = TicketCache(store)
        cache.load()
        rated = dataclasses.replace(HIGH_TICKET, satisfaction="good")
        cache.remember("zendesk", [rated])
        later = dataclasses.replace(
            HIGH_TICKET, updated_at=HIGH_TICKET.updated_at + timedelta(hours=1), title="edited"
        )
        cache.remember("zendesk", [later])

        kept = cache.get(HIGH_TICKET.key)
        assert kept is not None
        assert (kept.title, kept.satisfaction) == ("edited", "good")
        [stored] = store.load_tickets()
        assert (stored.title, stored.satisfaction) == ("edited", "good")

        # a new rating replaces the old one
        rerated = dataclasses.replace(later, satisfaction="bad")
        cache.remember("zendesk", [rerated])
        assert [t.satisfaction for t in store.load_tickets()] == ["bad"]


def test_a_snapshot_keeps_the_memories_it_was_taken_with(tmp_path: Path) -> None:
    """The board reads a snapshot in its own thread while the cycle records what it applied:
    a memory in the snapshot never changes under it."""
    at = HIGH_TICKET.updated_at
    common: dict[str, Any] = {"ticket": HIGH_TICKET.key, "rule": "r", "at": at, "level": 2}
    labels = AddLabels(key=f"{HIGH_TICKET.key}:L2:add_labels", labels=("escalation-l2",), **common)
    assign = Assign(key=f"{HIGH_TICKET.key}:L2:assign", group="Support Managers", **common)
    with open_store(f"sqlite:///{tmp_path}/state.db") as store:
        cache = TicketCache(store)
        cache.load()
        cache.remember("zendesk", [HIGH_TICKET])
        cache.recorded(labels)
        _, before = cache.snapshot()
        seen = before[HIGH_TICKET.key]
        assert (seen.level, seen.done) == (2, frozenset({"L2:add_labels"}))

        cache.recorded(assign)
        assert (seen.level, seen.done) == (2, frozenset({"L2:add_labels"}))  # as it was taken
        assert seen.level_done == {2: {"add_labels"}}
        _, after = cache.snapshot()
        assert after[HIGH_TICKET.key].done == {"L2:add_labels", "L2:assign"}
        assert after[HIGH_TICKET.key].level_done == {2: {"add_labels", "assign"}}
