"""YAML with positions: every value and key remembers its file, line and column.

Reading is bounded (see ``budget``): each file's size is capped, aliases are expanded under a
node count and a nesting depth, and the whole load shares one deadline. Nothing a file holds
ends in a traceback: bad bytes, bad tags, impossible dates and alias loops are ``Problem``s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from escalator.config.budget import MAX_DEPTH, BudgetExceeded, LoadBudget
from escalator.config.errors import ConfigError, Problem

Path_ = tuple[str | int, ...]
_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


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
    root: str = "<config>"  # the path given: where a section no file defines is reported
    empty: list[str] = field(default_factory=list)  # files with no content (the likely culprit)

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
        return Position(self.empty[0] if self.empty else self.root, 1, 1)

    def problem(self, path: Path_, message: str, *, key: bool = False) -> Problem:
        pos = self.where(path, key=key)
        return Problem(pos.file, pos.line, pos.column, message)


def config_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


def load_located(path: Path, budget: LoadBudget | None = None) -> Located:
    """Read ``path`` (a file or a directory of ``*.yaml``); top-level sections are merged."""
    budget = LoadBudget() if budget is None else budget
    try:
        if not path.exists():
            raise ConfigError([Problem(str(path), 1, 1, "no such file or directory")])
        files = config_files(path)
    except (OSError, ValueError) as exc:  # unreadable directory, a NUL in the name
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError([Problem(str(path), 1, 1, f"cannot read: {detail}")]) from None
    if not files:
        raise ConfigError([Problem(str(path), 1, 1, "no *.yaml files in this directory")])
    located = Located(root=str(path))
    problems: list[Problem] = []
    for file in files:
        text = _read_text(file, problems, budget.max_file_bytes)
        if text is None:
            continue
        try:
            _merge(file, text, located, problems, budget)
        except _Refused as exc:
            problems.append(Problem(str(file), exc.line, exc.column, exc.message))
            if exc.over_budget:
                break  # the other files would only repeat it
        except BudgetExceeded as exc:
            problems.append(Problem(str(file), 1, 1, str(exc)))
            break
        except yaml.YAMLError as exc:
            problems.append(_yaml_problem(str(file), text, exc))
    if problems:
        raise ConfigError(problems)
    return located


def _read_text(file: Path, problems: list[Problem], max_bytes: int) -> str | None:
    name = str(file)
    try:
        size = file.stat().st_size
        if size > max_bytes:
            problems.append(
                Problem(
                    name,
                    1,
                    1,
                    f"the file is {_size(size)}, over the {_size(max_bytes)} limit "
                    "(a template or list pasted by mistake?)",
                )
            )
            return None
        raw = file.read_bytes()
    except OSError as exc:
        problems.append(Problem(name, 1, 1, f"cannot read the file: {exc.strerror or exc}"))
        return None
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        problems.append(
            Problem(
                name,
                line,
                column,
                f"the file is not UTF-8: byte 0x{raw[exc.start]:02x} cannot be read "
                "(save the file as UTF-8)",
            )
        )
        return None


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 1_000_000 else f"{n // 1024} KB"


def _yaml_problem(file: str, text: str, exc: yaml.YAMLError) -> Problem:
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[: exc.position]
        line, column = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        return Problem(
            file, line, column, f"invalid YAML: character #x{exc.character:04x} is not allowed"
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    reason = getattr(exc, "problem", None) or str(exc)
    if reason == "mapping values are not allowed here":
        hint = _indentation_hint(file, text, line)
        if hint is not None:
            return hint
    if reason.startswith("expected <block end>") and mark is not None:
        hint = _misaligned(file, text, line)
        if hint is not None:
            return hint
    return Problem(file, line, col, f"invalid YAML: {reason}")


def _indentation_hint(file: str, text: str, line: int) -> Problem | None:
    """A ``key: value`` line that swallowed the more indented line after it as part of its
    value: name the line whose indentation differs from its neighbours, not the one after."""
    lines = text.splitlines()

    def content(numbers: range) -> int | None:
        for n in numbers:
            if 0 <= n < len(lines) and lines[n].strip() and not lines[n].lstrip().startswith("#"):
                return n
        return None

    here = line - 1
    above = content(range(here - 1, -1, -1))
    below = content(range(here + 1, len(lines)))
    if above is None or here >= len(lines):
        return None

    def indent(n: int) -> int:
        return len(lines[n]) - len(lines[n].lstrip(" "))

    if indent(here) <= indent(above) or ": " not in lines[above].strip().rstrip(":"):
        return None
    if below is not None and indent(below) == indent(here):
        odd, others, where = above, indent(here), "the keys below it"
    else:
        odd, others, where = here, indent(above), "the key above it"
    key = lines[odd].strip().split(":", 1)[0]
    return Problem(
        file,
        odd + 1,
        indent(odd) + 1,
        f"invalid YAML: wrong indentation: {key!r} is indented {indent(odd)} spaces, "
        f"{where} {others}",
    )


def _misaligned(file: str, text: str, line: int) -> Problem | None:
    """A key that lines up with neither its siblings nor its parent."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return None
    here = lines[line - 1]
    above = next(
        (t for t in reversed(lines[: line - 1]) if t.strip() and not t.lstrip().startswith("#")),
        None,
    )
    if above is None:
        return None
    n, m = len(here) - len(here.lstrip(" ")), len(above) - len(above.lstrip(" "))
    key = here.strip().split(":", 1)[0]
    return Problem(
        file,
        line,
        n + 1,
        f"invalid YAML: wrong indentation: {key!r} is indented {n} spaces, the key above it {m}",
    )


