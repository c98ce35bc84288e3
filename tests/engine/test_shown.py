"""What of a decided action a ticket already shows (engine.shown): only the rest is written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.model import (
    AddLabels,
    Assign,
    AuthorRole,
    Comment,
    CreateLinkedIssue,
    LinkedIssue,
    Notify,
    PostComment,
    Priority,
    RemoveLabels,
    SetPriority,
    Status,
    Ticket,
    deferred,
)
from engine.shown import sort_action

AT = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
TICKET = Ticket(
    system="zendesk", id="7", created_at=AT, updated_at=AT, status=Status.OPEN,
    priority=Priority.HIGH, labels=frozenset({"vip", "escalation-l1"}), group="Tier 2",
    comments=(Comment(AT, AuthorRole.SIDECAR, True, "hi", marker="zendesk:7:L1:comment"),),
    linked_issues=(LinkedIssue("jira", "ENG-1", marker="zendesk:7:eng:create_linked_issue"),),
)  # fmt: skip
COMMON: dict[str, Any] = {"ticket": TICKET.key, "rule": "r", "at": AT, "level": 1}


def sorted_out(action: object) -> tuple[list[object], list[object]]:
    actions: list[object] = []
    satisfied: list[object] = []
    sort_action(action, TICKET, actions, satisfied)  # type: ignore[arg-type]
    return actions, satisfied


def test_labels_partly_shown_leave_only_the_rest_to_write() -> None:
    add = AddLabels(key="zendesk:7:L1:add_labels", labels=("vip", "sla-breached"), **COMMON)
    actions, satisfied = sorted_out(add)
    assert satisfied == []
    assert [a.labels for a in actions] == [("sla-breached",)]  # type: ignore[attr-defined]
    assert actions[0].key == add.key  # type: ignore[attr-defined]

    remove = RemoveLabels(key="k:remove", labels=("escalation-l1", "escalation-l2"), **COMMON)
    actions, _ = sorted_out(remove)
    assert [a.labels for a in actions] == [("escalation-l1",)]  # type: ignore[attr-defined]


def test_what_the_ticket_shows_in_full_is_satisfied() -> None:
    shown = [
        AddLabels(key="k:add", labels=("vip",), **COMMON),
        AddLabels(key="k:none", labels=(), **COMMON),
        RemoveLabels(key="k:remove", labels=("escalation-l3",), **COMMON),
        Assign(key="k:assign", group="Tier 2", **COMMON),
        SetPriority(key="k:prio", priority=Priority.HIGH, previous=Priority.HIGH, **COMMON),
        PostComment(key="zendesk:7:L1:comment", public=True, body="x", **COMMON),
        CreateLinkedIssue(
            key="zendesk:7:eng:create_linked_issue", system="jira", project="ENG",
            summary="s", description="d", priority=Priority.HIGH, **COMMON,
        ),
    ]  # fmt: skip
    for action in shown:
        assert sorted_out(action) == ([], [action]), action


def test_what_the_ticket_does_not_show_is_written_as_decided() -> None:
    unshown = [
        Assign(key="k:assign", group="Support Managers", **COMMON),
        SetPriority(key="k:prio", priority=Priority.URGENT, previous=Priority.HIGH, **COMMON),
        PostComment(key="zendesk:7:L2:comment", public=True, body="x", **COMMON),
        Notify(key="k:notify", channel="team-lead", text="t", **COMMON),
    ]
    for action in unshown:
        assert sorted_out(action) == ([action], []), action


def test_an_action_whose_text_renders_later_is_judged_as_its_kind() -> None:
    later = deferred(
        PostComment, key="zendesk:7:L1:comment", public=True, body=(lambda: "x",), **COMMON
    )
    assert sorted_out(later) == ([], [later])
    fresh = deferred(Notify, key="k:n", channel="team-lead", text=(lambda: "t",), **COMMON)
    assert sorted_out(fresh) == ([fresh], [])
