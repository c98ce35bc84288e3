"""benchmarks/latency.py still runs end to end: a few changes per path, one table row each."""

from __future__ import annotations

import pytest

from tests.app.bench_script import load_script, table_rows

# heavy or a real subprocess: out of `pytest -m "not slow"`, in `make test`
pytestmark = pytest.mark.slow

PATHS = ("webhook", "poll", "clock")


def test_latency_benchmark_prints_a_row_per_path(capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script("latency")

    assert script.main(["--n", "3"]) == 0

    rows = {r["path"]: r for r in table_rows(capsys.readouterr().out, "path ")}
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
    script = load_script("latency")
    values = [0.5, 0.1, 0.3, 0.2, 0.4]
    assert script.percentile(values, 50) == 0.3
    assert script.percentile(values, 95) == 0.5
    assert script.percentile([], 50) != script.percentile([], 50)  # NaN
