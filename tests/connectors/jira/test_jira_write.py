"""Writing back: one coalesced PUT for fields, ADF comments with a hidden marker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypedDict

from connectors.base import ActionStatus, marker_for
from connectors.emulation import SeedTicket
from connectors.jira import JiraConnector
from connectors.jira.emulator import EXEC_ACCOUNT, TIER2_ACCOUNT, JiraEmulator
from engine.model import (
    Action,
    AddLabels,
    Assign,
    AuthorRole,
    Notify,
    PostComment,
    Priority,
    RemoveLabels,
    SetPriority,
)

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the emulator's clock (conftest)
PUT = r"/rest/api/3/issue/[^/]+$"
COMMENT = r"/rest/api/3/issue/[^/]+/comment$"


class Common(TypedDict):
    key: str
    ticket: str
    rule: str
    at: datetime


def common(key: str, rule: str = "sla-at-risk") -> Common:
    return {"key": key, "ticket": "jira:SUP-1", "rule": rule, "at": T0}


def every_kind(key_prefix: str = "k") -> list[Action]:
    return [
        AddLabels(**common(f"{key_prefix}1"), labels=("escalation-l1", "sla-at-risk")),
        RemoveLabels(**common(f"{key_prefix}2"), labels=("triage",)),
        SetPriority(**common(f"{key_prefix}3"), priority=Priority.HIGH, previous=Priority.NORMAL),
        Assign(**common(f"{key_prefix}4"), group="Tier 2 Support"),
        PostComment(
            **common(f"{key_prefix}5"), public=True, body="We escalated this.\nUpdate by 17:00."
        ),
        PostComment(**common(f"{key_prefix}6"), public=False, body="First response at risk."),
    ]


def test_every_write_kind_coalesces_into_one_put_and_two_comments(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    [key] = emulator.seed([seed(0, labels=["triage", "vip"])])
    ticket = connector.fetch(key)

    results = connector.apply(ticket, every_kind())

    assert [r.status for r in results] == [ActionStatus.APPLIED] * 6
    [put] = emulator.server.calls("PUT", PUT)
    assert put.arg("notifyUsers") == "false"
    assert put.json() == {
        "update": {
            "labels": [{"add": "escalation-l1"}, {"add": "sla-at-risk"}, {"remove": "triage"}]
        },
        "fields": {"priority": {"name": "High"}, "assignee": {"accountId": TIER2_ACCOUNT}},
    }
    fields = emulator.record(key)["fields"]
    assert sorted(fields["labels"]) == ["escalation-l1", "sla-at-risk", "vip"]
    assert fields["priority"]["name"] == "High"
    assert fields["assignee"]["accountId"] == TIER2_ACCOUNT
    posted = emulator.comments(key)[-2:]
    assert posted[0]["body"]["type"] == "doc"  # ADF on v3
    assert [c["jsdPublic"] for c in posted] == [True, False]
    props = [{p["key"]: p["value"] for p in c["properties"]} for c in posted]
    assert props[0] == {"escalation-sidecar": {"marker": marker_for("k5")}}
    assert props[1] == {
        "escalation-sidecar": {"marker": marker_for("k6")},
        "sd.public.comment": {"internal": True},
    }
    assert results[4].external_id == posted[0]["id"]


def test_nothing_is_written_when_the_issue_already_shows_it(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    [key] = emulator.seed([seed(0, labels=["triage"])])
    connector.apply(connector.fetch(key), every_kind())
    puts, posts = (
        len(emulator.server.calls("PUT", PUT)),
        len(emulator.server.calls("POST", COMMENT)),
    )

    again = connector.apply(connector.fetch(key), every_kind())

    assert [r.status for r in again] == [ActionStatus.ALREADY] * 6
    assert len(emulator.server.calls("PUT", PUT)) == puts
    assert len(emulator.server.calls("POST", COMMENT)) == posts


def test_add_then_remove_of_one_label_in_a_batch_sends_nothing(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    [key] = emulator.seed([seed(0)])
    actions: list[Action] = [
        AddLabels(**common("a"), labels=("escalation-l1",)),
        RemoveLabels(**common("b"), labels=("escalation-l1",)),
    ]

    results = connector.apply(connector.fetch(key), actions)

    assert [r.status for r in results] == [ActionStatus.APPLIED, ActionStatus.APPLIED]
    puts = emulator.server.calls("PUT", PUT)
    assert [p.json() for p in puts] == []  # the net change is none: no request at all


def test_a_comment_written_before_a_crash_is_found_by_its_marker_not_posted_again(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    [key] = emulator.seed([seed(0)])
    action = PostComment(**common("level-1-update"), public=True, body="Escalated.")
    [written] = connector.apply(connector.fetch(key), [action])
    # ... the process dies here, before the store records the key ...

    fresh = connector.fetch(key)
    [retried] = connector.apply(fresh, [action])

    ours = [c for c in fresh.comments if c.marker == action.key]
    assert len(ours) == 1
    assert ours[0].author_role is AuthorRole.SIDECAR
    assert ours[0].body == "Escalated."  # the marker is hidden, not in the text
    assert (written.status, retried.status) == (ActionStatus.APPLIED, ActionStatus.ALREADY)
    assert retried.external_id == written.external_id
    assert len(emulator.server.calls("POST", COMMENT)) == 1


def test_group_mapped_to_a_component_replaces_the_previous_groups_component(
    emulator: JiraEmulator,
    make_connector: Callable[..., JiraConnector],
    seed: Callable[..., SeedTicket],
) -> None:
    groups = {
        "Tier 2 Support": {"component": "Tier 2"},
        "Support Managers": {"component": "Support Managers", "assignee": EXEC_ACCOUNT},
    }
    connector = make_connector(groups=groups)
    [key] = emulator.seed([seed(0)])
    connector.apply(connector.fetch(key), [Assign(**common("g1"), group="Tier 2 Support")])
    ticket = connector.fetch(key)

    [result] = connector.apply(ticket, [Assign(**common("g2"), group="Support Managers")])

    assert ticket.group == "Tier 2 Support"
    assert result.status is ActionStatus.APPLIED
    assert emulator.server.calls("PUT", PUT)[-1].json() == {
        "update": {
            "components": [{"add": {"name": "Support Managers"}}, {"remove": {"name": "Tier 2"}}]
        },
        "fields": {"assignee": {"accountId": EXEC_ACCOUNT}},
    }
    assert connector.fetch(key).group == "Support Managers"


def test_bad_actions_fail_alone_and_jira_rejections_keep_the_rest(
    emulator: JiraEmulator,
    make_connector: Callable[..., JiraConnector],
    seed: Callable[..., SeedTicket],
) -> None:
    connector = make_connector(
        priority_names={"urgent": "P0", "high": "High", "normal": "Medium", "low": "Low"}
    )
    [key] = emulator.seed([seed(0)])
    actions: list[Action] = [
        AddLabels(**common("l"), labels=("has space",)),
        Assign(**common("g"), group="Nobody"),
        SetPriority(**common("p"), priority=Priority.URGENT, previous=Priority.NORMAL),
        PostComment(**common("c"), public=True, body="still posted"),
        Notify(**common("n"), channel="team-lead", text="hi"),
    ]

    results = connector.apply(connector.fetch(key), actions)

    status = {r.key: r.status for r in results}
    assert status == {
        "l": ActionStatus.FAILED,
        "g": ActionStatus.FAILED,
        "p": ActionStatus.FAILED,  # Jira answered 400: no priority P0 in the scheme
        "c": ActionStatus.APPLIED,
        "n": ActionStatus.FAILED,
    }
    assert "Priority" in results[2].detail
    assert len(emulator.server.calls("PUT", PUT)) == 1  # only the priority reached Jira


def test_assign_to_a_user_by_account_id(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    [key] = emulator.seed([seed(0)])

    [result] = connector.apply(connector.fetch(key), [Assign(**common("u"), user=EXEC_ACCOUNT)])

    assert result.status is ActionStatus.APPLIED
    assert emulator.record(key)["fields"]["assignee"]["accountId"] == EXEC_ACCOUNT


def test_the_sidecars_own_writes_do_not_come_back_as_changes(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    keys = emulator.seed([seed(0, labels=["triage"]), seed(1)])
    first = connector.pull(None, start=T0 - timedelta(days=2))
    emulator.server.clock.set(T0 + timedelta(minutes=5))
    connector.apply(connector.fetch(keys[0]), every_kind())

    echo = connector.pull(first.cursor, start=T0)
    echoes = connector.last_echoes
    emulator.server.clock.set(T0 + timedelta(minutes=9))
    emulator.update(keys[0], status="pending")  # a person acts: that is news
    news = connector.pull(echo.cursor, start=T0)

    assert echo.tickets == ()
    assert echoes == (keys[0],)
    [ticket] = news.tickets
    assert ticket.status.value == "pending"
    sidecar = [c for c in ticket.comments if c.author_role is AuthorRole.SIDECAR]
    assert {c.marker for c in sidecar} == {"k5", "k6"}  # never counted as an agent reply
