"""benchmarks/report.py still runs end to end on a small store, table included."""

from __future__ import annotations

import pytest

from tests.app.bench_script import load_script, table_rows

# heavy or a real subprocess: out of `pytest -m "not slow"`, in `make test`
pytestmark = pytest.mark.slow


def test_report_benchmark_prints_each_step(capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script("report")

    assert script.main(["--tickets", "600"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("report over 600 tickets")
    rows = {r["step"]: r for r in table_rows(out, "step |")}
    assert set(rows) >= {"read the store and count", "json", "csv", "md", "html with 3 charts"}
    assert all(float(r["seconds"]) >= 0 for r in rows.values())
