from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.emulation import SeedComment
from connectors.errors import FatalError, RetryableError
from connectors.zendesk import FieldMapping, FieldSource, ZendeskConnector
from connectors.zendesk.emulator import ZendeskEmulator
from connectors.zendesk.mapping import Directory, TicketMapper
from connectors.zendesk.pull import CURSOR_PREFIX_V2, ExportPage, ExportWalk
from engine.model import AuthorRole, Priority, Status
from tests.connectors.zendesk.zendesk_seeds import T0, seed_ticket

EXPORT = r"/api/v2/incremental/tickets/cursor"


def test_pull_walks_every_page_and_normalises(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    ids = emulator.seed([seed_ticket(i) for i in range(5)])
    emulator.update(ids[1], status="on_hold", priority="urgent", group="Tier 2")

    result = connector.pull(None, start=T0 - timedelta(hours=1))

    assert len(emulator.server.calls("GET", EXPORT)) == 3  # 2 + 2 + 1 with page_size=2
    assert sorted(t.id for t in result.tickets) == sorted(ids)
    assert result.cursor is not None
    assert result.cursor.startswith(CURSOR_PREFIX_V2)
    assert result.quarantined == ()
    assert result.echoes == ()
    api_requests = [r for r in emulator.server.requests if r.path.startswith("/api/")]
    assert result.api_calls == len(api_requests)  # every API request counted (not token grants)
    held = next(t for t in result.tickets if t.id == ids[1])
    assert (held.status, held.priority, held.group) == (Status.ON_HOLD, Priority.URGENT, "Tier 2")
    assert held.key == f"zendesk:{ids[1]}"
    assert (held.category, held.customer_tier, held.affected_users) == ("billing", "gold", 12)
    assert held.organization == "Acme Corp"
    assert held.requester == "customer@example.com"
    assert held.labels == frozenset({"vip"})
    roles = [(c.author_role, c.public, c.body) for c in held.comments]
    assert roles == [
        (AuthorRole.CUSTOMER, True, "It is on fire"),
        (AuthorRole.AGENT, True, "On it"),
        (AuthorRole.AGENT, False, "Ask ops"),
    ]
    changes = [(c.field, c.old, c.new) for c in held.history if c.old is not None]
    assert ("status", "new", "on_hold") in changes
    assert ("priority", "normal", "urgent") in changes
    assert ("group", None, "Tier 2") in [(c.field, c.old, c.new) for c in held.history]


def test_cursor_resumes_with_only_what_changed(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    ids = emulator.seed([seed_ticket(i) for i in range(3)])
    first = connector.pull(None, start=T0 - timedelta(hours=1))

    quiet = connector.pull(first.cursor, start=T0)
    assert quiet.tickets == ()
    assert quiet.cursor == first.cursor

    emulator.add_comment(
        ids[2],
        SeedComment(
            at=emulator.server.clock.now(), author="customer", public=True, body="Any news?"
        ),
    )
    again = connector.pull(first.cursor, start=T0)
    assert [t.id for t in again.tickets] == [ids[2]]
    assert again.tickets[0].comments[-1].body == "Any news?"
    assert again.echoes == ()  # a person's change is never an echo
    # the export was resumed from the cursor, never restarted from start_time
    assert "cursor" in emulator.server.calls("GET", EXPORT)[-1].query


def test_null_priority_is_normal_and_malformed_records_are_quarantined(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    ids = emulator.seed([seed_ticket(i) for i in range(4)])
    emulator.tickets[int(ids[0])]["priority"] = None
    emulator.tickets[int(ids[1])]["status"] = "exploded"
    emulator.tickets[int(ids[2])]["created_at"] = "last tuesday"

    result = connector.pull(None, start=T0 - timedelta(hours=1))

    assert sorted(t.id for t in result.tickets) == sorted([ids[0], ids[3]])
    assert next(t for t in result.tickets if t.id == ids[0]).priority is Priority.NORMAL
    bad = {q.record_id: q.reason for q in result.quarantined}
    assert set(bad) == {ids[1], ids[2]}
    assert "exploded" in bad[ids[1]]
    assert "last tuesday" in bad[ids[2]]
    assert all(q.source == "zendesk" for q in result.quarantined)
    # quarantined tickets cost no further calls
    assert not emulator.server.calls("GET", rf"/tickets/{ids[1]}/audits")


def test_foreign_cursor_is_refused(connector: ZendeskConnector) -> None:
    with pytest.raises(FatalError):
        connector.pull("jira:123", start=T0)


def test_fetch_one_ticket(emulator: ZendeskEmulator, connector: ZendeskConnector) -> None:
    (tid,) = emulator.seed([seed_ticket(0)])
    ticket = connector.fetch(tid)
    assert ticket.id == tid
    assert len(ticket.comments) == 3
    assert ticket.url is not None
    assert ticket.url.endswith(f"/agent/tickets/{tid}")


def test_mapping_from_tags_and_ticket_fields() -> None:
    mapper = TicketMapper(
        "zendesk",
        "https://acme.zendesk.com",
        FieldMapping(
            category=FieldSource(tag_prefix="cat_"),
            customer_tier=FieldSource(custom_field_id=7, tag_prefix="tier_"),
            affected_users=FieldSource(custom_field_id=8),
        ),
    )
    raw = {
        "id": 9,
        "status": "pending",
        "priority": "low",
        "subject": "s",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T01:00:00Z",
        "tags": ["cat_network", "tier_silver"],
        "group_id": 5,
        "custom_fields": [{"id": 7, "value": None}, {"id": 8, "value": "many"}],
    }
    ticket = mapper.ticket(raw, [], Directory(groups={5: "Ops"}))
    assert (ticket.category, ticket.customer_tier, ticket.group) == ("network", "silver", "Ops")
    assert ticket.affected_users is None  # free text that is no number: unknown, not malformed
    assert ticket.status is Status.PENDING
    assert ticket.priority is Priority.LOW


def test_export_walk_refuses_to_spin() -> None:
    pages = iter([ExportPage([1], "A", False), ExportPage([2], "A", False)])
    with pytest.raises(RetryableError, match="repeated"):
        ExportWalk(lambda cursor, start: next(pages)).run(None, 0)
