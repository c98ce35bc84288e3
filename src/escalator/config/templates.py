"""Customer-update, note and notification templates: Jinja2 in a sandbox.

A template sees only the context the planner builds (plain dicts and strings); the immutable
sandbox (``template_budget``) refuses attribute access to Python internals and costly
operations, and ``StrictUndefined`` turns a typo into an error at load time, when the template
is compiled (unknown filters and tests) and rendered once against a full sample context under a
time and size budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError

from engine.policy import Template
from escalator.config.errors import did_you_mean
from escalator.config.template_budget import (
    ENVIRONMENT,
    MAX_RENDER_SECONDS,
    MAX_TEMPLATE_CHARS,
    TemplateTooCostly,
    run_renderer,
    template_line,
    trial_render,
)

_ENV = ENVIRONMENT

_SAMPLE_TIME = "Monday 09 March 2026, 11:00 GMT"
_TARGET = {
    "due": _SAMPLE_TIME,
    "met_at": None,
    "breached_at": None,
    "running": True,
    "elapsed_percent": 80,
}

SAMPLE_CONTEXT: Mapping[str, Any] = {
    "ticket": {
        "id": "42",
        "key": "zendesk:42",
        "system": "zendesk",
        "title": "Cannot log in",
        "url": "https://example.zendesk.com/agent/tickets/42",
        "status": "open",
        "priority": "high",
        "sla_priority": "high",
        "organization": "Acme",
        "requester": "customer@example.com",
        "category": "technical",
        "customer_tier": "enterprise",
        "affected_users": 12,
        "group": "Support",
        "assignee": None,
    },
    "sla": {"first_response": _TARGET, "next_update": _TARGET, "resolution": _TARGET},
    "sla_policy": "standard",
    "promised_update": _SAMPLE_TIME,
    "levels_reached": [
        {
            "number": 1,
            "name": "Team Lead",
            "at": _SAMPLE_TIME,
            "left_at": _SAMPLE_TIME,
            "time_at_level": "2h 15m",
        }
    ],
    "breaches": [{"target": "first response", "at": _SAMPLE_TIME}],
    "changes": [
        {"at": _SAMPLE_TIME, "field": "assignee", "old": None, "new": "avery@example.com"}
    ],
    "now": _SAMPLE_TIME,
    "request": {"level": 2, "label": "escalate-l2", "by": "avery@example.com"},
    "agent_note": "Login fails for all SSO users since 09:00. Tried: cache purge, IdP re-sync.",
    "rule": {"name": "sla-breached", "description": "a target breached"},
    "level": {
        "number": 2,
        "name": "Department Manager",
        "group": "Support Managers",
        "channel": "support-manager",
    },
    "target": {"name": "first_response", "label": "first response", "due": _SAMPLE_TIME},
}
VARIABLES = frozenset(SAMPLE_CONTEXT)


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    line: int  # 1-based line within the template text
    message: str


def compile_template(  # noqa: PLR0911
    name: str, source: str, seconds: float = MAX_RENDER_SECONDS
) -> tuple[Template | None, list[TemplateProblem]]:
    """Compile and check ``source``; returns the renderer or the problems found."""
    if len(source) > MAX_TEMPLATE_CHARS:
        return None, [
            TemplateProblem(
                1,
                f"template {name!r} is {len(source):,} characters long; "
                f"templates are limited to {MAX_TEMPLATE_CHARS:,}",
            )
        ]
    try:
        ast = _ENV.parse(source)
        unknown = _unknown_filters_and_tests(name, ast)
        if unknown:
            return None, unknown
        template = _ENV.from_string(source)
    except TemplateSyntaxError as exc:
        return None, [TemplateProblem(exc.lineno or 1, f"template {name!r}: {exc.message}")]
    except TemplateTooCostly as exc:  # Jinja folds constant filter calls while compiling
        return None, [TemplateProblem(1, f"template {name!r} is refused: {exc}")]
    except Exception as exc:  # e.g. RecursionError on an expression nested thousands deep
        return None, [TemplateProblem(1, f"template {name!r} cannot be compiled: {_describe(exc)}")]
    problems = [
        TemplateProblem(
            _line_of(source, var),
            f"template {name!r} uses unknown variable {var!r} "
            f"(known: {', '.join(sorted(VARIABLES))})",
        )
        for var in sorted(meta.find_undeclared_variables(ast) - VARIABLES)
    ]
    if problems:
        return None, problems
    try:
        trial_render(template, SAMPLE_CONTEXT, seconds)
    except UndefinedError as exc:
        return None, [
            TemplateProblem(_line_of(source, _missing(exc)), f"template {name!r}: {exc.message}")
        ]
    except SecurityError as exc:
        return None, [TemplateProblem(1, f"template {name!r} is not allowed: {exc}")]
    except TemplateTooCostly as exc:
        return None, [
            TemplateProblem(template_line(template, exc), f"template {name!r} is refused: {exc}")
        ]
    except Exception as exc:  # 1/0, a filter given the wrong arguments: whatever the sample hits
        return None, [
            TemplateProblem(
                template_line(template, exc),
                f"template {name!r} fails with sample values: {_describe(exc)}",
            )
        ]

    capped = run_renderer(template)

    def render(context: Mapping[str, Any]) -> str:
        try:
            return capped(context).strip()
        except (Exception, TemplateTooCostly) as exc:  # a last guard: one ticket can't stop a plan
            return f"[template {name!r} could not be rendered: {type(exc).__name__}]"

    return render, []


def usage_problem(
    source: str, *, level: bool, target: bool, seconds: float = MAX_RENDER_SECONDS
) -> str | None:
    """Why ``source`` cannot render where ``level`` / ``target`` may be absent, if it can't."""
    context = dict(SAMPLE_CONTEXT)
    if not level:
        context["level"] = None
    if not target:
        context["target"] = None
    missing = [name for name, given in (("level", level), ("target", target)) if not given]
    try:
        trial_render(_ENV.from_string(source), context, seconds)
    except (UndefinedError, TypeError) as exc:
        return (
            f"{exc}: here {' and '.join(missing)} may be empty (guard with {{% if {missing[0]} %}})"
        )
    except TemplateTooCostly as exc:
        return str(exc)
    except Exception as exc:
        return f"it fails when {' and '.join(missing)} is empty: {_describe(exc)}"
    return None


def _unknown_filters_and_tests(name: str, ast: nodes.Template) -> list[TemplateProblem]:
    """Every filter and test the template names that Jinja does not have, wherever it is used
    (a test in a branch the sample does not take would otherwise fail only at run time)."""
    problems = []
    for kind, node_type, known in (
        ("filter", nodes.Filter, _ENV.filters),
        ("test", nodes.Test, _ENV.tests),
    ):
        for node in ast.find_all(node_type):
            assert isinstance(node, nodes.Filter | nodes.Test)
            if node.name not in known:
                problems.append(
                    TemplateProblem(
                        node.lineno,
                        f"template {name!r}: unknown {kind} {node.name!r}"
                        f"{did_you_mean(node.name, known)}",
                    )
                )
    return problems


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _missing(exc: UndefinedError) -> str:
    message = exc.message or ""
    return message.split("'")[3] if message.count("'") >= 4 else message


def _line_of(source: str, word: str) -> int:
    for number, line in enumerate(source.splitlines(), start=1):
        if word and word in line:
            return number
    return 1
