"""benchmarks/pull.py still runs end to end: a small pull per connector, table included."""

from __future__ import annotations

import pytest

from tests.app.bench_script import load_script, table_rows

# heavy or a real subprocess: out of `pytest -m "not slow"`, in `make test`
pytestmark = pytest.mark.slow

KINDS = ("zendesk", "jira", "hubspot")


def test_pull_benchmark_prints_a_row_per_connector(capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script("pull")

    assert script.main(["--tickets", "30", "--429s", "1"]) == 0

    rows = table_rows(capsys.readouterr().out, "connector |")
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
