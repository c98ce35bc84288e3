"""Email over SMTP: the plain text and the HTML part come from the same rendered template.

What each SMTP failure means is classed once (``_classify``): 4xx replies, a dropped connection
or a refused socket are transient and retried by the one retry policy; 5xx replies are
permanent; 535 is bad credentials. The ``Message-ID`` and ``Date`` come from the action, so a
re-send after a crash is the same mail, byte for byte.

SMTP cannot be asked whether a mail arrived, so exactly once rests on its commit point: a
server takes a mail only with the ``.`` that ends DATA (RFC 5321 §4.1.1.4; a session dropped
before it delivers nothing). The DATA phase is therefore written out here rather than through
``send_message``: the caller's ``handed`` records the Message-ID just before that dot, so a
crash after it is not sent again, and one before it is.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import smtplib
import ssl
from collections.abc import Callable, Sequence
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import SMTPUTF8
from email.utils import format_datetime

from connectors.base import ActionResult, ActionStatus
from connectors.errors import AuthError, ConnectorError, FatalError, RetryableError
from connectors.retry import RetryPolicy
from engine.model import Notify
from escalator.notify.channel import EmailChannel
from escalator.notify.delivery import Handed
from escalator.notify.keys import message_id
from escalator.notify.payloads import title_of

_URL = re.compile(r"https?://[^\s<>\"']+")


def build_email(channel: EmailChannel, action: Notify, ticket_url: str | None) -> EmailMessage:
    """One multipart/alternative message; pure, so its shape is tested without a server."""
    message = EmailMessage()
    message["Subject"] = title_of(action)
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to)
    message["Date"] = format_datetime(action.at)  # the decision's instant: re-sends match
    message["Message-ID"] = message_id(action.key, channel.sender)
    message["X-Escalation-Key"] = action.key
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a robot
    text = action.text.strip()
    plain = f"{text}\n\nOpen the ticket: {ticket_url}\n" if ticket_url else f"{text}\n"
    message.set_content(plain)
    message.add_alternative(html_body(action, ticket_url), subtype="html")
    # a boundary from the key, not random: the re-sent mail is byte-identical
    message.set_boundary("=_" + hashlib.sha256(action.key.encode()).hexdigest()[:32])
    return message


def html_body(action: Notify, ticket_url: str | None) -> str:
    paragraphs = "\n".join(
        f"<p>{_linkify(line)}</p>" for line in action.text.strip().splitlines() if line.strip()
    )
    button = (
        f'<p><a href="{html.escape(ticket_url, quote=True)}">Open the ticket</a></p>'
        if ticket_url
        else ""
    )
    return (
        '<!DOCTYPE html>\n<html><body style="font-family: sans-serif">\n'
        f"<h2>{html.escape(title_of(action))}</h2>\n{paragraphs}\n{button}\n</body></html>\n"
    )


def _linkify(line: str) -> str:
    out, last = [], 0
    for match in _URL.finditer(line):
        url = match.group(0)
        out.append(html.escape(line[last : match.start()]))
        out.append(f'<a href="{html.escape(url, quote=True)}">{html.escape(url)}</a>')
        last = match.end()
    out.append(html.escape(line[last:]))
    return "".join(out)


class EmailDelivery:
    """Submits each notification to one SMTP server (STARTTLS, implicit TLS or plain)."""

    def __init__(self, channel: EmailChannel, retry: RetryPolicy) -> None:
        self.channel = channel
        self.retry = retry
        self._tls = ssl.create_default_context(cafile=channel.ca_file)

    def send(
        self, action: Notify, ticket_url: str | None, handed: Handed | None = None
    ) -> ActionResult:
        message = build_email(self.channel, action, ticket_url)
        reference = str(message["Message-ID"])

        def commit() -> None:  # just before the dot: from here on the mail is the server's
            if handed is not None:
                handed(reference)

        refused = self.retry.call(lambda: self._submit(message, commit))
        accepted = len(self.channel.to) - len(refused)
        detail = f"{self._where()}: accepted for {accepted} of {len(self.channel.to)} recipients"
        if refused:
            detail += f" (refused: {', '.join(sorted(refused))})"
        return ActionResult(action.key, ActionStatus.APPLIED, detail, reference)

    def settle(self, action: Notify, ticket_url: str | None) -> ActionResult:
        # asked only for a mail whose commit point was never recorded: the process died before
        # the dot, so the server holds nothing and the identical mail goes now
        result = self.send(action, ticket_url)
        detail = f"{result.detail}; sent after a restart (the crash came before the server had it)"
        return ActionResult(action.key, result.status, detail, result.external_id)

    def close(self) -> None:
        return None  # one connection per message: nothing held open between cycles

    def _where(self) -> str:
        return f"channel {self.channel.name!r} (email)"

    def _connect(self) -> smtplib.SMTP:
        c = self.channel
        if c.security == "tls":
            return smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=self._tls)
        smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        if c.security == "starttls":
            smtp.ehlo()
            # smtplib raises SMTPNotSupportedError if the server does not offer STARTTLS:
            # credentials and the mail never travel in the clear by accident
            smtp.starttls(context=self._tls)
            smtp.ehlo()
        return smtp

    def _submit(
        self, message: EmailMessage, commit: Callable[[], None]
    ) -> dict[str, tuple[int, bytes]]:
        """One SMTP session: the refused recipients (empty when all were accepted).

        A reply lost after the dot is retried, as mail transfer agents do (RFC 1047): the
        server failed before it took responsibility, most likely without keeping the mail, and
        a copy it did keep has the same Message-ID. Only this process dying after the dot, with
        a healthy server, is settled as delivered."""
        c = self.channel
        try:
            smtp = self._connect()
        except (smtplib.SMTPException, OSError) as exc:
            raise _classify(exc) from None
        in_data = False
        try:
            if c.username and c.password:
                smtp.login(c.username, c.password)
            utf8 = not all(a.isascii() for a in (c.sender, *c.to))
            refused = _envelope(smtp, c.sender, c.to, utf8=utf8)
            smtp.putcmd("data")
            code, reply = smtp.getreply()
            if code != 354:
                raise smtplib.SMTPDataError(code, reply)
            in_data = True
            smtp.send(_dot_stuffed(message, utf8=utf8))
            commit()
            smtp.send(b".\r\n")
            in_data = False
            code, reply = smtp.getreply()
            if code != 250:  # the reply that takes the mail
                raise smtplib.SMTPDataError(code, reply)
            return refused
        except (smtplib.SMTPException, OSError) as exc:
            raise _classify(exc) from None
        finally:
            if in_data:
                smtp.close()  # mid-DATA a QUIT would be read as part of the mail: just drop
            else:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()  # the mail was handed over (or not) before QUIT: ignore


def _envelope(
    smtp: smtplib.SMTP, sender: str, to: Sequence[str], *, utf8: bool
) -> dict[str, tuple[int, bytes]]:
    """MAIL FROM and RCPT TO, as ``smtplib.sendmail`` does them: the refused recipients.
    A non-ASCII address needs the server's SMTPUTF8 (RFC 6531), as ``send_message`` asks."""
    smtp.ehlo_or_helo_if_needed()
    options: tuple[str, ...] = ()
    if utf8:
        if not smtp.has_extn("smtputf8"):
            raise smtplib.SMTPNotSupportedError(
                "an address is not ASCII and the server does not offer SMTPUTF8"
            )
        options = ("SMTPUTF8", "BODY=8BITMIME")
    code, reply = smtp.mail(sender, options)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    refused: dict[str, tuple[int, bytes]] = {}
    for address in to:
        code, reply = smtp.rcpt(address)
        if code not in (250, 251):
            refused[address] = (code, reply)
    if len(refused) == len(to):
        raise smtplib.SMTPRecipientsRefused(refused)
    return refused


