"""Ticket cache, cursors, audit log, quarantine and per-ticket policy versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from escalator.store import AuditEntry, QuarantineEntry, StateStore
from tests.store.store_samples import T0, ticket


def test_tickets_round_trip_and_upsert_by_key(store: StateStore) -> None:
    assert store.load_tickets() == []
    a, b = ticket("101"), ticket("SUP-7", system="jira")
    store.save_tickets("zendesk", [a])
    store.save_tickets("jira", [b])
    assert store.load_tickets() == [b, a]  # ordered by key
    assert store.load_tickets("zendesk") == [a]

    newer = ticket("101", updated=timedelta(minutes=5), title="Renamed")
    store.save_tickets("zendesk", [newer])
    assert store.load_tickets("zendesk") == [newer]
    store.save_tickets("zendesk", [])  # nothing to do, no error
    assert len(store.load_tickets()) == 2


def test_an_older_copy_never_replaces_a_newer_one(store: StateStore) -> None:
    newer = ticket("101", updated=timedelta(minutes=5), title="From the webhook")
    store.save_tickets("zendesk", [newer])
    store.save_tickets("zendesk", [ticket("101", title="From a slow poll")])
    assert store.load_tickets() == [newer]
    same_instant = ticket("101", updated=timedelta(minutes=5), title="Same time, later read")
    store.save_tickets("zendesk", [same_instant])
    assert store.load_tickets() == [same_instant]


def test_forget_tickets_drops_those_untouched_since(store: StateStore) -> None:
    old, recent = ticket("1", updated=-timedelta(days=40)), ticket("2")
    store.save_tickets("zendesk", [old, recent])
    assert store.forget_tickets(older_than=T0 - timedelta(days=30)) == 1
    assert store.load_tickets() == [recent]
    assert store.forget_tickets(older_than=T0 - timedelta(days=30)) == 0


def test_cursor_and_last_poll_per_source(store: StateStore) -> None:
    assert store.get_cursor("zendesk") is None
    assert store.last_poll("zendesk") is None
    store.set_cursor("zendesk", "1712345678", T0)
    store.set_cursor("jira", None, T0 + timedelta(seconds=1))  # polled, no cursor yet
    assert store.get_cursor("zendesk") == "1712345678"
    assert store.last_poll("zendesk") == T0
    assert store.get_cursor("jira") is None
    assert store.last_poll("jira") == T0 + timedelta(seconds=1)

    store.set_cursor("zendesk", "1712349999", T0 + timedelta(minutes=1, microseconds=250))
    assert store.get_cursor("zendesk") == "1712349999"
    polled = store.last_poll("zendesk")
    assert polled == T0 + timedelta(minutes=1, microseconds=250)
    assert polled is not None
    assert polled.tzinfo is UTC


def test_instants_come_back_in_utc_whatever_zone_went_in(store: StateStore) -> None:
    from zoneinfo import ZoneInfo

    berlin = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    store.set_cursor("zendesk", "c", berlin)
    assert store.last_poll("zendesk") == T0
    assert store.last_poll("zendesk") == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class _Level(StrEnum):
    L2 = "L2"


def test_audit_log_newest_first_filtered_and_limited(store: StateStore) -> None:
    store.audit("zendesk:1", "decided", {"rule": "r1", "level": 1}, T0)
    store.audit("zendesk:2", "applied", {"key": "k", "status": "applied"}, T0 + timedelta(1))
    store.audit(None, "poll", {"source": "zendesk", "tickets": 3}, T0 + timedelta(2))
    store.audit(
        "zendesk:1",
        "decided",
        {"due": T0 + timedelta(hours=4), "labels": {"b", "a"}, "level": _Level.L2},
        T0 + timedelta(3),
    )
    log = store.audit_log()
    assert [(e.ticket, e.event) for e in log] == [
        ("zendesk:1", "decided"),
        (None, "poll"),
        ("zendesk:2", "applied"),
        ("zendesk:1", "decided"),
    ]
    newest = log[0]
    assert isinstance(newest, AuditEntry)
    assert newest.at == T0 + timedelta(3)
    # datetimes and sets are made JSON-ready the codec's way
    assert newest.detail == {"due": "2026-03-02T13:00:00Z", "labels": ["a", "b"], "level": "L2"}

    assert [e.detail.get("level") for e in store.audit_log("zendesk:1")] == ["L2", 1]
    assert len(store.audit_log(limit=2)) == 2
    assert store.audit_log("hubspot:9") == []


def test_audit_entries_at_the_same_instant_keep_insertion_order(store: StateStore) -> None:
    for n in range(3):
        store.audit("zendesk:1", f"step-{n}", {}, T0)
    assert [e.event for e in store.audit_log()] == ["step-2", "step-1", "step-0"]


def test_quarantine_reports_each_record_once_with_a_count(store: StateStore) -> None:
    assert store.quarantined() == []
    store.quarantine("zendesk", "55", "priority 'p0' is not mapped", T0)
    store.quarantine("jira", "SUP-9", "created is not a date", T0 + timedelta(minutes=1))
    store.quarantine("zendesk", "55", "priority 'p00' is not mapped", T0 + timedelta(minutes=2))
    store.quarantine("hubspot", None, "record without id", T0 + timedelta(minutes=3))
    store.quarantine("hubspot", None, "another record without id", T0 + timedelta(minutes=4))

    entries = store.quarantined()
    assert [(e.source, e.record_id) for e in entries] == [
        ("hubspot", None),
        ("hubspot", None),
        ("zendesk", "55"),
        ("jira", "SUP-9"),
    ]
    assert entries[2] == QuarantineEntry(
        source="zendesk",
        record_id="55",
        reason="priority 'p00' is not mapped",
        first_at=T0,
        last_at=T0 + timedelta(minutes=2),
        times=2,
    )
    assert [e.record_id for e in store.quarantined("jira")] == ["SUP-9"]
    assert store.clear_quarantine("zendesk", "55") is True
    assert store.clear_quarantine("zendesk", "55") is False
    assert [e.record_id for e in store.quarantined("zendesk")] == []


def test_policy_version_is_kept_per_ticket(store: StateStore) -> None:
    assert store.policy_version("zendesk:1") is None
    store.set_policy_version("zendesk:1", "2026-03-01.a1b2")
    store.set_policy_version("zendesk:2", "2026-03-02.c3d4")
    assert store.policy_version("zendesk:1") == "2026-03-01.a1b2"
    assert store.policy_version("zendesk:2") == "2026-03-02.c3d4"
    store.set_policy_version("zendesk:1", "2026-03-02.c3d4")  # the app restarts its escalation
    assert store.policy_version("zendesk:1") == "2026-03-02.c3d4"
