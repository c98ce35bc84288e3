"""The report's charts: Vega-Lite specs built with altair, rendered to inline SVG by
vl-convert (no browser, no network), from the report dict's own numbers."""

from __future__ import annotations

from typing import Any

import altair as alt
import vl_convert

WIDTH = 520


def _svg(chart: alt.Chart) -> str:
    svg: str = vl_convert.vegalite_to_svg(chart.to_dict())
    return svg


def attainment_by_week(report: dict[str, Any]) -> str:
    rows = [r for r in report["sla_attainment_by_week"] if r["share"] is not None]
    chart = (
        alt.Chart(alt.InlineData(values=rows), title="SLA attainment per week (all targets)")
        .mark_line(point=True)
        .encode(
            x=alt.X("week:O", title="week the ticket was created"),
            y=alt.Y(
                "share:Q",
                title="targets met",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            tooltip=["week:O", "met:Q", "breached:Q"],
        )
        .properties(width=WIDTH, height=220)
    )
    return _svg(chart)


def escalations_by_category_and_level(report: dict[str, Any]) -> str:
    chart = (
        alt.Chart(
            alt.InlineData(values=report["escalations_by_category_and_level"]),
            title="Escalations by category and level",
        )
        .mark_bar()
        .encode(
            x=alt.X("escalations:Q", title="escalations"),
            y=alt.Y("category:N", title=None, sort="-x"),
            color=alt.Color("level:O", title="level"),
        )
        .properties(width=WIDTH, height=200)
    )
    return _svg(chart)


def time_at_level(report: dict[str, Any]) -> str:
    rows = report["time_at_level_distribution"]
    order = list(dict.fromkeys(r["bucket"] for r in rows))
    chart = (
        alt.Chart(alt.InlineData(values=rows), title="Time at each level")
        .mark_bar()
        .encode(
            x=alt.X("bucket:O", title="time at the level", sort=order),
            xOffset=alt.XOffset("level:O"),
            y=alt.Y("escalations:Q", title="escalations"),
            color=alt.Color("level:O", title="level"),
        )
        .properties(width=WIDTH, height=220)
    )
    return _svg(chart)


def all_charts(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, inline SVG) of each chart."""
    return [
        ("attainment-by-week", attainment_by_week(report)),
        ("escalations-by-category-and-level", escalations_by_category_and_level(report)),
        ("time-at-level", time_at_level(report)),
    ]
