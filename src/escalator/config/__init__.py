"""Load, validate and compile the YAML config; every error names ``file:line:column``.

Secrets never live in YAML: a value such as ``${ZENDESK_API_TOKEN}`` is read from the
environment when a command needs it (``validate`` checks them all; ``simulate`` needs none).
"""

from __future__ import annotations

import hashlib
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.policy import Policy
from escalator.config.compile import Compiler
from escalator.config.errors import ConfigError, Problem, did_you_mean
from escalator.config.schema import ConfigModel
from escalator.config.yamlsource import Located, Path_, load_located, walk_strings

__all__ = ["Config", "ConfigError", "Problem", "config_schema", "load_config"]

_SECRET = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SECRET_SECTIONS = ("sources", "channels")


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    model: ConfigModel
    policy: Policy
    located: Located

    def secret_problems(self, env: Mapping[str, str] | None = None) -> list[Problem]:
        """Every ``${VAR}`` in sources and channels whose variable is not set."""
        env = os.environ if env is None else env
        problems = []
        for section in SECRET_SECTIONS:
            for path, text in walk_strings(self.located.data.get(section, {}), (section,)):
                for name in _SECRET.findall(text):
                    if name not in env:
                        problems.append(self.located.problem(
                            path, f"environment variable {name} is not set (needed by "
                            f"{'.'.join(map(str, path))})"))
        return problems

    def resolved(self, *path: str | int, env: Mapping[str, str] | None = None) -> Any:
        """The raw YAML data at ``path`` with ``${VAR}`` replaced from the environment."""
        env = os.environ if env is None else env
        data: Any = self.located.data
        for part in path:
            data = data[part]
        missing = [p for p in self.secret_problems(env) if _under(p, self.located, path)]
        if missing:
            raise ConfigError(missing)
        return _substitute(data, env)


def _under(problem: Problem, located: Located, path: tuple[str | int, ...]) -> bool:
    for key_path, pos in located.values.items():
        if key_path[: len(path)] == path and (pos.file, pos.line, pos.column) == (
            problem.file, problem.line, problem.column
        ):
            return True
    return False


def _substitute(data: Any, env: Mapping[str, str]) -> Any:
    if isinstance(data, dict):
        return {k: _substitute(v, env) for k, v in data.items()}
    if isinstance(data, list):
        return [_substitute(v, env) for v in data]
    if isinstance(data, str):
        return _SECRET.sub(lambda m: env[m.group(1)], data)
    return data


def load_config(path: str | Path) -> Config:
    """Read, validate and compile; raises ``ConfigError`` listing every problem found."""
    path = Path(path)
    located = load_located(path)
    try:
        model = ConfigModel.model_validate(located.data)
    except ValidationError as exc:
        raise ConfigError(_problems(exc, located)) from None
    version = hashlib.sha256("\0".join(located.texts).encode()).hexdigest()[:12]
    compiler = Compiler(model, located, version)
    policy = compiler.compile()
    if policy is None:
        raise ConfigError(compiler.problems)
    return Config(path, model, policy, located)


def config_schema() -> dict[str, Any]:
    schema = ConfigModel.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Escalation sidecar configuration"
    return schema


# -- pydantic errors -> file:line:column -----------------------------------------------------------
def _problems(exc: ValidationError, located: Located) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc: Path_ = tuple(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            fields = _fields_at(loc[:-1])
            problems.append(located.problem(
                loc, f"unknown key {key!r}{did_you_mean(key, fields)}", key=True))
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


def _fields_at(loc: Path_) -> list[str]:
    """Names a model at ``loc`` accepts, for did-you-mean hints."""
    current: Any = ConfigModel
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
