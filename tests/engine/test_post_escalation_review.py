"""The post-escalation review: when a ticket that reached level 2 or above is solved, an internal
note with the timeline of levels, time at each, the breaches and who acted. Shipped commented
out in ``config/`` (it is not part of the reference policy); tested here uncommented."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from engine.model import PostComment, Priority, Status, Ticket
from engine.simulation import TicketEvent, simulate
from escalator.config import load_config

ROOT = Path(__file__).resolve().parents[2]
CREATED = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # Monday 09:00 in London (GMT)


def _uncomment(path: Path, first: str) -> None:
    """Uncomment the block that starts at the line holding ``first``, to the file's end."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if first in line)
    lines[start:] = [re.sub(r"^(\s*)# ?", r"\1", line, count=1) for line in lines[start:]]
    path.write_text("\n".join(lines) + "\n")


def test_a_solved_level_two_escalation_gets_its_review(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(ROOT / "config", config_dir)
    _uncomment(config_dir / "escalation.yaml", "# - name: post-escalation-review")
    _uncomment(config_dir / "templates.yaml", "# post-escalation-review: |")
    config = load_config(config_dir)
    review = config.policy.rule_named("post-escalation-review")
    assert review is not None
    assert review.review

    ticket = Ticket(
        "zendesk", "9", CREATED, CREATED, Status.OPEN, Priority.URGENT, title="Checkout down",
        organization="Globex", category="technical",
    )  # fmt: skip
    solved_at = CREATED + timedelta(hours=3)
    events = [
        TicketEvent(CREATED + timedelta(hours=2), ticket.key, changes={"assignee": "avery"}),
        TicketEvent(solved_at, ticket.key, changes={"status": "solved"}),
    ]
    result = simulate(config.policy, [ticket], events, until=solved_at + timedelta(minutes=1))

    notes = [a for a in result.actions if a.rule == "post-escalation-review"]
    assert len(notes) == 1
    (note,) = notes
    assert note.at == solved_at
    assert isinstance(note, PostComment)
    body = note.body
    # urgent first response is 1 h on 24x7: at risk (L1) at 09:45, breached (L2) at 10:00
    day = "Monday 09 March 2026"
    assert f"- Level 1 (Team Lead): reached {day}, 09:45 GMT, 15m at this level" in body
    assert f"- Level 2 (Department Manager): reached {day}, 10:00 GMT, 2h at this level" in body
    assert f"- first response breached {day}, 10:00 GMT" in body
    assert "assignee none -> avery" in body


def test_no_review_below_level_two(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(ROOT / "config", config_dir)
    _uncomment(config_dir / "escalation.yaml", "# - name: post-escalation-review")
    _uncomment(config_dir / "templates.yaml", "# post-escalation-review: |")
    config = load_config(config_dir)
    ticket = Ticket("zendesk", "9", CREATED, CREATED, Status.OPEN, Priority.LOW, title="Typo")
    solved_at = CREATED + timedelta(minutes=30)
    events = [TicketEvent(solved_at, ticket.key, changes={"status": "solved"})]
    result = simulate(config.policy, [ticket], events, until=solved_at + timedelta(minutes=1))
    assert not [a for a in result.actions if a.rule == "post-escalation-review"]


def test_the_report_lists_reviews_opened(tmp_path: Path) -> None:
    """A review written through the cycle is listed by ``escalator report`` (opened; none
    still open: a note-only review makes no linked issue)."""
    from collections.abc import Sequence

    from connectors.base import ActionResult, ActionStatus, PullResult
    from connectors.retry import RetryPolicy
    from engine.model import Action, apply_action
    from escalator.cycle import Sidecar
    from escalator.logs import EventLog
    from escalator.report.build import Period, report_from_store
    from escalator.sources import Source
    from escalator.store import open_store

    config_dir = tmp_path / "config"
    shutil.copytree(ROOT / "config", config_dir)
    _uncomment(config_dir / "escalation.yaml", "# - name: post-escalation-review")
    _uncomment(config_dir / "templates.yaml", "# post-escalation-review: |")
    config = load_config(config_dir)

    class Helpdesk:
        ticket = Ticket(
            "zendesk", "9", CREATED, CREATED, Status.OPEN, Priority.URGENT, title="Checkout",
            organization="Globex", category="technical",
        )  # fmt: skip

        def pull(self, cursor: str | None, *, start: datetime) -> PullResult:
            return PullResult((self.ticket,), "c")

        def fetch(self, ticket_id: str) -> Ticket:
            return self.ticket

        def apply(self, ticket: Ticket, actions: Sequence[Action]) -> list[ActionResult]:
            for action in actions:
                self.ticket = apply_action(self.ticket, action)
            return [ActionResult(a.key, ActionStatus.APPLIED) for a in actions]

        def verify_webhook(self, *args: object, **kwargs: object) -> None:
            raise NotImplementedError

        def close(self) -> None:
            return None

    helpdesk = Helpdesk()
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    source = Source("zendesk", "zendesk", 60, helpdesk, RetryPolicy("zendesk"))  # type: ignore[arg-type]
    clock = [CREATED + timedelta(hours=1, minutes=1)]  # breached: level 2
    car = Sidecar(config, store, {"zendesk": source}, log=EventLog(level="error"),
                  clock=lambda: clock[0])  # fmt: skip
    car.cycle()
    clock[0] = CREATED + timedelta(hours=3)
    helpdesk.ticket = replace(helpdesk.ticket, status=Status.SOLVED, updated_at=clock[0])
    car.cycle()
    period = Period(CREATED - timedelta(days=1), CREATED + timedelta(days=1), "a day")
    report = report_from_store(store, config, period, clock[0])
    assert report["reviews"]["opened"] == 1
    assert report["reviews"]["still_open"] == 0
    assert report["reviews"]["list"][0]["ticket"] == "zendesk:9"
    store.close()
