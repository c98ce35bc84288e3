"""Apply through the real SDK against the emulator: one PATCH, notes, messages, markers, echoes."""

from __future__ import annotations

from datetime import timedelta

from connectors.base import ActionStatus, marker_for
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.emulator import HubSpotEmulator
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
from tests.action_fields import KeyedActionFields
from tests.connectors.hubspot.hubspot_helpers import NOW, customer_says, seed_ticket

KEY = "hubspot:{id}:sla-breached:2:2026-11-23T10:00:00Z"


def _common(ticket_id: str, suffix: str) -> KeyedActionFields:
    return {"key": f"{KEY.format(id=ticket_id)}:{suffix}", "ticket": f"hubspot:{ticket_id}",
            "rule": "sla-breached", "at": NOW, "level": 2}  # fmt: skip


def _patches(emulator: HubSpotEmulator) -> list[dict[str, str]]:
    calls = emulator.server.calls("PATCH", r"/crm/objects/2026-09/tickets/\d+$")
    return [c.json()["properties"] for c in calls]


def test_every_kind_of_write_in_one_apply(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    [tid] = emulator.seed(
        [seed_ticket(labels=["escalation-l1", "vip"], comments=[customer_says("Help!")])]
    )
    ticket = connector.fetch(tid)
    emulator.server.clock.advance(5)
    actions: list[Action] = [
        AddLabels(labels=("escalation-l2", "sla-breached"), **_common(tid, "add")),
        RemoveLabels(labels=("escalation-l1",), **_common(tid, "remove")),
        SetPriority(priority=Priority.HIGH, previous=Priority.NORMAL, **_common(tid, "prio")),
        Assign(group="Support Managers", **_common(tid, "assign")),
        PostComment(public=True, body="We escalated this.", **_common(tid, "public")),
        PostComment(public=False, body="Breached first response.", **_common(tid, "note")),
        Notify(channel="team-lead", text="x", **_common(tid, "notify")),
    ]
    results = connector.apply(ticket, actions)
    status = {r.key.rsplit(":", 1)[1]: r.status for r in results}
    applied = {"add", "remove", "prio", "assign", "public", "note"}
    assert status == {**dict.fromkeys(applied, ActionStatus.APPLIED), "notify": ActionStatus.FAILED}
    # labels, priority and owner travel in ONE PATCH, read-modify-write of the checkbox property
    assert _patches(emulator) == [
        {
            "escalation_labels": "escalation-l2;sla-breached;vip",
            "hs_ticket_priority": "HIGH",
            "hubspot_owner_id": "203",
        }
    ]
    note = emulator.server.calls("POST", r"/crm/objects/2026-09/notes$")[0].json()
    assert note["associations"][0]["types"] == [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 228}
    ]
    assert "<!-- escalation-sidecar:" in note["properties"]["hs_note_body"]
    [sent] = emulator.server.calls("POST", r"/threads/\d+/messages$")
    egg = sent.json()
    assert egg["type"] == "MESSAGE"
    assert egg["text"] == "We escalated this."
    assert marker_for(actions[4].key) in egg["richText"]
    assert marker_for(actions[4].key) not in egg["text"]  # nothing visible in the plain text
    assert egg["recipients"][0]["deliveryIdentifiers"][0]["value"] == "customer@example.com"

    fresh = connector.fetch(tid)
    assert fresh.labels == {"escalation-l2", "sla-breached", "vip"}
    assert fresh.priority is Priority.HIGH
    assert fresh.assignee == "203"
    assert fresh.group == "Support Managers"
    mine = {c.marker: c for c in fresh.comments if c.marker}
    assert mine[actions[4].key].public
    assert mine[actions[4].key].author_role is AuthorRole.SIDECAR
    assert not mine[actions[5].key].public
    assert mine[actions[5].key].body == "Breached first response."


