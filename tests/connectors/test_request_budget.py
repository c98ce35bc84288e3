"""The per-source request budget: bursts up to a minute's share, then paced; retries count."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from connectors.budget import RequestBudget
from connectors.errors import RetryableError
from connectors.retry import RetryPolicy
from escalator.config import ConfigError, load_config
from escalator.demo import DemoWorld
from escalator.metrics import Metrics
from escalator.sources import build_sources
from tests.fakes import FakeTime

ROOT = Path(__file__).resolve().parents[2]


def test_a_minute_of_requests_pass_then_they_are_paced() -> None:
    t = FakeTime(1000.0)
    budget = RequestBudget(60, clock=t.clock, sleep=t.sleep)
    for _ in range(60):
        assert budget.acquire() == 0.0
    assert budget.acquire() == pytest.approx(1.0)  # one a second from now on
    assert budget.acquire() == pytest.approx(1.0)
    assert t.now == pytest.approx(1002.0)
    assert budget.used_last_minute() == 62
    t.now += 61
    assert budget.used_last_minute() == 0
    assert budget.waited_seconds == pytest.approx(2.0)


def test_every_attempt_of_a_retried_call_takes_its_share() -> None:
    t = FakeTime(1000.0)
    budget = RequestBudget(120, clock=t.clock, sleep=t.sleep)
    policy = RetryPolicy("zendesk", sleep=t.sleep, initial_backoff=0.01, budget=budget)
    attempts = []

    def flaky() -> str:
        attempts.append(t.now)
        if len(attempts) < 3:
            raise RetryableError("503")
        return "ok"

    assert policy.call(flaky) == "ok"
    assert budget.requests == 3
    assert policy.stats.budget is budget


def test_a_budget_must_allow_something() -> None:
    with pytest.raises(ValueError, match="at least one"):
        RequestBudget(0)


def test_the_configured_budget_is_used_and_shown_in_metrics(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(ROOT / "config", config_dir)
    sources = config_dir / "sources.yaml"
    text = sources.read_text()
    zendesk = "kind: zendesk\n"
    sources.write_text(text.replace(zendesk, zendesk + "    max_requests_per_minute: 30\n", 1))
    world = DemoWorld()
    world.start()
    try:
        config = load_config(config_dir)
        built = build_sources(config, world.env())
        try:
            budgets = {n: s.retry.budget.per_minute for n, s in built.items() if s.retry.budget}
            assert budgets == {"zendesk": 30, "jira": 600, "hubspot": 300}
            metrics = Metrics()
            metrics.track_retries(lambda: {n: s.retry.stats for n, s in built.items()})
            text = metrics.render().decode()
            assert 'escalator_api_budget_per_minute{source="zendesk"} 30.0' in text
        finally:
            for source in built.values():
                source.connector.close()
    finally:
        world.stop()


def test_a_budget_of_zero_is_refused_with_its_position(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(ROOT / "config", config_dir)
    sources = config_dir / "sources.yaml"
    lines = sources.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "kind: zendesk")
    lines.insert(at + 1, "    max_requests_per_minute: 0")
    sources.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    (problem,) = [p for p in caught.value.problems if "max_requests_per_minute" in str(p)]
    assert (Path(problem.file).name, problem.line) == ("sources.yaml", at + 2)
