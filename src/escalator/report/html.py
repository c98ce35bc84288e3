"""The report as one self-contained HTML file: inline CSS and SVG charts, no script, no network.

Every number shown carries ``data-kpi`` (its dotted path in the JSON report) and ``data-value``
(the JSON value), so a reader — or a test — can check the page against the JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from escalator.report.charts import all_charts
from escalator.report.text import duration, percent

_TEMPLATE = Path(__file__).with_name("report.html.j2")


def shown(value: Any, kind: str = "") -> str:
    """How a number of the JSON report is written on the page."""
    if kind == "%":
        return percent(value)
    if kind == "s":
        return duration(value)
    if kind == "pct":
        return f"{value} %"
    if kind == "money":
        return f"{value:.2f}"
    return "—" if value is None else str(value)


def _num(path: str, value: Any, kind: str = "") -> Markup:
    return Markup('<span data-kpi="{}" data-value="{}" data-kind="{}">{}</span>').format(
        path, json.dumps(value), kind, shown(value, kind)
    )


_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_ENV.globals["num"] = _num


def to_html(report: dict[str, Any]) -> str:
    charts = [(name, Markup(svg)) for name, svg in all_charts(report)]
    return _ENV.from_string(_TEMPLATE.read_text(encoding="utf-8")).render(r=report, charts=charts)
