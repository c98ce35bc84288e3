"""Load, validate and compile the YAML config; every error names ``file:line:column``.

Secrets never live in YAML: a value such as ``${ZENDESK_API_TOKEN}`` is read from the
environment when a command needs it (``validate`` checks them all; ``simulate`` needs none).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.policy import Policy
from escalator.config.compile import Compiler
from escalator.config.errors import ConfigError, Problem
from escalator.config.schema import ConfigModel
from escalator.config.validation import validation_problems
from escalator.config.yamlsource import Located, load_located, walk_strings

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
                        problems.append(
                            self.located.problem(
                                path,
                                f"environment variable {name} is not set (needed by "
                                f"{'.'.join(map(str, path))})",
                            )
                        )
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
            problem.file,
            problem.line,
            problem.column,
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
        raise ConfigError(validation_problems(exc, located, ConfigModel)) from None
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
