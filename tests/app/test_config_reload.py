"""A reload (SIGHUP or a file edit) given a broken config keeps the old one, logs every
problem with its position, counts it in /metrics and shows it on /readyz; a later good edit
is taken. In process, through the HTTP app; ``tests/e2e`` does the same to ``escalator run``."""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from escalator.config import load_config
from escalator.cycle import Sidecar
from escalator.http import create_app
from escalator.logs import EventLog
from escalator.runner import Runner
from escalator.store import open_store
from tests.app.validate_cli import LAUGHS, ROOT, SECRETS, at

NOW = datetime(2026, 3, 9, 11, 0, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    return target


@pytest.fixture
def runner(config: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runner]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    store = open_store("sqlite://")
    sidecar = Sidecar(
        load_config(config), store, {}, log=EventLog(io.StringIO(), "info"), clock=lambda: NOW
    )
    runner = Runner(sidecar, config_path=config)
    runner.active = True  # readiness as the active process (no lease thread in this test)
    yield runner
    sidecar.close()
    store.close()


def logged(runner: Runner) -> list[dict[str, object]]:
    stream = runner.sidecar.log._stream
    assert isinstance(stream, io.StringIO)
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


BOMB = (
    r"escalation\.yaml:\d+:1: 'x\d': the config (expands to more than 100,000 values \(about "
    r"50 MB\)|took more than 1 s to load) and is refused.*"
)
# (file, text, its replacement, where the problem is, a pattern of the message logged)
MISTAKES = [
    pytest.param(
        "templates.yaml",
        "{{ target.due }}.",
        "{{ target.due | shout }}.",
        "SLA at risk",
        re.escape("template 'sla-at-risk-note': unknown filter 'shout' (did you mean 'sort'?)"),
        id="unknown-filter",
    ),
    pytest.param(
        "templates.yaml",
        "{{ target.due }}.",
        "{{ target.due }}.\n    {% for i in range(90000) %}{% for j in range(90000) %}"
        "{% endfor %}{% endfor %}",
        "{% for i in range(90000)",
        re.escape("template 'sla-at-risk-note' is refused: it takes more than 0.5 s to render"),
        id="template-loop-stopped-by-the-watchdog",
    ),
    pytest.param(
        "calendars.yaml",
        "dates: [2026-12-24]",
        "dates: [2026-02-30]",
        "2026-02-30",
        re.escape(
            "calendars.support-hours.holidays.dates.0: Input should be a valid date or datetime, "
            "day value is outside expected range"
        ),
        id="impossible-holiday",
    ),
    pytest.param(
        "escalation.yaml",
        "levels:",
        LAUGHS + "levels:",
        None,  # the section being expanded when a limit was hit
        # the node cap stops it in ~0.3 s; on a machine this busy the 1 s deadline may first
        r"'x\d': the config (expands to more than 100,000 values \(about 50 MB\)|took more "
        r"than 1 s to load) and is refused.*",
        id="billion-laughs",
    ),
    pytest.param(
        "escalation.yaml",
        "    when: {sla: at_risk}",
        "    when: {}",
        "    when: ^{}",
        re.escape(
            "an empty 'when' holds for every ticket: this rule would fire on every active "
            "ticket; give at least one condition"
        ),
        id="empty-when",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "spot", "message"), MISTAKES)
def test_a_bad_edit_is_refused_shown_and_counted_until_a_good_one(
    runner: Runner, config: Path, file: str, old: str, new: str, spot: str | None, message: str
) -> None:
    client = TestClient(create_app(runner))
    version = runner.sidecar.config.policy.version
    good = (config / file).read_text()
    edit(config / file, old, new)

    assert runner.reload() is False
    assert runner.sidecar.config.policy.version == version  # the old config still runs
    rejected = [e["problems"] for e in logged(runner) if e["event"] == "config.rejected"]
    assert isinstance(rejected[-1], list)
    spot_pattern = r"\d+:\d+" if spot is None else re.escape(at(config / file, spot))
    where = re.escape(f"{config}/{file}:") + spot_pattern
    assert any(re.fullmatch(f"{where}: {message}", p) for p in rejected[-1]), rejected[-1]
    ready = client.get("/readyz")
    assert ready.status_code == 200  # a typo never takes the service out of rotation
    check = ready.json()["checks"]["config"]
    assert check["detail"] == f"rejected since {NOW.isoformat()}"
    assert check["problems"] == rejected[-1]
    assert check["version"] == version
    assert "escalator_config_reload_rejected_total 1.0" in client.get("/metrics").text

    (config / file).write_text(good + "# edited\n")
    assert runner.reload() is True
    assert runner.sidecar.config.policy.version != version
    assert "detail" not in client.get("/readyz").json()["checks"]["config"]
    assert logged(runner)[-1]["event"] == "config.reloaded"


def test_a_reload_lists_every_missing_variable(
    runner: Runner, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JIRA_API_TOKEN")
    monkeypatch.delenv("EXECUTIVE_WEBHOOK_URL")
    assert runner.reload() is False
    problems = [e for e in logged(runner) if e["event"] == "config.rejected"][-1]["problems"]
    assert isinstance(problems, list)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "environment variable EXECUTIVE_WEBHOOK_URL is not set (needed by channels.executive.url)",
        "environment variable JIRA_API_TOKEN is not set (needed by sources.jira.api_token)",
    ]
