"""Custom field values read by their type (option, multi-select, user, number, text).

A value of a type the field should not hold raises ``ValueError`` naming the field, so the
mapper can report it (a warning naming the field) instead of failing with a ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.jira.site import CustomField


def _describe(field: CustomField, value: Any, wanted: str) -> str:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"field {field.name!r} ({field.id}): expected {wanted}, got {shown}"


def read_label(fields: Mapping[str, Any], field: CustomField | None) -> str | None:
    """An option's value, a multi-select's first value, a user's name, an organization's name,
    or plain text."""
    if field is None:
        return None
    value = fields.get(field.id)
    if isinstance(value, list):  # multi-select, multi-user, JSM organizations
        value = value[0] if value else None
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        text = value.get("value") or value.get("name") or value.get("displayName")
        if isinstance(text, str) and text:
            return text
        raise ValueError(_describe(field, value, "an option, a user or text"))
    if isinstance(value, str):
        return value
    raise ValueError(_describe(field, value, "an option, a user or text"))


def read_count(fields: Mapping[str, Any], field: CustomField | None) -> int | None:
    """A non-negative whole number: a number field's float, or text such as ``"1,200"``."""
    if field is None:
        return None
    value = fields.get(field.id)
    if value is None or value == "":
        return None
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "").replace("_", ""))
        except ValueError:
            number = None
    if number is None or not number.is_integer() or number < 0:
        raise ValueError(_describe(field, value, "a whole number"))
    return int(number)
