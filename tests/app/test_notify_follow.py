"""A page follows its ticket: acknowledged when an agent replies (or a person is assigned),
resolved when the ticket is solved; each step sent once, through the cycle and the ledger."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import pytest

from connectors.retry import RetryPolicy
from engine.model import (
    Assign,
    AuthorRole,
    Change,
    Comment,
    Notify,
    Priority,
    Status,
    Ticket,
)
from escalator.config import load_config
from escalator.cycle import Sidecar
from escalator.logs import EventLog
from escalator.notify import AnyChannel, Notifier, OpsgenieChannel, PagerDutyChannel
from escalator.notify.emulators.opsgenie import OpsgenieEmulator
from escalator.notify.emulators.pagerduty import PagerDutyEmulator
from escalator.notify.follow import follow_ups, open_pages, split_follow_key
from escalator.sources import Source
from escalator.store import open_store
from tests.fakes import BREACHED_AT as NOW
from tests.fakes import HIGH_TICKET as TICKET
from tests.fakes import StandInHelpdesk
from tests.people_config import people_config

ROOT = Path(__file__).resolve().parents[2]
ROUTING_KEY = "PDSECRETroutingkey0123456789abcd"
API_KEY = "OGSECRET-eb243592-faa2-4ba2-a551"
PAGE = Notify(
    key="zendesk:1:L2:notify",
    ticket="zendesk:1",
    rule="sla-breached",
    at=NOW,
    level=2,
    channel="support-manager",
    text="Escalation level 2",
)


def reply(at: datetime, role: AuthorRole = AuthorRole.AGENT, public: bool = True) -> Comment:
    return Comment(at, role, public, "On it")


# -- which follow-ups are due (pure) -------------------------------------------------------------
def test_nothing_is_due_until_a_person_takes_the_ticket_up() -> None:
    assert follow_ups(TICKET, [PAGE], {"support-manager"}) == []
    # a reply before the page, a private note, the customer, a bot: none acknowledges
    ticket = dataclasses.replace(
        TICKET,
        comments=(
            reply(NOW - timedelta(seconds=1)),
            reply(NOW, public=False),
            reply(NOW, role=AuthorRole.CUSTOMER),
            reply(NOW, role=AuthorRole.BOT),
        ),
    )
    assert follow_ups(ticket, [PAGE], {"support-manager"}) == []


def test_an_agent_reply_acknowledges_and_solving_resolves() -> None:
    answered = dataclasses.replace(TICKET, comments=(reply(NOW + timedelta(minutes=7)),))
    (ack,) = follow_ups(answered, [PAGE], {"support-manager"})
    assert (ack.key, ack.at, ack.level, ack.channel) == (
        "zendesk:1:L2:notify~acknowledge",
        NOW + timedelta(minutes=7),
        None,
        "support-manager",
    )
    assert split_follow_key(ack.key) == ("zendesk:1:L2:notify", "acknowledge")
    assert follow_ups(answered, [PAGE, ack], {"support-manager"}) == []

    solved_at = NOW + timedelta(hours=2)
    solved = dataclasses.replace(
        answered,
        status=Status.SOLVED,
        history=(Change(solved_at, "status", "open", "solved"),),
    )
    (resolve,) = follow_ups(solved, [PAGE, ack], {"support-manager"})
    assert (resolve.key, resolve.at) == ("zendesk:1:L2:notify~resolve", solved_at)
    assert follow_ups(solved, [PAGE, ack, resolve], {"support-manager"}) == []


def test_an_assignee_the_sidecar_did_not_set_acknowledges() -> None:
    own = Assign(
        key="zendesk:1:L2:assign",
        ticket="zendesk:1",
        rule="sla-breached",
        at=NOW,
        level=2,
        user="tier2-bot",
    )
    by_sidecar = dataclasses.replace(TICKET, history=(Change(NOW, "assignee", None, "tier2-bot"),))
    assert follow_ups(by_sidecar, [PAGE, own], {"support-manager"}) == []
    by_person = dataclasses.replace(
        TICKET, history=(Change(NOW + timedelta(minutes=3), "assignee", None, "alice"),)
    )
    (ack,) = follow_ups(by_person, [PAGE, own], {"support-manager"})
    assert ack.at == NOW + timedelta(minutes=3)


def test_a_page_the_channel_shows_acknowledged_is_taken_up_when_seen() -> None:
    seen = NOW + timedelta(minutes=4)
    assert open_pages(TICKET, [PAGE], {"support-manager"}) == [PAGE]
    (ack,) = follow_ups(TICKET, [PAGE], {"support-manager"}, {PAGE.key: seen})
    assert (ack.key, ack.at) == ("zendesk:1:L2:notify~acknowledge", seen)
    assert open_pages(TICKET, [PAGE, ack], {"support-manager"}) == []  # not asked again
    # an agent's reply before it was seen there: the earlier instant counts
    answered = dataclasses.replace(TICKET, comments=(reply(NOW + timedelta(minutes=2)),))
    (ack,) = follow_ups(answered, [PAGE], {"support-manager"}, {PAGE.key: seen})
    assert ack.at == NOW + timedelta(minutes=2)
    solved = dataclasses.replace(TICKET, status=Status.SOLVED)
    assert open_pages(solved, [PAGE], {"support-manager"}) == []


def test_chat_and_email_notifications_have_nothing_to_follow() -> None:
    solved = dataclasses.replace(TICKET, status=Status.SOLVED)
    assert follow_ups(solved, [PAGE], {"executive"}) == []


# -- through the cycle, against the emulators ----------------------------------------------------
@pytest.fixture
def emulators() -> Iterator[tuple[PagerDutyEmulator, OpsgenieEmulator]]:
    with PagerDutyEmulator(ROUTING_KEY) as pd, OpsgenieEmulator(API_KEY) as og:
        yield pd, og


def test_pages_follow_the_ticket_through_the_cycle(
    emulators: tuple[PagerDutyEmulator, OpsgenieEmulator], tmp_path: Path
) -> None:
    pd, og = emulators
    helpdesk = StandInHelpdesk(TICKET)
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    clock = [NOW]
    # level 1 pages Opsgenie, level 2 PagerDuty (names as config/escalation.yaml)
    channels: dict[str, AnyChannel] = {
        "team-lead": OpsgenieChannel("team-lead", API_KEY, base_url=og.base_url),
        "support-manager": PagerDutyChannel("support-manager", ROUTING_KEY, base_url=pd.base_url),
        "executive": PagerDutyChannel("executive", ROUTING_KEY, base_url=pd.base_url),
    }
    notifier = Notifier(channels, retry=RetryPolicy("notify", sleep=lambda s: None))
    source = Source("zendesk", "zendesk", 60, helpdesk, RetryPolicy("zendesk"))  # type: ignore[arg-type]
    sidecar = Sidecar(
        load_config(ROOT / "config"),
        store,
        {"zendesk": source},
        notifier=notifier,
        log=EventLog(level="error"),
        clock=lambda: clock[0],
    )

    sidecar.cycle()
    (alert,) = pd.alerts
    assert (alert.dedup_key, alert.status) == ("zendesk:1:L2:notify", "triggered")

    # an agent answers: the page is acknowledged, once
    clock[0] = NOW + timedelta(minutes=10)
    helpdesk.ticket = dataclasses.replace(
        TICKET, updated_at=clock[0], comments=(reply(NOW + timedelta(minutes=9)),)
    )
    sidecar.cycle()
    assert alert.status == "acknowledged"
    sidecar.cycle()

    # the ticket is solved: the page is resolved, once
    clock[0] = NOW + timedelta(hours=3)
    helpdesk.ticket = dataclasses.replace(
        helpdesk.ticket,
        status=Status.SOLVED,
        updated_at=clock[0],
        history=(Change(clock[0], "status", "open", "solved"),),
    )
    sidecar.cycle()
    sidecar.cycle()

    assert alert.status == "resolved"
    events = [r.json()["event_action"] for r in pd.server.calls("POST", "^/v2/enqueue$")]
    assert events == ["trigger", "acknowledge", "resolve"]
    done = {a.key for a in store.applied("zendesk:1")}
    assert {"zendesk:1:L2:notify~acknowledge", "zendesk:1:L2:notify~resolve"} <= done
    notifier.close()
    store.close()


# -- a responder's acknowledgement in the paging tool stops the repeats ------------------------
REST_TOKEN = "PDRESTSECRET-u+abcdefghij"


@pytest.mark.parametrize("kind", ["opsgenie", "pagerduty"])
def test_a_page_a_responder_acknowledged_stops_the_levels_repeats(
    kind: str, tmp_path: Path
) -> None:
    start = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)

    def incident(tid: str) -> Ticket:  # urgent, enterprise: the major-impact rule, level 3
        return Ticket(
            "zendesk", tid, start - timedelta(minutes=10), start - timedelta(minutes=10),
            Status.OPEN, Priority.URGENT, title=f"Payments down {tid}",
            url=f"https://acme.zendesk.com/agent/tickets/{tid}", organization="Globex",
            category="technical", customer_tier="enterprise",
        )  # fmt: skip

    with PagerDutyEmulator(ROUTING_KEY, api_token=REST_TOKEN) as pd, OpsgenieEmulator(
        API_KEY
    ) as og:
        channel: Callable[[str], AnyChannel]
        if kind == "opsgenie":
            channel = partial(OpsgenieChannel, api_key=API_KEY, base_url=og.base_url)
        else:  # the Events API to page, the REST API (read-only key) to see acknowledgements
            channel = partial(
                PagerDutyChannel, routing_key=ROUTING_KEY, base_url=pd.base_url,
                api_token=REST_TOKEN, api_url=pd.base_url,
            )  # fmt: skip
        store = open_store(f"sqlite:///{tmp_path}/state.db")
        clock = [start]
        # level 3 repeats every 30 minutes (24x7), up to 3 times, until acknowledged ("page" too)
        config = load_config(people_config(tmp_path))
        levels = ("team-lead", "support-manager", "executive")
        notifier = Notifier(
            {n: channel(n) for n in levels}, retry=RetryPolicy("notify", sleep=lambda s: None)
        )
        desk = StandInHelpdesk(incident("7"), incident("8"))
        source = Source("zendesk", "zendesk", 60, desk, RetryPolicy("zendesk"))  # type: ignore[arg-type]
        sidecar = Sidecar(
            config, store, {"zendesk": source}, notifier=notifier, log=EventLog(level="error"),
            clock=lambda: clock[0],
        )  # fmt: skip

        sidecar.cycle()
        raised = [a.alias for a in og.alerts] + [a.dedup_key for a in pd.alerts]
        assert sorted(raised) == ["zendesk:7:L3:notify", "zendesk:8:L3:notify"]

        # a responder acknowledges ticket 7's page in the paging tool's app
        if kind == "opsgenie":
            # the Alert API the app calls: https://docs.opsgenie.com/docs/alert-api#acknowledge-alert
            answer = httpx.post(
                f"{og.base_url}/v2/alerts/zendesk%3A7%3AL3%3Anotify/acknowledge",
                params={"identifierType": "alias"},
                headers={"Authorization": f"GenieKey {API_KEY}"},
                json={"user": "oncall@acme.example", "source": "Opsgenie app"},
            )
            assert answer.status_code == 202
        else:
            pd.acknowledge_as_responder("zendesk:7:L3:notify")
        clock[0] = start + timedelta(minutes=5)
        sidecar.cycle()
        done = {a.key for a in store.applied("zendesk:7")}
        assert "zendesk:7:L3:notify~acknowledge" in done  # recorded as the acknowledgement

        clock[0] = start + timedelta(minutes=30)  # the repeat's instant
        sidecar.cycle()
        repeats = {a.key for key in ("zendesk:7", "zendesk:8") for a in store.applied(key)}
        assert "zendesk:8:L3:notify.r1" in repeats  # nobody answered 8: paged again
        assert not any(k.startswith("zendesk:7:L3:notify.r") for k in repeats)  # 7 was taken up
        notifier.close()
        store.close()


def test_without_a_rest_key_pagerduty_is_not_asked(tmp_path: Path) -> None:
    with PagerDutyEmulator(ROUTING_KEY, api_token=REST_TOKEN) as pd:
        events_only = PagerDutyChannel("executive", ROUTING_KEY, base_url=pd.base_url)
        wrong_key = PagerDutyChannel(
            "executive", ROUTING_KEY, base_url=pd.base_url, api_token="nope", api_url=pd.base_url
        )
        page = dataclasses.replace(PAGE, channel="executive")
        for channel in (events_only, wrong_key):
            with Notifier({"executive": channel}, retry=RetryPolicy("notify")) as notifier:
                notifier.send(page)
                pd.acknowledge_as_responder(page.key)
                assert notifier.page_acknowledged(page) is False  # unasked, or refused (401)
        assert len(pd.server.calls("GET", "^/incidents$")) == 1  # only the one with a key
