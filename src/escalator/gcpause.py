"""The cycle collector paused around work that makes millions of objects and no reference
cycles (a re-plan of every ticket, a report): it would otherwise walk them all again and
again. The process's choice, so it lives here, not in the engine.

Switching it back on would still walk them: every object made while it was off is in the
youngest generation, so the next young pass walks all of them (0.6 s for a first plan of
100,000 tickets) and the next middle one again (0.9 s). The pause therefore ends by moving
them to the oldest generation, as if they had survived those passes: ``gc.freeze()`` then
``gc.unfreeze()`` (documented to put the frozen objects back "into the oldest generation"),
two list splices whatever their number. Nothing stays frozen: a full collection walks them
as it walks every long-lived object, so a cycle among them is still found, only later.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:  # the outermost pause: an inner one leaves this to it
            _age_to_oldest()
            gc.enable()


def _age_to_oldest() -> None:
    """Every tracked object into the oldest generation, without a pass over them."""
    if gc.get_freeze_count():  # someone froze objects on purpose: theirs stay frozen
        return
    gc.freeze()
    gc.unfreeze()
