"""The API budget: a pull costs export pages, not calls per ticket (issue 8). Zendesk Team
plans share 200 requests a minute across every integration, and the incremental exports allow
10 a minute (helpdesk-apis.md 1.2, 1.8)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from connectors.emulation import SeedComment
from connectors.retry import RetryPolicy
from connectors.zendesk import Settings, ZendeskConnector
from connectors.zendesk.emulator import ZendeskEmulator
from engine.model import AuthorRole
from tests.connectors.zendesk.zendesk_seeds import T0, seed_ticket

AUDITS = r"/api/v2/tickets/\d+/audits"


def api_paths(emulator: ZendeskEmulator, since: int) -> list[str]:
    return [r.path for r in emulator.server.requests[since:] if r.path.startswith("/api/")]


def test_a_busy_pull_costs_pages_and_a_quiet_poll_one_call(
    emulator: ZendeskEmulator, make_connector: Callable[..., ZendeskConnector]
) -> None:
    emulator.page_size = emulator.events_page_size = 1000  # Zendesk's pages: up to 1,000
    connector = make_connector(page_size=1000)
    ids = emulator.seed([seed_ticket(i % 50) for i in range(120)])

    first = connector.pull(None, start=T0 - timedelta(hours=1))

    assert len(first.tickets) == 120
    assert first.api_calls == 3  # one export page, one event page, the agents' roles
    assert sorted(api_paths(emulator, 0)) == [
        "/api/v2/incremental/ticket_events.json",
        "/api/v2/incremental/tickets/cursor.json",
        "/api/v2/users/show_many.json",
    ]

    for tid in ids[:30]:
        emulator.add_comment(
            tid,
            SeedComment(at=emulator.server.clock.now(), author="customer", public=True, body="?"),
        )
    busy = connector.pull(first.cursor, start=T0)

    assert sorted(t.id for t in busy.tickets) == sorted(ids[:30])
    assert all(t.comments[-1].body == "?" for t in busy.tickets)
    assert busy.api_calls == 2  # 30 changed tickets: two pages, no call per ticket
    assert not emulator.server.calls("GET", AUDITS)

    before = len(emulator.server.requests)
    quiet = connector.pull(busy.cursor, start=T0)
    assert quiet.tickets == ()
    assert api_paths(emulator, before) == ["/api/v2/incremental/tickets/cursor.json"]


def test_audits_only_for_a_ticket_whose_history_predates_the_window(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    old, new = emulator.seed([seed_ticket(0), seed_ticket(1)])
    # both were created two days ago; the sidecar's first window starts ten minutes ago
    emulator.add_comment(
        old, SeedComment(at=emulator.server.clock.now(), author="agent", public=True, body="Hi")
    )
    emulator.add_comment(
        new, SeedComment(at=emulator.server.clock.now(), author="agent", public=True, body="Yo")
    )
    start = emulator.server.clock.now() - timedelta(minutes=10)

    result = connector.pull(None, start=start)

    assert sorted(t.id for t in result.tickets) == sorted([old, new])
    audits = {r.path.split("/")[4] for r in emulator.server.calls("GET", AUDITS)}
    assert audits == {old, new}  # neither was created inside the window: both read in full
    for ticket in result.tickets:
        assert len(ticket.comments) == 4  # the description, two replies and the new one
    again = connector.pull(result.cursor, start=start)
    assert again.tickets == ()
    emulator.server.clock.advance(5)  # a reply seconds later (the emulator's stamps are unique)
    emulator.add_comment(
        old, SeedComment(at=emulator.server.clock.now(), author="customer", public=True, body="!")
    )
    calls = len(emulator.server.calls("GET", AUDITS))
    later = connector.pull(again.cursor, start=start)
    assert later.tickets[0].comments[-1].body == "!"
    assert len(emulator.server.calls("GET", AUDITS)) == calls  # now kept current by the export


def test_the_export_limit_is_waited_out_and_nothing_is_lost(
    emulator: ZendeskEmulator,
) -> None:
    # 10 a minute on a real account; 3 here, with pages of two tickets and four events
    emulator.export_limit_per_minute = 3
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the emulator's minute passes; nobody waits for it
        waits.append(seconds)
        emulator.server.clock.advance(seconds)

    retry = RetryPolicy("zendesk", max_attempts=4, max_wait=120.0, sleep=sleep)
    connector = ZendeskConnector(
        "zendesk", Settings.model_validate(emulator.settings()), retry=retry
    )
    try:
        ids = emulator.seed([seed_ticket(i) for i in range(7)])
        result = connector.pull(None, start=T0 - timedelta(hours=1))
    finally:
        connector.close()

    assert sorted(t.id for t in result.tickets) == sorted(ids)  # each once, none skipped
    assert retry.stats.rate_limited == len(waits)
    assert len(waits) > 0
    assert all(0 < w <= 61 for w in waits)  # what Retry-After asked, never a guess
    ticket_pages = emulator.server.calls("GET", r"/api/v2/incremental/tickets/cursor")
    answered = [r for r in ticket_pages if "cursor" in r.query]
    assert len({r.arg("cursor") for r in answered}) == 3  # pages 2-4, each read to the end


def test_api_comments_of_other_users_cost_no_audits_read(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    ids = emulator.seed([seed_ticket(i) for i in range(3)])
    first = connector.pull(None, start=T0 - timedelta(hours=1))
    emulator.server.clock.advance(5)
    for tid in ids:  # an agent replying from a Slack app: written through the API, as them
        emulator.comment_as(tid, emulator.agent_id, "from Slack", channel="api")

    result = connector.pull(first.cursor, start=T0)

    assert all(t.comments[-1].author_role is AuthorRole.AGENT for t in result.tickets)
    assert not emulator.server.calls("GET", AUDITS)  # they cannot be ours: no read back
    assert len(emulator.server.calls("GET", r"/api/v2/users/me")) == 1  # who we are, once
    connector.pull(result.cursor, start=T0)
    assert len(emulator.server.calls("GET", r"/api/v2/users/me")) == 1