class _Refused(Exception):
    def __init__(
        self, node: yaml.Node | yaml.Mark, message: str, *, over_budget: bool = False
    ) -> None:
        mark = node.start_mark if isinstance(node, yaml.Node) else node
        self.line, self.column, self.message = mark.line + 1, mark.column + 1, message
        self.over_budget = over_budget


class _Loader(yaml.SafeLoader):
    """Composition under the budget: a deadline and a nesting depth."""

    def __init__(self, text: str, budget: LoadBudget) -> None:
        super().__init__(text)
        self.budget = budget
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise _Refused(event.start_mark, f"nested more than {MAX_DEPTH} levels deep")
            self.budget.check_time()
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _merge(
    file: Path, text: str, located: Located, problems: list[Problem], budget: LoadBudget
) -> None:
    located.texts.append(text)
    loader = _Loader(text, budget)
    try:
        root = loader.get_single_node()
        name = str(file)
        if root is None:
            located.empty.append(name)
            return
        if not isinstance(root, yaml.MappingNode):
            problems.append(_at(name, root, "expected a mapping of sections at the top level"))
            return
        builder = _Builder(loader, name, located, problems, budget)
        for key_node, value_node in root.value:
            key = str(builder.scalar_key(key_node))
            if key in located.data:
                problems.append(
                    _at(
                        name,
                        key_node,
                        f"section {key!r} is defined twice "
                        f"(also at {located.where((key,), key=True).file})",
                    )
                )
                continue
            located.keys[(key,)] = _pos(name, key_node)
            try:
                located.data[key] = builder.build(value_node, (key,))
            except _Refused as exc:
                if exc.over_budget:  # name the section, not whichever value crossed the line
                    raise _Refused(key_node, f"{key!r}: {exc.message}", over_budget=True) from None
                raise
    finally:
        loader.dispose()


def _pos(file: str, node: yaml.Node) -> Position:
    return Position(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _at(file: str, node: yaml.Node, message: str) -> Problem:
    p = _pos(file, node)
    return Problem(p.file, p.line, p.column, message)


class _Builder:
    """Builds plain data from nodes, expanding aliases and ``<<`` merges under the budget."""

    def __init__(
        self,
        loader: yaml.SafeLoader,
        file: str,
        located: Located,
        problems: list[Problem],
        budget: LoadBudget,
    ) -> None:
        self._loader = loader
        self._file = file
        self._located = located
        self._problems = problems
        self._budget = budget
        self._open: set[int] = set()  # nodes being built: an alias to one of them is a loop

    def scalar_key(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self._problems.append(_at(self._file, node, "keys must be plain values"))
            return f"<{type(node).__name__} key at line {node.start_mark.line + 1}>"
        return self._scalar(node)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            return self._loader.construct_object(node, deep=True)
        except (ValueError, TypeError, OverflowError, yaml.YAMLError) as exc:
            if node.tag == _TIMESTAMP:  # e.g. 2026-02-30: the schema says what a date must be
                return node.value
            detail = getattr(exc, "problem", None) or str(exc)
            self._problems.append(
                _at(self._file, node, f"cannot read {node.value[:40]!r} as {node.tag}: {detail}")
            )
            return node.value

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self._located.values[path] = _pos(self._file, node)
        if id(node) in self._open:
            raise _Refused(node, "an alias refers to a value that contains it")
        try:
            self._budget.count_node()
        except BudgetExceeded as exc:
            raise _Refused(node, str(exc), over_budget=True) from None
        if isinstance(node, yaml.ScalarNode):
            if node.style in ("|", ">"):
                self._located.block[path] = True
            return self._scalar(node)
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                out: dict[Any, Any] = {}
                self._items(node, path, out)
                return out
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        finally:
            self._open.discard(id(node))
        raise _Refused(node, "unsupported YAML node")  # pragma: no cover - only three kinds

    def _items(self, node: yaml.MappingNode, path: Path_, out: dict[Any, Any]) -> None:
        explicit: set[Any] = set()
        merges = [v for k, v in node.value if k.tag == _MERGE]
        # the first mapping merged wins, and keys written here win over every merge
        for merged in reversed(merges):
            sources = merged.value if isinstance(merged, yaml.SequenceNode) else [merged]
            for source in reversed(sources):
                if not isinstance(source, yaml.MappingNode):
                    self._problems.append(_at(self._file, source, "'<<' merges only mappings"))
                    continue
                if id(source) in self._open:
                    raise _Refused(source, "an alias refers to a value that contains it")
                self._budget.count_node()
                self._open.add(id(source))
                try:
                    self._items(source, path, out)
                finally:
                    self._open.discard(id(source))
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self.scalar_key(key_node)
            if key in explicit:
                self._problems.append(_at(self._file, key_node, f"duplicate key {key!r}"))
                continue
            explicit.add(key)
            child = (*path, key)
            self._located.keys[child] = _pos(self._file, key_node)
            out[key] = self.build(value_node, child)


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
