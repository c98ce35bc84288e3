from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from connectors.base import ActionStatus, marker_for
from connectors.emulation import SeedComment
from connectors.zendesk import ZendeskConnector
from connectors.zendesk.emulator import ZendeskEmulator
from engine.model import (
    Action,
    AddLabels,
    Assign,
    AuthorRole,
    CreateLinkedIssue,
    Notify,
    PostComment,
    Priority,
    RemoveLabels,
    SetPriority,
    Ticket,
)
from tests.connectors.zendesk.zendesk_seeds import T0, seed_ticket

PUT = r"^/api/v2/tickets/\d+(\.json)?$"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _base(ticket: Ticket, key: str) -> dict[str, Any]:
    return {"key": f"{ticket.key}|{key}", "ticket": ticket.key, "rule": "r1", "at": NOW}


def every_kind(ticket: Ticket, agent_id: int) -> list[Action]:
    return [
        SetPriority(**_base(ticket, "prio"), priority=Priority.URGENT, previous=ticket.priority),
        AddLabels(**_base(ticket, "add"), labels=("escalated", "l2")),
        RemoveLabels(**_base(ticket, "rm"), labels=("vip",)),
        Assign(**_base(ticket, "assign"), group="Tier 2", user=str(agent_id)),
        PostComment(**_base(ticket, "note"), public=False, body="Escalated to tier 2"),
        PostComment(**_base(ticket, "reply"), public=True, body="We are on it"),
    ]


