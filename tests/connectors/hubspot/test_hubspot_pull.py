"""Pull through the real SDK against the emulator: pages, the 10k re-window, mapping, quarantine."""

from __future__ import annotations

from datetime import timedelta

from connectors.emulation import SeedComment
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.cursor import Cursor
from connectors.hubspot.emulator import BOT_GREETING, HubSpotEmulator
from connectors.retry import RetryPolicy
from engine.model import AuthorRole, Priority, Status
from tests.connectors.hubspot.hubspot_helpers import (
    NOW,
    connect,
    customer_says,
    seed_ticket,
    start_emulator,
)


def _seed_spread(emulator: HubSpotEmulator, count: int, same_ms_every: int = 0) -> list[str]:
    """``count`` tickets modified one second apart (or in pairs sharing a stamp)."""
    seeds = []
    for i in range(count):
        step = i // 2 if same_ms_every else i
        at = NOW - timedelta(hours=1) + timedelta(seconds=step)
        seeds.append(seed_ticket(f"t{i}", created_at=at - timedelta(minutes=5), updated_at=at))
    return emulator.seed(seeds)


def test_pull_walks_three_pages_and_maps_every_field(retry: RetryPolicy) -> None:
    emulator = start_emulator(page_size=2)
    try:
        ids = emulator.seed(
            [
                seed_ticket(
                    "Invoice wrong",
                    priority="urgent",
                    status="pending",
                    organization="Acme Ltd",
                    category="billing",
                    customer_tier="enterprise",
                    affected_users=120,
                    labels=["vip", "escalation-l1"],
                    comments=[
                        customer_says("Our invoice is wrong", 1),
                        SeedComment(NOW.replace(hour=8, minute=2), "agent", True, "Looking"),
                        SeedComment(NOW.replace(hour=8, minute=3), "agent", False, "Ask billing"),
                    ],
                )
            ]
        )
        ids += _seed_spread(emulator, 5)
        connector = connect(emulator, retry)
        result = connector.pull(None, start=NOW - timedelta(days=1))
        searches = emulator.server.calls("POST", r"/crm/objects/2026-09/tickets/search$")
        assert len(searches) >= 3
        assert [s.json()["after"] for s in searches] == ["0", "2", "4"]
        assert sorted(t.id for t in result.tickets) == sorted(ids)
        assert result.quarantined == ()
        first = next(t for t in result.tickets if t.id == ids[0])
        assert first.priority is Priority.URGENT
        assert first.status is Status.PENDING
        assert first.organization == "Acme Ltd"
        assert first.category == "billing"
        assert first.customer_tier == "enterprise"
        assert first.affected_users == 120
        assert first.labels == {"vip", "escalation-l1"}
        assert first.url == f"https://app.hubspot.com/contacts/4242/ticket/{ids[0]}"
        roles = [(c.author_role, c.public, c.body) for c in first.comments]
        assert roles == [
            (AuthorRole.CUSTOMER, True, "Our invoice is wrong"),
            (AuthorRole.BOT, True, BOT_GREETING),  # the inbox bot's acknowledgement
            (AuthorRole.AGENT, True, "Looking"),
            (AuthorRole.AGENT, False, "Ask billing"),
        ]
        assert result.api_calls > 3
        connector.close()
    finally:
        emulator.stop()


def test_search_cap_rewindows_from_last_stamp_without_duplicates(retry: RetryPolicy) -> None:
    emulator = start_emulator(page_size=2, search_cap=5)
    try:
        ids = _seed_spread(emulator, 13, same_ms_every=2)  # pairs share a stamp: edge dedupe
        connector = connect(emulator, retry)
        result = connector.pull(None, start=NOW - timedelta(days=1))
        got = [t.id for t in result.tickets]
        assert sorted(got) == sorted(ids)
        assert len(got) == len(set(got))
        searches = emulator.server.calls("POST", r"/tickets/search$")
        assert all(int(s.json()["after"]) + 2 <= 5 for s in searches)  # never asked past the cap
        windows = {s.json()["filterGroups"][0]["filters"][0]["value"] for s in searches}
        assert len(windows) >= 3
        connector.close()
    finally:
        emulator.stop()


def test_cursor_resumes_only_with_changes_and_never_passes_pull_start(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    ids = _seed_spread(emulator, 3)
    first = connector.pull(None, start=NOW - timedelta(days=1))
    assert len(first.tickets) == 3
    again = connector.pull(first.cursor, start=NOW - timedelta(days=1))
    assert again.tickets == ()
    emulator.server.clock.advance(60)
    emulator.update(ids[1], priority="high")
    changed = connector.pull(again.cursor, start=NOW)
    assert [t.id for t in changed.tickets] == [ids[1]]
    assert changed.tickets[0].priority is Priority.HIGH
    assert changed.cursor is not None
    assert Cursor.decode(changed.cursor).watermark <= int(
        emulator.server.clock.now().timestamp() * 1000
    )
    # a record stamped after the pull began is delivered, but the cursor stays behind it
    emulator.set_property(ids[2], "hs_lastmodifieddate", "2030-01-01T00:00:00.000Z")
    future = connector.pull(changed.cursor, start=NOW)
    assert [t.id for t in future.tickets] == [ids[2]]
    assert future.cursor is not None
    assert Cursor.decode(future.cursor) == Cursor.decode(changed.cursor)


def test_malformed_records_are_quarantined_and_the_rest_goes_on(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    ids = _seed_spread(emulator, 3)
    emulator.set_property(ids[0], "createdate", "yesterday-ish")
    emulator.set_property(ids[1], "hs_ticket_priority", "CATASTROPHIC")
    result = connector.pull(None, start=NOW - timedelta(days=1))
    assert [t.id for t in result.tickets] == [ids[2]]
    assert sorted(q.record_id or "" for q in result.quarantined) == sorted(ids[:2])
    assert "CATASTROPHIC" in " ".join(q.reason for q in result.quarantined)
    assert connector.stats.quarantined == 2


def test_status_falls_back_on_ticket_state_and_history_is_read(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    [ticket_id] = emulator.seed([seed_ticket(status="new", priority="low")])
    emulator.server.clock.advance(30)
    emulator.update(ticket_id, status="open", priority="high", group="Tier 2 Support")
    emulator.server.clock.advance(30)
    emulator.set_property(ticket_id, "hs_pipeline_stage", "6")  # not in settings: OPEN
    ticket = connector.fetch(ticket_id)
    assert ticket.status is Status.OPEN
    assert ticket.assignee == "202"
    assert ticket.group == "Tier 2 Support"
    changes = [(c.field, c.old, c.new) for c in ticket.history]
    assert ("status", "new", "open") in changes
    assert ("priority", "low", "high") in changes
    assert ("assignee", None, "202") in changes
    assert all(c.at == NOW + timedelta(seconds=30) for c in ticket.history)
    assert emulator.server.calls("GET", r"/crm/pipelines/2026-09/tickets$")
