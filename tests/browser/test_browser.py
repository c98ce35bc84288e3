"""The HTML report and the live board in real headless chromium: they render with no console
errors, show the expected tickets, and every number on the report equals the JSON report's.
Screenshots are kept under build/test-artifacts/."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from escalator.config import load_config
from escalator.http import create_app
from escalator.report import parse_period, render, report_from_store
from escalator.report.html import shown
from escalator.report.text import flatten
from escalator.runner import Runner
from escalator.store import open_store
from tests.app.report_world import ROOT, at, build_world, fill_store, run_month
from tests.browser.chromium import chromium
from tests.ports import free_port

pytestmark = pytest.mark.slow
ARTIFACTS = ROOT / "build" / "test-artifacts"
NOW = datetime(2026, 12, 10, tzinfo=UTC)


def test_the_html_report_renders_and_shows_the_json_numbers(tmp_path: Path) -> None:
    config = load_config(ROOT / "config")
    with open_store(f"sqlite:///{tmp_path}/state.db") as store:
        fill_store(config, store)
        report = report_from_store(store, config, parse_period(None, "2026-11", NOW), NOW)
    as_json = json.loads(render(report, "json"))
    page_file = ARTIFACTS / "report.html"
    page_file.parent.mkdir(parents=True, exist_ok=True)
    page_file.write_text(render(report, "html"), encoding="utf-8")
    with chromium() as page:
        page.open(page_file.as_uri())
        assert page.evaluate("document.title") == "Escalation report — November 2026"
        # the three charts are drawn, each an inline SVG with a real size
        sizes = page.evaluate(
            "[...document.querySelectorAll('figure svg')].map(s => s.getBoundingClientRect())"
            ".map(r => [r.width, r.height])"
        )
        assert len(sizes) == 3
        assert all(w > 100 and h > 100 for w, h in sizes)
        breached = page.evaluate(
            "[...document.querySelectorAll('#breaches td.ticket')].map(td => td.innerText)"
        )
        assert {"zendesk:B1", "zendesk:D4", "zendesk:F5"} <= set(breached)
        shown_numbers: list[dict[str, Any]] = page.evaluate(
            "[...document.querySelectorAll('[data-kpi]')].map(e => ({path: e.dataset.kpi,"
            " value: JSON.parse(e.dataset.value), kind: e.dataset.kind, text: e.innerText}))"
        )
        page.screenshot(ARTIFACTS / "report.png")
        assert page.errors == []
    expected = dict(flatten(as_json))
    assert len(shown_numbers) > 150
    for number in shown_numbers:
        assert number["value"] == expected[number["path"]], number
        assert number["text"] == shown(expected[number["path"]], number["kind"]), number
    # every headline number of the JSON is on the page
    on_page = {n["path"] for n in shown_numbers}
    for path in (
        "escalated",
        "resolved_within_sla.overall.share",
        "credits.0.credit",
        "sla_attainment.first_response.share",
        "confirmation.share_silent",
    ):
        assert path in on_page


@pytest.fixture
def board_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ESCALATOR_BOARD_TOKEN", "board-token")
    now = at(8, 12.75)  # see tests/app/test_board.py: D4 and F5 breached, D8 at risk
    with open_store(f"sqlite:///{tmp_path}/state.db") as store:
        sidecar = run_month(load_config(ROOT / "config"), store, build_world(), until=now)
        sidecar.clock = lambda: now
        runner = Runner(sidecar)
        runner.active = True
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(runner), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def test_the_board_renders_in_the_browser(board_url: str) -> None:
    assert httpx.get(board_url + "/").status_code == 401
    with chromium() as page:
        page.open(board_url + "/?token=board-token")
        assert page.evaluate("document.title") == "Escalation board"
        rows = page.evaluate(
            "[...document.querySelectorAll('#at-risk td.ticket')].map(td => td.innerText)"
        )
        assert rows == ["zendesk:D4", "zendesk:F5", "zendesk:D8"]
        links = page.evaluate("[...document.querySelectorAll('#at-risk a')].map(a => a.href)")
        assert links[0] == "https://acme.zendesk.com/agent/tickets/D4"
        version = page.evaluate("document.getElementById('config-version').innerText")
        assert version == load_config(ROOT / "config").policy.version
        refresh = page.evaluate("document.querySelector('meta[http-equiv=refresh]').content")
        assert refresh == "30"
        page.screenshot(ARTIFACTS / "board.png")
        assert page.errors == []
