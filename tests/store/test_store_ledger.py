"""The idempotency ledger: begin before the call, finish after, never the same write twice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from connectors.base import ActionStatus
from engine.model import Action
from escalator.store import (
    ActionNotPendingError,
    StateStore,
    UnknownActionError,
    open_store,
)
from tests.store.store_samples import T0, comment_action, labels_action, priority_action


def test_begin_records_pending_and_refuses_the_same_key(store: StateStore) -> None:
    action = comment_action()
    assert store.begin(action, "zendesk", at=T0) is True
    assert store.pending() == [action]
    assert store.begin(action, "zendesk", at=T0 + timedelta(seconds=1)) is False
    assert store.is_done(action.key) is False
    assert store.applied(action.ticket) == []


@pytest.mark.parametrize("status", [ActionStatus.APPLIED, ActionStatus.ALREADY, "applied"])
def test_finish_done_holds_the_key(store: StateStore, status: ActionStatus | str) -> None:
    action = priority_action()
    store.begin(action, "zendesk", at=T0)
    store.finish(action.key, status, detail="PUT /tickets/101", external_id="777", at=T0)
    assert store.pending() == []
    assert store.is_done(action.key) is True
    assert store.applied(action.ticket) == [action]
    assert store.begin(action, "zendesk") is False  # done for good


@pytest.mark.parametrize("status", [ActionStatus.FAILED, ActionStatus.CONFLICT])
def test_finish_failed_lets_a_later_cycle_begin_again(
    store: StateStore, status: ActionStatus
) -> None:
    action = comment_action()
    store.begin(action, "zendesk", at=T0)
    store.finish(action.key, status, detail="503 from Zendesk", at=T0)
    assert store.is_done(action.key) is False
    assert store.pending() == []
    assert store.applied(action.ticket) == []
    assert store.begin(action, "zendesk", at=T0 + timedelta(minutes=1)) is True
    assert store.pending() == [action]
    assert store.begin(action, "zendesk") is False


def test_finish_of_unknown_or_finished_key_raises(store: StateStore) -> None:
    with pytest.raises(UnknownActionError, match="never begun"):
        store.finish("zendesk:1/nothing/1", ActionStatus.APPLIED)
    action = comment_action()
    store.begin(action, "zendesk")
    store.finish(action.key, ActionStatus.APPLIED)
    with pytest.raises(ActionNotPendingError, match="it is applied, not pending"):
        store.finish(action.key, ActionStatus.FAILED)
    assert store.is_done(action.key) is True  # the bad call changed nothing
    with pytest.raises(ValueError, match="'skipped' is not a valid ActionStatus"):
        store.finish(action.key, "skipped")


def test_applied_by_ticket_groups_done_actions_in_order(store: StateStore) -> None:
    first, second, other = comment_action(1), comment_action(2), labels_action()
    failed, pending = priority_action(), comment_action(3)
    actions: tuple[Action, ...] = (first, second, other, failed, pending)
    for n, action in enumerate(actions):
        assert store.begin(action, "src", at=T0 + timedelta(seconds=n))
    store.finish(second.key, ActionStatus.ALREADY)
    store.finish(first.key, ActionStatus.APPLIED)
    store.finish(other.key, ActionStatus.APPLIED)
    store.finish(failed.key, ActionStatus.FAILED)
    assert store.applied_by_ticket() == {"zendesk:101": [first, second], "jira:SUP-7": [other]}
    assert store.applied("zendesk:101") == [first, second]
    assert store.applied("hubspot:1") == []
    assert store.pending() == [pending]


def test_pending_filters_by_source(store: StateStore) -> None:
    zendesk, jira = comment_action(), labels_action()
    store.begin(zendesk, "zendesk-eu", at=T0)
    store.begin(jira, "jira", at=T0 + timedelta(seconds=1))
    assert store.pending() == [zendesk, jira]
    assert store.pending("jira") == [jira]
    assert store.pending("hubspot") == []


def test_crash_between_call_and_record_is_resolved_by_reading_back(store_url: str) -> None:
    found, lost = comment_action(1), comment_action(2)
    before = open_store(store_url)
    assert before.begin(found, "zendesk", at=T0)
    assert before.begin(lost, "zendesk", at=T0 + timedelta(seconds=1))
    before.close()  # the process dies after the API calls, before finish()

    after = open_store(store_url)
    try:
        assert after.pending("zendesk") == [found, lost]
        # Still pending: nobody may write them again until the ticket has been read back.
        assert after.begin(found, "zendesk") is False
        # The ticket shows the marker of `found` (the call went through) but not of `lost`.
        after.finish(found.key, ActionStatus.ALREADY, detail="marker found", external_id="c-9")
        after.finish(lost.key, ActionStatus.FAILED, detail="marker not on the ticket")
        assert after.pending() == []
        assert after.applied(found.ticket) == [found]
        assert after.begin(found, "zendesk") is False
        assert after.begin(lost, "zendesk") is True  # the next cycle writes it, once
    finally:
        after.close()


def test_a_handover_noted_before_a_crash_is_read_back_after_it(store_url: str) -> None:
    sent, unsent = comment_action(1), comment_action(2)
    before = open_store(store_url)
    before.begin(sent, "email", at=T0)
    before.begin(unsent, "email", at=T0)
    before.mark_handed(sent.key, "<m1@acme.example>")  # the point of no return, then the crash
    before.close()

    after = open_store(store_url)
    try:
        assert after.handed(sent.key) == "<m1@acme.example>"
        assert after.handed(unsent.key) is None
        after.finish(sent.key, ActionStatus.APPLIED, external_id="<m1@acme.example>")
        assert after.handed(sent.key) is None  # only pending actions are in doubt
        with pytest.raises(ActionNotPendingError):
            after.mark_handed(sent.key, "<m1@acme.example>")  # done: nothing left to hand over
    finally:
        after.close()


def _race(begin: Callable[[int], bool], workers: int, rounds: int) -> list[list[bool]]:
    """Each worker calls begin(i) for i in range(rounds), all starting together."""
    barrier = threading.Barrier(workers)

    def run(_: int) -> list[bool]:
        barrier.wait()
        return [begin(i) for i in range(rounds)]

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, range(workers)))


def test_two_threads_racing_begin_on_one_store_win_once_each_key(store: StateStore) -> None:
    actions = [comment_action(n) for n in range(40)]
    results = _race(lambda i: store.begin(actions[i], "zendesk"), workers=2, rounds=len(actions))
    assert [sum(col) for col in zip(*results, strict=True)] == [1] * len(actions)
    assert len(store.pending()) == len(actions)


def test_two_store_instances_racing_begin_win_once_each_key(store_url: str) -> None:
    stores = [open_store(store_url) for _ in range(3)]  # as if three processes
    try:
        actions = [comment_action(n) for n in range(40)]
        per_store = iter(stores)
        local = threading.local()

        def begin(i: int) -> bool:
            if not hasattr(local, "store"):
                local.store = next(per_store)
            return bool(local.store.begin(actions[i], "zendesk"))

        results = _race(begin, workers=3, rounds=len(actions))
        assert [sum(col) for col in zip(*results, strict=True)] == [1] * len(actions)
    finally:
        for s in stores:
            s.close()


def test_times_must_be_aware(store: StateStore) -> None:
    with pytest.raises(ValueError, match="aware UTC"):
        store.begin(comment_action(), "zendesk", at=T0.replace(tzinfo=None))
    assert store.pending() == []
