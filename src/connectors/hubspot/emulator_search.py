"""How the HubSpot emulator's ticket search compares, filters and sorts property values.

Kept apart from the store and the routes: these are pure functions of a ticket's properties,
following HubSpot's search semantics (dates compare as epoch millis, numbers as numbers,
unset values sort last).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from connectors.hubspot.emulator_state import DATE_PROPERTIES
from connectors.hubspot.mapping import parse_instant, to_millis


class CrmRecord(Protocol):
    """What a search sorts on: a ticket's or a survey response's id and properties."""

    @property
    def id(self) -> str: ...

    @property
    def props(self) -> dict[str, str]: ...


def _comparable(name: str, value: str | None) -> Any:
    if value is None or value == "":
        return None
    if name in DATE_PROPERTIES:
        try:
            return to_millis(parse_instant(value))
        except ValueError:
            return None
    try:
        return float(value)
    except ValueError:
        return value


def passes_filters(props: dict[str, str], groups: list[dict[str, Any]]) -> bool:
    if not groups:
        return True
    return any(all(_holds(props, f) for f in g.get("filters") or []) for g in groups)


def _holds(props: dict[str, str], flt: dict[str, Any]) -> bool:
    name, op = flt["propertyName"], flt["operator"]
    have = _comparable(name, props.get(name))
    if op == "HAS_PROPERTY":
        return have is not None
    if op == "NOT_HAS_PROPERTY":
        return have is None
    if op in ("IN", "NOT_IN"):
        inside = have in {_comparable(name, v) for v in flt.get("values") or []}
        return inside if op == "IN" else not inside
    want = _comparable(name, flt.get("value"))
    if op == "EQ":
        return bool(have == want)
    if op == "NEQ":
        return bool(have != want)
    if have is None or want is None or type(have) is not type(want):
        return False
    if op == "BETWEEN":
        high = _comparable(name, flt.get("highValue"))
        return bool(want <= have <= high)
    comparisons: dict[str, Callable[[Any, Any], bool]] = {
        "GT": lambda a, b: a > b,
        "GTE": lambda a, b: a >= b,
        "LT": lambda a, b: a < b,
        "LTE": lambda a, b: a <= b,
    }
    if op in comparisons:
        return comparisons[op](have, want)
    raise ValueError(f"operator {op} is not emulated")


def sort_spec(sort: Any) -> tuple[str, bool]:
    if isinstance(sort, dict):
        return str(sort["propertyName"]), sort.get("direction") == "DESCENDING"
    text = str(sort)
    return text.lstrip("-"), text.startswith("-")


def sort_key(name: str, record: CrmRecord) -> tuple[tuple[int, float, str], int]:
    return _sort_value(record.props, name), int(record.id)


def _sort_value(props: dict[str, str], name: str) -> tuple[int, float, str]:
    value = _comparable(name, props.get(name))
    if value is None:
        return (2, 0.0, "")
    if isinstance(value, int | float):
        return (0, float(value), "")
    return (1, 0.0, str(value))
