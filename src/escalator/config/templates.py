"""Customer-update, note and notification templates: Jinja2 in a sandbox.

A template sees only the context the planner builds (plain dicts and strings); the immutable
sandbox refuses attribute access to Python internals, and ``StrictUndefined`` turns a typo into
an error at load time, when the template is rendered once against a full sample context.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.policy import Template

_ENV = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
)

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
    "levels_reached": [{"number": 1, "name": "Team Lead", "at": _SAMPLE_TIME}],
    "now": _SAMPLE_TIME,
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


def compile_template(name: str, source: str) -> tuple[Template | None, list[TemplateProblem]]:
    """Compile and check ``source``; returns the renderer or the problems found."""
    try:
        ast = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return None, [TemplateProblem(exc.lineno or 1, f"template {name!r}: {exc.message}")]
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
    template = _ENV.from_string(source)
    try:
        template.render(SAMPLE_CONTEXT)
    except UndefinedError as exc:
        return None, [
            TemplateProblem(_line_of(source, _missing(exc)), f"template {name!r}: {exc.message}")
        ]
    except SecurityError as exc:
        return None, [TemplateProblem(1, f"template {name!r} is not allowed: {exc}")]

    def render(context: Mapping[str, Any]) -> str:
        try:
            return template.render(context).strip()
        except Exception as exc:  # checked at load; a last guard so one ticket can't stop a plan
            return f"[template {name!r} could not be rendered: {type(exc).__name__}]"

    return render, []


def usage_problem(source: str, *, level: bool, target: bool) -> str | None:
    """Why ``source`` cannot render where ``level`` / ``target`` may be absent, if it can't."""
    context = dict(SAMPLE_CONTEXT)
    if not level:
        context["level"] = None
    if not target:
        context["target"] = None
    try:
        _ENV.from_string(source).render(context)
    except (UndefinedError, TypeError) as exc:
        missing = [name for name, given in (("level", level), ("target", target)) if not given]
        return (
            f"{exc}: here {' and '.join(missing)} may be empty (guard with {{% if {missing[0]} %}})"
        )
    return None


def _missing(exc: UndefinedError) -> str:
    message = exc.message or ""
    return message.split("'")[3] if message.count("'") >= 4 else message


def _line_of(source: str, word: str) -> int:
    for number, line in enumerate(source.splitlines(), start=1):
        if word and word in line:
            return number
    return 1
