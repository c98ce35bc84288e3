"""Notifications are exactly once, like writes: the cycle records each before and after the
send, and a crash in between is settled on restart by the channel's own idempotency. Run
through ``Sidecar.cycle`` with a stand-in helpdesk and the real channels on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from connectors.base import ActionResult
from connectors.retry import RetryPolicy
from engine.model import Notify
from escalator.config import load_config
from escalator.cycle import Sidecar
from escalator.logs import EventLog
from escalator.notify import AnyChannel, EmailChannel, Notifier, OpsgenieChannel, PagerDutyChannel
from escalator.notify.delivery import Handed
from escalator.notify.emulators.opsgenie import OpsgenieEmulator
from escalator.notify.emulators.pagerduty import PagerDutyEmulator
from escalator.notify.keys import message_id
from escalator.sources import Source
from escalator.store import StateStore, open_store
from tests.app.smtp_server import PASSWORD, USERNAME, make_certificate, smtp_server
from tests.fakes import BREACHED_AT as NOW
from tests.fakes import HIGH_TICKET as TICKET
from tests.fakes import StandInHelpdesk

ROOT = Path(__file__).resolve().parents[2]
LEVEL_CHANNELS = ("team-lead", "support-manager", "executive")  # as config/escalation.yaml
ROUTING_KEY = "PDSECRETroutingkey0123456789abcd"
API_KEY = "OGSECRET-eb243592-faa2-4ba2-a551"
SENDER = "escalations@acme.example"


class Crash(BaseException):
    """The process dies (kill -9): nothing after this point runs, nothing is recorded."""


class CrashingNotifier:
    """The real notifier, killed once: right after the first send, or right before it."""

    def __init__(self, notifier: Notifier, *, after_send: bool) -> None:
        self.notifier = notifier
        self.after_send = after_send
        self.crashed_on: str | None = None

    def send(
        self, action: Notify, *, ticket_url: str | None = None, handed: Handed | None = None
    ) -> ActionResult:
        if self.crashed_on is None and not self.after_send:
            self.crashed_on = action.key
            raise Crash
        result = self.notifier.send(action, ticket_url=ticket_url, handed=handed)
        if self.crashed_on is None:
            self.crashed_on = action.key
            raise Crash
        return result


class World:
    """One kind of channel on 127.0.0.1 and what its server saw, per action key."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind = kind
        self.tmp = tmp

    def __enter__(self) -> World:
        if self.kind == "pagerduty":
            self.pagerduty = PagerDutyEmulator(ROUTING_KEY).__enter__()
        elif self.kind == "opsgenie":
            self.opsgenie = OpsgenieEmulator(API_KEY).__enter__()
        else:
            self.cert, key = make_certificate(self.tmp)
            self._smtp = smtp_server("starttls", self.cert, key)
            self.port, self.mailroom = self._smtp.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.kind == "pagerduty":
            self.pagerduty.__exit__()
        elif self.kind == "opsgenie":
            self.opsgenie.__exit__()
        else:
            self._smtp.__exit__(None, None, None)

    def channel(self, name: str) -> AnyChannel:
        if self.kind == "pagerduty":
            return PagerDutyChannel(name, ROUTING_KEY, base_url=self.pagerduty.base_url)
        if self.kind == "opsgenie":
            return OpsgenieChannel(name, API_KEY, base_url=self.opsgenie.base_url)
        return EmailChannel(
            name,
            "127.0.0.1",
            self.port,
            "starttls",
            SENDER,
            ("oncall@acme.example",),
            username=USERNAME,
            password=PASSWORD,
            ca_file=str(self.cert),
            timeout=5.0,
        )

    def notifier(self) -> Notifier:
        channels = {name: self.channel(name) for name in LEVEL_CHANNELS}
        return Notifier(channels, retry=RetryPolicy("notify", sleep=lambda s: None))

    def deliveries(self) -> dict[str, int]:
        """How many times the people were notified, per action key (what they see)."""
        if self.kind == "pagerduty":
            return count(a.dedup_key for a in self.pagerduty.alerts)
        if self.kind == "opsgenie":
            return count(a.alias for a in self.opsgenie.alerts for _ in range(a.count))
        by_id = {message_id(k, SENDER): k for k in self.notify_keys}
        return count(by_id[mid] for mid in self.mailroom.mailbox)

    notify_keys: list[str]


def count(keys: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key in keys:
        out[key] = out.get(key, 0) + 1
    return out


def sidecar(store: StateStore, notifier: object) -> Sidecar:
    source = Source("zendesk", "zendesk", 60, StandInHelpdesk(TICKET), RetryPolicy("zendesk"))  # type: ignore[arg-type]
    return Sidecar(
        load_config(ROOT / "config"),
        store,
        {"zendesk": source},
        notifier=notifier,  # type: ignore[arg-type]
        log=EventLog(level="error"),
        clock=lambda: NOW,
    )


def notify_rows(store: StateStore) -> dict[str, str]:
    return {a.key: "done" for a in store.applied("zendesk:1") if isinstance(a, Notify)}


@pytest.fixture(params=["email", "pagerduty", "opsgenie"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with World(request.param, tmp_path) as w:
        yield w


@pytest.mark.parametrize("after_send", [True, False], ids=["after-send", "before-send"])
def test_a_crash_between_send_and_record_notifies_exactly_once(
    world: World, tmp_path: Path, after_send: bool
) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    store = open_store(url)
    first = world.notifier()
    crashing = CrashingNotifier(first, after_send=after_send)
    with pytest.raises(Crash):
        sidecar(store, crashing).cycle()
    first.close()
    store.close()
    crashed_key = crashing.crashed_on
    assert crashed_key is not None

    # a new process on the same store: the pending notification is settled, then planned on
    store = open_store(url)
    assert [a.key for a in store.pending()] == [crashed_key]
    with world.notifier() as second:
        report = sidecar(store, second).cycle()
    world.notify_keys = sorted(notify_rows(store))

    assert store.pending() == []
    assert crashed_key in world.notify_keys
    sent_again = [a.key for a, _ in report.written if isinstance(a, Notify)]
    assert crashed_key not in sent_again  # settled on restart, never decided twice
    # the people were told once for each decision, the crashed one included
    assert world.deliveries() == dict.fromkeys(world.notify_keys, 1)
    if world.kind == "opsgenie":
        creates = world.opsgenie.server.calls("POST", "^/v2/alerts$")
        assert len(creates) == len(world.notify_keys)  # the alias was looked up, not re-created
    if world.kind == "pagerduty":
        (alert,) = world.pagerduty.alerts
        # the re-trigger after the crash was merged into the open alert by its dedup_key
        assert len(alert.events) == (2 if after_send else 1)
    if world.kind == "email":
        # the server took the mail in one transaction: after the crash it was not sent again
        # (the ledger noted its Message-ID just before the final dot), or was sent only then
        ids = [str(m["Message-ID"]) for m in world.mailroom.transactions]
        assert ids.count(message_id(crashed_key, SENDER)) == 1
    store.close()
