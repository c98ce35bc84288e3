"""Finds a helpdesk's package by its kind: ``connectors.<kind>`` with ``Settings`` and ``create``,
and its API emulator (``connectors.<kind>.emulator``, a subclass of ``emulation.Emulator``).

Adding a helpdesk means adding that package; nothing here changes. A package kept elsewhere
(a test's, a plug-in's) is registered with ``register``, or named in the environment as
``ESCALATOR_CONNECTORS=kind=module[,kind=module]`` so that subprocesses find it too.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
from collections.abc import Callable
from datetime import datetime
from types import ModuleType
from typing import Protocol, cast

from pydantic import BaseModel

import connectors
from connectors.base import Connector
from connectors.emulation import Emulator
from connectors.retry import RetryPolicy

ENVIRONMENT = "ESCALATOR_CONNECTORS"


class ConnectorPackage(Protocol):
    Settings: type[BaseModel]

    def create(
        self,
        name: str,
        settings: BaseModel,
        *,
        retry: RetryPolicy,
        now: Callable[[], datetime] | None = None,
    ) -> Connector: ...


_NOT_KINDS = {"base", "errors", "retry", "registry", "emulation", "budget", "webhooks"}
_registered: dict[str, str] = {}  # kind -> module name, beyond ``connectors.<kind>``


def register(kind: str, module: str) -> None:
    """Make the package ``module`` the helpdesk ``kind`` (in this process)."""
    _registered[kind] = module


def unregister(kind: str) -> None:
    _registered.pop(kind, None)


def _extra() -> dict[str, str]:
    named = {}
    for item in os.environ.get(ENVIRONMENT, "").split(","):
        kind, _, module = item.strip().partition("=")
        if kind and module:
            named[kind] = module
    return {**named, **_registered}


def _module_name(kind: str) -> str:
    return _extra().get(kind) or f"connectors.{kind}"


def known_kinds() -> list[str]:
    built_in = {
        m.name
        for m in pkgutil.iter_modules(connectors.__path__)
        if m.ispkg and m.name not in _NOT_KINDS
    }
    return sorted(built_in | set(_extra()))


def load(kind: str) -> ConnectorPackage:
    """The package for ``kind``; ``KeyError`` with the known kinds when there is none."""
    if kind not in known_kinds():
        raise KeyError(kind)
    module = importlib.import_module(_module_name(kind))
    for attr in ("Settings", "create"):
        if not hasattr(module, attr):
            raise TypeError(f"{module.__name__} does not define {attr!r}")
    return cast(ConnectorPackage, module)


def emulator_class(kind: str) -> type[Emulator]:
    """The emulator of ``kind``'s API: the ``Emulator`` subclass its ``emulator`` module
    defines (tests, the demo and the benchmarks start one per registered kind)."""
    if kind not in known_kinds():
        raise KeyError(kind)
    module: ModuleType = importlib.import_module(f"{_module_name(kind)}.emulator")
    found = [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Emulator) and cls is not Emulator and cls.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise TypeError(f"{module.__name__} must define exactly one Emulator, found {found}")
    return found[0]
