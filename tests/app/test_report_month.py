"""`escalator report` over a simulated November: every KPI equals what the ticket families of
``report_world`` imply, derived here by hand (not by the report's code)."""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from escalator.config import load_config
from escalator.explain import explain, story_from_store
from escalator.report import Period, parse_period, render, report_from_store
from escalator.report.text import flatten
from escalator.store import StateStore, open_store
from tests.app.report_pg import fresh_postgres_url, postgres_server, postgres_url
from tests.app.report_world import DAYS, MONTH_END, MONTH_START, ROOT, at, fill_store

__all__ = ["fresh_postgres_url", "postgres_server", "postgres_url"]  # fixtures, re-exported

NOW = datetime(2026, 12, 10, tzinfo=UTC)  # the report is run after the month: as of 1 December
END = int(MONTH_END.timestamp())
A_DAYS = range(1, DAYS + 1)
D_DAYS = [d for d in A_DAYS if d % 4 == 0]
F_DAYS = [d for d in A_DAYS if d % 5 == 0]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StateStore]:
    path = tmp_path_factory.mktemp("month") / "state.db"
    with open_store(f"sqlite:///{path}") as s:
        fill_store(load_config(ROOT / "config"), s)
        yield s


@pytest.fixture(scope="module")
def report(store: StateStore) -> dict[str, Any]:
    config = load_config(ROOT / "config")
    return report_from_store(store, config, parse_period(None, "2026-11", NOW), NOW)


def ts(day: int, hour: float) -> int:
    return int(at(day, hour).timestamp())


def test_escalated_tickets_resolved_within_sla(report: dict[str, Any]) -> None:
    a, b, d, f, q = DAYS, DAYS, len(D_DAYS), len(F_DAYS), DAYS
    assert report["tickets"] == a + b + d + f + q
    assert report["escalated"] == a + b + d + f
    within = report["resolved_within_sla"]
    # A and B are solved within the 8 h resolution target; D is never solved; F was reopened
    assert within["overall"] == {"escalated": 49, "within_sla": 40, "share": round(40 / 49, 4)}
    assert within["by_category"] == {
        "account": {"escalated": b, "within_sla": b, "share": 1.0},
        "billing": {"escalated": a + d, "within_sla": a, "share": round(a / (a + d), 4)},
        "outage": {"escalated": f, "within_sla": 0, "share": 0.0},
    }
    assert within["by_level"] == {
        "2": {"escalated": b, "within_sla": b, "share": 1.0},
        "3": {"escalated": a + d + f, "within_sla": a, "share": round(a / (a + d + f), 4)},
    }
    assert set(within["by_priority"]) == {"urgent"}
    assert set(within["by_source"]) == {"zendesk"}


def test_time_to_resolution_and_at_each_level(report: dict[str, Any]) -> None:
    resolved = [3 * 3600] * DAYS + [6 * 3600] * DAYS  # A solved after 3 h, B after 6 h
    assert report["time_to_resolution"] == {
        "count": 2 * DAYS,
        "mean_seconds": round(statistics.fmean(resolved)),
        "median_seconds": round(statistics.median(resolved)),
    }
    # B: level 1 at 09:45 (at risk), level 2 at 10:00 (breached) until solved at 15:00
    level3 = [3 * 3600] * DAYS  # A: from creation to solved
    level3 += [END - ts(d, 12) for d in D_DAYS]  # D: never solved
    level3 += [END - ts(d, 14) for d in F_DAYS]  # F: reopened, open at the month's end
    assert report["time_at_level"] == {
        "1": {"count": DAYS, "mean_seconds": 900, "median_seconds": 900},
        "2": {"count": DAYS, "mean_seconds": 5 * 3600, "median_seconds": 5 * 3600},
        "3": {
            "count": len(level3),
            "mean_seconds": round(statistics.fmean(level3)),
            "median_seconds": round(statistics.median(level3)),
        },
    }


def test_escalation_frequency_and_repeats(report: dict[str, Any]) -> None:
    e = report["escalations"]
    assert e["total"] == DAYS + 2 * DAYS + len(D_DAYS) + len(F_DAYS)
    assert e["by_level"] == {"1": DAYS, "2": DAYS, "3": DAYS + len(D_DAYS) + len(F_DAYS)}
    assert e["by_rule"] == {
        "major-impact": DAYS + len(D_DAYS) + len(F_DAYS),
        "sla-at-risk": DAYS,
        "sla-breached": DAYS,
    }
    assert e["by_category"] == {"account": 2 * DAYS, "billing": DAYS + len(D_DAYS), "outage": 4}
    orgs = {f"Globex-{d}": 1 for d in A_DAYS} | {f"Initech-{d}": 2 for d in A_DAYS}
    orgs |= {f"Hooli-{d}": 1 for d in F_DAYS} | {"Umbrella": len(D_DAYS)}
    assert e["by_organization"] == dict(sorted(orgs.items()))
    # Umbrella's third, fourth and fifth billing tickets had two others within 30 days
    assert report["recurrence"] == [{"organization": "Umbrella", "category": "billing", "hits": 3}]
    assert [p["category"] for p in report["common_problems"]] == [
        "billing",
        "account",
        "outage",
        "question",
    ]


