"""The collector's pause (escalator.gcpause): what a plan makes skips the young passes, and
nothing is lost to the collector for good."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from escalator import gcpause
from escalator.gcpause import collector_paused

# CPython 3.12 keeps objects of its own in the permanent generation from the start: the pause
# must not thaw those, so there it never moves objects (as when someone froze them on purpose)
INTERPRETER_FREEZES = gc.get_freeze_count() > 0
moves = pytest.mark.skipif(
    INTERPRETER_FREEZES, reason="this interpreter keeps objects frozen: a pause moves none"
)


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture(autouse=True)
def collector_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(gcpause, "AGE_AT_LEAST", 1000)  # a plan of a few thousand is "many"
    # a pause left under way by another test's thread would keep the collector off throughout
    assert gcpause._PAUSES.open == 0, "another test's pause is still under way"
    was = gc.isenabled()
    gc.enable()
    gc.collect()  # a full collection: the next pause may move what it made
    yield
    if not was:
        gc.disable()


def _generation_of(obj: object) -> int | None:
    for generation in range(3):
        if any(o is obj for o in gc.get_objects(generation=generation)):
            return generation
    return None


def test_the_collector_is_off_inside_and_on_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: the inner one leaves it off
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


@moves
def test_many_objects_made_while_paused_are_old_when_it_ends() -> None:
    with collector_paused():
        made = [Node() for _ in range(5000)]
        assert gc.get_count()[0] >= 5000  # all young, waiting for the next young pass
    assert gc.get_count()[0] < 700  # so no young pass walks them
    assert _generation_of(made[0]) == 2
    assert gc.get_freeze_count() == 0  # none stays frozen


def test_a_few_objects_are_left_to_the_collector() -> None:
    with collector_paused():
        made = [Node() for _ in range(100)]
    assert _generation_of(made[0]) in (0, 1)


@moves
def test_objects_move_again_only_after_a_full_collection() -> None:
    with collector_paused():
        first = [Node() for _ in range(5000)]
    with collector_paused():  # what the first pause moved has not been walked: not again
        second = [Node() for _ in range(5000)]
    assert _generation_of(first[0]) == 2
    assert _generation_of(second[0]) in (0, 1)
    gc.collect()
    with collector_paused():
        third = [Node() for _ in range(5000)]
    assert _generation_of(third[0]) == 2


@moves
def test_a_cycle_made_while_paused_is_still_collected() -> None:
    with collector_paused():
        made = [Node() for _ in range(5000)]
        made[0].other, made[1].other = made[1], made[0]
        gone = weakref.ref(made[0])
    assert _generation_of(made[0]) == 2
    del made
    assert gone() is not None  # a cycle: reference counts alone never free it
    gc.collect()  # a full collection walks the oldest generation
    assert gone() is None


def test_cycles_made_between_pauses_do_not_pile_up() -> None:
    """A sidecar's life: each cycle pauses around a plan, and between them makes a few cycles of
    its own (exceptions, connections). Moving objects at every pause would keep the collector
    from ever reaching those; here most are collected as they would be without pauses."""
    made: list[weakref.ref[Node]] = []
    for _ in range(300):
        kept: list[Node] = []  # the last plan goes before the next is made
        with collector_paused():
            kept = [Node() for _ in range(3000)]
        for _ in range(300):
            node = Node()
            node.other = node
            made.append(weakref.ref(node))
        del node
    alive = sum(1 for ref in made if ref() is not None)
    assert alive < len(made) // 10, f"{alive} of {len(made)} cycles never collected"
    assert kept


def test_objects_frozen_on_purpose_stay_frozen() -> None:
    """What someone froze (or the interpreter itself: CPython 3.12) stays frozen, and the
    pause then ends as a plain one."""
    if not INTERPRETER_FREEZES:
        gc.freeze()  # on 3.12 the interpreter's own are there already: never thaw those
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with collector_paused():
            made = [Node() for _ in range(5000)]
        assert gc.get_freeze_count() == frozen
        assert _generation_of(made[0]) in (0, 1)  # as the collector left it
    finally:
        if not INTERPRETER_FREEZES:
            gc.unfreeze()


@moves
def test_young_cycles_from_before_a_pause_are_freed_not_moved() -> None:
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    with collector_paused():
        assert gone() is None  # the young generations were cleared as the pause began
        made = [Node() for _ in range(5000)]
    assert _generation_of(made[0]) == 2


@moves
def test_an_interrupted_move_leaves_nothing_frozen_and_the_collector_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    freeze = gc.freeze

    def interrupted() -> None:  # a signal handler's exception, between freezing and thawing
        freeze()
        raise KeyboardInterrupt

    monkeypatch.setattr(gc, "freeze", interrupted)
    with pytest.raises(KeyboardInterrupt), collector_paused():
        made = [Node() for _ in range(5000)]
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()
    assert _generation_of(made[0]) == 2


def test_the_collector_is_back_only_when_every_threads_pause_has_ended() -> None:
    inside, leave = threading.Event(), threading.Event()

    def report() -> None:  # e.g. a report built in another thread while the cycle plans
        with collector_paused():
            inside.set()
            leave.wait(10)

    other = threading.Thread(target=report)
    other.start()
    try:
        assert inside.wait(10)
        with collector_paused():  # begun while the other thread's pause is under way
            leave.set()
            other.join(10)  # the pause begun first ends first
            assert not gc.isenabled()  # this one is still under way
        assert gc.isenabled()
    finally:
        leave.set()
        other.join(10)


def test_a_pause_started_with_the_collector_off_leaves_it_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()
