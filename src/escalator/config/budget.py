"""The load budget: a config that takes more than 1 s or ~50 MB to load is refused.

Memory is bounded by counting YAML nodes as aliases expand them (a "billion laughs" stops
after ``max_nodes``, not after 8 GB) and by capping each file's size; time by a deadline that
YAML composition, alias expansion and the templates' test renders all check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

MAX_FILE_BYTES = 256 * 1024  # a big matrix is ~20 KB; PyYAML reads ~250 KB a second
MAX_NODES = 100_000  # expanded values; ~300 bytes each in the merged data and position tables
MAX_DEPTH = 64  # nesting; also stops an alias that contains itself
MAX_SECONDS = 1.0


def cpu_clock() -> float:
    """The loading thread's own CPU time: the budget guards against work (an alias bomb, a
    costly template), so a machine busy with other processes must not make a good config
    "too slow" (on 2 busy cores a 70 ms load can take over a second of wall time)."""
    return time.thread_time()


class BudgetExceeded(Exception):
    """Loading went past the budget; ``str()`` says which limit and why it exists."""


@dataclass(slots=True)
class LoadBudget:
    seconds: float = MAX_SECONDS
    max_nodes: int = MAX_NODES
    max_file_bytes: int = MAX_FILE_BYTES
    started: float = field(default_factory=cpu_clock)
    nodes: int = 0

    def remaining(self) -> float:
        return self.seconds - (cpu_clock() - self.started)

    def check_time(self) -> None:
        if self.remaining() < 0:
            raise BudgetExceeded(
                f"the config took more than {self.seconds:g} s to load and is refused "
                "(is a file huge, or an alias repeated many times?)"
            )

    def count_node(self) -> None:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise BudgetExceeded(
                f"the config expands to more than {self.max_nodes:,} values (about 50 MB) and is "
                "refused: an alias repeated inside aliases (a 'billion laughs')?"
            )
        if self.nodes % 256 == 0:
            self.check_time()
