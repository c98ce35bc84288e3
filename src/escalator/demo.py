"""A realistic support day on the emulators, for ``escalator demo`` and end-to-end tests.

Tickets are created minutes to days before now, so escalations fall due within the first
minute. Urgent tickets run on the 24x7 calendar, so the demo behaves the same at any hour.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

from connectors import registry
from connectors.emulation import Emulator, SeedComment, SeedTicket
from connectors.hubspot.emulator import HubSpotEmulator
from connectors.hubspot.paths import ApiPaths
from connectors.jira.emulator import JiraEmulator
from connectors.zendesk.emulator import ZendeskEmulator

if TYPE_CHECKING:
    from escalator.config import Config


@dataclass
class ChatReceiver:
    """A loopback stand-in for Slack/Teams/webhook endpoints: records what it is sent."""

    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if not length or len(body) < length:  # the sender died mid-request
                    self.send_response(400)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {"raw": body.decode(errors="replace")}
                receiver.messages.append((self.path.strip("/"), payload))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _ago(now: datetime, **delta: float) -> datetime:
    return now - timedelta(**delta)


def zendesk_day(now: datetime) -> list[SeedTicket]:
    return [
        SeedTicket(
            "Checkout returns 502 for every customer",
            _ago(now, minutes=10),
            status="open",
            priority="urgent",
            organization="Globex",
            category="technical",
            customer_tier="enterprise",
            affected_users=1200,
            comments=[
                SeedComment(
                    _ago(now, minutes=10),
                    "customer",
                    True,
                    "Nobody can pay. This is costing us thousands.",
                )
            ],
        ),
        SeedTicket(
            "Password reset emails never arrive",
            _ago(now, minutes=44, seconds=40),
            status="new",
            priority="urgent",
            organization="Umbrella",
            category="account",
            customer_tier="standard",
            affected_users=4,
        ),
        SeedTicket(
            "Invoice shows the wrong VAT rate",
            _ago(now, days=2),
            status="pending",
            priority="normal",
            organization="Acme",
            category="billing",
            customer_tier="standard",
            comments=[
                SeedComment(
                    _ago(now, days=2, minutes=-30),
                    "agent",
                    True,
                    "Could you send us the invoice number?",
                )
            ],
        ),
    ]


def jira_day(now: datetime) -> list[SeedTicket]:
    return [
        SeedTicket(
            "Reports export times out",
            _ago(now, minutes=59, seconds=40),
            status="open",
            priority="urgent",
            organization="Initech",
            category="technical",
            customer_tier="standard",
            affected_users=12,
        ),
        SeedTicket(
            "SSO login loop after password change",
            _ago(now, hours=1),
            status="open",
            priority="normal",
            organization="Hooli",
            category="account",
            comments=[
                SeedComment(_ago(now, minutes=50), "agent", True, "Thanks, we are looking into it.")
            ],
        ),
    ]


def hubspot_day(now: datetime) -> list[SeedTicket]:
    chatty = [
        SeedComment(
            _ago(now, hours=3, minutes=-10 * i),
            "agent" if i % 2 else "customer",
            True,
            f"Message {i}",
        )
        for i in range(12)
    ]
    return [
        SeedTicket(
            "Charged twice for March",
            _ago(now, days=10),
            status="solved",
            priority="normal",
            organization="Acme",
            category="billing",
        ),
        SeedTicket(
            "Refund not received",
            _ago(now, days=3),
            status="solved",
            priority="low",
            organization="Acme",
            category="billing",
        ),
        SeedTicket(
            "Card declined again",
            _ago(now, minutes=5),
            status="new",
            priority="normal",
            organization="Acme",
            category="billing",
            customer_tier="standard",
        ),
        SeedTicket(
            "Mobile app crashes on upload",
            _ago(now, minutes=44, seconds=50),
            status="new",
            priority="urgent",
            organization="Vandelay",
            category="technical",
            customer_tier="standard",
            affected_users=30,
        ),
        SeedTicket(
            "Bulk import keeps failing",
            _ago(now, hours=3),
            status="open",
            priority="normal",
            organization="Stark",
            category="technical",
            comments=chatty,
        ),
    ]


def any_day(now: datetime) -> list[SeedTicket]:
    """The day of a helpdesk the demo has no day of its own for (one the registry found)."""
    return [
        SeedTicket(
            "Payments page returns 500",
            _ago(now, minutes=20),
            status="open",
            priority="urgent",
            organization="Globex",
            category="technical",
            customer_tier="enterprise",
            affected_users=250,
        ),
        SeedTicket(
            "Reset link expired",
            _ago(now, hours=3),
            status="new",
            priority="normal",
            organization="Acme",
            category="account",
            customer_tier="standard",
        ),
    ]


DEMO_DAYS: dict[str, Callable[[datetime], list[SeedTicket]]] = {
    "zendesk": zendesk_day,
    "jira": jira_day,
    "hubspot": hubspot_day,
}


@dataclass
class DemoWorld:
    """An emulator of every registered helpdesk and a chat receiver, seeded with a day of
    tickets. A helpdesk is found through the connector registry: a new one joins the demo,
    the benchmarks and the end-to-end tests by being registered.

    With ``sidecar_url``, every emulator sends signed webhook deliveries to the sidecar at
    ``{sidecar_url}/webhooks/{system}`` whenever a ticket changes.
    """

    sidecar_url: str | None = None
    jira_flavour: str = "cloud"  # or "datacenter": the Jira emulator serves Data Center's API
    kinds: Sequence[str] | None = None  # the helpdesks to emulate; every registered one if None
    emulators: dict[str, Emulator] = field(init=False)
    chat: ChatReceiver = field(default_factory=ChatReceiver)
    chat_url: str = ""

    def __post_init__(self) -> None:
        options: dict[str, dict[str, Any]] = {
            "jira": {"flavour": "datacenter" if self.jira_flavour == "datacenter" else "cloud"}
        }
        self.emulators = {}
        for kind in self.kinds or registry.known_kinds():
            hook = f"{self.sidecar_url}/webhooks/{kind}" if self.sidecar_url else None
            emulator = registry.emulator_class(kind)
            self.emulators[kind] = emulator(webhook_url=hook, **options.get(kind, {}))  # type: ignore[call-arg]

    # the built-in helpdesks, typed, for tests that speak one system's language
    @property
    def zendesk(self) -> ZendeskEmulator:
        return cast(ZendeskEmulator, self.emulators["zendesk"])

    @property
    def jira(self) -> JiraEmulator:
        return cast(JiraEmulator, self.emulators["jira"])

    @property
    def hubspot(self) -> HubSpotEmulator:
        return cast(HubSpotEmulator, self.emulators["hubspot"])

    def start(self) -> None:
        for emulator in self.emulators.values():
            emulator.start()
            emulator.prepare_demo()
        self.chat_url = self.chat.start()

    def seed(self, now: datetime | None = None) -> dict[str, list[str]]:
        now = now or datetime.now(UTC)
        return {
            kind: emulator.seed_demo(DEMO_DAYS.get(kind, any_day)(now))
            for kind, emulator in self.emulators.items()
        }

    def env(self) -> dict[str, str]:
        """The environment the config's sources and channels read URLs and secrets from."""
        merged: dict[str, str] = {}
        for emulator in self.emulators.values():
            merged.update(emulator.env())
        return {
            **merged,
            "TEAM_LEAD_WEBHOOK_URL": f"{self.chat_url}/team-lead",
            "SUPPORT_MANAGER_WEBHOOK_URL": f"{self.chat_url}/support-manager",
            "EXECUTIVE_WEBHOOK_URL": f"{self.chat_url}/executive",
        }

    def stop(self) -> None:
        for emulator in self.emulators.values():
            emulator.stop()
        self.chat.stop()


