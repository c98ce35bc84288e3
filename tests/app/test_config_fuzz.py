"""Fuzzing the config loader and the timeline loader: no input crashes or hangs them.

Whatever the bytes, ``load_config`` returns a ``Config`` or raises ``ConfigError`` (every
failure a ``file:line:column`` problem), and so does ``load_timeline``; each within the load
budget. A timeline that loads also replays through the shipped policy without a traceback.
Three kinds of input per loader: raw text and bytes, random YAML shaped like the real thing
(known keys, random values), and the shipped files with random edits.

CI runs a few thousand examples per loader in under 30 s. The nightly run goes much further:

    HYPOTHESIS_PROFILE=nightly .venv/bin/pytest tests/app/test_config_fuzz.py
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.simulation import SimulationError, simulate
from escalator.config import ConfigError, load_config
from escalator.config.templates import SAMPLE_CONTEXT, compile_template
from escalator.timeline import load_timeline

# heavy or a real subprocess: out of `pytest -m "not slow"`, in `make test`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
_COMMON = {
    "deadline": None,  # wall time varies with the machine's load: loads_cleanly counts CPU
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
# CI: the same examples every run (no flakes, no database); nightly: new ones each night,
# failures kept in .hypothesis/ and printed with a blob that replays them
settings.register_profile("ci", derandomize=True, database=None, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("nightly", max_examples=50_000, print_blob=True, **_COMMON)  # type: ignore[arg-type]
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
HANG = 15.0  # CPU seconds
NIGHTLY = PROFILE == "nightly"


def fuzz(ci_examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The examples for this test in CI; the nightly profile's count otherwise."""
    profile = settings.get_profile(PROFILE if PROFILE in ("ci", "nightly") else "ci")
    return settings(profile, max_examples=profile.max_examples if NIGHTLY else ci_examples)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def loads_cleanly(load: Callable[[Path], Any], path: Path) -> None:
    """A result or a ConfigError whose every problem names a spot, within the budget."""
    started = time.thread_time()  # CPU seconds: a busy machine slows the wall clock, not this
    problems = []
    try:
        load(path)
    except ConfigError as exc:
        problems = exc.problems
        assert problems
    # a hang detector, not the budget (tested in test_config_mistakes): after a long nightly
    # run, one garbage collection of the test process's heap has taken 4 s
    assert time.thread_time() - started < HANG
    for p in problems:
        assert p.file
        assert p.line >= 1
        assert p.column >= 1
        assert p.message


def replays_cleanly(path: Path) -> None:
    """A timeline that loads replays (``simulate``) to its end or to a ``SimulationError``."""
    loads_cleanly(load_timeline, path)
    try:
        timeline = load_timeline(path)
    except ConfigError:
        return
    started = time.thread_time()
    with contextlib.suppress(SimulationError):
        simulate(POLICY, timeline.tickets, timeline.events, timeline.until)
    assert time.thread_time() - started < HANG


# -- inputs ------------------------------------------------------------------------------------
CONFIG_KEYS = [
    "calendars", "sla", "levels", "rules", "templates", "channels", "sources", "service",
    "timezone", "hours", "holidays", "always_open", "monday", "dates", "country", "policies",
    "targets", "calendar", "first_response", "resolution", "when", "then", "name", "label",
    "escalate_to", "sla", "priority", "status", "any", "all", "not", "add_labels", "notify",
    "create_linked_issue", "system", "project", "summary", "description", "kind", "url",
    "enabled", "poll_interval", "at_risk_percent", "clocks", "runs_while", "level", "at_least",
    "public_comment", "internal_note", "recurrence", "window", "type",
]  # fmt: skip
TIMELINE_KEYS = [
    "until", "tickets", "events", "id", "system", "created_at", "priority", "status", "title",
    "at", "ticket", "comment", "author", "public", "body", "set", "linked_issue", "labels",
    "affected_users", "category", "organization", "customer_tier",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "2026-02-30", "2026-03-09T10:00:00Z", "2026-03-09T10:00:00", "09:00-17:00",
            "17:00-09:00", "1h", "0", "30d", "Europe/London", "BST", "${VAR}", "${VAR", "$VAR",
            "{{ 1/0 }}", "{{ x | nosuch }}", "{% for i in range(99999) %}{% endfor %}",
            "urgent", "open", "solved", "agent", "bot", "resolved", "slack", "jira", "at_risk",
        ]
    ),
)  # fmt: skip


def shaped(keys: list[str]) -> st.SearchStrategy[Any]:
    """Nested YAML data whose keys are mostly the loader's own, so inputs get past the top."""
    key = st.one_of(st.sampled_from(keys), st.integers(0, 4), st.text(max_size=8))
    return st.recursive(
        SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(key, inner, max_size=5)
        ),
        max_leaves=25,
    )


