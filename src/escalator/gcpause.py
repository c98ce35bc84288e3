"""The cycle collector paused around work that makes millions of objects and no reference
cycles (a re-plan of every ticket, a report): it would otherwise walk them all again and
again. The process's choice, so it lives here, not in the engine."""

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
        if collecting:
            gc.enable()
