"""A plan makes no reference cycles: what the collector's pause (escalator.gcpause) relies on
when it moves a plan's objects straight to the oldest generation, where only a full
collection would find a cycle."""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from engine.explain import check_ticket
from engine.model import AuthorRole, Change, Comment, Priority, Status, Ticket
from engine.planner import Memory, plan
from engine.policy import Policy

NOW = datetime(2026, 3, 11, 14, 0, tzinfo=UTC)


def tickets(n: int) -> list[Ticket]:
    """Tickets of every shape a first plan meets: each priority and status, replies or none,
    a status history, recurring organisations, many affected users."""
    rng = random.Random(3)
    out = []
    for i in range(n):
        created = NOW - timedelta(seconds=rng.randint(60, 10 * 86400))
        roles = (AuthorRole.AGENT, AuthorRole.CUSTOMER)
        replies = sorted(
            (
                Comment(created + timedelta(minutes=rng.randint(1, 600)), rng.choice(roles),
                        public=rng.random() < 0.8)
                for _ in range(rng.choice((0, 1, 3)))
            ),
            key=lambda c: c.at,
        )  # fmt: skip
        status = rng.choice(list(Status)[:4])
        history = (Change(created + timedelta(hours=1), "status", "new", status.value),)
        out.append(
            Ticket(
                system=rng.choice(("zendesk", "jira", "hubspot")), id=str(i),
                created_at=created, updated_at=NOW, status=status,
                priority=rng.choice(list(Priority)), title=f"Ticket {i}",
                organization=f"org-{i % 7}", category=rng.choice(("billing", "technical")),
                customer_tier=rng.choice(("standard", "enterprise")),
                affected_users=rng.choice((None, 80)), comments=tuple(replies),
                history=history if rng.random() < 0.5 else (),
            )
        )  # fmt: skip
    return out


@pytest.fixture
def collector_saving_all() -> Iterator[list[object]]:
    """What a full collection finds unreachable, kept for the test to read."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def _engine_objects(found: list[object]) -> list[object]:
    # other threads of the test process may leave garbage of their own: only the engine's counts
    return [o for o in found if type(o).__module__.startswith("engine.")]


def test_planning_rendering_and_explaining_leave_no_cycle(
    policy: Policy, collector_saving_all: list[object]
) -> None:
    world = tickets(400)
    first = plan(policy, world, {}, NOW)
    assert len(first.actions) > 1000  # every kind of decision was made
    for action in first.actions:  # every deferred text rendered, as the writer reads them
        for name in ("body", "text", "summary", "description"):
            getattr(action, name, None)
    memories = {
        tp.ticket: Memory.of(tp.ticket, [*tp.actions, *tp.satisfied]) for tp in first.tickets
    }
    later = plan(policy, world, memories, NOW + timedelta(hours=30))
    states = [tp.sla for tp in later.tickets]
    explained = check_ticket(policy, world[0], first.tickets[0].actions, NOW)
    assert states
    assert explained
    del first, later, states, explained, memories, world

    gc.collect()
    assert _engine_objects(collector_saving_all) == []