def mutated(text: str) -> st.SearchStrategy[str]:
    """``text`` with a few random edits: spans replaced, lines dropped, doubled or re-indented."""

    @st.composite
    def edit(draw: st.DrawFn) -> str:
        out = text
        for _ in range(draw(st.integers(1, 3))):
            lines = out.split("\n")
            i = draw(st.integers(0, max(len(lines) - 1, 0)))
            how = draw(st.sampled_from(["replace", "drop", "double", "indent", "dedent", "alias"]))
            if how == "replace":
                a = draw(st.integers(0, len(out)))
                b = draw(st.integers(a, min(a + 20, len(out))))
                out = out[:a] + draw(st.text(max_size=12)) + out[b:]
                continue
            if how == "drop":
                del lines[i]
            elif how == "double":
                lines.insert(i, lines[i])
            elif how == "indent":
                lines[i] = " " + lines[i]
            elif how == "dedent":
                lines[i] = lines[i].removeprefix(" ")
            else:
                lines.insert(i, "x: &a [*a]" if draw(st.booleans()) else "y: &b {<<: *b}")
            out = "\n".join(lines)
        return out

    return edit()


def _merged(directory: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(directory.glob("*.yaml")))


SHIPPED = _merged(ROOT / "config")
POLICY = load_config(ROOT / "config").policy
TIMELINE = (ROOT / "examples" / "timeline.yaml").read_text()


# -- the config loader -------------------------------------------------------------------------
@fuzz(1500)
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_config_loader_survives_any_bytes(scratch: Path, raw: bytes) -> None:
    (scratch / "config.yaml").write_bytes(raw)
    loads_cleanly(load_config, scratch / "config.yaml")


@fuzz(600)
@given(data=st.dictionaries(st.sampled_from(CONFIG_KEYS), shaped(CONFIG_KEYS), max_size=6))
def test_config_loader_survives_config_shaped_yaml(scratch: Path, data: dict[str, Any]) -> None:
    (scratch / "config.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    loads_cleanly(load_config, scratch / "config.yaml")


@fuzz(150)
@given(text=mutated(SHIPPED))
def test_config_loader_survives_edits_of_the_shipped_config(scratch: Path, text: str) -> None:
    (scratch / "config.yaml").write_text(text)
    loads_cleanly(load_config, scratch / "config.yaml")


# -- the timeline loader -----------------------------------------------------------------------
@fuzz(1500)
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_timeline_loader_survives_any_bytes(scratch: Path, raw: bytes) -> None:
    (scratch / "timeline.yaml").write_bytes(raw)
    loads_cleanly(load_timeline, scratch / "timeline.yaml")


@fuzz(600)
@given(data=st.dictionaries(st.sampled_from(TIMELINE_KEYS), shaped(TIMELINE_KEYS), max_size=4))
def test_timeline_loader_survives_timeline_shaped_yaml(scratch: Path, data: dict[str, Any]) -> None:
    (scratch / "timeline.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    replays_cleanly(scratch / "timeline.yaml")


@fuzz(400)
@given(text=mutated(TIMELINE))
def test_timeline_loader_survives_edits_of_the_example(scratch: Path, text: str) -> None:
    (scratch / "timeline.yaml").write_text(text)
    replays_cleanly(scratch / "timeline.yaml")


# -- templates ---------------------------------------------------------------------------------
FRAGMENTS = [
    "{{ ", " }}", "{% ", " %}", "{% for i in range(", ") %}", "{% endfor %}", "{% if ",
    "{% endif %}", "{% set ns = namespace(s='x') %}", "{% set ns.s = ns.s ~ ns.s %}", "ticket.",
    "title", "id", "affected_users", "level", "target", "sla", ".items()", "levels_reached",
    " | ", "truncate(", "center(", "format(", "join", "list", "length", "replace(", "upper",
    "default(", " ~ ", " * ", " ** ", " / ", " // ", " % ", " + ", "(", ")", "[", "]", ",",
    "'x'", '"%s"', '"%999999d"', "'{:>9999999}'", "0", "1", "9", "99999", "10**9", "-1", "none",
    " is ", "defined", "divisibleby(0)", " and ", " or ", " not ", "{# c #}", "\n", "x", " ",
]  # fmt: skip


@fuzz(2000)
@given(parts=st.lists(st.sampled_from(FRAGMENTS), max_size=24))
def test_template_compiler_survives_any_template(parts: list[str]) -> None:
    """Whatever an admin writes, compiling gives a renderer or problems, within the budget;
    and a renderer renders the sample without raising."""
    started = time.thread_time()
    render, problems = compile_template("t", "".join(parts))
    assert time.thread_time() - started < HANG
    assert (render is None) == bool(problems)
    if render is not None:
        assert isinstance(render(SAMPLE_CONTEXT), str)
