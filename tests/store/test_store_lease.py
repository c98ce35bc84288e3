"""The high-availability lease: one active instance, handed over when the holder stops renewing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from escalator.store import StateStore, open_store
from tests.store.store_samples import T0


def test_lease_is_exclusive_renewable_and_handed_over_after_expiry(store: StateStore) -> None:
    s = timedelta(seconds=1)
    assert store.acquire_lease("scheduler", "a", 30, T0) is True
    assert store.acquire_lease("scheduler", "b", 30, T0 + 10 * s) is False
    assert store.acquire_lease("scheduler", "a", 30, T0 + 20 * s) is True  # renewed to T0+50
    assert store.acquire_lease("scheduler", "b", 30, T0 + 49 * s) is False
    assert store.acquire_lease("scheduler", "b", 30, T0 + 50 * s) is True  # a stopped renewing
    assert store.acquire_lease("scheduler", "a", 30, T0 + 51 * s) is False
    assert store.acquire_lease("other-job", "a", 30, T0 + 51 * s) is True  # leases are by name


def test_release_frees_the_lease_only_for_its_holder(store: StateStore) -> None:
    assert store.acquire_lease("scheduler", "a", 30, T0)
    assert store.release_lease("scheduler", "b") is False
    assert store.acquire_lease("scheduler", "b", 30, T0) is False
    assert store.release_lease("scheduler", "a") is True
    assert store.acquire_lease("scheduler", "b", 30, T0) is True
    assert store.release_lease("scheduler", "a") is False


def test_ttl_must_be_positive(store: StateStore) -> None:
    with pytest.raises(ValueError, match="ttl_seconds must be positive"):
        store.acquire_lease("scheduler", "a", 0, T0)


@pytest.mark.parametrize("expired", [False, True], ids=["free", "expired"])
def test_instances_racing_for_a_lease_get_one_holder(store_url: str, expired: bool) -> None:
    stores = [open_store(store_url) for _ in range(4)]
    try:
        now = T0
        if expired:
            assert stores[0].acquire_lease("scheduler", "old", 5, T0)
            now = T0 + timedelta(seconds=5)
        barrier = threading.Barrier(len(stores))

        def contend(i: int) -> bool:
            barrier.wait()
            return stores[i].acquire_lease("scheduler", f"holder-{i}", 30, now)

        with ThreadPoolExecutor(len(stores)) as pool:
            won = list(pool.map(contend, range(len(stores))))
        assert won.count(True) == 1
        winner = f"holder-{won.index(True)}"
        assert stores[0].release_lease("scheduler", winner) is True
    finally:
        for s in stores:
            s.close()
