"""Helpers the engine tests import."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Sim = Callable[[str], dict[str, Any]]


def pick(result: dict[str, Any], **match: Any) -> list[dict[str, Any]]:
    """Actions whose fields equal every ``match`` item (a missing field counts as None)."""
    return [a for a in result["actions"] if all(a.get(k) == v for k, v in match.items())]


def brief(result: dict[str, Any]) -> list[tuple[str, str, str, str | int | None]]:
    """(at, rule, kind, level) of every action, for exact sequence checks."""
    return [(a["at"], a["rule"], a["kind"], a.get("level")) for a in result["actions"]]
