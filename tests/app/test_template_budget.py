"""Templates are compiled and rendered once at load under a time, memory and size budget: what
would hang or exhaust the service is refused with a message, what is ordinary still renders."""

from __future__ import annotations

import time

import pytest

from escalator.config.templates import SAMPLE_CONTEXT, compile_template

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
