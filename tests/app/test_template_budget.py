"""Templates are compiled and rendered once at load under a time, memory and size budget: what
would hang or exhaust the service is refused with a message, what is ordinary still renders."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from jinja2.exceptions import SecurityError

from escalator.config.template_budget import ENVIRONMENT, render_capped, run_renderer
from escalator.config.templates import SAMPLE_CONTEXT, compile_template

ROOT = Path(__file__).resolve().parents[2]

REFUSED = [
    ('{{ "x" * 10**9 }}', "is refused: a repetition longer than 50,000 characters"),
    ("{{ 10 ** 1000000 }}", "is refused: 10 ** 1000000 is too large a number"),
    ('{{ "x" | center(10**9) }}', "is refused: a parameter of 1000000000 is larger than the "
     "100,000 allowed"),
    ('{{ "%999999999d" % 1 }}', "is refused: a format width or precision larger than 99,999"),
    ('{{ "%999999999d" | format(1) }}', "is refused: a format width or precision larger than "
     "99,999"),
    ('{{ "{:>999999999}".format(1) }}', "is refused: a format width or precision larger than "
     "99,999"),
    ('{{ "%*d" % (10**9, 1) }}', "is refused: a parameter of 1000000000 is larger than the "
     "100,000 allowed"),
    ('{{ ("x" * 50000) | replace("", "y" * 50000) }}', "is refused: replace() would make more "
     "than 50,000 characters"),
    ("{% for i in range(90000) %}abcdef{% endfor %}", "is refused: it renders more than 50,000 "
     "characters"),
    ('{% set ns = namespace(s="x") %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}'
     "{% endfor %}{{ ns.s | length }}", "is refused: a joined value grew past 50,000 characters"),
    ('{% set ns = namespace(l=[]) %}{% for i in range(100000) %}'
     '{% set ns.l = ns.l + ["x" * 40000 ~ i] %}{% endfor %}{{ ns.l | length }}',
     "is refused: it needs more than 16 MB to render"),
    ('{% for c in "x" * 40000 %}{% for d in "y" * 40000 %}{% endfor %}{% endfor %}',
     "is refused: it takes more than 0.5 s to render"),
    ("{{ range(10**6) | list }}", "is refused: a parameter of 1000000 is larger than the "
     "100,000 allowed"),
    ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "fails with sample values: "
     "RecursionError: maximum recursion depth exceeded"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "message"), REFUSED)
def test_costly_templates_are_refused_at_load(source: str, message: str) -> None:
    started = time.monotonic()
    render, problems = compile_template("t", source)
    assert render is None
    assert [p.line for p in problems] == [1]
    assert problems[0].message.startswith(f"template 't' {message}"), problems[0].message
    assert time.monotonic() - started < 5  # 0.5 s for the slow loop; a busy machine adds


ORDINARY = [
    ("{{ 1000000 | filesizeformat }}", "1.0 MB"),
    ('{{ "%05.1f" | format(2.25) }}', "002.2"),
    ('{{ "{}: 1000000".format(ticket.id) }}', "42: 1000000"),
    ("{{ ticket.title | truncate(9, true, '...', 0) }}", "Cannot..."),
    ('{{ "=" * 20 }}', "===================="),
    ("{% for i in range(3) %}{{ i }}{% endfor %}", "012"),
]


@pytest.mark.parametrize(("source", "rendered"), ORDINARY)
def test_ordinary_templates_render(source: str, rendered: str) -> None:
    render, problems = compile_template("t", source)
    assert problems == []
    assert render is not None
    assert render(SAMPLE_CONTEXT) == rendered


def test_a_render_that_fails_at_run_time_says_so_instead_of_raising() -> None:
    render, _ = compile_template("t", "{{ ticket.title }}")
    assert render is not None
    assert render({"ticket": {"title": "x" * 60_000}}) == (
        "[template 't' could not be rendered: TemplateTooCostly]"
    )


def test_a_run_time_render_is_the_checked_render() -> None:
    """What an action's text renders with (``run_renderer``) gives what the load-time checks
    rendered (``render_capped``), for the reference templates and the ordinary ones above."""
    sources = [source for source, _ in ORDINARY]
    sources += [str(s) for s in yaml.safe_load((ROOT / "config" / "templates.yaml").read_text())
                ["templates"].values()]  # fmt: skip
    assert len(sources) > len(ORDINARY)
    for source in sources:
        template = ENVIRONMENT.from_string(source)
        assert run_renderer(template)(SAMPLE_CONTEXT) == render_capped(template, SAMPLE_CONTEXT)


def test_the_output_cap_holds_at_run_time_chunk_by_chunk() -> None:
    render, _ = compile_template("t", "{% for c in ticket.title %}{{ c }}{% endfor %}")
    assert render is not None
    assert render({"ticket": {"title": "x" * 50_000}}) == "x" * 50_000  # at the cap: allowed
    assert render({"ticket": {"title": "x" * 50_001}}) == (
        "[template 't' could not be rendered: TemplateTooCostly]"
    )


def test_the_sandbox_holds_at_run_time() -> None:
    render, _ = compile_template("t", "{{ ticket.title }}")
    assert render is not None
    sneaky = compile_template("t", "{{ ticket.title.__class__ }}")
    assert sneaky[0] is None  # refused at load already
    template = ENVIRONMENT.from_string("{{ ticket.__class__.__mro__ }}")
    with pytest.raises(SecurityError):
        run_renderer(template)({"ticket": object()})
