"""Config problems a person can act on: ``file:line:column: message``.

A problem is an error (the config is refused) or a warning (it loads, but probably does not do
what was meant; ``validate --strict`` refuses it too). Warnings print as
``file:line:column: warning: message``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    file: str
    line: int
    column: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        label = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}:{self.column}: {label}{self.message}"

    def as_error(self) -> Problem:
        return replace(self, severity="error")


class ConfigError(Exception):
    """Every problem found in the config, in file order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
