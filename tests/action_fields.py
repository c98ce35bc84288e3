"""The fields every ``engine.model`` action shares, typed, for tests that build several actions
from one dict: ``AddLabels(key="k1", labels=(...), **common)``."""

from __future__ import annotations

from datetime import datetime
from typing import NotRequired, TypedDict


class ActionFields(TypedDict):
    ticket: str
    rule: str
    at: datetime
    level: NotRequired[int | None]


class KeyedActionFields(ActionFields):
    key: str
