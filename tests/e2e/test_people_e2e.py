"""Issue 12 end to end: the sidecar's own cycle (pull through the emulators' HTTP APIs, plan,
write back, notify the chat receiver) with the commented examples of ``config/`` switched on:
repeat until acknowledged, round robin, an agent's request label and a step-down.

The cycle runs in process against ``DemoWorld`` with the sidecar's clock set at each instant,
as in test_parity_e2e. People act through the emulators' helpers, which record what Zendesk's
agent UI does (one audit per submit, a ``tags`` Change event, a Comment event) and what Jira
does when engineering resolves an issue.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.base import ActionStatus
from connectors.emulation import SeedTicket
from escalator.app import open_sidecar
from escalator.config import load_config
from escalator.cycle import Sidecar
from escalator.demo import DemoWorld
from escalator.store import StateStore, open_store
from tests.people_config import people_config


@pytest.fixture
def world() -> Iterator[DemoWorld]:
    world = DemoWorld()
    world.start()
    try:
        yield world
    finally:
        world.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    yield store
    store.close()


def cycle_at(sidecar: Sidecar, instant: datetime) -> list[str]:
    """One cycle with the sidecar's clock at ``instant``: the keys it wrote, each applied."""
    sidecar.clock = lambda: instant
    report = sidecar.cycle()
    assert not report.failed_sources
    for action, result in report.written:
        assert result.status is ActionStatus.APPLIED, (action.key, result.detail)
    return [a.key for a, _ in report.written]


def received(world: DemoWorld, path: str) -> list[dict[str, Any]]:
    return [payload for where, payload in world.chat.messages if where == path]


def test_a_level_is_repeated_until_an_agent_replies(
    world: DemoWorld, store: StateStore, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    created = now - timedelta(minutes=50)
    (tid,) = world.zendesk.seed([
        SeedTicket("Checkout down", created, status="open", priority="urgent",
                   organization="Globex", category="billing", customer_tier="enterprise"),
    ])  # fmt: skip
    config = load_config(people_config(tmp_path))
    with open_sidecar(config, world.env(), store=store) as sidecar:
        cycle_at(sidecar, created)  # major-impact: level 3 at once
        assert cycle_at(sidecar, created + timedelta(minutes=29, seconds=59)) == []
        assert f"zendesk:{tid}:L3:notify.r1" in cycle_at(sidecar, created + timedelta(minutes=30))
        # the on-call agent answers the customer (a public comment in the agent UI)
        world.zendesk.comment_as(tid, world.zendesk.agent_id, "We are on it.", public=True)
        written = cycle_at(sidecar, created + timedelta(minutes=60))  # r2 was due here
        assert not [k for k in written if ":L3:notify" in k]

    executive = [m["key"] for m in received(world, "executive")]
    assert executive == [f"zendesk:{tid}:L3:notify", f"zendesk:{tid}:L3:notify.r1"]
    repeat = received(world, "executive")[1]
    assert repeat["at"] == (created + timedelta(minutes=30)).isoformat()
    assert repeat["level"] == 3


def test_level_1_goes_to_the_tickets_turn_of_the_round_robin(
    world: DemoWorld, store: StateStore, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    created = now - timedelta(minutes=50)
    avery = world.zendesk.user_id("avery@acme.example", name="Avery", role="agent")
    blake = world.zendesk.user_id("blake@acme.example", name="Blake", role="agent")
    config_dir = people_config(tmp_path)
    escalation = config_dir / "escalation.yaml"
    # the turns' users as this Zendesk account knows them (numeric user ids)
    escalation.write_text(
        escalation.read_text()
        .replace('user: "lead-avery"', f'user: "{avery}"')
        .replace('user: "lead-blake"', f'user: "{blake}"')
    )
    ids = world.zendesk.seed([
        SeedTicket(f"Slow search {n}", created, status="open", priority="urgent",
                   organization="Initech", category="billing")
        for n in range(4)
    ])  # fmt: skip
    turns = [("team-lead", str(avery)), ("support-manager", str(blake))]
    with open_sidecar(load_config(config_dir), world.env(), store=store) as sidecar:
        # urgent on 24x7: first response 1 h, at risk (75%) 45 minutes after creation
        written = cycle_at(sidecar, created + timedelta(minutes=45))
    for tid in ids:
        assert f"zendesk:{tid}:L1:notify" in written
        channel, user = turns[zlib.crc32(f"zendesk:{tid}:L1".encode()) % 2]
        assert str(world.zendesk.record(tid)["assignee_id"]) == user
        texts = [str(m) for m in received(world, channel)]
        assert any(f"zendesk:{tid}" in t for t in texts)


def test_an_agents_request_label_escalates_with_their_note_as_the_reason(
    world: DemoWorld, store: StateStore, tmp_path: Path
) -> None:
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    (tid,) = world.zendesk.seed([
        SeedTicket("Payroll export fails", created, status="open", priority="normal",
                   organization="Initech", category="billing"),
    ])  # fmt: skip
    config = load_config(people_config(tmp_path))
    with open_sidecar(config, world.env(), store=store) as sidecar:
        assert cycle_at(sidecar, datetime.now(UTC)) == []
        agent = world.zendesk.agent_id
        note = "Export fails for every user since 09:00. Tried: re-run, cache purge."
        world.zendesk.comment_as(tid, agent, note, public=False)
        world.zendesk.add_tags(tid, "escalate-l2")
        written = cycle_at(sidecar, datetime.now(UTC))
        assert f"zendesk:{tid}:agent-request:comment" in written
        assert f"zendesk:{tid}:L2:notify" in written
        assert cycle_at(sidecar, datetime.now(UTC)) == []  # nothing twice

    record = world.zendesk.record(tid)
    assert {"escalate-l2", "escalation-l2"} <= set(record["tags"])
    bodies = [c["body"] for c in world.zendesk.comments(tid) if not c["public"]]
    # the requester is the agent who tagged it (the tags change's audit author, by email)
    assert bodies[-1] == (
        "Escalation to level 2 requested by agent@example.com with the label escalate-l2."
        f"\nReason given: {note}"
    )
    assert len(received(world, "support-manager")) == 1


def test_a_confirmed_fix_steps_the_escalation_down(
    world: DemoWorld, store: StateStore, tmp_path: Path
) -> None:
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    (tid,) = world.zendesk.seed([
        SeedTicket("Payments API down", created, status="open", priority="urgent",
                   organization="Globex", category="technical", customer_tier="enterprise"),
    ])  # fmt: skip
    config = load_config(people_config(tmp_path))
    with open_sidecar(config, world.env(), store=store) as sidecar:
        written = cycle_at(sidecar, datetime.now(UTC))
        assert f"zendesk:{tid}:L3:add_labels" in written
        (eng,) = world.jira.issue_keys("ENG")  # the engineering hand-off
        world.jira.resolve(eng)
        world.zendesk.add_tags(tid, "customer-confirmed")
        written = cycle_at(sidecar, datetime.now(UTC))
        assert f"zendesk:{tid}:fix-confirmed:step_down:add_labels" in written
        assert cycle_at(sidecar, datetime.now(UTC)) == []  # stepped down once; no bounce back

    tags = set(world.zendesk.record(tid)["tags"])
    assert "escalation-l1" in tags
    assert "escalation-l3" not in tags
    notices = [m for m in received(world, "executive") if "step_down" in m["key"]]
    assert [m["text"] for m in notices] == [
        f'Stood down: zendesk:{tid} "Payments API down" no longer needs Executive. Thank you.'
    ]
    assert store.applied(f"zendesk:{tid}")  # the ledger holds the step for the next start
