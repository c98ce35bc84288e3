"""`escalator validate` on issue 12's examples (repeat, acknowledge, round_robin, requested,
step_down_to, request labels, digests): uncommented they are valid; each mistake in them gives
exit 2 and ``file:line:column`` at the mistake (found in the edited file, so other work moving
the shipped config's lines does not break these tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.validate_cli import SECRETS, replace, run
from tests.people_config import people_config


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return people_config(tmp_path)


def test_the_examples_uncommented_are_valid(config: Path) -> None:
    code, out = run(config, env=SECRETS)
    assert code == 0, out
    assert "3 levels, 11 rules, 10 templates, 3 channels, 3 sources" in out


# (file, old, new, the line's text, the token the column points at, the message)
CASES = [
    pytest.param(
        "escalation.yaml", "calendar: 24x7}", "calender: 24x7}", "calender", "calender",
        "unknown key 'calender' (did you mean 'calendar'?)", id="repeat-unknown-key",
    ),
    pytest.param(
        "escalation.yaml", "times: 3,", "times: three,", "times: three", "three",
        "levels.3.repeat.times: Input should be a valid integer, unable to parse string as an "
        "integer", id="repeat-wrong-type",
    ),
    pytest.param(
        "escalation.yaml", "calendar: 24x7}", "calendar: 24x8}", "24x8", "24x8",
        "unknown calendar '24x8' (did you mean '24x7'?)", id="repeat-unknown-calendar",
    ),
    pytest.param(
        "escalation.yaml", "acknowledge: [reply, assignee, page]", "acknowledge: [reply, pager]",
        "pager", "pager", "levels.3.acknowledge.1: Input should be 'reply', 'assignee' or 'page'",
        id="acknowledge-unknown-source",
    ),
    pytest.param(
        "escalation.yaml", "- {notify: support-manager, user:", "- {notify: support-managr, user:",
        "support-managr", "support-managr",
        "unknown channel 'support-managr' (did you mean 'support-manager'?)",
        id="round-robin-unknown-channel",
    ),
    pytest.param(
        "escalation.yaml", "when: {requested: {level: 2}}", "when: {requested: {level: 5}}",
        "{requested: {level: 5}}", "5}}", "unknown level 5", id="requested-unknown-level",
    ),
    pytest.param(
        "escalation.yaml", "step_down_to: 1", "step_down_to: 3", "step_down_to: 3", "3",
        "cannot step down to level 3: it must be below the top level (levels are 1, 2, 3; 0 is "
        "no escalation)", id="step-down-to-the-top",
    ),
    pytest.param(
        "escalation.yaml", "stand_down: stood-down", "stand_down: stood-dow", "down: stood-dow",
        "stood-dow", "unknown template 'stood-dow' (did you mean 'stood-down'?)",
        id="stand-down-unknown-template",
    ),
    pytest.param(
        "channels.yaml", "channel: support-manager\n    at:", "channel: support-managr\n    at:",
        "support-managr", "support-managr",
        "unknown channel 'support-managr' (did you mean 'support-manager'?)",
        id="digest-unknown-channel",
    ),
    pytest.param(
        "channels.yaml", 'at: "09:00"', 'at: "9am"', "9am", '"9am"',
        "digests.morning-review.at: expected a time of day like 09:00, got '9am'",
        id="digest-not-a-time",
    ),
    pytest.param(
        "channels.yaml", "calendar: support-hours\n", "calendar: support-hour\n",
        "support-hour", "support-hour",
        "unknown calendar 'support-hour' (did you mean 'support-hours'?)",
        id="digest-unknown-calendar",
    ),
    pytest.param(
        "sources.yaml", "escalate-l3: 3}", "escalate-l3: 4}", "escalate-l3: 4", "4}",
        "unknown level 4 (levels are 1-3)", id="request-label-unknown-level",
    ),
    pytest.param(
        "sources.yaml", "    jira: {labels:", "    jra: {labels:", "jra:", "jra",
        "unknown source 'jra' (did you mean 'jira'?)", id="request-labels-unknown-source",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("file", "old", "new", "line_text", "token", "message"), CASES)
def test_a_mistake_in_an_example_is_pointed_at(
    config: Path, file: str, old: str, new: str, line_text: str, token: str, message: str
) -> None:
    replace(config / file, old, new)
    lines = (config / file).read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if line_text in text)
    column = lines[line - 1].index(token) + 1
    code, out = run(config, env=SECRETS)
    assert code == 2, out
    assert f"{config}/{file}:{line}:{column}: {message}" in out.splitlines(), out
    assert "Traceback" not in out


def test_acknowledge_without_repeat_is_refused(config: Path) -> None:
    replace(config / "escalation.yaml", "    repeat: {every: 30m, times: 3, calendar: 24x7}\n", "")
    lines = (config / "escalation.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "acknowledge: [" in text)
    code, out = run(config, env=SECRETS)
    assert code == 2, out
    assert (
        f"{config}/escalation.yaml:{line}:18: 'acknowledge' stops a repeat, and no 'repeat' "
        "is given" in out.splitlines()
    ), out


def test_a_rule_cannot_both_escalate_and_step_down(config: Path) -> None:
    replace(
        config / "escalation.yaml", "  step_down_to: 1", "  step_down_to: 1\n    escalate_to: 3"
    )
    lines = (config / "escalation.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "step_down_to: 1" in text)
    code, out = run(config, env=SECRETS)
    assert code == 2, out
    assert (
        f"{config}/escalation.yaml:{line}:19: a rule either escalates or steps down, not both"
        in out.splitlines()
    ), out
