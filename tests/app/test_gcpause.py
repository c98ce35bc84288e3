"""The collector's pause (escalator.gcpause): what a plan makes skips the young passes, and
nothing is lost to the collector for good."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from escalator.gcpause import collector_paused


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def _in_generation(obj: object, generation: int) -> bool:
    return any(o is obj for o in gc.get_objects(generation=generation))


def test_the_collector_is_off_inside_and_on_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: the inner one leaves it off
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_objects_made_while_paused_are_old_when_it_ends() -> None:
    with collector_paused():
        made = [Node() for _ in range(5000)]
        assert gc.get_count()[0] >= 5000  # all young, waiting for the next young pass
    assert gc.get_count()[0] < 700  # so no young pass walks them
    assert _in_generation(made[0], 2)
    assert not _in_generation(made[0], 0)
    assert not _in_generation(made[0], 1)
    assert gc.get_freeze_count() == 0  # none stays frozen


def test_a_cycle_made_while_paused_is_still_collected() -> None:
    with collector_paused():
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
    del a, b
    assert gone() is not None  # a cycle: reference counts alone never free it
    gc.collect()  # a full collection walks the oldest generation
    assert gone() is None


def test_objects_frozen_on_purpose_stay_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with collector_paused():
            made = Node()
        assert gc.get_freeze_count() == frozen
        assert _in_generation(made, 0) or _in_generation(made, 1)  # as the collector left it
    finally:
        gc.unfreeze()


def test_a_pause_started_with_the_collector_off_leaves_it_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()