def with_every_source(config_dir: Path, target: Path) -> Path:
    """A copy of ``config_dir`` with a ``sources`` section for every registered helpdesk: one
    the config does not name gets its emulator's section (its secrets from ``env``)."""
    shutil.copytree(config_dir, target)
    sources = target / "sources.yaml"
    named = (yaml.safe_load(sources.read_text()) or {}).get("sources") or {}
    missing = {
        kind: registry.emulator_class(kind).source_section(kind)
        for kind in registry.known_kinds()
        if kind not in named
    }
    if missing:
        block = yaml.safe_dump(missing, sort_keys=False)
        indented = "".join(f"  {line}\n" for line in block.splitlines())
        text = sources.read_text()
        head, sep, rest = text.partition("\nsources:\n")
        if not sep and text.startswith("sources:\n"):
            head, sep, rest = "", "sources:\n", text[len("sources:\n") :]
        sources.write_text(head + sep + indented + rest)
    return target


HUBSPOT_API_ENV = "ESCALATOR_DEMO_HUBSPOT_API"


def use_demo_hubspot_api(config: Config, env: Mapping[str, str]) -> str | None:
    """``ESCALATOR_DEMO_HUBSPOT_API=v3|2026-09``: the HubSpot API version the demo speaks
    (``ValueError`` for anything else)."""
    version = env.get(HUBSPOT_API_ENV) or None
    if version:
        ApiPaths(version)
    hubspot = config.located.data.get("sources", {}).get("hubspot")
    if version and isinstance(hubspot, dict):
        hubspot["api_version"] = version  # read by connector_settings like any YAML key
    return version


JIRA_FLAVOUR_ENV = "ESCALATOR_DEMO_JIRA_FLAVOUR"


def demo_jira_flavour(env: Mapping[str, str]) -> str:
    """``ESCALATOR_DEMO_JIRA_FLAVOUR=cloud|datacenter`` (``ValueError`` for anything else)."""
    flavour = env.get(JIRA_FLAVOUR_ENV) or "cloud"
    if flavour not in ("cloud", "datacenter"):
        raise ValueError(f"{flavour!r} is neither 'cloud' nor 'datacenter'")
    return flavour


def use_demo_jira_flavour(config: Config, world: DemoWorld) -> None:
    """Point the config's ``jira`` source at the world's Jira flavour (Data Center: PAT...)."""
    jira = config.located.data.get("sources", {}).get("jira")
    if isinstance(jira, dict):
        for key, value in world.jira.source_overrides().items():
            if value is None:
                jira.pop(key, None)
            else:
                jira[key] = value  # read by connector_settings like any YAML key


@contextmanager
def demo_world(now: datetime | None = None) -> Iterator[DemoWorld]:
    world = DemoWorld()
    world.start()
    try:
        world.seed(now)
        yield world
    finally:
        world.stop()
