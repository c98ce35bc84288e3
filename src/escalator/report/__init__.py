"""``escalator report``: escalation KPIs, SLA attainment and service credits from the store.

``report_from_store`` reads the store once and returns the report as one JSON-ready dict;
``render`` writes it as md, html, csv or json (the same numbers in each).
"""

from __future__ import annotations

from escalator.report.build import FORMATS, Period, parse_period, render, report_from_store

__all__ = ["FORMATS", "Period", "parse_period", "render", "report_from_store"]
