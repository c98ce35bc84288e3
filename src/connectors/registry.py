"""Finds a helpdesk's package by its kind: ``connectors.<kind>`` with ``Settings`` and ``create``.

Adding a helpdesk means adding that package; nothing here changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Protocol, cast

from pydantic import BaseModel

import connectors
from connectors.base import Connector
from connectors.retry import RetryPolicy


class ConnectorPackage(Protocol):
    Settings: type[BaseModel]

    def create(self, name: str, settings: BaseModel, *, retry: RetryPolicy) -> Connector: ...


_NOT_KINDS = {"base", "errors", "retry", "registry", "emulation"}


def known_kinds() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.iter_modules(connectors.__path__)
        if m.ispkg and m.name not in _NOT_KINDS
    )


def load(kind: str) -> ConnectorPackage:
    """The package for ``kind``; ``KeyError`` with the known kinds when there is none."""
    if kind not in known_kinds():
        raise KeyError(kind)
    module = importlib.import_module(f"connectors.{kind}")
    for attr in ("Settings", "create"):
        if not hasattr(module, attr):
            raise TypeError(f"connectors.{kind} does not define {attr!r}")
    return cast(ConnectorPackage, module)
