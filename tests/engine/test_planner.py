"""The planner directly: keys, idempotence, what the ticket already shows, next_due."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from engine.model import (
    AddLabels,
    AuthorRole,
    Comment,
    CreateLinkedIssue,
    LinkedIssue,
    PostComment,
    Priority,
    RemoveLabels,
    SetPriority,
    Status,
    TargetName,
    Ticket,
)
from engine.planner import Memory, plan, sla_priority
from engine.policy import Policy

NOW = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)  # Monday; first-response at risk for TICKET


TICKET = Ticket(
    system="zendesk",
    id="7",
    created_at=datetime(2026, 3, 6, 15, 0, tzinfo=UTC),
    updated_at=datetime(2026, 3, 6, 15, 0, tzinfo=UTC),
    status=Status.OPEN,
    priority=Priority.HIGH,
    title="Cannot log in",
)


def test_actions_carry_stable_keys(policy: Policy) -> None:
    first = plan(policy, [TICKET], {}, NOW)
    again = plan(policy, [TICKET], {}, NOW)
    keys = [a.key for a in first.actions]
    assert keys == [a.key for a in again.actions]
    assert keys == [
        "zendesk:7:sla-at-risk:add_labels",
        "zendesk:7:sla-at-risk:comment",
        "zendesk:7:L1:add_labels",
        "zendesk:7:L1:assign",
        "zendesk:7:L1:comment",
        "zendesk:7:L1:notify",
    ]
    # removing the other levels' labels is already true of the ticket: recorded, not written
    assert [a.key for a in first.tickets[0].satisfied] == ["zendesk:7:L1:remove_labels"]


def test_nothing_is_emitted_twice(policy: Policy) -> None:
    first = plan(policy, [TICKET], {}, NOW)
    done = {TICKET.key: [*first.actions, *first.tickets[0].satisfied]}
    later = plan(policy, [TICKET], done, NOW + timedelta(minutes=30))
    assert later.actions == ()
    assert later.tickets[0].level == 1


def test_labels_already_on_the_ticket_are_not_written_again(policy: Policy) -> None:
    tagged = dataclasses.replace(TICKET, labels=frozenset({"sla-at-risk", "vip"}))
    p = plan(policy, [tagged], {}, NOW).tickets[0]
    assert "zendesk:7:sla-at-risk:add_labels" in {a.key for a in p.satisfied}
    assert "zendesk:7:sla-at-risk:add_labels" not in {a.key for a in p.actions}


def test_a_comment_found_by_its_marker_is_not_posted_again(policy: Policy) -> None:
    # the sidecar crashed after posting the note but before recording it
    marked = dataclasses.replace(
        TICKET,
        comments=(
            Comment(
                NOW,
                AuthorRole.SIDECAR,
                False,
                "SLA at risk",
                marker="zendesk:7:sla-at-risk:comment",
            ),
        ),
    )
    p = plan(policy, [marked], {}, NOW).tickets[0]
    assert "zendesk:7:sla-at-risk:comment" in {a.key for a in p.satisfied}
    assert all(not isinstance(a, PostComment) or a.level == 1 for a in p.actions)


def test_a_linked_issue_found_by_its_marker_is_not_created_again(policy: Policy) -> None:
    technical = dataclasses.replace(
        TICKET,
        category="technical",
        linked_issues=(
            LinkedIssue("jira", "ENG-1", marker="zendesk:7:engineering:create_linked_issue"),
        ),
    )
    p = plan(policy, [technical], {}, NOW + timedelta(hours=1)).tickets[0]  # breached: level 2
    assert p.level == 2
    assert "zendesk:7:engineering:create_linked_issue" in {a.key for a in p.satisfied}


def test_next_due_is_the_next_threshold(policy: Policy) -> None:
    early = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    p = plan(policy, [TICKET], {}, early).tickets[0]
    assert p.actions == ()
    assert p.next_due == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)  # at risk, Monday 10:00


def test_sla_follows_the_persons_priority_not_the_sidecars() -> None:
    raised = SetPriority(
        key="k",
        ticket="zendesk:7",
        rule="sla-breached",
        at=NOW,
        priority=Priority.URGENT,
        previous=Priority.HIGH,
    )
    memory = Memory.of("zendesk:7", [raised])
    assert (
        sla_priority(dataclasses.replace(TICKET, priority=Priority.URGENT), memory) is Priority.HIGH
    )
    # a person then chose another priority: that one counts
    assert sla_priority(dataclasses.replace(TICKET, priority=Priority.LOW), memory) is Priority.LOW


def test_memory_knows_the_levels_reached() -> None:
    actions = [
        AddLabels(
            key="zendesk:7:L1:add_labels",
            ticket="zendesk:7",
            rule="r",
            at=NOW,
            level=1,
            labels=("escalation-l1",),
        ),
        AddLabels(
            key="zendesk:7:L2:add_labels",
            ticket="zendesk:7",
            rule="r",
            at=NOW + timedelta(hours=1),
            level=2,
            labels=("escalation-l2",),
        ),
    ]
    memory = Memory.of("zendesk:7", actions)
    assert memory.level == 2
    assert memory.reached == ((1, NOW), (2, NOW + timedelta(hours=1)))
    assert memory.done == {"L1:add_labels", "L2:add_labels"}


def test_sla_state_is_reported_per_target(policy: Policy) -> None:
    p = plan(policy, [TICKET], {}, NOW).tickets[0]
    assert p.sla is not None
    assert p.sla.policy == "standard"
    fr = p.sla.target(TargetName.FIRST_RESPONSE)
    assert fr is not None
    assert fr.due == datetime(2026, 3, 9, 11, 0, tzinfo=UTC)
    assert fr.elapsed_seconds == 3 * 3600
    assert fr.running


def test_the_engineering_issue_takes_the_priority_raised_at_the_same_instant(
    policy: Policy,
) -> None:
    technical = dataclasses.replace(TICKET, category="technical")
    p = plan(policy, [technical], {}, NOW + timedelta(hours=1)).tickets[0]  # breached: level 2
    (raise_,) = [a for a in p.actions if isinstance(a, SetPriority)]
    (issue,) = [a for a in p.actions if isinstance(a, CreateLinkedIssue)]
    assert raise_.priority is Priority.URGENT
    assert issue.priority is Priority.URGENT


def test_a_level_is_reached_only_when_its_label_is_written() -> None:
    nothing_to_remove = RemoveLabels(
        key="zendesk:7:L2:remove_labels",
        ticket="zendesk:7",
        rule="r",
        at=NOW,
        level=2,
        labels=("escalation-l1",),
    )
    assert Memory.of("zendesk:7", [nothing_to_remove]).level == 0
    label = AddLabels(
        key="zendesk:7:L2:add_labels",
        ticket="zendesk:7",
        rule="r",
        at=NOW,
        level=2,
        labels=("escalation-l2",),
    )
    assert Memory.of("zendesk:7", [nothing_to_remove, label]).level == 2