def _dot_stuffed(message: EmailMessage, *, utf8: bool) -> bytes:
    """The mail as DATA carries it, up to (not including) the final dot: CRLF line ends, a
    leading dot doubled (RFC 5321 §4.5.2), as ``smtplib.SMTP.data`` writes it; headers in
    UTF-8 when the envelope asked for SMTPUTF8."""
    out = io.BytesIO()
    policy = SMTPUTF8 if utf8 else message.policy
    BytesGenerator(out, policy=policy).flatten(message, linesep="\r\n")
    data = re.sub(rb"(?m)^\.", b"..", out.getvalue())
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def _classify(exc: BaseException) -> ConnectorError:  # noqa: PLR0911
    """An SMTP failure as the retry policy understands it (RFC 5321 §4.2.1: 4yz transient)."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return AuthError(f"SMTP {exc.smtp_code}: authentication failed")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        text = f"SMTP refused every recipient ({', '.join(map(str, codes))})"
        return RetryableError(text) if all(400 <= c < 500 for c in codes) else FatalError(text)
    if isinstance(exc, smtplib.SMTPResponseException):
        raw = exc.smtp_error
        reply = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        text = f"SMTP {exc.smtp_code}: {' '.join(reply.split())[:200]}"
        return RetryableError(text) if 400 <= exc.smtp_code < 500 else FatalError(text)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # STARTTLS or AUTH not offered: credentials never travel in the clear by accident
        return FatalError(f"the SMTP server lacks what is required: {exc}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return RetryableError("the SMTP server closed the connection")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return FatalError(f"TLS certificate not trusted ({exc.verify_message})")
    if isinstance(exc, ssl.SSLError):
        return FatalError(f"TLS failed ({exc.reason or type(exc).__name__})")
    if isinstance(exc, TimeoutError):
        return RetryableError("timed out talking to the SMTP server")
    return RetryableError(f"SMTP connection failed ({type(exc).__name__})")