def test_sla_attainment_and_every_breach(report: dict[str, Any]) -> None:
    a, b, d, f, q = DAYS, DAYS, len(D_DAYS), len(F_DAYS), DAYS
    assert report["sla_attainment"] == {
        "first_response": {"met": a + f + q, "breached": b + d, "share": round(44 / 69, 4)},
        "next_update": {"met": a + b, "breached": f, "share": round(40 / 44, 4)},
        "resolution": {"met": a + b + q, "breached": d + f, "share": round(60 / 69, 4)},
    }
    expected = []
    for day in A_DAYS:  # B: breached at 10:00, answered at 10:30
        expected.append((f"zendesk:B{day}", "first_response", ts(day, 10), 1800))
    for day in D_DAYS:  # D: nobody ever answers: open until the report's end
        expected.append((f"zendesk:D{day}", "first_response", ts(day, 13), END - ts(day, 13)))
        expected.append((f"zendesk:D{day}", "resolution", ts(day, 20), END - ts(day, 20)))
    for day in F_DAYS:
        # next update: 100 min ran before the solve, the last 20 after the 17:00 reopening;
        # answered at 17:30. Resolution: 2 h before, 6 h after 17:00 -> breached 23:00
        expected.append((f"zendesk:F{day}", "next_update", ts(day, 17 + 1 / 3), 600))
        expected.append((f"zendesk:F{day}", "resolution", ts(day, 23), END - ts(day, 23)))
    got = [
        (
            x["ticket"],
            x["target"],
            int(datetime.fromisoformat(x["breached_at"]).timestamp()),
            x["by_seconds"],
        )
        for x in report["breaches"]
    ]
    assert sorted(got) == sorted(expected)
    assert all(x["url"].endswith(x["ticket"].split(":")[1]) for x in report["breaches"])


def test_responsiveness_satisfaction_and_confirmation(report: dict[str, Any]) -> None:
    executive = [1800] * DAYS + [1200] * len(F_DAYS)  # A answered after 30 min, F after 20
    assert report["responsiveness"] == {
        "Executive Escalations": {
            "count": len(executive),
            "mean_seconds": round(statistics.fmean(executive)),
            "median_seconds": round(statistics.median(executive)),
            "no_action_yet": len(D_DAYS),
        },
        "Support Managers": {  # B: level 2 at 10:00, answered at 10:30
            "count": DAYS,
            "mean_seconds": 1800,
            "median_seconds": 1800,
            "no_action_yet": 0,
        },
        "Tier 2 Support": {  # B: level 1 at 09:45
            "count": DAYS,
            "mean_seconds": 2700,
            "median_seconds": 2700,
            "no_action_yet": 0,
        },
    }
    good = sum(1 for d in A_DAYS if d % 2 == 0)
    assert report["satisfaction"] == {"rated": DAYS, "good": good, "share_good": good / DAYS}
    asked = 2 * DAYS + len(F_DAYS)
    assert report["confirmation"] == {
        "asked": asked,
        "confirmed": DAYS,  # A: the customer replied
        "reopened": len(F_DAYS),
        "silent": DAYS,  # B
        "share_confirmed": round(DAYS / asked, 4),
        "share_reopened": round(len(F_DAYS) / asked, 4),
        "share_silent": round(DAYS / asked, 4),
    }


def test_weekly_attainment(report: dict[str, Any]) -> None:
    # per ticket: (met, breached) targets; weeks by the day each was created
    per_day: dict[int, list[int]] = {}
    for day in A_DAYS:
        # A: all three met; B: first response breached, the other two met; Q: two met
        met, breached = 3 + 2 + 2, 1
        if day in D_DAYS:
            breached += 2
        if day in F_DAYS:
            met, breached = met + 1, breached + 2
        per_day[day] = [met, breached]
    weeks: dict[str, list[int]] = {}
    for day, (met, breached) in per_day.items():
        year, week, _ = (MONTH_START + timedelta(days=day)).isocalendar()
        w = weeks.setdefault(f"{year}-W{week:02d}", [0, 0])
        w[0] += met
        w[1] += breached
    assert report["sla_attainment_by_week"] == [
        {"week": w, "met": m, "breached": b, "share": round(m / (m + b), 4)}
        for w, (m, b) in sorted(weeks.items())
    ]


