"""A real SMTP server on 127.0.0.1 (aiosmtpd) for the email channel's tests.

It speaks STARTTLS or implicit TLS with a throw-away certificate for 127.0.0.1, requires
AUTH, and can refuse recipients (5xx), answer 4xx to DATA, or drop the connection mid-DATA.
``transactions`` is every mail the server accepted; ``mailbox`` keeps one per Message-ID, as
a mail store that suppresses duplicates does (e.g. Gnus' nnmail duplicate cache): what the
person sees there.
"""

from __future__ import annotations

import email
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from tests.ports import free_port

USERNAME = "escalator@acme.example"
PASSWORD = "SMTPSECRETpassword"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (it is also the CA file the client trusts)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@dataclass
class Faults:
    refuse_recipients: bool = False  # 550 on RCPT TO
    data_4xx: int = 0  # answer the next N DATA with 451
    drop_in_data: int = 0  # close the connection on the next N DATA, before any reply


@dataclass
class Mailroom:
    faults: Faults = field(default_factory=Faults)
    transactions: list[EmailMessage] = field(default_factory=list)
    mailbox: dict[str, EmailMessage] = field(default_factory=dict)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    auth_ok: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- aiosmtpd handler hooks -----------------------------------------------------------
    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.faults.refuse_recipients:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        with self.lock:
            if self.faults.drop_in_data > 0:
                self.faults.drop_in_data -= 1
                assert server.transport is not None
                server.transport.close()  # the connection drops: the client gets no reply
                return "421 4.4.2 connection dropped"
            if self.faults.data_4xx > 0:
                self.faults.data_4xx -= 1
                return "451 4.3.0 Temporary local problem, please try again"
            raw = envelope.original_content or envelope.content or b""
            data = raw if isinstance(raw, bytes) else raw.encode()
            message = email.message_from_bytes(data, policy=default_policy)
            self.transactions.append(message)
            self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
            self.mailbox.setdefault(str(message["Message-ID"]), message)
        return f"250 2.0.0 Ok: queued as {len(self.transactions)}"

    def authenticate(
        self, server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == USERNAME.encode()
            and data.password == PASSWORD.encode()
        )
        if ok:
            self.auth_ok += 1
        return AuthResult(success=ok, handled=False)


@contextmanager
def smtp_server(
    security: str, cert: Path, key: Path, mailroom: Mailroom | None = None, *, utf8: bool = False
) -> Iterator[tuple[int, Mailroom]]:
    """A running server; ``security`` is ``starttls`` or ``tls`` (implicit); ``utf8`` offers
    SMTPUTF8 (RFC 6531)."""
    room = mailroom or Mailroom()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    port = free_port()
    options: dict[str, Any] = {
        "authenticator": room.authenticate,
        "auth_required": True,
        "auth_require_tls": True,
        "enable_SMTPUTF8": utf8,
    }
    if security == "tls":
        # aiosmtpd counts only STARTTLS as TLS for AUTH; this socket is TLS from the start
        options["auth_require_tls"] = False
        controller = Controller(
            room, hostname="127.0.0.1", port=port, ssl_context=context, **options
        )
    else:
        controller = Controller(
            room,
            hostname="127.0.0.1",
            port=port,
            tls_context=context,
            require_starttls=True,
            **options,
        )
    controller.start()
    try:
        yield port, room
    finally:
        controller.stop()