def test_all_write_kinds_in_one_coalesced_put(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    (tid,) = emulator.seed([seed_ticket(0, labels=["vip", "keep-me"])])
    emulator.group_id("Tier 2")
    ticket = connector.fetch(tid)
    actions = every_kind(ticket, emulator.agent_id)

    results = connector.apply(ticket, actions)

    assert [r.key for r in results] == [a.key for a in actions]
    assert {r.status for r in results} == {ActionStatus.APPLIED}
    puts = emulator.server.calls("PUT", PUT)
    assert len(puts) == 2  # Zendesk takes one comment per update: the second comment rides alone
    first = puts[0].json()["ticket"]
    assert first["priority"] == "urgent"
    assert first["group_id"] == emulator.group_id("Tier 2")
    assert first["assignee_id"] == emulator.agent_id
    # the single-ticket PUT replaces the tags: the full list, computed from the ticket as read
    assert first["tags"] == ["keep-me", "escalated", "l2"]
    assert "additional_tags" not in first
    assert "remove_tags" not in first
    assert first["comment"] == {"body": "Escalated to tier 2", "public": False}
    assert first["metadata"] == {"escalation_sidecar": {"marker": marker_for(actions[4].key)}}
    assert first["safe_update"] is True
    assert first["updated_stamp"] == ticket.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    second = puts[1].json()["ticket"]
    assert second["comment"] == {"body": "We are on it", "public": True}
    assert set(second) == {"id", "comment", "metadata", "safe_update", "updated_stamp"}
    assert second["updated_stamp"] != first["updated_stamp"]  # chained from the first response

    record = emulator.record(tid)
    assert record["priority"] == "urgent"
    assert record["assignee_id"] == emulator.agent_id
    assert sorted(record["tags"]) == ["escalated", "keep-me", "l2"]
    after = connector.fetch(tid)
    ours = [c for c in after.comments if c.author_role is AuthorRole.SIDECAR]
    assert [(c.public, c.marker) for c in ours] == [(False, actions[4].key), (True, actions[5].key)]
    assert results[4].external_id == ours[0].id
    # the marker is invisible: not in any comment body
    assert all("escalation-sidecar" not in c["body"] for c in emulator.comments(tid))


def test_write_that_changes_nothing_is_not_sent(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    (tid,) = emulator.seed([seed_ticket(0)])
    ticket = connector.fetch(tid)
    actions: list[Action] = [
        SetPriority(**_base(ticket, "p"), priority=Priority.NORMAL, previous=Priority.NORMAL),
        AddLabels(**_base(ticket, "a"), labels=("vip",)),
        RemoveLabels(**_base(ticket, "r"), labels=("never-there",)),
        Notify(**_base(ticket, "n"), channel="slack", text="hi"),
        CreateLinkedIssue(
            **_base(ticket, "j"),
            system="jira",
            project="ENG",
            summary="s",
            description="d",
            priority=Priority.HIGH,
        ),
    ]
    results = connector.apply(ticket, actions)
    assert [r.status for r in results] == [ActionStatus.ALREADY] * 3 + [ActionStatus.FAILED] * 2
    assert "not a Zendesk write" in results[3].detail
    assert "issue tracker" in results[4].detail
    assert not emulator.server.calls("PUT", PUT)


def test_stale_ticket_gets_409_and_conflict_results(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    (tid,) = emulator.seed([seed_ticket(0)])
    ticket = connector.fetch(tid)
    emulator.update(tid, priority="high")  # a person acts after our read

    actions: list[Action] = [
        SetPriority(**_base(ticket, "p"), priority=Priority.URGENT, previous=Priority.NORMAL),
        PostComment(**_base(ticket, "c"), public=True, body="Escalating"),
        PostComment(**_base(ticket, "c2"), public=False, body="second"),
    ]
    results = connector.apply(ticket, actions)

    assert [r.status for r in results] == [ActionStatus.CONFLICT] * 3
    assert "409" in results[0].detail
    assert len(emulator.server.calls("PUT", PUT)) == 1  # no retry, no second write
    assert emulator.record(tid)["priority"] == "high"  # the person's value stands
    assert len(emulator.comments(tid)) == 3
    # the re-read happened: the app gets CONFLICT only for what the fresh ticket lacks
    assert emulator.server.calls("GET", rf"^/api/v2/tickets/{tid}(\.json)?$")


def test_crash_between_write_and_record_never_posts_twice(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    (tid,) = emulator.seed([seed_ticket(0)])
    ticket = connector.fetch(tid)
    comment = PostComment(**_base(ticket, "update-due"), public=True, body="Still working on it")
    assert connector.apply(ticket, [comment])[0].status is ActionStatus.APPLIED
    # ... the process dies before the store records the key; on restart it reads the ticket
    fresh = connector.fetch(tid)
    found = [c for c in fresh.comments if c.marker == comment.key]
    assert len(found) == 1
    assert found[0].author_role is AuthorRole.SIDECAR
    again = connector.apply(fresh, [comment])
    assert again[0].status is ActionStatus.ALREADY
    assert again[0].external_id == found[0].id
    # even replaying with the stale pre-crash ticket is safe: 409, re-read, marker found
    stale = connector.apply(ticket, [comment])
    assert stale[0].status is ActionStatus.ALREADY
    assert len(emulator.server.calls("PUT", PUT)) == 2  # the write, and the refused replay
    assert sum(c["body"] == "Still working on it" for c in emulator.comments(tid)) == 1


def test_echo_of_our_own_write_is_marked_until_a_person_acts(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    ids = emulator.seed([seed_ticket(i) for i in range(2)])
    first = connector.pull(None, start=T0 - timedelta(hours=1))
    ticket = next(t for t in first.tickets if t.id == ids[0])
    connector.apply(ticket, [AddLabels(**_base(ticket, "l"), labels=("escalated",))])

    echo = connector.pull(first.cursor, start=T0)
    assert [t.id for t in echo.tickets] == [ids[0]]  # fresh state, so the store is not stale
    assert echo.echoes == (ticket.key,)  # ... but clearly nothing a person did
    assert "escalated" in echo.tickets[0].labels

    emulator.add_comment(
        ids[0],
        SeedComment(at=emulator.server.clock.now(), author="customer", public=True, body="thanks"),
    )
    human = connector.pull(echo.cursor, start=T0)
    assert [t.id for t in human.tickets] == [ids[0]]
    assert human.echoes == ()


def test_unknown_group_fails_that_action_only(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    (tid,) = emulator.seed([seed_ticket(0)])
    ticket = connector.fetch(tid)
    results = connector.apply(
        ticket,
        [
            Assign(**_base(ticket, "g"), group="Nonexistent"),
            SetPriority(**_base(ticket, "p"), priority=Priority.HIGH, previous=Priority.NORMAL),
        ],
    )
    assert results[0].status is ActionStatus.FAILED
    assert "Nonexistent" in results[0].detail
    assert results[1].status is ActionStatus.APPLIED
    assert emulator.record(tid)["group_id"] is None


def test_per_ticket_update_limit_fails_without_blocking(
    emulator: ZendeskEmulator, connector: ZendeskConnector, sleeps: list[float]
) -> None:
    (tid,) = emulator.seed([seed_ticket(0)])
    for _ in range(30):  # a busy ticket: 30 updates in the last ten minutes
        ticket = connector.fetch(tid)
        connector.apply(ticket, [AddLabels(**_base(ticket, f"x{_}"), labels=(f"x{_}",))])
    ticket = connector.fetch(tid)
    result = connector.apply(ticket, [AddLabels(**_base(ticket, "late"), labels=("late",))])
    assert result[0].status is ActionStatus.FAILED
    assert "RateLimited" in result[0].detail
    assert sleeps == []  # Retry-After (~600 s) exceeds max_wait: fail now, retry next cycle


def test_single_ticket_put_ignores_tag_deltas_as_zendesk_documents(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    # "Adding tags to tickets without overwriting existing tags" (developer.zendesk.com):
    # additional_tags/remove_tags work only on update_many; the old request lands nothing
    (tid,) = emulator.seed([seed_ticket(0, labels=["vip"])])
    token = connector.credentials.authorization()
    old_request = {"ticket": {"additional_tags": ["escalation-l1"], "remove_tags": ["vip"]}}
    answer = httpx.put(
        f"{emulator.base_url}/api/v2/tickets/{tid}.json",
        json=old_request,
        headers={"Authorization": token},
    )
    assert answer.status_code == 200
    assert emulator.record(tid)["tags"] == ["vip"]


def test_a_persons_concurrent_tag_survives_409_reread_and_replan(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    (tid,) = emulator.seed([seed_ticket(0, labels=["vip"])])
    read = connector.fetch(tid)
    emulator.add_tags(tid, "customer-asked-for-callback")  # a person, after our read
    ours = AddLabels(**_base(read, "l1"), labels=("escalation-l1",), level=1)
    priority = SetPriority(**_base(read, "p"), priority=Priority.HIGH, previous=Priority.NORMAL)

    stale = connector.apply(read, [ours, priority])

    assert [r.status for r in stale] == [ActionStatus.CONFLICT] * 2
    assert emulator.record(tid)["tags"] == ["vip", "customer-asked-for-callback"]
    fresh = connector.fetch(tid)  # what the app does on CONFLICT: re-read, re-plan
    again = connector.apply(fresh, [ours, priority])

    assert [r.status for r in again] == [ActionStatus.APPLIED] * 2
    tags = emulator.record(tid)["tags"]
    assert sorted(tags) == ["customer-asked-for-callback", "escalation-l1", "vip"]
    assert tags.count("escalation-l1") == 1
    puts = [r.json()["ticket"] for r in emulator.server.calls("PUT", PUT)]
    assert len(puts) == 2  # one refused, one landed: tags and priority in the same PUT
    assert all(p["safe_update"] is True and "updated_stamp" in p for p in puts)
    assert puts[1]["priority"] == "high"
    assert sorted(puts[1]["tags"]) == ["customer-asked-for-callback", "escalation-l1", "vip"]
    assert connector.fetch(tid).labels == frozenset(tags)


def test_our_own_reply_is_never_a_human_response_even_after_a_restart(
    emulator: ZendeskEmulator, make_connector: Callable[..., ZendeskConnector]
) -> None:
    first_process = make_connector()
    ids = emulator.seed([seed_ticket(i) for i in range(2)])
    pulled = first_process.pull(None, start=T0 - timedelta(hours=1))
    ticket = next(t for t in pulled.tickets if t.id == ids[0])
    reply = PostComment(**_base(ticket, "update"), public=True, body="We escalated it")
    assert first_process.apply(ticket, [reply])[0].status is ActionStatus.APPLIED
    emulator.server.clock.advance(5)
    emulator.add_comment(
        ids[0],
        SeedComment(at=emulator.server.clock.now(), author="customer", public=True, body="ok"),
    )

    # the same process knows the audit from its PUT's answer; a new one (no memory) meets our
    # API comment in the event export without its metadata, so it reads that ticket's audits
    audit_reads: list[int] = []
    for connector in (first_process, make_connector()):
        before = len(emulator.server.requests)
        result = connector.pull(pulled.cursor, start=T0)
        (seen,) = result.tickets
        ours = [c for c in seen.comments if c.body == "We escalated it"]
        assert [(c.author_role, c.marker, c.is_agent_reply) for c in ours] == [
            (AuthorRole.SIDECAR, reply.key, False)
        ]
        audit_reads.append(sum("/audits" in r.path for r in emulator.server.requests[before:]))
    assert audit_reads[0] == 0
    assert audit_reads[1] > 0
