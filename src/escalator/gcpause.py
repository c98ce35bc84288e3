"""The cycle collector paused around work that makes millions of objects and no reference
cycles (a re-plan of every ticket, a report): it would otherwise walk them all again and
again. The process's choice, so it lives here, not in the engine.

Switching it back on would still walk them: every object made while it was off is in the
youngest generation, so the next young pass walks all of them (0.6 s for a first plan of
100,000 tickets) and the next middle one again (0.9 s). A pause that made many therefore
ends by moving them to the oldest generation, as if they had survived those passes:
``gc.freeze()`` then ``gc.unfreeze()`` (documented to put the frozen objects back "into the
oldest generation"), two list splices whatever their number. Nothing stays frozen, and a
full collection walks them as it walks every long-lived object, so a cycle among them (or
among the objects moved with them) is still found, only later.

Moving them also restarts the collector's counts, which is what starts its older passes: done
every cycle, a cycle that outlived a young pass would wait for a full collection that never
comes. So a pause moves objects only if a full collection has run since the last move; until
then it ends as a plain pause does, and the collector walks what it made. A pause that may
move first lets the collector clear the young generations (a few thousand objects at most), so
what waits for a full collection is at most the garbage other threads made during one pause.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# made during the pause and still alive: fewer, and a young pass over them costs little
AGE_AT_LEAST = 50_000


class _Pauses:
    """The pauses under way, in every thread: the collector is back only when the last ends."""

    def __init__(self) -> None:
        self.lock = threading.RLock()  # a finalizer run by gc.collect may pause too
        self.open = 0
        self.collecting = False  # whether the collector was on when the first began
        # the full collections counted when objects were last moved to the oldest generation
        self.moved_at: int | None = None


_PAUSES = _Pauses()


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off until every pause under way (this thread's or another's) has ended;
    nested pauses are one."""
    with _PAUSES.lock:
        if _PAUSES.open == 0:
            _PAUSES.collecting = gc.isenabled()
            if _PAUSES.collecting and _may_move():
                gc.collect(1)  # the young cycles made so far are freed now, not moved later
            gc.disable()
        _PAUSES.open += 1
    try:
        yield
    finally:
        with _PAUSES.lock:
            _PAUSES.open -= 1
            if _PAUSES.open == 0 and _PAUSES.collecting:  # the last pause to end
                try:
                    age_to_oldest()
                finally:
                    gc.enable()


def _may_move() -> bool:
    """Nothing is frozen, and what was moved last has met a full collection since."""
    if gc.get_freeze_count():
        # someone froze objects on purpose, or the interpreter did (CPython 3.12 keeps some of
        # its own there from the start): thawing would move theirs too, so none move
        return False
    full: int = gc.get_stats()[-1]["collections"]
    return _PAUSES.moved_at != full


def age_to_oldest() -> bool:
    """The objects of the youngest generations into the oldest, without a pass over them,
    when they are many and what was moved last time has met a full collection since."""
    if gc.get_count()[0] < AGE_AT_LEAST or not _may_move():
        return False
    _PAUSES.moved_at = gc.get_stats()[-1]["collections"]  # from now, wait for one
    try:
        gc.freeze()
    finally:  # whatever interrupts, nothing is left frozen
        gc.unfreeze()
    return True