def test_writes_that_change_nothing_are_not_sent(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    [tid] = emulator.seed([seed_ticket(priority="high", labels=["sla-at-risk"])])
    ticket = connector.fetch(tid)
    results = connector.apply(
        ticket,
        [
            AddLabels(labels=("sla-at-risk",), **_common(tid, "add")),
            RemoveLabels(labels=("never-there",), **_common(tid, "remove")),
            SetPriority(priority=Priority.HIGH, previous=Priority.HIGH, **_common(tid, "prio")),
        ],
    )
    assert {r.status for r in results} == {ActionStatus.ALREADY}
    assert _patches(emulator) == []
    assert connector.writer.stats.skipped_no_change == 1


def test_public_comment_without_thread_becomes_an_internal_note_and_is_counted(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    [tid] = emulator.seed([seed_ticket()])  # created by API: no conversation thread
    ticket = connector.fetch(tid)
    action = PostComment(public=True, body="We are on it.", **_common(tid, "public"))
    [result] = connector.apply(ticket, [action])
    assert result.status is ActionStatus.APPLIED
    assert "not delivered" in result.detail
    assert "no conversation thread" in result.detail
    assert result.external_id is not None
    assert result.external_id.startswith("note:")
    assert connector.stats.undelivered_public_comments == 1
    assert emulator.server.calls("POST", r"/messages$") == []
    [note] = [c for c in connector.fetch(tid).comments if c.marker == action.key]
    assert not note.public
    assert "could not be delivered" in note.body
    assert "We are on it." in note.body


def test_crash_between_write_and_record_is_found_by_marker_not_posted_again(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    [tid] = emulator.seed([seed_ticket(comments=[customer_says("Any news?")])])
    before = connector.fetch(tid)
    public = PostComment(public=True, body="Update: fixing.", **_common(tid, "public"))
    note = PostComment(public=False, body="Escalated.", **_common(tid, "note"))
    connector.apply(before, [public, note])
    # the process died before the store recorded it: the app re-reads the ticket
    after = connector.fetch(tid)
    markers = {c.marker for c in after.comments}
    assert public.key in markers
    assert note.key in markers
    posted = len(emulator.server.calls("POST", r"/messages$|/objects/notes$"))
    again = connector.apply(after, [public, note])
    assert [r.status for r in again] == [ActionStatus.ALREADY, ActionStatus.ALREADY]
    assert len(emulator.server.calls("POST", r"/messages$|/objects/notes$")) == posted
    # even from the stale ticket, the thread itself is checked before a message goes out
    stale = connector.apply(before, [public])
    assert stale[0].status is ActionStatus.ALREADY


def test_unknown_group_fails_alone_and_user_email_resolves_through_owners(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    [tid] = emulator.seed([seed_ticket()])
    ticket = connector.fetch(tid)
    results = connector.apply(
        ticket,
        [
            Assign(group="Nobody", **_common(tid, "bad")),
            Assign(user="tier2.lead@example.com", **_common(tid, "user")),
        ],
    )
    assert results[0].status is ActionStatus.FAILED
    assert "Nobody" in results[0].detail
    assert results[1].status is ActionStatus.APPLIED
    assert _patches(emulator) == [{"hubspot_owner_id": "202"}]
    assert emulator.server.calls("GET", r"/crm/owners/2026-09$")[0].query["email"] == [
        "tier2.lead@example.com"
    ]


def test_own_writes_from_the_cycles_read_come_back_once_and_a_person_after_them_is(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    [tid, other] = emulator.seed([seed_ticket(), seed_ticket("other")])
    first = connector.pull(None, start=NOW - timedelta(days=1))
    ticket = next(t for t in first.tickets if t.id == tid)
    emulator.server.clock.advance(10)
    label = AddLabels(labels=("sla-at-risk",), **_common(tid, "add"))
    connector.apply(ticket, [label, PostComment(public=False, body="n", **_common(tid, "note"))])
    emulator.server.clock.advance(10)
    emulator.update(other, priority="urgent")
    # written from the ticket as this cycle read it (no re-read), so whether a person slipped
    # in between is unknown: it comes back once, in the batch read, instead of being hidden
    echo = connector.pull(first.cursor, start=NOW)
    assert sorted(t.id for t in echo.tickets) == sorted([tid, other])
    assert connector.writer.stats.rereads == 0
    assert connector.pull(echo.cursor, start=NOW).tickets == ()
    emulator.server.clock.advance(10)
    emulator.add_comment(tid, customer_says("Still broken"))
    human = connector.pull(echo.cursor, start=NOW)
    assert [t.id for t in human.tickets] == [tid]
    assert "sla-at-risk" in human.tickets[0].labels


def test_no_echo_mark_when_a_person_changed_the_ticket_before_our_write(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    [tid] = emulator.seed([seed_ticket()])
    first = connector.pull(None, start=NOW - timedelta(days=1))
    emulator.server.clock.advance(5)
    emulator.update(tid, status="pending")  # after our read, before our write
    emulator.server.clock.advance(5)
    connector.apply(first.tickets[0], [AddLabels(labels=("x",), **_common(tid, "add"))])
    later = connector.pull(first.cursor, start=NOW)
    assert [t.id for t in later.tickets] == [tid]
    assert later.tickets[0].labels == {"x"}
