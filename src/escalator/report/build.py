"""The period a report covers, reading the store, and choosing the output format."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from escalator.config import Config
from escalator.gcpause import collector_paused
from escalator.report.facts import ticket_facts
from escalator.report.kpis import Period, build_report

__all__ = ["FORMATS", "Period", "parse_period", "render", "report_from_store"]
from escalator.store import StateStore

FORMATS = ("md", "html", "csv", "json")
_SINCE = re.compile(r"^(\d+)([dhw])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(since: str | None, month: str | None, now: datetime) -> Period:
    """``--since 30d`` (up to now) or ``--month 2026-11`` (that calendar month, UTC)."""
    if since and month:
        raise ValueError("give --since or --month, not both")
    if month:
        m = _MONTH.match(month)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"--month {month!r}: expected a month like 2026-11")
        start = datetime(int(m.group(1)), int(m.group(2)), 1, tzinfo=UTC)
        end = (start + timedelta(days=32)).replace(day=1)
        return Period(start, end, start.strftime("%B %Y"))
    text = since or "30d"
    s = _SINCE.match(text)
    if not s:
        raise ValueError(f"--since {text!r}: expected a span like 30d, 12h or 4w")
    unit = {"d": timedelta(days=1), "h": timedelta(hours=1), "w": timedelta(weeks=1)}[s.group(2)]
    return Period(now - int(s.group(1)) * unit, now, f"last {text}")


def report_from_store(
    store: StateStore, config: Config, period: Period, now: datetime
) -> dict[str, Any]:
    """The KPIs of ``period``, each ticket as it stood at the period's end (or now)."""
    as_of = min(period.end, now)
    # reading makes millions of objects and no reference cycles: pausing the cycle collector
    # spares it from walking them all again and again (as the planner does for a re-plan)
    with collector_paused():
        return _counted(store, config, period, as_of)


def _counted(store: StateStore, config: Config, period: Period, as_of: datetime) -> dict[str, Any]:
    # its own frame: the rows and facts are freed as it returns, before the collector is back
    # (left alive, the collector's first pass would walk every one of them)
    applied = store.applied_payloads()
    facts = ticket_facts(config.policy, store.ticket_payloads(), applied, as_of)
    return build_report(config.policy, facts, period, dict(config.model.contracts))


def render(report: dict[str, Any], fmt: str) -> str:
    from escalator.report import text

    if fmt == "json":
        return text.to_json(report)
    if fmt == "csv":
        return text.to_csv(report)
    if fmt == "md":
        return text.to_markdown(report)
    if fmt == "html":
        from escalator.report.html import to_html

        return to_html(report)
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
