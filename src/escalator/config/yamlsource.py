"""YAML with positions: every value and key remembers its file, line and column."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from escalator.config.errors import ConfigError, Problem

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Position:
    file: str
    line: int
    column: int


@dataclass(slots=True)
class Located:
    """The merged data of all files, with where each value and each key was written."""

    data: dict[str, Any] = field(default_factory=dict)
    values: dict[Path_, Position] = field(default_factory=dict)
    keys: dict[Path_, Position] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)
    block: dict[Path_, bool] = field(default_factory=dict)  # value is a literal block scalar

    def where(self, path: Path_, *, key: bool = False) -> Position:
        """The closest known position of ``path`` (walking up to a parent when unknown)."""
        table = self.keys if key else self.values
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if p in self.values:
                return self.values[p]
            p = p[:-1]
        first = next(iter(self.values.values()), Position("<config>", 1, 1))
        return Position(first.file, 1, 1)

    def problem(self, path: Path_, message: str, *, key: bool = False) -> Problem:
        pos = self.where(path, key=key)
        return Problem(pos.file, pos.line, pos.column, message)


def config_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


def load_located(path: Path) -> Located:
    """Read ``path`` (a file or a directory of ``*.yaml``); top-level sections are merged."""
    if not path.exists():
        raise ConfigError([Problem(str(path), 1, 1, "no such file or directory")])
    files = config_files(path)
    if not files:
        raise ConfigError([Problem(str(path), 1, 1, "no *.yaml files in this directory")])
    located = Located()
    problems: list[Problem] = []
    for file in files:
        try:
            _merge(file, located, problems)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            reason = getattr(exc, "problem", None) or str(exc)
            problems.append(Problem(str(file), line, col, f"invalid YAML: {reason}"))
    if problems:
        raise ConfigError(problems)
    return located


def _merge(file: Path, located: Located, problems: list[Problem]) -> None:
    text = file.read_text(encoding="utf-8")
    located.texts.append(text)
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return
        name = str(file)
        if not isinstance(root, yaml.MappingNode):
            problems.append(_at(name, root, "expected a mapping of sections at the top level"))
            return
        builder = _Builder(loader, name, located, problems)
        for key_node, value_node in root.value:
            key = builder.scalar_key(key_node)
            if key in located.data:
                problems.append(
                    _at(
                        name,
                        key_node,
                        f"section {key!r} is defined twice "
                        f"(also at {located.where((str(key),), key=True).file})",
                    )
                )
                continue
            located.keys[(key,)] = _pos(name, key_node)
            located.data[str(key)] = builder.build(value_node, (str(key),))
    finally:
        loader.dispose()


def _pos(file: str, node: yaml.Node) -> Position:
    return Position(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _at(file: str, node: yaml.Node, message: str) -> Problem:
    p = _pos(file, node)
    return Problem(p.file, p.line, p.column, message)


class _Builder:
    def __init__(
        self, loader: yaml.SafeLoader, file: str, located: Located, problems: list[Problem]
    ) -> None:
        self._loader = loader
        self._file = file
        self._located = located
        self._problems = problems

    def scalar_key(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self._problems.append(_at(self._file, node, "keys must be plain values"))
            return repr(node)
        return self._loader.construct_object(node, deep=True)

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self._located.values[path] = _pos(self._file, node)
        if isinstance(node, yaml.MappingNode):
            self._loader.flatten_mapping(node)
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.scalar_key(key_node)
                if key in out:
                    self._problems.append(_at(self._file, key_node, f"duplicate key {key!r}"))
                    continue
                child = (*path, key)
                self._located.keys[child] = _pos(self._file, key_node)
                out[key] = self.build(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
            self._located.block[path] = True
        return self._loader.construct_object(node, deep=True)


def walk_strings(data: Any, path: Path_ = ()) -> Iterator[tuple[Path_, str]]:
    """Every string value in ``data`` with its path."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from walk_strings(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from walk_strings(v, (*path, i))
    elif isinstance(data, str):
        yield path, data
