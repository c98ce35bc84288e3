"""The email channel against a real SMTP server on 127.0.0.1: STARTTLS, implicit TLS, AUTH,
a server that refuses, one that drops the connection, and a 4xx that is retried."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.base import ActionStatus
from connectors.retry import RetryPolicy
from engine.model import Notify
from escalator.notify import EmailChannel, Notifier
from escalator.notify.email import build_email
from escalator.notify.keys import message_id
from tests.app.smtp_server import PASSWORD, USERNAME, Mailroom, make_certificate, smtp_server
from tests.fakes import Sleeps
from tests.ports import free_port

AT = datetime(2026, 3, 30, 9, 45, tzinfo=UTC)
TICKET_URL = "https://acme.zendesk.com/agent/tickets/42"
TEXT = (
    'Escalation level 3 (Executive): zendesk:42 "Printer <on fire> & smoking"\n'
    f"{TICKET_URL}\n"
    "Rule: major-impact; priority urgent; organisation Acme\n"
)


def notify(key: str = "zendesk:42:L3:notify") -> Notify:
    return Notify(
        key=key,
        ticket="zendesk:42",
        rule="major-impact",
        at=AT,
        level=3,
        channel="executive-mail",
        text=TEXT,
    )


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


def channel(port: int, cert: Path, security: str = "starttls", **changes: object) -> EmailChannel:
    values: dict[str, object] = {
        "name": "executive-mail",
        "host": "127.0.0.1",
        "port": port,
        "security": security,
        "sender": "escalations@acme.example",
        "to": ("exec-oncall@acme.example", "cto@acme.example"),
        "username": USERNAME,
        "password": PASSWORD,
        "ca_file": str(cert),
        "timeout": 5.0,
    }
    values.update(changes)
    return EmailChannel(**values)  # type: ignore[arg-type]


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def notifier_for(ch: EmailChannel, sleeps: Sleeps) -> Notifier:
    policy = RetryPolicy("notify", max_attempts=3, initial_backoff=0.01, sleep=sleeps)
    return Notifier({ch.name: ch}, retry=policy)


@pytest.fixture
def starttls(certificate: tuple[Path, Path]) -> Iterator[tuple[int, Mailroom]]:
    with smtp_server("starttls", *certificate) as running:
        yield running


# -- the message ---------------------------------------------------------------------------------
def test_text_and_html_come_from_the_same_template(certificate: tuple[Path, Path]) -> None:
    message = build_email(channel(25, certificate[0]), notify(), TICKET_URL)

    assert message["Subject"] == "Escalation level 3: zendesk:42"
    assert message["To"] == "exec-oncall@acme.example, cto@acme.example"
    assert message["Date"] == "Mon, 30 Mar 2026 09:45:00 +0000"  # the decision's instant
    assert message["Message-ID"] == message_id("zendesk:42:L3:notify", "escalations@acme.example")
    assert message["Message-ID"].endswith("@acme.example>")
    assert message["X-Escalation-Key"] == "zendesk:42:L3:notify"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None
    assert rich is not None
    text, markup = plain.get_content(), rich.get_content()
    assert 'zendesk:42 "Printer <on fire> & smoking"' in text
    assert text.endswith(f"Open the ticket: {TICKET_URL}\n")
    # the same lines, escaped, with the URL as a link
    assert "&quot;Printer &lt;on fire&gt; &amp; smoking&quot;" in markup
    assert f'<a href="{TICKET_URL}">{TICKET_URL}</a>' in markup
    assert "<p>Rule: major-impact; priority urgent; organisation Acme</p>" in markup


def test_the_same_action_always_gives_the_same_mail(certificate: tuple[Path, Path]) -> None:
    ch = channel(25, certificate[0])
    first = build_email(ch, notify(), TICKET_URL).as_bytes()
    again = build_email(ch, notify(), TICKET_URL).as_bytes()
    other = build_email(ch, notify("zendesk:42:L2:notify"), TICKET_URL)

    assert first == again  # a re-send after a crash is recognisably, byte for byte, the same
    assert other["Message-ID"] != build_email(ch, notify(), TICKET_URL)["Message-ID"]


# -- delivery ------------------------------------------------------------------------------------
def test_starttls_with_auth_delivers_one_mail(
    starttls: tuple[int, Mailroom], certificate: tuple[Path, Path], sleeps: Sleeps
) -> None:
    port, room = starttls
    with notifier_for(channel(port, certificate[0]), sleeps) as notifier:
        result = notifier.send(notify(), ticket_url=TICKET_URL)

    assert result.status is ActionStatus.APPLIED, result.detail
    assert result.detail == "channel 'executive-mail' (email): accepted for 2 of 2 recipients"
    assert result.external_id == message_id("zendesk:42:L3:notify", "escalations@acme.example")
    assert room.auth_ok == 1
    assert room.envelopes == [
        ("escalations@acme.example", ["exec-oncall@acme.example", "cto@acme.example"])
    ]
    (received,) = room.transactions
    assert received["Message-ID"] == result.external_id
    assert received.get_body(("html",)) is not None
    assert sleeps.waits == []
    assert notifier.stats.sent == {"executive-mail": 1}


# aiosmtpd only knows STARTTLS as TLS and warns about AUTH on this (implicitly TLS) socket
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_delivers(certificate: tuple[Path, Path], sleeps: Sleeps) -> None:
    with (
        smtp_server("tls", *certificate) as (port, room),
        notifier_for(channel(port, certificate[0], "tls"), sleeps) as notifier,
    ):
        result = notifier.send(notify(), ticket_url=TICKET_URL)

    assert result.status is ActionStatus.APPLIED, result.detail
    assert len(room.transactions) == 1
    assert room.auth_ok == 1


def test_4xx_is_retried_then_delivered_once(
    starttls: tuple[int, Mailroom], certificate: tuple[Path, Path], sleeps: Sleeps
) -> None:
    port, room = starttls
    room.faults.data_4xx = 1

    with notifier_for(channel(port, certificate[0]), sleeps) as notifier:
        result = notifier.send(notify(), ticket_url=TICKET_URL)

    assert result.status is ActionStatus.APPLIED, result.detail
    assert len(room.transactions) == 1
    assert len(sleeps.waits) == 1
    assert notifier.retry.stats.retries == 1


def test_a_dropped_connection_is_retried_and_the_mail_is_the_same(
    starttls: tuple[int, Mailroom], certificate: tuple[Path, Path], sleeps: Sleeps
) -> None:
    port, room = starttls
    room.faults.drop_in_data = 1

    with notifier_for(channel(port, certificate[0]), sleeps) as notifier:
        result = notifier.send(notify(), ticket_url=TICKET_URL)

    assert result.status is ActionStatus.APPLIED, result.detail
    assert len(sleeps.waits) == 1
    (received,) = room.transactions
    assert received["Message-ID"] == result.external_id


def test_the_message_id_is_handed_over_just_before_the_server_takes_the_mail(
    starttls: tuple[int, Mailroom], certificate: tuple[Path, Path], sleeps: Sleeps
) -> None:
    # RFC 5321 §4.1.1.4: the mail is the server's only with the dot that ends DATA; the
    # sidecar notes the Message-ID in its ledger right before sending that dot
    port, room = starttls
    seen_at_handover: list[tuple[str, int]] = []

    def handed(reference: str) -> None:
        seen_at_handover.append((reference, len(room.transactions)))

    with notifier_for(channel(port, certificate[0]), sleeps) as notifier:
        result = notifier.send(notify(), ticket_url=TICKET_URL, handed=handed)

    assert result.status is ActionStatus.APPLIED, result.detail
    (received,) = room.transactions
    assert seen_at_handover == [(received["Message-ID"], 0)]  # noted, then taken


def test_a_handover_the_ledger_cannot_note_drops_the_session_and_delivers_nothing(
    starttls: tuple[int, Mailroom], certificate: tuple[Path, Path], sleeps: Sleeps
) -> None:
    port, room = starttls

    class LedgerDown(Exception):
        pass

    def handed(reference: str) -> None:
        raise LedgerDown(reference)

    with notifier_for(channel(port, certificate[0]), sleeps) as notifier:
        with pytest.raises(LedgerDown):
            notifier.send(notify(), ticket_url=TICKET_URL, handed=handed)
        assert room.transactions == []  # the session dropped mid-DATA: the server kept nothing
        result = notifier.send(notify(), ticket_url=TICKET_URL)  # once the ledger is back

    assert result.status is ActionStatus.APPLIED, result.detail
    assert len(room.transactions) == 1


def test_a_non_ascii_address_needs_the_servers_smtputf8(
    certificate: tuple[Path, Path], sleeps: Sleeps
) -> None:
    to = ("jürgen@acme.example",)
    with smtp_server("starttls", *certificate) as (port, room):
        with notifier_for(channel(port, certificate[0], to=to), sleeps) as notifier:
            refused = notifier.send(notify())
        assert refused.status is ActionStatus.FAILED
        assert "does not offer SMTPUTF8" in refused.detail
        assert room.transactions == []
    with smtp_server("starttls", *certificate, utf8=True) as (port, room):
        with notifier_for(channel(port, certificate[0], to=to), sleeps) as notifier:
            sent = notifier.send(notify())
        assert sent.status is ActionStatus.APPLIED, sent.detail
        (received,) = room.transactions
        assert received["To"] == "jürgen@acme.example"


def test_refused_recipients_fail_without_retry(
    starttls: tuple[int, Mailroom], certificate: tuple[Path, Path], sleeps: Sleeps
) -> None:
    port, room = starttls
    room.faults.refuse_recipients = True

    with notifier_for(channel(port, certificate[0]), sleeps) as notifier:
        result = notifier.send(notify())

    assert result.status is ActionStatus.FAILED
    assert result.detail == "channel 'executive-mail' (email): SMTP refused every recipient (550)"
    assert sleeps.waits == []
    assert room.transactions == []
    assert notifier.stats.failed == {"executive-mail": 1}


def test_a_server_refusing_connections_is_retried_then_fails(
    certificate: tuple[Path, Path], sleeps: Sleeps
) -> None:
    port = free_port()  # nothing listens there

    with notifier_for(channel(port, certificate[0]), sleeps) as notifier:
        result = notifier.send(notify())

    assert result.status is ActionStatus.FAILED
    assert result.detail == (
        "channel 'executive-mail' (email): SMTP connection failed (ConnectionRefusedError)"
    )
    assert len(sleeps.waits) == 2  # three attempts


def test_wrong_password_fails_at_once_and_is_never_shown(
    starttls: tuple[int, Mailroom],
    certificate: tuple[Path, Path],
    sleeps: Sleeps,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port, room = starttls
    wrong = "WRONGSECRETpassword"
    ch = channel(port, certificate[0], password=wrong)

    with caplog.at_level(logging.DEBUG), notifier_for(ch, sleeps) as notifier:
        result = notifier.send(notify())

    assert result.status is ActionStatus.FAILED
    assert result.detail == "channel 'executive-mail' (email): SMTP 535: authentication failed"
    assert sleeps.waits == []
    assert room.transactions == []
    for text in [
        result.detail,
        repr(ch),
        repr(notifier),
        *(r.getMessage() for r in caplog.records),
    ]:
        assert wrong not in text


def test_an_untrusted_certificate_is_refused(
    starttls: tuple[int, Mailroom], tmp_path: Path, sleeps: Sleeps
) -> None:
    port, room = starttls
    stranger, _ = make_certificate(tmp_path)  # a CA that did not sign the server's certificate

    with notifier_for(channel(port, stranger), sleeps) as notifier:
        result = notifier.send(notify())

    assert result.status is ActionStatus.FAILED
    assert "TLS certificate not trusted" in result.detail
    assert room.auth_ok == 0  # the password never left
    assert sleeps.waits == []
