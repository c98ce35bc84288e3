"""429/5xx recovery through the one RetryPolicy, auth failures, OAuth refresh, the budget."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.errors import AuthError, RateLimited, RetryableError
from connectors.hubspot.emulator import HubSpotEmulator
from connectors.hubspot.errors import error_for
from connectors.hubspot.limiter import RequestBudget, TokenBucket
from connectors.retry import RetryPolicy
from tests.connectors.hubspot.hubspot_helpers import NOW, connect, seed_ticket
from tests.fakes import FakeTime, Sleeps


def test_429_and_5xx_are_retried_and_counted(emulator: HubSpotEmulator, sleeps: Sleeps) -> None:
    retry = RetryPolicy("hubspot", sleep=sleeps, initial_backoff=0.01)
    connector = connect(emulator, retry)
    emulator.seed([seed_ticket()])
    emulator.server.inject("POST", r"/tickets/search$", status=429, retry_after=2)
    emulator.server.inject("POST", r"/tickets/batch/read$", status=502, count=2)
    result = connector.pull(None, start=NOW - timedelta(days=1))
    assert len(result.tickets) == 1
    assert retry.stats.rate_limited == 1
    assert retry.stats.retries == 3
    assert sleeps[0] == 2.0  # exactly Retry-After
    assert len(emulator.server.calls("POST", r"/tickets/search$")) == 2  # no SDK-level retry
    assert connector.client.stats.rate_limit_max == 190
    connector.close()


def test_429_body_without_retry_after_waits_for_the_policy_window() -> None:
    body = b'{"status":"error","errorType":"RATE_LIMIT","policyName":"SECONDLY"}'
    error = error_for(429, {}, body, "search")
    assert isinstance(error, RateLimited)
    assert error.retry_after == 1.0
    rolling = b'{"status":"error","errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING"}'
    error = error_for(429, {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}, rolling, "x")
    assert isinstance(error, RateLimited)
    assert error.retry_after == 10.0
    assert isinstance(error_for(503, {}, b"", "x"), RetryableError)


def test_wrong_token_is_an_auth_error_not_retried(
    emulator: HubSpotEmulator, retry: RetryPolicy
) -> None:
    connector = connect(emulator, retry, access_token="pat-na1-wrong")
    with pytest.raises(AuthError, match="401"):
        connector.pull(None, start=NOW)
    assert len(emulator.server.requests) == 1
    connector.close()


def test_oauth_refreshes_before_expiry_and_after_a_refused_token(
    emulator: HubSpotEmulator, retry: RetryPolicy
) -> None:
    settings = {**emulator.settings(), "access_token": None, "oauth": emulator.oauth_settings()}
    connector = connect(emulator, retry, **settings)
    emulator.seed([seed_ticket()])
    connector.pull(None, start=NOW - timedelta(days=1))
    assert len(emulator.server.calls("POST", r"/oauth/2026-03/token$")) == 1
    auth = emulator.server.calls("POST", r"/tickets/search$")[0].headers["authorization"]
    assert auth.startswith("Bearer emu-oauth-")
    # the emulator expires the token early (clock jump); one 401, one refresh, then success
    emulator.server.clock.advance(emulator.oauth_expires_in + 1)
    connector.pull(None, start=NOW - timedelta(days=1))
    assert len(emulator.server.calls("POST", r"/oauth/2026-03/token$")) == 2
    form = emulator.server.calls("POST", r"/oauth/")[0].body.decode()
    assert "grant_type=refresh_token" in form
    connector.close()


def test_token_bucket_paces_without_real_sleeping() -> None:
    time = FakeTime()
    bucket = TokenBucket(4.0, 4.0, clock=time.clock, sleep=time.sleep)
    waits = [bucket.acquire() for _ in range(6)]
    assert waits[:4] == [0.0] * 4
    assert waits[4] == pytest.approx(0.25)
    assert waits[5] == pytest.approx(0.25)
    assert time.now == pytest.approx(0.5)


def test_search_budget_is_4_per_second_within_190_per_10s() -> None:
    time = FakeTime()
    budget = RequestBudget(requests_per_10s=190, search_per_second=4, clock=time.clock,
                           sleep=time.sleep)  # fmt: skip
    for _ in range(12):
        budget.acquire(search=True)
    assert time.now == pytest.approx(2.0)  # 4 at once, then 4 per second
    for _ in range(190):
        budget.acquire()
    assert time.now < 12.0
    assert budget.overall.waited_seconds > 0
