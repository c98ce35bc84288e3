"""The layers: ``engine`` at the bottom, ``connectors`` above it, ``escalator`` on top; no import
runs back up. Every import statement counts, lazy ones inside functions included."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
FORBIDDEN = {
    "engine": {"connectors", "escalator"},
    "connectors": {"escalator"},
    "escalator": set(),
}


def _imported_tops(path: Path) -> set[str]:
    tops: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
    return tops


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_runs_back_up(package: str) -> None:
    offenders = {
        str(path.relative_to(SRC)): sorted(_imported_tops(path) & FORBIDDEN[package])
        for path in sorted((SRC / package).rglob("*.py"))
        if _imported_tops(path) & FORBIDDEN[package]
    }
    assert offenders == {}


def test_importing_the_engine_loads_nothing_above_it() -> None:
    """The same rule, as Python sees it: import every engine module in a clean interpreter."""
    import subprocess

    names = [m.name for m in pkgutil.walk_packages([str(SRC / "engine")], "engine.")]
    code = (
        "import importlib, sys\n"
        f"for n in {['engine', *names]!r}: importlib.import_module(n)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'connectors', 'escalator'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=SRC
    )
    assert out.stdout.strip() == "[]"
    assert importlib.import_module("engine") is not None
