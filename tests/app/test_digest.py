"""The review of open escalations: its content from a seeded store, sent once by email to a real
SMTP server on 127.0.0.1, and the runner's job armed at the schedule's next instant.

The digest is the shipped example (config/channels.yaml, commented out): ``morning-review`` at
09:00 on support-hours, listing escalations at level 1 or above. Its channel is pointed at an
email channel here. Times are UTC; London is on GMT in March before the 29th.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from connectors.base import ActionStatus
from connectors.retry import RetryPolicy
from engine.calendar import to_epoch
from engine.model import Action, AddLabels, AuthorRole, Comment, Priority, Status, Ticket
from escalator.config import load_config
from escalator.cycle import Sidecar
from escalator.digest import DigestJobs, send_digest
from escalator.logs import EventLog
from escalator.notify import EmailChannel, Notifier
from escalator.store import StateStore, open_store
from tests.app.smtp_server import PASSWORD, USERNAME, Mailroom, make_certificate, smtp_server
from tests.people_config import people_config

DIGEST_AT = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # Tuesday, 09:00 GMT


def _ticket(system: str, tid: str, created: datetime, **fields: object) -> Ticket:
    values: dict[str, object] = {"updated_at": created, "status": Status.OPEN}
    values.update(fields)
    return Ticket(system, tid, created, priority=values.pop("priority"), **values)  # type: ignore[arg-type]


def _reached(ticket: Ticket, level: int, at: datetime) -> AddLabels:
    return AddLabels(
        key=f"{ticket.key}:L{level}:add_labels", ticket=ticket.key, rule="seeded", at=at,
        level=level, labels=(f"escalation-l{level}",),
    )  # fmt: skip


def seed(store: StateStore) -> None:
    checkout = _ticket(
        "zendesk", "ZD-1", datetime(2026, 3, 10, 7, 0, tzinfo=UTC), priority=Priority.URGENT,
        title="Checkout down", assignee="avery@acme.example",
        updated_at=datetime(2026, 3, 10, 8, 15, tzinfo=UTC),
        url="https://acme.zendesk.com/agent/tickets/1",
    )  # fmt: skip
    reports = _ticket(
        "jira", "SUP-2", datetime(2026, 3, 9, 15, 0, tzinfo=UTC), priority=Priority.HIGH,
        title="Reports slow", group="Tier 2 Support",
        updated_at=datetime(2026, 3, 9, 16, 30, tzinfo=UTC),
    )  # fmt: skip
    solved = _ticket(
        "zendesk", "ZD-3", datetime(2026, 3, 9, 9, 0, tzinfo=UTC), priority=Priority.HIGH,
        title="Solved already", status=Status.SOLVED,
    )  # fmt: skip
    quiet = _ticket(
        "zendesk", "ZD-4", datetime(2026, 3, 10, 8, 0, tzinfo=UTC), priority=Priority.LOW,
        title="Typo on invoice",
        comments=(
            Comment(datetime(2026, 3, 10, 8, 5, tzinfo=UTC), AuthorRole.AGENT, True, "Fixing"),
        ),
    )  # fmt: skip
    store.save_tickets("zendesk", [checkout, solved, quiet])
    store.save_tickets("jira", [reports])
    done: list[Action] = [
        _reached(checkout, 3, checkout.created_at),
        _reached(reports, 1, datetime(2026, 3, 9, 16, 30, tzinfo=UTC)),
        _reached(solved, 2, datetime(2026, 3, 9, 14, 0, tzinfo=UTC)),
    ]
    for action in done:
        assert store.begin(action, action.ticket.split(":")[0])
        store.finish(action.key, ActionStatus.APPLIED, "seeded")


EXPECTED = """\
Open escalations at Tuesday 10 March 2026, 09:00 GMT (morning-review): 2

Level 3 (Executive): 1
- zendesk:ZD-1 "Checkout down": escalated 2h ago; resolution breaches in 6h; \
owner avery@acme.example; last update Tuesday 10 March 2026, 08:15 GMT; \
https://acme.zendesk.com/agent/tickets/1

