"""The report as JSON, CSV (one row per number, the same numbers as the JSON) and Markdown."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import orjson


def to_json(report: dict[str, Any]) -> str:
    # compact, by orjson (twice json's speed; the same text): a month of 100,000 tickets lists
    # tens of thousands of breaches (pipe it through `jq .` to read it)
    return orjson.dumps(report, option=orjson.OPT_NON_STR_KEYS).decode() + "\n"


def flatten(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every scalar of ``data`` with its dotted path (``sla_attainment.resolution.share``)."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from flatten(v, f"{path}.{k}" if path else str(k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from flatten(v, f"{path}.{i}")
    else:
        yield path, data


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["metric", "value"])
    for path, value in flatten(report):
        writer.writerow([path, "" if value is None else value])
    return out.getvalue()


# -- formatting shared by Markdown and HTML -------------------------------------------------------
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    if not rows:
        return ["_none_", ""]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _link(key: str, url: str | None) -> str:
    return f"[{key}]({url})" if url else key


def to_markdown(report: dict[str, Any]) -> str:
    r = report
    p = r["period"]
    within = r["resolved_within_sla"]
    lines = [
        f"# Escalation report — {p['label']}",
        "",
        f"{p['from']} to {p['to']}: {r['tickets']} tickets, {r['escalated']} escalated.",
        "",
        "## Escalated tickets resolved within SLA",
        "",
        f"Overall: **{percent(within['overall']['share'])}** "
        f"({within['overall']['within_sla']} of {within['overall']['escalated']})",
        "",
    ]
    for dim in ("priority", "source", "category", "level"):
        rows = [
            [k, v["escalated"], v["within_sla"], percent(v["share"])]
            for k, v in within[f"by_{dim}"].items()
        ]
        lines += [f"By {dim}:", "", *_table([dim, "escalated", "within SLA", "share"], rows)]
    ttr = r["time_to_resolution"]
    lines += [
        "## Time to resolution (escalated)",
        "",
        f"{ttr['count']} resolved; mean {duration(ttr['mean_seconds'])}, "
        f"median {duration(ttr['median_seconds'])}.",
        "",
        "Time at each level:",
        "",
        *_table(
            ["level", "escalations", "mean", "median"],
            [
                [n, s["count"], duration(s["mean_seconds"]), duration(s["median_seconds"])]
                for n, s in r["time_at_level"].items()
            ],
        ),
        "## Escalations",
        "",
        f"{r['escalations']['total']} escalations.",
        "",
    ]
    for dim in ("category", "level", "rule", "source", "organization"):
        rows = [[k, n] for k, n in r["escalations"][f"by_{dim}"].items()]
        lines += [f"By {dim}:", "", *_table([dim, "escalations"], rows)]
    lines += [
        "## Repeated problems",
        "",
        *_table(
            ["organisation", "category", "recurrence hits"],
            [[x["organization"], x["category"], x["hits"]] for x in r["recurrence"]],
        ),
        "## Most common problems",
        "",
        *_table(
            ["category", "tickets", "escalated"],
            [[x["category"], x["tickets"], x["escalated"]] for x in r["common_problems"]],
        ),
        "## SLA attainment",
        "",
        *_table(
            ["target", "met", "breached", "attainment"],
            [
                [k, v["met"], v["breached"], percent(v["share"])]
                for k, v in r["sla_attainment"].items()
            ],
        ),
        "Breaches:",
        "",
        *_table(
            ["ticket", "target", "priority", "breached at", "by"],
            [
                [
                    _link(b["ticket"], b["url"]),
                    b["target"],
                    b["priority"],
                    b["breached_at"],
                    duration(b["by_seconds"]),
                ]
                for b in r["breaches"]
            ],
        ),
        "## Team responsiveness",
        "",
        "From reaching a level to the assigned group's first action:",
        "",
        *_table(
            ["group", "escalations acted on", "mean", "median", "no action yet"],
            [
                [
                    g,
                    s["count"],
                    duration(s["mean_seconds"]),
                    duration(s["median_seconds"]),
                    s["no_action_yet"],
                ]
                for g, s in r["responsiveness"].items()
            ],
        ),
        "## Customer satisfaction after escalation",
        "",
        f"{r['satisfaction']['good']} good of {r['satisfaction']['rated']} rated: "
        f"{percent(r['satisfaction']['share_good'])}.",
        "",
        "## Resolution confirmation",
        "",
        f"Asked {r['confirmation']['asked']}: confirmed {r['confirmation']['confirmed']} "
        f"({percent(r['confirmation']['share_confirmed'])}), reopened "
        f"{r['confirmation']['reopened']} ({percent(r['confirmation']['share_reopened'])}), "
        f"silent {r['confirmation']['silent']} ({percent(r['confirmation']['share_silent'])}).",
        "",
        "## Post-escalation reviews",
        "",
        f"Opened {r['reviews']['opened']}, still open {r['reviews']['still_open']}.",
        "",
        *_table(
            ["ticket", "review", "linked issue", "open"],
            [
                [
                    _link(x["ticket"], x["url"]),
                    x["rule"],
                    x["issue"] or "-",
                    "yes" if x["open"] else "no",
                ]
                for x in r["reviews"]["list"]
            ],
        ),
        "## Resolution timelines (slowest escalated tickets)",
        "",
        *_table(
            ["ticket", "created", "levels", "resolved", "took"],
            [
                [
                    _link(t["ticket"], t["url"]),
                    t["created_at"],
                    "; ".join(f"L{x['level']} {x['at']}" for x in t["levels"]),
                    t["resolved_at"],
                    duration(t["seconds"]),
                ]
                for t in r["timelines"]
            ],
        ),
        "## Service credits",
        "",
        *_table(
            ["organisation", "month", "contract", "breaches", "earned", "credited", "credit"],
            [
                [
                    c["organization"],
                    c["month"],
                    c["contract"],
                    len(c["breaches"]),
                    f"{c['earned_percent']} %",
                    f"{c['credited_percent']} %" + (" (cap)" if c["capped"] else ""),
                    f"{c['credit']:.2f} {c['currency']}",
                ]
                for c in r["credits"]
            ],
        ),
    ]
    return "\n".join(lines)
