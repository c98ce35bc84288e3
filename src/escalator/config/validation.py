"""Pydantic validation errors, placed at the YAML line and column they are about."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from escalator.config.errors import Problem, did_you_mean
from escalator.config.yamlsource import Located, Path_


# -- pydantic errors -> file:line:column -----------------------------------------------------------
def validation_problems(
    exc: ValidationError, located: Located, root: type[BaseModel]
) -> list[Problem]:
    """Each pydantic error as a ``Problem`` at the YAML position it is about."""
    problems = []
    for err in exc.errors():
        loc: Path_ = tuple(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            fields = _fields_at(root, loc[:-1])
            problems.append(
                located.problem(loc, f"unknown key {key!r}{did_you_mean(key, fields)}", key=True)
            )
        elif kind == "missing":
            problems.append(located.problem(loc[:-1], f"missing required key {loc[-1]!r}"))
        else:
            clean = tuple(p for p in loc if p != "[key]")
            on_key = len(clean) != len(loc)
            message = str(err["msg"]).removeprefix("Value error, ")
            where = ".".join(str(p) for p in clean) or "config"
            if on_key:
                message = f"key {clean[-1]!r}: {message}"
            problems.append(located.problem(clean, f"{where}: {message}", key=on_key))
    return problems


def _fields_at(root: type[BaseModel], loc: Path_) -> list[str]:
    """Names a model at ``loc`` accepts, for did-you-mean hints."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = current.model_fields
            name = next((n for n, f in fields.items() if (f.alias or n) == part), None)
            if name is None:
                return []
            current = fields[name].annotation
        elif typing.get_origin(current) in (list, dict):
            args = typing.get_args(current)
            current = args[-1] if args else Any
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``; ``Annotated[X, ...]`` -> ``X``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0] if len(args) == 1 else annotation
            if len(args) != 1:
                return annotation
        else:
            return annotation
