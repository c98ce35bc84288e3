"""Load, validate and compile the YAML config; every error names ``file:line:column``.

Secrets never live in YAML: a value such as ``${ZENDESK_API_TOKEN}`` is read from the
environment when a command needs it (``validate`` checks them all; ``simulate`` needs none).
Loading is bounded in time and memory (``budget``); whatever a file holds, the result is a
``Config`` or a ``ConfigError``, never a traceback.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.policy import Policy
from escalator.config.budget import BudgetExceeded, LoadBudget
from escalator.config.compile import Compiler
from escalator.config.environment import (
    SECRET,
    env_problems,
    reference_problems,
    url_problems,
)
from escalator.config.errors import ConfigError, Problem
from escalator.config.schema import ConfigModel
from escalator.config.validation import validation_problems
from escalator.config.yamlsource import Located, load_located, walk_strings

__all__ = ["Config", "ConfigError", "Problem", "config_schema", "load_config"]


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    model: ConfigModel
    policy: Policy
    located: Located
    warnings: tuple[Problem, ...] = ()

    def secret_problems(self, env: Mapping[str, str] | None = None) -> list[Problem]:
        """Every ``${VAR}`` an enabled source or a channel needs that is unset or empty, and
        every URL read from the environment that is not one."""
        return env_problems(self.model, self.located, os.environ if env is None else env)

    def resolved(self, *path: str | int, env: Mapping[str, str] | None = None) -> Any:
        """The raw YAML data at ``path`` with ``${VAR}`` replaced from the environment."""
        env = os.environ if env is None else env
        data: Any = self.located.data
        for part in path:
            data = data[part]
        missing = [
            self.located.problem(
                p,
                f"environment variable {name} is not set (needed by {'.'.join(map(str, p))})",
            )
            for p, text in walk_strings(data, path)
            for name in SECRET.findall(text)
            if name not in env
        ]
        if missing:
            raise ConfigError(missing)
        return _substitute(data, env)


def _substitute(data: Any, env: Mapping[str, str]) -> Any:
    if isinstance(data, dict):
        return {k: _substitute(v, env) for k, v in data.items()}
    if isinstance(data, list):
        return [_substitute(v, env) for v in data]
    if isinstance(data, str):
        return SECRET.sub(lambda m: env[m.group(1)], data)
    return data


def load_config(path: str | Path, budget: LoadBudget | None = None) -> Config:
    """Read, validate and compile; raises ``ConfigError`` listing every problem found."""
    path = Path(path)
    budget = LoadBudget() if budget is None else budget
    try:
        return _load(path, budget)
    except BudgetExceeded as exc:
        raise ConfigError([Problem(str(path), 1, 1, str(exc))]) from None
    except RecursionError:
        raise ConfigError([Problem(str(path), 1, 1, "the config is nested too deeply")]) from None


def _load(path: Path, budget: LoadBudget) -> Config:
    located = load_located(path, budget)
    empty = [Problem(f, 1, 1, "the file is empty", "warning") for f in located.empty]
    try:
        model = ConfigModel.model_validate(located.data)
    except ValidationError as exc:
        raise ConfigError([*validation_problems(exc, located, ConfigModel), *empty]) from None
    budget.check_time()
    written = [*reference_problems(located), *url_problems(located)]
    version = hashlib.sha256("\0".join(located.texts).encode()).hexdigest()[:12]
    compiler = Compiler(model, located, version, budget)
    policy = compiler.compile()
    budget.check_time()
    warnings = [*compiler.warnings, *empty]
    if policy is None or written:
        raise ConfigError([*compiler.problems, *written, *warnings])
    return Config(path, model, policy, located, tuple(sorted(set(warnings))))


def config_schema() -> dict[str, Any]:
    """The JSON Schema of the config, each source's section checked against its connector's
    own settings (by its ``kind``), for every registered helpdesk."""
    from connectors import registry

    schema = ConfigModel.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Escalation sidecar configuration"
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    app = defs["SourceModel"]
    variants = []
    for kind in registry.known_kinds():
        own = registry.load(kind).Settings.model_json_schema(
            by_alias=True, ref_template=f"#/$defs/{kind}.{{model}}"
        )
        defs.update({f"{kind}.{name}": d for name, d in own.pop("$defs", {}).items()})
        properties = {**own.get("properties", {}), **app.get("properties", {})}
        properties["kind"] = {"const": kind}
        defs[f"{kind}.Settings"] = {
            "title": f"A {kind} source",
            "type": "object",
            "properties": properties,
            "required": sorted({"kind", *own.get("required", [])}),
            "additionalProperties": False,
        }
        variants.append({"$ref": f"#/$defs/{kind}.Settings"})
    for pattern in schema["properties"]["sources"].get("patternProperties", {}):
        schema["properties"]["sources"]["patternProperties"][pattern] = {"oneOf": variants}
    return schema
