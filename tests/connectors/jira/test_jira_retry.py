"""Rate limits and failures: the one RetryPolicy retries, the SDK never does; auth schemes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connectors.emulation import SeedTicket
from connectors.errors import AuthError, FatalError, RetryableError
from connectors.jira import JiraConnector
from connectors.jira.emulator import OAUTH_TOKEN, PAT, JiraEmulator
from connectors.retry import RetryPolicy
from engine.model import AddLabels

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the emulator's clock (conftest)
SEARCH = r"/rest/api/3/search/jql$"


def test_429_waits_exactly_retry_after_once_and_counts_it(
    emulator: JiraEmulator,
    connector: JiraConnector,
    retry: RetryPolicy,
    sleep: Callable[[float], None],
    seed: Callable[..., SeedTicket],
) -> None:
    emulator.seed([seed(0)])
    emulator.rate_limit("GET", SEARCH, retry_after=2, reason="jira-per-issue-on-write")

    result = connector.pull(None, start=T0 - timedelta(days=2))

    assert len(result.tickets) == 1
    assert len(emulator.server.calls("GET", SEARCH)) == 2  # one refused, one retried by us
    assert (retry.stats.retries, retry.stats.rate_limited) == (1, 1)
    assert sleep.waits == [2.0]  # type: ignore[attr-defined]


def test_the_429_carries_jiras_rate_limit_headers(emulator: JiraEmulator) -> None:
    emulator.rate_limit("GET", r"/myself$", retry_after=3)

    response = httpx.get(f"{emulator.base_url}/rest/api/3/myself")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.headers["RateLimit-Reason"] == "jira-burst-based"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert response.json()["errorMessages"]


def test_5xx_on_a_write_is_retried_by_the_policy(
    emulator: JiraEmulator,
    connector: JiraConnector,
    retry: RetryPolicy,
    seed: Callable[..., SeedTicket],
) -> None:
    [key] = emulator.seed([seed(0)])
    ticket = connector.fetch(key)
    emulator.server.inject("PUT", rf"/issue/{key}$", status=503, count=1)
    before = retry.stats.retries
    action = AddLabels(key="x", ticket=f"jira:{key}", rule="r", at=T0, labels=("escalation-l1",))

    [result] = connector.apply(ticket, [action])

    assert result.status.value == "applied"
    assert retry.stats.retries == before + 1
    assert len(emulator.server.calls("PUT", rf"/issue/{key}$")) == 2
    assert "escalation-l1" in emulator.record(key)["fields"]["labels"]


def test_a_5xx_that_never_ends_surfaces_as_retryable(
    emulator: JiraEmulator, connector: JiraConnector, retry: RetryPolicy
) -> None:
    emulator.server.inject("GET", SEARCH, status=500, count=10)

    with pytest.raises(RetryableError):
        connector.pull(None, start=T0)

    assert len(emulator.server.calls("GET", SEARCH)) == retry.max_attempts


def test_the_removed_search_answers_410_and_is_fatal(
    emulator: JiraEmulator, connector: JiraConnector
) -> None:
    with pytest.raises(FatalError, match="410"):
        connector.client.http_call("GET", "/rest/api/3/search", params={"jql": "project = SUP"})

    [gone] = emulator.server.calls("GET", r"/rest/api/3/search$")
    assert gone.arg("jql") == "project = SUP"


def test_wrong_credentials_are_an_auth_error_not_retried(
    emulator: JiraEmulator, make_connector: Callable[..., JiraConnector], retry: RetryPolicy
) -> None:
    connector = make_connector(api_token="wrong")

    with pytest.raises(AuthError):
        connector.pull(None, start=T0)

    assert retry.stats.retries == 0


@pytest.mark.parametrize(("overrides", "header"), [
    ({"auth": "pat", "pat": PAT}, f"Bearer {PAT}"),
    ({"auth": "oauth", "oauth_token": OAUTH_TOKEN}, f"Bearer {OAUTH_TOKEN}"),
])  # fmt: skip
def test_bearer_tokens_reach_jira_through_both_transports(
    emulator: JiraEmulator,
    make_connector: Callable[..., JiraConnector],
    seed: Callable[..., SeedTicket],
    overrides: dict[str, str],
    header: str,
) -> None:
    [key] = emulator.seed([seed(0)])
    connector = make_connector(**overrides)

    ticket = connector.fetch(key)
    connector.apply(
        ticket, [AddLabels(key="x", ticket=f"jira:{key}", rule="r", at=T0, labels=("l1",))]
    )

    assert {r.headers["authorization"] for r in emulator.server.requests} == {header}
