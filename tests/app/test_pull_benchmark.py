"""benchmarks/pull.py still runs end to end: a small pull per connector, table included."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "pull.py"
KINDS = ("zendesk", "jira", "hubspot")


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pull_benchmark_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


def table_rows(output: str) -> list[dict[str, str]]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("connector |"))
    headers = [h.strip() for h in lines[start].split("|")]
    rows = []
    for line in lines[start + 2 :]:
        cells = [c.strip() for c in line.split("|")]
        if len(cells) != len(headers):
            break  # the footnote under the table
        rows.append(dict(zip(headers, cells, strict=True)))
    return rows


def test_pull_benchmark_prints_a_row_per_connector(capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script()

    assert script.main(["--tickets", "30", "--429s", "1"]) == 0

    rows = table_rows(capsys.readouterr().out)
    assert sorted({r["connector"] for r in rows}) == sorted(KINDS)
    for kind in KINDS:
        steady = next(r for r in rows if r["connector"] == kind and r["pass"] == "steady")
        throttled = next(r for r in rows if r["connector"] == kind and r["pass"] != "steady")
        for row in (steady, throttled):
            assert int(row["tickets"]) == 30
            assert float(row["tickets/s"]) > 0
            assert int(row["API calls"]) > 0
        assert (steady["retries"], steady["429s"]) == ("0", "0")
        # the injected 429 was retried after a real 1 s wait, and its request was counted
        assert (throttled["retries"], throttled["429s"]) == ("1", "1")
        assert float(throttled["waited s"]) >= 1.0
        assert int(throttled["API calls"]) == int(steady["API calls"]) + 1