def test_service_credits_are_capped(report: dict[str, Any]) -> None:
    # Umbrella (enterprise tier): each D breaches first response (1 %) and resolution (5 %)
    (credit,) = report["credits"]
    assert credit["organization"] == "Umbrella"
    assert credit["month"] == "2026-11"
    assert len(credit["breaches"]) == 2 * len(D_DAYS)
    assert credit["earned_percent"] == 6 * len(D_DAYS)
    assert credit["credited_percent"] == 25  # the contract's cap
    assert credit["capped"] is True
    assert credit["credit"] == 10000 * 25 / 100


def test_csv_and_markdown_carry_the_json_numbers(report: dict[str, Any]) -> None:
    rows = list(csv.reader(io.StringIO(render(report, "csv"))))
    assert rows[0] == ["metric", "value"]
    from_json = {
        k: "" if v is None else str(v) for k, v in flatten(json.loads(render(report, "json")))
    }
    assert dict(rows[1:]) == from_json
    md = render(report, "md")
    assert "# Escalation report — November 2026" in md
    assert "Overall: **81.6 %** (40 of 49)" in md
    assert "| Umbrella | 2026-11 | enterprise | 10 | 30.0 % | 25.0 % (cap) | 2500.00 EUR |" in md


def test_a_period_of_the_last_days(store: StateStore) -> None:
    config = load_config(ROOT / "config")
    # the last 7 days before 10 November: tickets created 3–9 November (days 2..8)
    week = report_from_store(store, config, parse_period("7d", None, at(9, 0)), at(9, 0))
    assert week["period"]["label"] == "last 7d"
    created = [d for d in A_DAYS if at(2, 0) <= at(d, 0) < at(9, 0)]
    extra = sum(1 for d in created if d in D_DAYS) + sum(1 for d in created if d in F_DAYS)
    assert week["tickets"] == 3 * len(created) + extra
    with pytest.raises(ValueError, match="expected a month"):
        parse_period(None, "2026-13", NOW)
    assert isinstance(parse_period(None, "2026-02", NOW), Period)


def test_explain_reads_the_live_store(store: StateStore) -> None:
    config = load_config(ROOT / "config")
    story = story_from_store(store, "B5")  # the id alone: one system has it
    data = explain(config.policy, story, at(5, 9.5))  # 09:30, before anything fired
    at_risk = next(r for r in data["rules"] if r["rule"] == "sla-at-risk")
    assert at_risk["fired"] is False
    assert at_risk["next_at"] == "2026-11-06T09:45:00Z"
    later = explain(config.policy, story, at(5, 16))
    fired = {r["rule"]: r["fired_at"] for r in later["rules"] if r["fired"]}
    assert fired == {
        "sla-at-risk": ["2026-11-06T09:45:00Z"],
        "sla-breached": ["2026-11-06T10:00:00Z"],
        "resolution-confirmation": ["2026-11-06T15:00:00Z"],
    }
    results = {a["key"]: a["result"] for a in later["actions"]}
    assert results["zendesk:B5:L2:assign"] == "written"
    assert results["zendesk:B5:sla-breached:set_priority"] == "already true"  # already urgent


def test_the_command_writes_every_format(tmp_path: Path, store: StateStore) -> None:
    from typer.testing import CliRunner

    from escalator.cli import app

    env = {"ESCALATOR_STORE": store.where}
    written = {}
    for fmt in ("json", "csv", "md", "html"):
        out = tmp_path / f"report.{fmt}"
        args = ["report", "--month", "2026-11", "--format", fmt, "--out", str(out)]
        done = CliRunner().invoke(app, args, env=env)
        assert done.exit_code == 0, done.output
        written[fmt] = out.read_text(encoding="utf-8")
    # the month is over: the same numbers whenever it is run
    assert json.loads(written["json"])["escalated"] == 49
    assert "resolved_within_sla.overall.within_sla,40" in written["csv"]
    assert "Overall: **81.6 %** (40 of 49)" in written["md"]
    assert written["html"].count("<svg") == 3
    # one file, readable offline: nothing to fetch, no script
    assert 'src="' not in written["html"]
    assert "<script" not in written["html"]
    assert 'rel="stylesheet"' not in written["html"]
    bad = CliRunner().invoke(app, ["report", "--format", "pdf"], env=env)
    assert bad.exit_code == 2
    both = CliRunner().invoke(app, ["report", "--since", "7d", "--month", "2026-11"], env=env)
    assert both.exit_code == 2


def test_postgresql_gives_the_same_report(report: dict[str, Any], fresh_postgres_url: str) -> None:
    config = load_config(ROOT / "config")
    with open_store(fresh_postgres_url) as pg_store:
        fill_store(config, pg_store)
        on_postgres = report_from_store(pg_store, config, parse_period(None, "2026-11", NOW), NOW)
    assert on_postgres == report
