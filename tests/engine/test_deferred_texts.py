"""An action's texts are rendered when first read, not when decided: the same words, the same
equality, hash, repr and JSON as an action rendered at once, and rendered once."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.codec import action_from_dict, action_to_dict
from engine.model import (
    AddLabels,
    Assign,
    CreateLinkedIssue,
    Decision,
    Notify,
    PostComment,
    Priority,
    Status,
    Ticket,
    deferred,
)
from engine.planner import Memory, plan
from engine.policy import Policy

NOW = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
TICKET = Ticket(
    system="zendesk",
    id="7",
    created_at=datetime(2026, 3, 6, 15, 0, tzinfo=UTC),
    updated_at=datetime(2026, 3, 6, 15, 0, tzinfo=UTC),
    status=Status.OPEN,
    priority=Priority.HIGH,
    title="Cannot log in",
    category="technical",
)
COMMON: dict[str, Any] = {
    "key": "zendesk:7:r:comment",
    "ticket": "zendesk:7",
    "rule": "r",
    "at": NOW,
}


class Counted:
    """A rendering that counts its calls."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return self.text


def test_a_deferred_text_renders_once_on_first_read() -> None:
    render = Counted("hello")
    action = deferred(PostComment, body=(render,), public=True, **COMMON)
    assert render.calls == 0
    assert action.body == "hello"
    assert action.body == "hello"
    assert render.calls == 1


def test_a_deferred_action_is_the_action_rendered_at_once() -> None:
    eager = PostComment(public=True, body="hello", **COMMON)
    lazy = deferred(PostComment, body=(Counted("hello"),), public=True, **COMMON)
    assert isinstance(lazy, PostComment)
    assert lazy == eager
    assert eager == lazy
    assert not lazy != eager  # noqa: SIM202 (``!=`` on its own, both ways)
    assert not eager != lazy  # noqa: SIM202
    assert hash(lazy) == hash(eager)
    assert repr(lazy) == repr(eager)
    assert action_to_dict(lazy) == action_to_dict(eager)
    assert action_from_dict(action_to_dict(lazy)) == eager
    assert dataclasses.asdict(lazy) == dataclasses.asdict(eager)
    assert dataclasses.replace(lazy, key="k2") == dataclasses.replace(eager, key="k2")
    assert copy.copy(lazy) == eager
    assert pickle.loads(pickle.dumps(lazy)) == eager
    assert lazy != PostComment(public=True, body="other", **COMMON)
    assert lazy != deferred(PostComment, body=(Counted("other"),), public=True, **COMMON)


def test_a_deferred_action_stays_frozen() -> None:
    lazy = deferred(Notify, text=(Counted("hi"),), channel="c", **COMMON)
    try:
        lazy.text = "changed"  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:  # pragma: no cover
        raise AssertionError("a deferred action could be changed")
    assert lazy.text == "hi"


def test_a_linked_issue_renders_each_text_on_its_own() -> None:
    summary, description = Counted("s"), Counted("d")
    issue = deferred(
        CreateLinkedIssue,
        summary=(summary,),
        description=(description,),
        system="jira",
        project="ENG",
        priority=Priority.HIGH,
        **COMMON,
    )
    assert issue.summary == "s"
    assert (summary.calls, description.calls) == (1, 0)
    assert issue.description == "d"
    assert (summary.calls, description.calls) == (1, 1)


def _counting(policy: Policy, calls: list[str]) -> Policy:
    """``policy`` with every level's templates recording each render."""

    def wrap(name: str, template: Any) -> Any:
        def render(context: Mapping[str, Any]) -> str:
            calls.append(name)
            text: str = template(context)
            return text

        return render

    levels = {
        n: dataclasses.replace(
            level,
            customer_update=wrap(f"L{n}:comment", level.customer_update),
            notification=wrap(f"L{n}:notify", level.notification),
        )
        for n, level in policy.levels.items()
    }
    return dataclasses.replace(policy, levels=levels)


def test_planning_renders_nothing_until_a_text_is_read(policy: Policy) -> None:
    calls: list[str] = []
    counting = _counting(policy, calls)
    planned = plan(counting, [TICKET], {}, NOW + timedelta(hours=1))  # breached: level 2
    assert planned.tickets[0].level == 2
    assert calls == []
    texts = {a.key: a.body for a in planned.actions if isinstance(a, PostComment)}
    assert calls == ["L2:comment"]
    # the same words as planning under the policy itself
    eager = {
        a.key: a.body
        for a in plan(policy, [TICKET], {}, NOW + timedelta(hours=1)).actions
        if isinstance(a, PostComment)
    }
    assert texts == eager


def test_a_text_read_later_says_what_held_when_it_was_decided(policy: Policy) -> None:
    """The memory a plan was made from moves on (``run`` records what it wrote); a text read
    after that still tells the levels reached as of the plan."""
    solved = dataclasses.replace(TICKET, status=Status.SOLVED)
    reached = AddLabels(
        key="zendesk:7:L1:add_labels",
        ticket="zendesk:7",
        rule="sla-at-risk",
        at=NOW - timedelta(hours=2),
        level=1,
        labels=("escalation-l1",),
    )
    at_once = plan(policy, [solved], {solved.key: Memory.of(solved.key, [reached])}, NOW)
    expected = [a.body for a in at_once.actions if isinstance(a, PostComment)]
    assert any("Level 1 (Team Lead)" in body for body in expected)

    memory = Memory.of(solved.key, [reached])
    later = plan(policy, [solved], {solved.key: memory}, NOW)
    memory.record(solved.key, dataclasses.replace(reached, key="zendesk:7:L2:add_labels", level=2))
    assert [a.body for a in later.actions if isinstance(a, PostComment)] == expected


def test_actions_keep_their_signature_and_stay_frozen() -> None:
    """Actions and decisions are built by a quicker ``__init__`` than the one dataclasses
    writes: the same keywords, defaults and refusals."""
    assign = Assign(key="k", ticket="t", rule="r", at=NOW)
    assert (assign.level, assign.group, assign.user) == (None, None, None)
    assert assign == Assign(key="k", ticket="t", rule="r", at=NOW, level=None)
    assert hash(assign) == hash(dataclasses.replace(assign))
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'labels'"):
        AddLabels(key="k", ticket="t", rule="r", at=NOW)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        AddLabels("k", ticket="t", rule="r", at=NOW, labels=())  # type: ignore[call-arg]
    with pytest.raises(dataclasses.FrozenInstanceError):
        assign.key = "other"  # type: ignore[misc]
    decision = Decision("zendesk:7", "r", NOW, "why")
    assert decision.level is None
    assert decision == Decision(ticket="zendesk:7", rule="r", at=NOW, reason="why", level=None)
