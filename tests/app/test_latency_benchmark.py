"""benchmarks/latency.py still runs end to end: a few changes per path, one table row each."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "latency.py"
PATHS = ("webhook", "poll", "clock")


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("latency_benchmark_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


def table_rows(output: str) -> list[dict[str, str]]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("path "))
    headers = [h.strip() for h in lines[start].split("|")]
    rows = []
    for line in lines[start + 2 :]:
        cells = [c.strip() for c in line.split("|")]
        if len(cells) != len(headers):
            break  # the footnote under the table
        rows.append(dict(zip(headers, cells, strict=True)))
    return rows


def test_latency_benchmark_prints_a_row_per_path(capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script()

    assert script.main(["--n", "3"]) == 0

    rows = {r["path"]: r for r in table_rows(capsys.readouterr().out)}
    assert sorted(rows) == sorted(PATHS)
    for path in PATHS:
        row = rows[path]
        assert (row["n"], row["missed"]) == ("3", "0"), row
        assert float(row["p50 s"]) > 0, row
        assert float(row["p50 s"]) <= float(row["p95 s"]) <= float(row["max s"]), row
    # the poll path waits on its interval; a webhook is far quicker than a 300 s poll
    assert float(rows["webhook"]["p95 s"]) < 5
    assert "poll interval 2 s" in rows["poll"]["note"]


def test_percentile_is_nearest_rank() -> None:
    script = load_script()
    values = [0.5, 0.1, 0.3, 0.2, 0.4]
    assert script.percentile(values, 50) == 0.3
    assert script.percentile(values, 95) == 0.5
    assert script.percentile([], 50) != script.percentile([], 50)  # NaN
