"""A level's contacts take turns, one per escalated ticket, exactly and stably.

The shipped example (config/escalation.yaml, commented out) gives level 1 two turns:
``{notify: team-lead, user: lead-avery}`` and ``{notify: support-manager, user: lead-blake}``.
A ticket's turn is ``crc32("<ticket key>:L1") mod 2`` (documented in the config): the same in
``simulate``, ``plan`` and after a restart, with nothing stored.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.model import Assign, Notify
from engine.policy import Policy
from tests.engine.people_sim import notifies, people_policy, run_timeline

AT_RISK = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
TURNS = [("team-lead", "lead-avery"), ("support-manager", "lead-blake")]


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    return people_policy(tmp_path_factory.mktemp("people"))


def _ticket(i: int) -> str:
    # high priority, Monday 09:00: first response 4 h, at risk (75%, level 1) at 12:00 to the
    # second, the same for every ticket
    return (
        f"  - {{id: RR-{i}, system: zendesk, title: 'Slow reports {i}', priority: high,"
        f" status: open, created_at: 2026-03-09T09:00:00Z, organization: Org{i}}}\n"
    )


def test_each_escalation_to_level_1_takes_the_turn_of_its_ticket(
    policy: Policy, tmp_path: Path
) -> None:
    ids = range(1, 9)
    text = "until: 2026-03-09T12:30:00Z\ntickets:\n" + "".join(_ticket(i) for i in ids)
    _, result = run_timeline(policy, tmp_path, text)

    got = {
        (a.ticket, a.key.rsplit(":", 1)[1]): a for a in result.actions if a.key.count(":L1:") == 1
    }
    seen = set()
    for i in ids:
        key = f"zendesk:RR-{i}"
        channel, user = TURNS[zlib.crc32(f"{key}:L1".encode()) % 2]
        notify = got[(key, "notify")]
        assign = got[(key, "assign")]
        assert isinstance(notify, Notify)
        assert isinstance(assign, Assign)
        assert (notify.at, notify.channel) == (AT_RISK, channel)
        assert (assign.group, assign.user) == ("Tier 2 Support", user)
        seen.add(channel)
    assert seen == {"team-lead", "support-manager"}  # both turns serve among eight tickets


def test_the_turn_is_the_same_on_every_replay(policy: Policy, tmp_path: Path) -> None:
    text = "until: 2026-03-09T12:30:00Z\ntickets:\n" + "".join(_ticket(i) for i in range(1, 5))
    _, first = run_timeline(policy, tmp_path, text)
    _, second = run_timeline(policy, tmp_path, text)
    assert notifies(first) == notifies(second)
