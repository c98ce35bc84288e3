"""`escalator validate`: every broken config gives exit 2 and exact file:line:column messages."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.app.validate_cli import ROOT, SECRETS, replace, run


@pytest.fixture
def config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    return target


def test_the_shipped_config_is_valid(config: Path) -> None:
    code, out = run(config)
    assert code == 0, out
    assert out.count("\n") == 1
    assert (
        "ok — 2 calendars, 1 SLA policies, 3 levels, 9 rules, 8 templates, 3 channels, "
        "3 sources" in out
    )


def test_missing_secret_is_reported_where_it_is_used(config: Path) -> None:
    env = {k: v for k, v in SECRETS.items() if k != "SUPPORT_MANAGER_WEBHOOK_URL"}
    code, out = run(config, env=env)
    assert code == 2
    assert out.strip() == (
        f"{config}/channels.yaml:4:39: environment variable SUPPORT_MANAGER_WEBHOOK_URL is not "
        "set (needed by channels.support-manager.url)"
    )
    # simulate never needs secrets, and --no-secrets skips them
    assert run(config, "--no-secrets", env={})[0] == 0


CASES = [
    pytest.param(
        "escalation.yaml",
        "    escalate_to: 1\n\n  - name: sla-breached",
        "    escalate_too: 1\n\n  - name: sla-breached",
        "escalation.yaml:34:5: unknown key 'escalate_too' (did you mean 'escalate_to'?)",
        id="unknown-key",
    ),
    pytest.param(
        "sla.yaml",
        "high: {calendar: support-hours,",
        "high: {calendar: suport-hours,",
        "sla.yaml:15:26: unknown calendar 'suport-hours' (did you mean 'support-hours'?)",
        id="unknown-calendar",
    ),
    pytest.param(
        "escalation.yaml",
        "    escalate_to: 3\n\n  - name: major-impact",
        "    escalate_to: 4\n\n  - name: major-impact",
        "escalation.yaml:47:18: unknown level 4 (levels are 1, 2, 3)",
        id="unknown-level",
    ),
    pytest.param(
        "sla.yaml",
        "first_response: 1h, next_update: 2h",
        "first_response: soon, next_update: 2h",
        "sla.yaml:14:50: sla.policies.0.targets.urgent.first_response: expected a duration like "
        "30m, 4h or 1d, got 'soon'",
        id="wrong-type-duration",
    ),
    pytest.param(
        "sla.yaml",
        "  at_risk_percent: 75",
        "  at_risk_percent: lots",
        "sla.yaml:3:20: sla.at_risk_percent: Input should be a valid integer, unable to parse "
        "string as an integer",
        id="wrong-type-int",
    ),
    pytest.param(
        "calendars.yaml",
        "    timezone: Europe/London\n    hours:",
        "    timezone: Europe/Lndon\n    hours:",
        "calendars.yaml:4:15: unknown time zone 'Europe/Lndon' (did you mean 'Europe/London'?)",
        id="bad-time-zone",
    ),
    pytest.param(
        "templates.yaml",
        "the {{ target.label }} target",
        "the {{ targte.label }} target",
        "templates.yaml:21:5: template 'sla-at-risk-note' uses unknown variable 'targte' "
        "(known: agent_note, breaches, changes, level, levels_reached, now, promised_update, "
        "request, rule, sla, sla_policy, target, ticket)",
        id="template-unknown-variable",
    ),
    pytest.param(
        "templates.yaml",
        'Your request "{{ ticket.title }}"',
        'Your request "{{ ticket.titel }}"',
        "templates.yaml:7:5: template 'escalated': 'dict object' has no attribute 'titel'",
        id="template-unknown-attribute",
    ),
    pytest.param(
        "templates.yaml",
        "{{ target.due }}.",
        "{{ target.due }.",
        "templates.yaml:21:5: template 'sla-at-risk-note': unexpected '}'",
        id="template-syntax",
    ),
    pytest.param(
        "escalation.yaml",
        "      - internal_note: sla-at-risk-note",
        "      - internal_note: sla-at-risk-notes",
        "escalation.yaml:33:24: unknown template 'sla-at-risk-notes' "
        "(did you mean 'sla-at-risk-note'?)",
        id="unknown-template",
    ),
    pytest.param(
        "escalation.yaml",
        "    notify: team-lead",
        "    notify: team-leed",
        "escalation.yaml:7:13: unknown channel 'team-leed' (did you mean 'team-lead'?)",
        id="unknown-channel",
    ),
    pytest.param(
        "sla.yaml",
        "        low: {calendar",
        "        lowest: {calendar",
        "sla.yaml:17:9: sla.policies.0.targets.lowest: key 'lowest': Input should be 'low', "
        "'normal', 'high' or 'urgent'",
        id="bad-priority-key",
    ),
    pytest.param(
        "calendars.yaml",
        '      monday: "09:00-17:00"',
        '      monday: "17:00-09:00"',
        "calendars.yaml:6:15: calendars.support-hours.hours.monday.0: '17:00-09:00' ends before "
        "it starts; split overnight hours across days",
        id="bad-opening-hours",
    ),
    pytest.param(
        "calendars.yaml",
        "      country: GB",
        "      country: XX",
        "calendars.yaml:12:16: unknown holiday country 'XX'",
        id="unknown-holiday-country",
    ),
    pytest.param(
        "escalation.yaml",
        "  - name: long-breach",
        "  - name: sla-breached",
        "escalation.yaml:44:11: rule name 'sla-breached' is used twice",
        id="duplicate-rule",
    ),
    pytest.param(
        "sla.yaml",
        "    - name: standard\n",
        "    - nam: standard\n",
        "sla.yaml:12:7: missing required key 'name'",
        id="missing-key",
    ),
    pytest.param(
        "channels.yaml",
        "{type: slack,",
        "{type: telegram,",
        "channels.yaml:3:21: channels.team-lead.type: Input should be 'slack', 'teams', "
        "'webhook', 'email', 'pagerduty' or 'opsgenie'",
        id="bad-enum",
    ),
    pytest.param(
        "escalation.yaml",
        "      - raise_priority: 1",
        "      - raise_priority: 1\n        add_labels: [x]",
        "escalation.yaml:41:9: rules.1.then.1: each step needs exactly one of: add_labels, "
        "remove_labels, set_priority, raise_priority, assign, public_comment, internal_note, "
        "create_linked_issue, notify",
        id="step-with-two-kinds",
    ),
    pytest.param(
        "sla.yaml",
        "  policies:",
        "  policies: [\n",
        "sla.yaml:13:5: invalid YAML: expected the node content, but found '-'",
        id="yaml-syntax",
    ),
    pytest.param(
        "escalation.yaml",
        "      - public_comment: fix-in-place",
        "      - public_comment: sla-at-risk-note",
        "escalation.yaml:91:25: template 'sla-at-risk-note' cannot be used here: 'None' has no "
        "attribute 'label': here level and target may be empty (guard with {% if level %})",
        id="template-needs-a-target-the-rule-has-not",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "expected"), CASES)
def test_broken_config(config: Path, file: str, old: str, new: str, expected: str) -> None:
    replace(config / file, old, new)
    code, out = run(config)
    assert code == 2, out
    assert f"{config}/{expected}" in out.splitlines(), out
    assert "Traceback" not in out


def test_every_problem_is_listed_not_only_the_first(config: Path) -> None:
    replace(config / "escalation.yaml", "notify: team-lead", "notify: team-leed")
    replace(
        config / "escalation.yaml",
        "escalate_to: 1\n\n  - name: sla-breached",
        "escalate_to: 7\n\n  - name: sla-breached",
    )
    code, out = run(config)
    assert code == 2
    assert len(out.strip().splitlines()) == 2


def test_a_missing_path_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    code, out = run(tmp_path / "nowhere")
    assert code == 2
    assert out.strip() == f"{tmp_path}/nowhere:1:1: no such file or directory"


def test_templates_are_sandboxed(config: Path) -> None:
    replace(config / "templates.yaml", "{{ target.due }}.", "{{ target.__class__.__mro__ }}.")
    code, out = run(config)
    assert code == 2
    assert "template 'sla-at-risk-note'" in out


def test_schema_is_json_schema_of_the_config() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "escalator.cli", "schema"],
        capture_output=True,
        text=True,
        check=True,
    )
    schema = json.loads(result.stdout)
    assert schema["title"] == "Escalation sidecar configuration"
    assert {"calendars", "sla", "levels", "rules", "templates", "channels", "sources"} <= set(
        schema["properties"]
    )
    merged: dict[str, object] = {}
    for file in sorted((ROOT / "config").glob("*.yaml")):
        merged.update(yaml.safe_load(file.read_text()))
    # YAML dates are strings to an editor: compare as JSON would see them
    jsonschema.validate(json.loads(json.dumps(merged, default=str)), schema)


def test_connector_settings_are_checked_too(config: Path) -> None:
    replace(config / "sources.yaml", "    projects: [SUP]", "    projects: SUP")
    replace(config / "sources.yaml", "    kind: hubspot", "    kind: hubspott")
    code, out = run(config)
    assert code == 2
    lines = out.strip().splitlines()
    assert (
        f"{config}/sources.yaml:25:15: sources.jira.projects: Input should be a valid list" in lines
    )
    assert (
        f"{config}/sources.yaml:38:11: unknown source kind 'hubspott' (did you mean "
        "'hubspot'?) (known: hubspot, jira, zendesk)" in lines
    )
