"""The API budget (issue 8): pages instead of per-ticket lookups, messages only for threads
that changed, no re-read before a write, batch updates, and no write that changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta

from connectors.base import ActionStatus
from connectors.emulation import Request, SeedComment
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.emulator import HubSpotEmulator
from engine.model import AddLabels, AuthorRole, Priority, SetPriority
from tests.action_fields import ActionFields
from tests.connectors.hubspot.hubspot_helpers import NOW, customer_says, seed_ticket

START = NOW - timedelta(days=1)


def _since(emulator: HubSpotEmulator, mark: int) -> list[Request]:
    return emulator.server.requests[mark:]


def _count(requests: list[Request], pattern: str) -> int:
    return sum(1 for r in requests if re.search(pattern, r.path))


def test_a_pull_reads_in_pages_and_one_message_call_per_changed_thread(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    ids = emulator.seed(
        [seed_ticket(f"t{i}", comments=[customer_says(f"help {i}")]) for i in range(120)]
        + [seed_ticket(f"quiet {i}") for i in range(30)]  # API-created: no thread at all
    )
    first = connector.pull(None, start=START)
    assert len(first.tickets) == 150
    calls = _since(emulator, 0)
    assert _count(calls, r"/threads$") >= 1
    assert not any("associatedTicketId" in r.query for r in calls)  # no per-ticket lookup
    assert _count(calls, r"/messages$") == 120  # HubSpot's floor: one per thread
    batch = [r.json()["inputs"] for r in calls if r.path.endswith("/batch/read")]
    assert max(len(inputs) for inputs in batch) <= 100
    assert len(calls) <= 150 * 1.1  # was two Conversations calls per ticket

    # one customer writes again: only that ticket comes back, with one message read
    emulator.server.clock.advance(120)
    emulator.add_comment(ids[7], SeedComment(NOW + timedelta(seconds=110), "customer", True,
                                             "Still down!"))  # fmt: skip
    mark = len(emulator.server.requests)
    again = connector.pull(first.cursor, start=START)
    assert [t.id for t in again.tickets] == [ids[7]]
    assert again.tickets[0].comments[-1].body == "Still down!"
    calls = _since(emulator, mark)
    assert _count(calls, r"/messages$") == 1
    assert not any("associatedTicketId" in r.query for r in calls)

    # nothing changed: one search, nothing else
    mark = len(emulator.server.requests)
    assert connector.pull(again.cursor, start=START).tickets == ()
    assert [r.path.rsplit("/", 1)[-1] for r in _since(emulator, mark)] == ["search"]


def test_a_message_that_moved_no_ticket_is_found_through_the_threads_list(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    [tid, _other] = emulator.seed(
        [seed_ticket(comments=[customer_says("Hello")]), seed_ticket("other")]
    )
    first = connector.pull(None, start=START)
    emulator.server.clock.advance(600)  # past the quiet-poll relisting interval
    # shape of a message in HubSpot's Conversations guide (developers.hubspot.com/docs/
    # api-reference/conversations-conversations-v3/guide, "Retrieve messages")
    emulator.add_message(
        tid,
        {
            "type": "MESSAGE",
            "createdAt": "2026-11-23T10:09:00Z",
            "createdBy": "V-9001",
            "client": {"clientType": "HUBSPOT"},
            "senders": [
                {
                    "actorId": "V-9001",
                    "deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "c@ex.com"},
                }
            ],
            "recipients": [],
            "text": "Is anyone there?",
            "direction": "INCOMING",
        },
        touch=False,
    )
    again = connector.pull(first.cursor, start=START)
    [ticket] = again.tickets
    assert ticket.id == tid
    assert (ticket.comments[-1].body, ticket.comments[-1].author_role) == (
        "Is anyone there?",
        AuthorRole.CUSTOMER,
    )


def test_writes_use_the_cycles_read_and_batch_their_property_changes(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    ids = emulator.seed([seed_ticket(f"t{i}", priority="low") for i in range(3)])
    tickets = {t.id: t for t in connector.pull(None, start=START).tickets}
    mark = len(emulator.server.requests)

    def raise_priority(tid: str) -> SetPriority:
        common: ActionFields = {"ticket": f"hubspot:{tid}", "rule": "r", "at": NOW}
        return SetPriority(key=f"{tid}:p", priority=Priority.HIGH, previous=Priority.LOW, **common)

    results = connector.apply_many([(tickets[i], [raise_priority(i)]) for i in ids])
    assert [[r.status for r in rs] for rs in results] == [[ActionStatus.APPLIED]] * 3
    calls = _since(emulator, mark)
    assert [(r.method, r.path.rsplit("/", 2)[-2:]) for r in calls] == [
        ("POST", ["batch", "update"])
    ]  # one call for three tickets, and no re-read of what this cycle read
    assert len(calls[0].json()["inputs"]) == 3
    assert all(emulator.record(i)["properties"]["hs_ticket_priority"] == "HIGH" for i in ids)
    # the same decisions again: the tickets already show them, nothing is sent
    fresh = [connector.fetch(i) for i in ids]
    mark = len(emulator.server.requests)
    again = connector.apply_many([(t, [raise_priority(t.id)]) for t in fresh])
    assert [[r.status for r in rs] for rs in again] == [[ActionStatus.ALREADY]] * 3
    assert _since(emulator, mark) == []
    assert emulator.writes_that_changed_nothing == 0


def test_one_refused_ticket_does_not_hold_back_the_batch(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    ids = emulator.seed([seed_ticket(f"t{i}") for i in range(3)])
    tickets = {t.id: t for t in connector.pull(None, start=START).tickets}
    # a portal's validation rule refuses the batch (2026-09 applies them to API writes), and
    # then the first ticket alone: it fails, the others land, the source goes on
    refusal = {"status": "error", "message": "Property values were not valid",
               "correlationId": "c0ffee", "category": "VALIDATION_ERROR"}  # fmt: skip
    emulator.server.inject("POST", r"/tickets/batch/update$", status=400, body=refusal)
    emulator.server.inject("PATCH", rf"/tickets/{ids[0]}$", status=400, body=refusal)
    label = [
        (tickets[i], [AddLabels(key=f"{i}:l", ticket=f"hubspot:{i}", rule="r", at=NOW,
                                labels=("sla-at-risk",))])
        for i in ids
    ]  # fmt: skip
    results = connector.apply_many(label)
    assert [rs[0].status for rs in results] == [
        ActionStatus.FAILED,
        ActionStatus.APPLIED,
        ActionStatus.APPLIED,
    ]
    assert "not valid" in results[0][0].detail
    assert len(emulator.server.calls("PATCH", r"/tickets/\d+$")) == 3  # one by one instead


def test_a_write_long_after_the_read_reads_again(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    [tid] = emulator.seed([seed_ticket(labels=["vip"])])
    [ticket] = connector.pull(None, start=START).tickets
    now = [0.0]
    connector.assembler.records._clock = lambda: now[0]  # the read, then a clock tick later
    connector.assembler.records.keep(emulator.record(tid))
    emulator.set_property(tid, "escalation_labels", "vip;refund")  # a person, meanwhile
    now[0] = 600.0
    label = AddLabels(key="l", ticket=ticket.key, rule="r", at=NOW, labels=("sla-at-risk",))
    [result] = connector.apply(ticket, [label])
    assert result.status is ActionStatus.APPLIED
    assert connector.writer.stats.rereads == 1
    # the person's label survives: the write was computed from a fresh read
    assert emulator.record(tid)["properties"]["escalation_labels"] == "refund;sla-at-risk;vip"
