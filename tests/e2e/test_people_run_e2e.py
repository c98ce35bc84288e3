"""Issue 12 once through ``escalator run`` (a subprocess on loopback, webhooks on): an agent's
request label escalates at once with their note as the reason; a level's notification repeats
until an agent replies; round robin names the ticket's turn; a confirmed fix steps down. The
to-the-second checks are in ``tests/engine`` (simulate) and ``test_people_e2e`` (the cycle at
exact instants)."""

from __future__ import annotations

import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.emulation import SeedComment, SeedTicket
from escalator.demo import DemoWorld
from tests.e2e.sidecar_process import SidecarProcess, set_poll_interval, wait_for
from tests.people_config import people_config

pytestmark = pytest.mark.slow


def received(world: DemoWorld, channel: str) -> list[dict[str, Any]]:
    return [payload for where, payload in list(world.chat.messages) if where == channel]


def test_requests_repeats_and_acknowledgement_through_run(
    world: DemoWorld, port: int, tmp_path: Path
) -> None:
    config = people_config(tmp_path)
    escalation = config / "escalation.yaml"
    # level 3 repeats once, a minute after it was reached (every 30 minutes in the example);
    # the runner's clock job must wake at that instant: nothing else happens meanwhile
    escalation.write_text(
        escalation.read_text().replace("every: 30m, times: 3", "every: 1m, times: 1")
    )
    set_poll_interval(config, "300s")
    env = {**world.env(), "ESCALATOR_STORE": f"sqlite:///{tmp_path}/state.db"}
    process = SidecarProcess(config, env, port, tmp_path / "sidecar.log").start()
    try:
        process.wait_healthy()
        process.wait_ready(20)
        now = datetime.now(UTC)

        # an agent asks for level 2 on a quiet ticket: the webhook brings it in at once
        quiet = SeedTicket(
            "Payroll export fails", now - timedelta(minutes=10), status="open",
            priority="normal", organization="Initech", category="billing",
        )  # fmt: skip
        (asked,) = world.zendesk.seed([quiet])
        note = "Export fails since 09:00. Tried: re-run, cache purge."
        world.zendesk.comment_as(asked, world.zendesk.agent_id, note, public=False)
        world.zendesk.add_tags(asked, "escalate-l2")
        wait_for(lambda: "escalation-l2" in world.zendesk.labels(asked), 10)
        bodies = [c["body"] for c in world.zendesk.comments(asked) if not c["public"]]
        assert any(note in body and "agent@example.com" in body for body in bodies)

        # two major incidents reach level 3; an agent answers the second within the minute
        def major(title: str) -> SeedTicket:
            return SeedTicket(
                title, datetime.now(UTC) - timedelta(minutes=1), status="open",
                priority="urgent", organization=title, category="billing",
                customer_tier="enterprise", affected_users=500,
            )  # fmt: skip

        (alone,) = world.zendesk.seed([major("Checkout down")])
        (answered,) = world.zendesk.seed([major("Payments down")])

        def paged(ticket_id: str) -> int:
            key = f"zendesk:{ticket_id}"
            return sum(1 for p in received(world, "executive") if key in str(p))

        wait_for(lambda: paged(alone) == 1 and paged(answered) == 1, 15)
        world.zendesk.add_comment(
            answered, SeedComment(datetime.now(UTC), "agent", True, "We are on it.")
        )
        wait_for(lambda: paged(alone) == 2, 75)  # the repeat, at its minute, by the clock job
        time.sleep(2)
        assert paged(alone) == 2  # once: times 1
        assert paged(answered) == 1  # acknowledged by the agent's public reply: no repeat
    finally:
        process.stop()


def test_round_robin_and_a_step_down_through_run(
    world: DemoWorld, port: int, tmp_path: Path
) -> None:
    avery = world.zendesk.user_id("avery@acme.example", name="Avery", role="agent")
    blake = world.zendesk.user_id("blake@acme.example", name="Blake", role="agent")
    config = people_config(tmp_path)
    escalation = config / "escalation.yaml"
    # the turns' users as this Zendesk account knows them (numeric user ids)
    escalation.write_text(
        escalation.read_text()
        .replace('user: "lead-avery"', f'user: "{avery}"')
        .replace('user: "lead-blake"', f'user: "{blake}"')
    )
    set_poll_interval(config, "5s")
    env = {**world.env(), "ESCALATOR_STORE": f"sqlite:///{tmp_path}/state.db"}
    process = SidecarProcess(config, env, port, tmp_path / "sidecar.log").start()
    try:
        process.wait_healthy()
        process.wait_ready(20)
        now = datetime.now(UTC)

        # urgent on 24x7: first response 1 h, at risk (75%) 45 minutes after creation
        at_risk = world.zendesk.seed([
            SeedTicket(f"Slow search {n}", now - timedelta(minutes=50), status="open",
                       priority="urgent", organization="Initech", category="billing")
            for n in range(4)
        ])  # fmt: skip
        turns = [("team-lead", str(avery)), ("support-manager", str(blake))]

        def turn(tid: str) -> tuple[str, str]:
            return turns[zlib.crc32(f"zendesk:{tid}:L1".encode()) % 2]

        def assigned(tid: str) -> str:
            return str(world.zendesk.record(tid)["assignee_id"])

        def told(tid: str) -> int:
            return sum(f"zendesk:{tid}" in str(m) for m in received(world, turn(tid)[0]))

        # the assignment and the notification are written in turn: wait for both
        wait_for(lambda: all(assigned(t) == turn(t)[1] and told(t) for t in at_risk), 20)
        time.sleep(1)
        assert [told(t) for t in at_risk] == [1] * len(at_risk)  # each turn's channel, once

        # a major incident reaches level 3; the fix lands and the customer confirms it
        (major,) = world.zendesk.seed([
            SeedTicket("Payments API down", now - timedelta(minutes=10), status="open",
                       priority="urgent", organization="Globex", category="technical",
                       customer_tier="enterprise"),
        ])  # fmt: skip
        wait_for(lambda: "escalation-l3" in world.zendesk.labels(major), 20)
        wait_for(lambda: len(world.jira.issue_keys("ENG")) == 1, 20)
        (eng,) = world.jira.issue_keys("ENG")
        world.jira.resolve(eng)
        world.zendesk.add_tags(major, "customer-confirmed")
        def stepped_down() -> bool:
            labels = world.zendesk.labels(major)
            return "escalation-l3" not in labels and "escalation-l1" in labels

        wait_for(stepped_down, 30)
        time.sleep(6)  # a further poll: stepped down once, no bounce back up
        labels = world.zendesk.labels(major)
        assert "escalation-l3" not in labels
        assert "escalation-l1" in labels
        notices = [m for m in received(world, "executive") if "step_down" in str(m)]
        assert len(notices) == 1
    finally:
        process.stop()
