"""Running a benchmarks/ script from a test, and reading the table it prints."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load_script(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as a module (not importable by name: the folder is no package)."""
    spec = importlib.util.spec_from_file_location(
        f"{name}_benchmark_script", BENCHMARKS / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


def table_rows(output: str, first_header: str) -> list[dict[str, str]]:
    """The rows of the ``|``-separated table whose header line starts with ``first_header``."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first_header))
    headers = [h.strip() for h in lines[start].split("|")]
    rows = []
    for line in lines[start + 2 :]:
        cells = [c.strip() for c in line.split("|")]
        if len(cells) != len(headers):
            break  # a footnote under the table
        rows.append(dict(zip(headers, cells, strict=True)))
    return rows
