"""A connector that could not read a customer's rating this time (a refused or failed read, a
restart that looks back less far than the rating) must not erase the rating read before."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

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
