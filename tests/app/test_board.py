"""The live board at GET /: what is at risk or breached now, sorted by time to breach, behind a
token or basic auth; /metrics gauges per source and level; no customer data elsewhere."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from escalator.config import load_config
from escalator.http import create_app
from escalator.runner import Runner
from escalator.store import open_store
from tests.app.report_world import ROOT, at, build_world, run_month

# 9 November, 12:45. D4 (urgent, created 5 November 12:00, never answered) breached its first
# response on 5 November at 13:00; F5, reopened on 6 November, breached resolution at 23:00
# that day; D8 (created 12:00 today) has run 45 of its 60 minutes to a first response: at
# risk, breaching at 13:00. Everything else so far is answered or solved.
NOW = at(8, 12.75)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    path = tmp_path_factory.mktemp("board") / "state.db"
    with open_store(f"sqlite:///{path}") as store:
        sidecar = run_month(load_config(ROOT / "config"), store, build_world(), until=NOW)
        sidecar.clock = lambda: NOW
        r = Runner(sidecar)
        r.active = True
        yield r


def client(runner: Runner, monkeypatch: pytest.MonkeyPatch, **env: str) -> TestClient:
    for name in ("ESCALATOR_BOARD_TOKEN", "ESCALATOR_BOARD_USER", "ESCALATOR_BOARD_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return TestClient(create_app(runner))


def test_the_board_lists_what_is_at_risk_or_breached_sorted_by_time_to_breach(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = client(runner, monkeypatch, ESCALATOR_BOARD_TOKEN="s3cret")
    page = http.get("/", headers={"Authorization": "Bearer s3cret"})
    assert page.status_code == 200
    html = page.text
    table = html[html.index('id="at-risk"') : html.index('id="escalations"')]
    # the longest breached first
    assert table.index("zendesk:D4") < table.index("zendesk:F5") < table.index("zendesk:D8")
    assert ">-3 d 23 h<" in table  # D4: 3 days 23 h 45 min past its due time
    assert ">-2 d 13 h<" in table  # F5
    assert ">15 min<" in table  # D8: due 13:00
    assert 'href="https://acme.zendesk.com/agent/tickets/D4"' in table
    assert "zendesk:B8" not in table  # answered at 10:30, next update due 14:00: 45 of 120 min
    escalations = html[html.index('id="escalations"') : html.index('id="sources"')]
    for key in ("zendesk:A8", "zendesk:B8", "zendesk:D8"):
        assert key in escalations
    assert "zendesk:A7" not in escalations  # 8 November, 10:00: more than 24 hours ago
    sources = html[html.index('id="sources"') :]
    assert "zendesk" in sources
    assert "2026-11-09T12:00:00" in sources  # its last poll: the last cycle, at D8's creation
    assert runner.sidecar.config.policy.version in html
    assert '<meta http-equiv="refresh"' in html
    assert http.get("/?token=s3cret").status_code == 200


def test_without_credentials_the_board_answers_401(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    off = client(runner, monkeypatch).get("/", headers={"Authorization": "Bearer anything"})
    assert off.status_code == 401
    assert "ESCALATOR_BOARD_TOKEN" in off.text
    http = client(runner, monkeypatch, ESCALATOR_BOARD_USER="lead", ESCALATOR_BOARD_PASSWORD="pw")
    denied = http.get("/")
    assert denied.status_code == 401
    assert denied.headers["www-authenticate"] == 'Basic realm="escalator board"'
    assert "Umbrella" not in denied.text
    wrong = base64.b64encode(b"lead:nope").decode()
    assert http.get("/", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    good = base64.b64encode(b"lead:pw").decode()
    assert http.get("/", headers={"Authorization": f"Basic {good}"}).status_code == 200


def test_metrics_count_per_source_and_level_and_no_endpoint_leaks_customers(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = client(runner, monkeypatch, ESCALATOR_BOARD_TOKEN="s3cret")
    metrics = http.get("/metrics").text
    assert 'escalator_tickets_breached{level="3",source="zendesk"} 2.0' in metrics
    assert 'escalator_tickets_at_risk{level="3",source="zendesk"} 1.0' in metrics
    for path in ("/healthz", "/readyz", "/metrics"):
        body = http.get(path).text
        for secret in ("Umbrella", "Initech", "ticket D4", "zendesk:D4", "acme.zendesk.com"):
            assert secret not in body, (path, secret)


def test_board_template_is_packaged() -> None:
    assert (Path(ROOT) / "src/escalator/board.html.j2").is_file()
