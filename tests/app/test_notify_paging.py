"""PagerDuty (Events API v2) and Opsgenie (Alert API) through their official clients, against
loopback emulators: payloads, dedup keys and aliases, 429/5xx retried, 4xx not, the page
following the ticket, and secrets kept out of every text."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from connectors.base import ActionStatus
from connectors.retry import RetryPolicy
from engine.model import Notify
from escalator.notify import AnyChannel, Notifier, OpsgenieChannel, PagerDutyChannel
from escalator.notify.emulators.opsgenie import OpsgenieEmulator
from escalator.notify.emulators.pagerduty import PagerDutyEmulator
from tests.fakes import Sleeps

AT = datetime(2026, 3, 30, 9, 45, tzinfo=UTC)
TICKET_URL = "https://acme.zendesk.com/agent/tickets/42"
TEXT = (
    "Escalation level 3 (Executive): zendesk:42 Printer on fire\n"
    f"{TICKET_URL}\n"
    "Rule: major-impact; priority urgent; organisation Acme\n"
)
ROUTING_KEY = "PDSECRETroutingkey0123456789abcd"  # Events API v2 keys are 32 characters
API_KEY = "OGSECRET-eb243592-faa2-4ba2-a551"


def notify(channel: str, key: str = "zendesk:42:L3:notify") -> Notify:
    return Notify(
        key=key,
        ticket="zendesk:42",
        rule="major-impact",
        at=AT,
        level=3,
        channel=channel,
        text=TEXT,
    )


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def pagerduty() -> Iterator[PagerDutyEmulator]:
    with PagerDutyEmulator(ROUTING_KEY) as emulator:
        yield emulator


@pytest.fixture
def opsgenie() -> Iterator[OpsgenieEmulator]:
    with OpsgenieEmulator(API_KEY) as emulator:
        yield emulator


@pytest.fixture
def notifier(
    pagerduty: PagerDutyEmulator, opsgenie: OpsgenieEmulator, sleeps: Sleeps
) -> Iterator[Notifier]:
    channels: dict[str, AnyChannel] = {
        "executive-page": PagerDutyChannel(
            "executive-page", ROUTING_KEY, base_url=pagerduty.base_url
        ),
        "executive-alert": OpsgenieChannel(
            "executive-alert",
            API_KEY,
            priority="P1",
            teams=("Executives",),
            base_url=opsgenie.base_url,
        ),
    }
    policy = RetryPolicy("notify", max_attempts=3, initial_backoff=0.01, sleep=sleeps)
    with Notifier(channels, retry=policy) as n:
        yield n


# -- PagerDuty ------------------------------------------------------------------------------------
def test_pagerduty_trigger_carries_the_action_key_as_dedup_key(
    pagerduty: PagerDutyEmulator, notifier: Notifier, sleeps: Sleeps
) -> None:
    result = notifier.send(notify("executive-page"), ticket_url=TICKET_URL)

    assert result.status is ActionStatus.APPLIED, result.detail
    assert result.detail == (
        "channel 'executive-page' (pagerduty): triggered (dedup_key zendesk:42:L3:notify)"
    )
    assert result.external_id == "zendesk:42:L3:notify"
    (request,) = pagerduty.server.calls("POST", "^/v2/enqueue$")
    # the event shape of https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
    event = request.json()
    assert event["routing_key"] == ROUTING_KEY
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == "zendesk:42:L3:notify"
    assert event["payload"] == {
        "summary": "Escalation level 3: zendesk:42: Escalation level 3 (Executive): "
        "zendesk:42 Printer on fire",
        "source": "escalation-sidecar",
        "severity": "critical",
        "timestamp": "2026-03-30T09:45:00+00:00",
        "component": "zendesk:42",
        "group": "level-3",
        "class": "major-impact",
        "custom_details": {
            "ticket": "zendesk:42",
            "rule": "major-impact",
            "level": 3,
            "text": TEXT,
            "escalation_key": "zendesk:42:L3:notify",
        },
    }
    assert event["links"] == [{"href": TICKET_URL, "text": "Open the ticket"}]
    (alert,) = pagerduty.alerts
    assert (alert.dedup_key, alert.status, alert.severity) == (
        "zendesk:42:L3:notify",
        "triggered",
        "critical",
    )
    assert sleeps.waits == []


def test_pagerduty_merges_a_second_trigger_with_the_same_dedup_key(
    pagerduty: PagerDutyEmulator, notifier: Notifier
) -> None:
    first = notifier.send(notify("executive-page"))
    again = notifier.settle(notify("executive-page"))

    assert (first.status, again.status) == (ActionStatus.APPLIED, ActionStatus.APPLIED)
    assert again.detail.endswith("re-sent after a restart, merged by dedup_key")
    assert len(pagerduty.server.calls("POST", "^/v2/enqueue$")) == 2
    (alert,) = pagerduty.alerts  # one alert: the on-call person is paged once
    assert len(alert.events) == 2


def test_pagerduty_429_waits_retry_after(
    pagerduty: PagerDutyEmulator, notifier: Notifier, sleeps: Sleeps
) -> None:
    pagerduty.server.inject("POST", "^/v2/enqueue$", status=429, retry_after=3)

    result = notifier.send(notify("executive-page"))

    assert result.status is ActionStatus.APPLIED, result.detail
    assert sleeps.waits == [3.0]
    assert notifier.retry.stats.rate_limited == 1
    assert len(pagerduty.alerts) == 1


def test_pagerduty_5xx_exhausts_the_policy(
    pagerduty: PagerDutyEmulator, notifier: Notifier, sleeps: Sleeps
) -> None:
    pagerduty.server.inject("POST", "^/v2/enqueue$", status=503, count=3)

    result = notifier.send(notify("executive-page"))

    assert result.status is ActionStatus.FAILED
    assert result.detail == (
        "channel 'executive-page' (pagerduty): HTTP 503: Internal Server Error"
    )
    assert len(sleeps.waits) == 2
    assert pagerduty.alerts == []


def test_pagerduty_invalid_event_fails_without_retry(
    pagerduty: PagerDutyEmulator, sleeps: Sleeps
) -> None:
    short = "PDSECRETshort"  # not 32 characters: refused as PagerDuty documents
    channel = PagerDutyChannel("executive-page", short, base_url=pagerduty.base_url)
    with Notifier({"executive-page": channel}, retry=RetryPolicy("notify", sleep=sleeps)) as n:
        result = n.send(notify("executive-page"))

    assert result.status is ActionStatus.FAILED
    assert result.detail == (
        "channel 'executive-page' (pagerduty): HTTP 400: Event object is invalid; "
        "Length of 'routing_key' is incorrect (should be 32 characters)"
    )
    assert sleeps.waits == []
    assert short not in result.detail


def test_pagerduty_alert_follows_the_ticket(
    pagerduty: PagerDutyEmulator, notifier: Notifier
) -> None:
    page = notify("executive-page")
    notifier.send(page)

    acknowledged = notifier.follow(page, "acknowledge")
    assert acknowledged.status is ActionStatus.APPLIED, acknowledged.detail
    assert pagerduty.alerts[0].status == "acknowledged"
    resolved = notifier.follow(page, "resolve")
    assert resolved.status is ActionStatus.APPLIED, resolved.detail
    assert pagerduty.alerts[0].status == "resolved"
    actions = [r.json()["event_action"] for r in pagerduty.server.calls("POST", "enqueue")]
    assert actions == ["trigger", "acknowledge", "resolve"]
    assert {r.json()["dedup_key"] for r in pagerduty.server.calls("POST", "enqueue")} == {
        "zendesk:42:L3:notify"
    }
    assert notifier.pages() == {"executive-page", "executive-alert"}


# -- Opsgenie -------------------------------------------------------------------------------------
def test_opsgenie_alert_carries_the_action_key_as_alias(
    opsgenie: OpsgenieEmulator, notifier: Notifier
) -> None:
    result = notifier.send(notify("executive-alert"), ticket_url=TICKET_URL)

    assert result.status is ActionStatus.APPLIED, result.detail
    assert result.detail.startswith(
        "channel 'executive-alert' (opsgenie): alert accepted (alias zendesk:42:L3:notify, request "
    )
    (request,) = opsgenie.server.calls("POST", "^/v2/alerts$")
    assert request.headers["authorization"] == f"GenieKey {API_KEY}"
    # the create-alert fields of https://docs.opsgenie.com/docs/alert-api#create-alert
    assert request.json() == {
        "message": "Escalation level 3: zendesk:42",
        "alias": "zendesk:42:L3:notify",
        "description": f"{TEXT.strip()}\n\n{TICKET_URL}",
        "responders": [{"type": "team", "name": "Executives"}],
        "tags": ["escalation", "rule:major-impact"],
        "details": {
            "ticket": "zendesk:42",
            "rule": "major-impact",
            "escalation_key": "zendesk:42:L3:notify",
            "level": "3",
            "ticket_url": TICKET_URL,
        },
        "entity": "zendesk:42",
        "source": "escalation-sidecar",
        "priority": "P1",
    }
    (alert,) = opsgenie.open_alerts()
    assert (alert.alias, alert.count) == ("zendesk:42:L3:notify", 1)


def test_opsgenie_settle_finds_the_alert_and_creates_nothing(
    opsgenie: OpsgenieEmulator, notifier: Notifier
) -> None:
    notifier.send(notify("executive-alert"))

    settled = notifier.settle(notify("executive-alert"))

    assert settled.status is ActionStatus.ALREADY, settled.detail
    (alert,) = opsgenie.alerts
    assert settled.external_id == alert.id
    assert len(opsgenie.server.calls("POST", "^/v2/alerts$")) == 1
    (lookup,) = opsgenie.server.calls("GET", "^/v2/alerts/")
    assert lookup.path == "/v2/alerts/zendesk%3A42%3AL3%3Anotify"  # the client quotes the alias
    assert lookup.arg("identifierType") == "alias"


def test_opsgenie_settle_creates_when_nothing_arrived(
    opsgenie: OpsgenieEmulator, notifier: Notifier
) -> None:
    settled = notifier.settle(notify("executive-alert"))

    assert settled.status is ActionStatus.APPLIED, settled.detail
    assert settled.detail.endswith("not found after a restart, so created")
    assert len(opsgenie.alerts) == 1


def test_opsgenie_same_alias_is_deduplicated_by_opsgenie(
    opsgenie: OpsgenieEmulator, notifier: Notifier
) -> None:
    notifier.send(notify("executive-alert"))
    notifier.send(notify("executive-alert"))

    (alert,) = opsgenie.alerts
    assert alert.count == 2


def test_opsgenie_429_and_5xx_are_retried(
    opsgenie: OpsgenieEmulator, notifier: Notifier, sleeps: Sleeps
) -> None:
    # a throttled answer as https://docs.opsgenie.com/docs/api-rate-limiting describes it
    opsgenie.server.inject(
        "POST",
        "^/v2/alerts$",
        status=429,
        headers={
            "X-RateLimit-State": "THROTTLED",
            "X-RateLimit-Reason": "ACCOUNT",
            "X-RateLimit-Period-In-Sec": "2",
        },
    )
    opsgenie.server.inject("POST", "^/v2/alerts$", status=502)

    result = notifier.send(notify("executive-alert"))

    assert result.status is ActionStatus.APPLIED, result.detail
    assert sleeps.waits[0] == 2.0
    assert len(sleeps.waits) == 2
    assert len(opsgenie.alerts) == 1


def test_opsgenie_unprocessable_fails_without_retry(
    opsgenie: OpsgenieEmulator, notifier: Notifier, sleeps: Sleeps
) -> None:
    opsgenie.server.inject(
        "POST",
        "^/v2/alerts$",
        status=422,
        body={
            "message": "Request body is not processable. Please check the errors.",
            "errors": {"message": "Message can not be empty."},
            "took": 0.001,
            "requestId": "b6d3e3c6-7f59-4b8a-9f2e-5e5b1c9f1a10",
        },
    )

    result = notifier.send(notify("executive-alert"))

    assert result.status is ActionStatus.FAILED
    assert result.detail == (
        "channel 'executive-alert' (opsgenie): HTTP 422: Request body is not processable. "
        "Please check the errors.; message: Message can not be empty."
    )
    assert sleeps.waits == []


def test_opsgenie_wrong_key_is_an_auth_failure_never_shown(
    opsgenie: OpsgenieEmulator, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "OGSECRET-wrong-key-0000000000000"
    channel = OpsgenieChannel("executive-alert", wrong, base_url=opsgenie.base_url)
    with (
        caplog.at_level(logging.DEBUG),
        Notifier({"executive-alert": channel}, retry=RetryPolicy("notify", sleep=sleeps)) as n,
    ):
        result = n.send(notify("executive-alert"))

    assert result.status is ActionStatus.FAILED
    assert result.detail == "channel 'executive-alert' (opsgenie): HTTP 401: Could not authenticate"
    assert sleeps.waits == []
    for text in [result.detail, repr(channel), *(r.getMessage() for r in caplog.records)]:
        assert "OGSECRET" not in text


def test_opsgenie_alert_follows_the_ticket(opsgenie: OpsgenieEmulator, notifier: Notifier) -> None:
    page = notify("executive-alert")
    notifier.send(page)

    assert notifier.follow(page, "acknowledge").status is ActionStatus.APPLIED
    assert opsgenie.alerts[0].acknowledged
    assert notifier.follow(page, "resolve").status is ActionStatus.APPLIED
    assert opsgenie.alerts[0].status == "closed"
    paths = [r.path for r in opsgenie.server.calls("POST", "^/v2/alerts/")]
    assert paths == [
        "/v2/alerts/zendesk%3A42%3AL3%3Anotify/acknowledge",
        "/v2/alerts/zendesk%3A42%3AL3%3Anotify/close",
    ]


def test_paging_secrets_never_logged(
    pagerduty: PagerDutyEmulator,
    notifier: Notifier,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pagerduty.server.inject("POST", "enqueue", status=400, body={"message": ROUTING_KEY})
    with caplog.at_level(logging.DEBUG):
        notifier.send(notify("executive-page"))
        notifier.send(notify("executive-alert"))

    texts = [r.getMessage() for r in caplog.records] + [repr(c) for c in notifier.channels.values()]
    for text in texts:
        assert "PDSECRET" not in text
        assert "OGSECRET" not in text