Level 1 (Team Lead): 1
- jira:SUP-2 "Reports slow": escalated 16h 30m ago; first response breaches in 2h; \
owner Tier 2 Support; last update Monday 09 March 2026, 16:30 GMT"""


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def mail(certificate: tuple[Path, Path]) -> Iterator[tuple[int, Mailroom]]:
    with smtp_server("starttls", *certificate) as running:
        yield running


@pytest.fixture
def sidecar(
    tmp_path: Path, mail: tuple[int, Mailroom], certificate: tuple[Path, Path]
) -> Iterator[Sidecar]:
    port, _ = mail
    config = load_config(people_config(tmp_path))
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    seed(store)
    channel = EmailChannel(
        name="support-manager", host="127.0.0.1", port=port, security="starttls",
        sender="escalations@acme.example", to=("support-managers@acme.example",),
        username=USERNAME, password=PASSWORD, ca_file=str(certificate[0]), timeout=5.0,
    )  # fmt: skip
    retry = RetryPolicy("notify", max_attempts=2, initial_backoff=0.01, sleep=lambda s: None)
    notifier = Notifier({"support-manager": channel}, retry=retry)
    sidecar = Sidecar(
        config, store, {}, notifier=notifier, log=EventLog(level="error"),
        clock=lambda: DIGEST_AT,
    )  # fmt: skip
    yield sidecar
    notifier.close()
    store.close()


def test_the_digest_lists_open_escalations_by_level_and_is_mailed_once(
    sidecar: Sidecar, mail: tuple[int, Mailroom]
) -> None:
    _, room = mail
    (digest,) = sidecar.config.policy.digests
    result = send_digest(sidecar, digest, to_epoch(DIGEST_AT))
    assert result is not None
    assert result.status is ActionStatus.APPLIED

    (message,) = room.transactions
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == EXPECTED + "\n"
    assert message["X-Escalation-Key"] == "digest:morning-review:2026-03-10T09:00:00Z"
    assert message["To"] == "support-managers@acme.example"

    # a second send for the same instant (a restart, a second process) sends nothing
    assert send_digest(sidecar, digest, to_epoch(DIGEST_AT)) is None
    assert len(room.transactions) == 1


def test_the_runner_job_waits_for_the_next_business_morning(sidecar: Sidecar) -> None:
    scheduler = BackgroundScheduler(timezone=UTC)  # never started: the jobs are only read
    jobs = DigestJobs(scheduler, sidecar, lambda: True)
    jobs.arm(datetime(2026, 4, 2, 8, 0, 1, tzinfo=UTC))  # Thursday, after 09:00 BST
    job = scheduler.get_job("digest:morning-review")
    assert job is not None
    # Good Friday and Easter Monday are bank holidays in England: Tuesday, 09:00 BST
    assert job.trigger.run_date == datetime(2026, 4, 7, 8, 0, tzinfo=UTC)
    assert job.args == ("morning-review", to_epoch(datetime(2026, 4, 7, 8, 0, tzinfo=UTC)))


def test_a_fired_job_sends_and_arms_the_next_instant(
    sidecar: Sidecar, mail: tuple[int, Mailroom]
) -> None:
    _, room = mail
    scheduler = BackgroundScheduler(timezone=UTC)
    jobs = DigestJobs(scheduler, sidecar, lambda: True)
    jobs.fire("morning-review", to_epoch(DIGEST_AT))
    assert len(room.transactions) == 1
    job = scheduler.get_job("digest:morning-review")
    assert job is not None
    assert job.trigger.run_date == datetime(2026, 3, 11, 9, 0, tzinfo=UTC)


def test_a_standby_sends_no_digest(sidecar: Sidecar, mail: tuple[int, Mailroom]) -> None:
    _, room = mail
    scheduler = BackgroundScheduler(timezone=UTC)
    DigestJobs(scheduler, sidecar, lambda: False).fire("morning-review", to_epoch(DIGEST_AT))
    assert room.transactions == []
    assert scheduler.get_job("digest:morning-review") is not None  # still armed for tomorrow
