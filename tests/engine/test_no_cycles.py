"""A plan makes no reference cycles: what the collector's pause (escalator.gcpause) relies on
when it moves a plan's objects straight to the oldest generation, where only a full
collection would find a cycle."""

from __future__ import annotations

import gc
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from engine.explain import check_ticket
from engine.model import AuthorRole, Change, Comment, Priority, Status, Ticket
from engine.planner import Memory, plan
from engine.policy import Policy

NOW = datetime(2026, 3, 11, 14, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


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


def plan_everything(policy: Policy) -> int:
    """Plan, render, re-plan, read SLA states and explain; then what a full collection finds
    unreachable (garbage only a cycle makes)."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
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
    found = len(gc.garbage)
    for kind in sorted({type(o).__qualname__ for o in gc.garbage})[:20]:
        print("garbage:", kind)
    return found


def test_planning_rendering_and_explaining_leave_no_cycle() -> None:
    # a fresh process: no other test's threads or leftovers, so any garbage at all is the plan's
    code = (
        "from pathlib import Path\n"
        "from escalator.config import load_config\n"
        "from tests.engine.test_no_cycles import plan_everything\n"
        "print('unreachable', plan_everything(load_config(Path('config')).policy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=ROOT,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "unreachable 0", done.stdout
