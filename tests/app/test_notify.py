"""The notifier: each payload format, the one retry policy, secrets kept out of every text."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from connectors.base import ActionStatus
from connectors.retry import RetryPolicy
from engine.model import Notify
from escalator.config import ConfigError, load_config
from escalator.notify import Channel, Notifier, build_request, channels_from_config
from tests.fakes import Sleeps

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 3, 30, 9, 45, tzinfo=UTC)
TICKET_URL = "https://acme.zendesk.com/agent/tickets/42"
# distinctive secret parts, so a leak anywhere is easy to spot
SLACK_URL = "https://hooks.slack.example/services/T000/B000/SLACKSECRETtoken"
TEAMS_URL = "https://prod.workflows.example/workflows/abc/invoke?api-version=1&sig=TEAMSSECRETsig"
HOOK_URL = "https://receiver.example/hooks/HOOKSECRETpath"
SECRETS = ("SLACKSECRET", "TEAMSSECRET", "HOOKSECRET")
CHANNELS = {
    "team-lead": Channel("team-lead", "slack", SLACK_URL),
    "support-manager": Channel("support-manager", "teams", TEAMS_URL),
    "executive": Channel("executive", "webhook", HOOK_URL),
}
TEXT = (
    'Escalation level 1 (Team Lead): zendesk:42 "Printer <on fire> & smoking"\n'
    f"{TICKET_URL}\n"
    "Rule: sla-at-risk; priority high; organisation Acme\n"
)


def notify(channel: str = "team-lead", *, level: int | None = 1) -> Notify:
    return Notify(
        key=f"zendesk:42:L{level}:notify",
        ticket="zendesk:42",
        rule="sla-at-risk",
        at=AT,
        level=level,
        channel=channel,
        text=TEXT,
    )


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def notifier(sleeps: Sleeps) -> Iterator[Notifier]:
    policy = RetryPolicy("notify", max_attempts=3, initial_backoff=0.01, sleep=sleeps)
    with Notifier(CHANNELS, retry=policy) as n:
        yield n


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """Mocks every httpx request; fails when a mocked route was never called."""
    with respx.mock(assert_all_called=True) as mock:
        yield mock


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, text


def sent_json(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


# -- payload formats ----------------------------------------------------------------------------
def test_slack_gets_text_and_blocks(router: respx.MockRouter, notifier: Notifier) -> None:
    route = router.post(SLACK_URL).mock(return_value=httpx.Response(200, text="ok"))

    result = notifier.send(notify(), ticket_url=TICKET_URL)

    assert result.status is ActionStatus.APPLIED
    assert result.key == "zendesk:42:L1:notify"
    body = sent_json(route)
    # Slack control characters are escaped, the link is Slack's <url|label> form
    assert "&lt;on fire&gt; &amp; smoking" in body["text"]
    assert body["text"].endswith(f"<{TICKET_URL}|Open zendesk:42>")
    header, section, actions = body["blocks"]
    assert header["text"] == {"type": "plain_text", "text": "Escalation level 1: zendesk:42"}
    assert section["text"]["type"] == "mrkdwn"
    assert "Rule: sla-at-risk" in section["text"]["text"]
    assert actions["elements"][0]["url"] == TICKET_URL
    assert route.calls[0].request.headers["Content-Type"] == "application/json"
    assert "Idempotency-Key" not in route.calls[0].request.headers


def test_teams_gets_one_adaptive_card(router: respx.MockRouter, notifier: Notifier) -> None:
    # Teams Workflows webhooks answer 202 Accepted with an empty body
    route = router.post(TEAMS_URL).mock(return_value=httpx.Response(202))

    result = notifier.send(notify("support-manager", level=2), ticket_url=TICKET_URL)

    assert result.status is ActionStatus.APPLIED
    body = sent_json(route)
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    texts = [block["text"] for block in card["body"]]
    assert texts == [
        "Escalation level 2: zendesk:42",
        'Escalation level 1 (Team Lead): zendesk:42 "Printer <on fire> & smoking"',
        TICKET_URL,
        "Rule: sla-at-risk; priority high; organisation Acme",
    ]
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open ticket", "url": TICKET_URL}
    ]


def test_generic_webhook_gets_fields_and_idempotency_key(
    router: respx.MockRouter, notifier: Notifier
) -> None:
    route = router.post(HOOK_URL).mock(return_value=httpx.Response(204))

    result = notifier.send(notify("executive", level=3))

    assert result.status is ActionStatus.APPLIED
    assert sent_json(route) == {
        "key": "zendesk:42:L3:notify",
        "ticket": "zendesk:42",
        "rule": "sla-at-risk",
        "level": 3,
        "channel": "executive",
        "text": TEXT,
        "at": "2026-03-30T09:45:00+00:00",
        "ticket_url": None,
    }
    assert route.calls[0].request.headers["Idempotency-Key"] == "zendesk:42:L3:notify"


def test_without_ticket_url_or_level_no_link_is_invented() -> None:
    action = notify(level=None)
    slack = build_request("slack", action).body
    teams = build_request("teams", action).body["attachments"][0]["content"]
    assert [b["type"] for b in slack["blocks"]] == ["header", "section"]
    assert slack["blocks"][0]["text"]["text"] == "Escalation notification: zendesk:42"
    assert "actions" not in teams


# -- retries and failures -----------------------------------------------------------------------
def test_429_waits_retry_after_then_delivers(
    router: respx.MockRouter, notifier: Notifier, sleeps: Sleeps
) -> None:
    route = router.post(SLACK_URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}, text="rate_limited"),
            httpx.Response(200, text="ok"),
        ]
    )

    result = notifier.send(notify())

    assert result.status is ActionStatus.APPLIED
    assert route.call_count == 2
    assert sleeps.waits == [2.0]
    stats = notifier.retry.stats
    assert (stats.calls, stats.retries, stats.rate_limited, stats.waited_seconds) == (1, 1, 1, 2.0)
    assert notifier.stats.sent == {"team-lead": 1}
    assert notifier.stats.failed == {}


def test_teams_error_hidden_in_a_200_is_retried(
    router: respx.MockRouter, notifier: Notifier, sleeps: Sleeps
) -> None:
    hidden = (
        "Webhook message delivery failed with error: Microsoft Teams endpoint returned "
        "HTTP error 429 with ContextId tcid=0,server=x,cv=y.."
    )
    route = router.post(TEAMS_URL).mock(
        side_effect=[httpx.Response(200, text=hidden), httpx.Response(200, text="1")]
    )

    result = notifier.send(notify("support-manager"))

    assert result.status is ActionStatus.APPLIED
    assert route.call_count == 2
    assert len(sleeps.waits) == 1
    assert notifier.retry.stats.rate_limited == 1


def test_5xx_exhausts_the_policy_and_fails(
    router: respx.MockRouter, notifier: Notifier, sleeps: Sleeps
) -> None:
    route = router.post(HOOK_URL).mock(return_value=httpx.Response(503, text="busy"))

    result = notifier.send(notify("executive"))

    assert result.status is ActionStatus.FAILED
    assert route.call_count == 3  # max_attempts
    assert len(sleeps.waits) == 2
    assert result.detail == "channel 'executive' (webhook): HTTP 503 Service Unavailable: busy"
    assert notifier.stats.failed == {"executive": 1}
    assert notifier.stats.sent == {}


def test_timeout_is_retried(router: respx.MockRouter, notifier: Notifier, sleeps: Sleeps) -> None:
    route = router.post(SLACK_URL).mock(
        side_effect=[httpx.ReadTimeout("timed out"), httpx.Response(200, text="ok")]
    )

    assert notifier.send(notify()).status is ActionStatus.APPLIED
    assert route.call_count == 2
    assert len(sleeps.waits) == 1


@pytest.mark.parametrize(
    ("status", "body"),
    [(400, "invalid_payload"), (403, "action_prohibited"), (404, "no_service"), (410, "x")],
)
def test_4xx_fails_without_retry(
    router: respx.MockRouter, notifier: Notifier, sleeps: Sleeps, status: int, body: str
) -> None:
    route = router.post(SLACK_URL).mock(return_value=httpx.Response(status, text=body))

    result = notifier.send(notify())

    assert result.status is ActionStatus.FAILED
    assert route.call_count == 1
    assert sleeps.waits == []
    assert notifier.retry.stats.retries == 0
    assert result.detail.startswith(f"channel 'team-lead' (slack): HTTP {status} ")
    assert result.detail.endswith(body)


def test_unknown_channel_fails_clearly(notifier: Notifier) -> None:
    result = notifier.send(notify("team-leed"))

    assert result.status is ActionStatus.FAILED
    assert result.detail == (
        "unknown notification channel 'team-leed' (did you mean 'team-lead'?); "
        "configured: executive, support-manager, team-lead"
    )
    assert notifier.stats.failed == {"team-leed": 1}
    assert notifier.retry.stats.calls == 0


# -- the URL is a secret ------------------------------------------------------------------------
def test_repr_hides_the_url(notifier: Notifier) -> None:
    for channel in CHANNELS.values():
        assert_no_secret(repr(channel))
        assert_no_secret(str(channel))
        assert "url=<hidden>" in repr(channel)
    assert_no_secret(repr(notifier))
    assert_no_secret(repr(CHANNELS))


def test_url_never_in_detail_even_when_echoed(router: respx.MockRouter, notifier: Notifier) -> None:
    # a receiver echoing the URL back in its error body, and a transport error quoting it
    router.post(HOOK_URL).mock(return_value=httpx.Response(400, text=f"bad request to {HOOK_URL}"))
    router.post(SLACK_URL).mock(side_effect=httpx.ConnectError(f"cannot reach {SLACK_URL}"))
    path_only = "/workflows/abc/invoke"  # the path alone is secret too
    router.post(TEAMS_URL).mock(return_value=httpx.Response(401, text=f"no flow at {path_only}"))

    details = [
        notifier.send(notify("executive")).detail,
        notifier.send(notify("team-lead")).detail,
        notifier.send(notify("support-manager")).detail,
    ]

    for detail in details:
        assert_no_secret(detail)
    assert (
        details[0] == "channel 'executive' (webhook): HTTP 400 Bad Request: bad request to <hidden>"
    )
    assert details[1] == "channel 'team-lead' (slack): transport error (ConnectError)"
    assert details[2].endswith("no flow at <hidden>")


def test_url_never_logged(
    router: respx.MockRouter, notifier: Notifier, caplog: pytest.LogCaptureFixture
) -> None:
    router.post(SLACK_URL).mock(return_value=httpx.Response(200, text="ok"))
    router.post(HOOK_URL).mock(return_value=httpx.Response(400, text=HOOK_URL))

    with caplog.at_level(logging.DEBUG):
        notifier.send(notify())
        notifier.send(notify("executive"))

    messages = [record.getMessage() for record in caplog.records]
    assert any(m.startswith("HTTP Request: POST") for m in messages)  # httpx's own line
    assert any("notification zendesk:42:L1:notify failed" in m for m in messages)
    for message in messages:
        assert_no_secret(message)


# -- channels from the config -------------------------------------------------------------------
ENV = {
    "TEAM_LEAD_WEBHOOK_URL": SLACK_URL,
    "SUPPORT_MANAGER_WEBHOOK_URL": TEAMS_URL,
    "EXECUTIVE_WEBHOOK_URL": HOOK_URL,
}


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    return target


def test_channels_from_config_resolve_the_environment(config_dir: Path) -> None:
    channels = channels_from_config(load_config(config_dir), env=ENV)
    assert channels == CHANNELS


def test_unset_variable_names_its_position(config_dir: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "EXECUTIVE_WEBHOOK_URL"}
    with pytest.raises(ConfigError) as caught:
        channels_from_config(load_config(config_dir), env=env)
    (problem,) = caught.value.problems
    assert str(problem) == (
        f"{config_dir / 'channels.yaml'}:5:35: environment variable EXECUTIVE_WEBHOOK_URL "
        "is not set (needed by channels.executive.url)"
    )


def test_non_http_url_is_refused_without_quoting_it(config_dir: Path) -> None:
    env = {**ENV, "TEAM_LEAD_WEBHOOK_URL": "hooks.slack.example/services/SLACKSECRET"}
    with pytest.raises(ConfigError) as caught:
        channels_from_config(load_config(config_dir), env=env)
    message = str(caught.value)
    assert_no_secret(message)
    assert message == (
        f"{config_dir / 'channels.yaml'}:3:33: channel 'team-lead': the URL must be http or "
        "https with a host (scheme 'none')"
    )


# -- a real receiver on the loopback ------------------------------------------------------------
class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], Any]]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        self.received.append((self.path, dict(self.headers), body))
        reply = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, dict[str, str], Any]]]]:
    received: list[tuple[str, dict[str, str], Any]] = []
    handler = type("Handler", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_real_loopback_receiver_gets_slack_and_webhook_messages(
    receiver: tuple[str, list[tuple[str, dict[str, str], Any]]], sleeps: Sleeps
) -> None:
    base, received = receiver
    channels = {
        "team-lead": Channel("team-lead", "slack", f"{base}/services/T1/B1/SLACKSECRET"),
        "executive": Channel("executive", "webhook", f"{base}/hooks/HOOKSECRET"),
    }
    with Notifier(channels, retry=RetryPolicy("notify", sleep=sleeps)) as notifier:
        slack = notifier.send(notify(), ticket_url=TICKET_URL)
        hook = notifier.send(notify("executive", level=3), ticket_url=TICKET_URL)

    assert (slack.status, hook.status) == (ActionStatus.APPLIED, ActionStatus.APPLIED)
    assert slack.detail == "channel 'team-lead' (slack): HTTP 200"
    assert sleeps.waits == []
    (slack_path, _, slack_body), (hook_path, hook_headers, hook_body) = received
    assert slack_path == "/services/T1/B1/SLACKSECRET"
    assert slack_body["text"].endswith(f"<{TICKET_URL}|Open zendesk:42>")
    assert hook_path == "/hooks/HOOKSECRET"
    assert hook_headers["Idempotency-Key"] == "zendesk:42:L3:notify"
    assert hook_headers["User-Agent"] == "escalation-sidecar-notifier"
    assert hook_body["key"] == "zendesk:42:L3:notify"
    assert hook_body["ticket_url"] == TICKET_URL
    assert notifier.stats.sent == {"team-lead": 1, "executive": 1}


# -- settling a delivery begun before a crash -----------------------------------------------------
def test_settle_resends_a_webhook_with_the_same_idempotency_key(
    router: respx.MockRouter, notifier: Notifier
) -> None:
    route = router.post(HOOK_URL).mock(return_value=httpx.Response(204))

    first = notifier.send(notify("executive"))
    settled = notifier.settle(notify("executive"))

    assert (first.status, settled.status) == (ActionStatus.APPLIED, ActionStatus.APPLIED)
    assert settled.detail.endswith("re-sent after a restart with the same Idempotency-Key")
    keys = [call.request.headers["Idempotency-Key"] for call in route.calls]
    assert keys == ["zendesk:42:L1:notify", "zendesk:42:L1:notify"]


def test_settle_leaves_slack_and_teams_to_the_next_cycle(notifier: Notifier) -> None:
    # no idempotency to ask them for: failed (and decided again), never posted from here
    with respx.mock(assert_all_called=False) as mock:
        for channel in ("team-lead", "support-manager"):
            result = notifier.settle(notify(channel))
            assert result.status is ActionStatus.FAILED
            assert result.detail == "interrupted before it was recorded"
        assert mock.calls.call_count == 0
