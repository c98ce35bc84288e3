"""HubSpot survey responses (``feedback_submissions``) become ``Ticket.satisfaction``.

Shapes followed: the CSAT response of HubSpot's API reference (``hs_survey_type`` CSAT,
``hs_value`` "2", ``hs_response_group`` PROMOTER), read-only and searched like any CRM object,
https://developers.hubspot.com/docs/api/crm/feedback-submissions ; the CSAT scale 0-2 with its
DETRACTOR/PASSIVE/PROMOTER groups,
https://knowledge.hubspot.com/customer-feedback/feedback-submission-properties ; a response
reaches its ticket through the v4 batch association read,
https://developers.hubspot.com/docs/api/crm/associations .
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.errors import ConnectorError
from connectors.hubspot import HubSpotConnector
from connectors.hubspot.emulator import HubSpotEmulator
from connectors.hubspot.feedback import satisfaction_of
from connectors.retry import RetryPolicy
from tests.connectors.hubspot.hubspot_helpers import NOW, connect, seed_ticket, start_emulator

FEEDBACK_SEARCH = r"/feedback_submissions/search$"
SCOPE = "crm.objects.feedback_submissions.read"
START = NOW - timedelta(days=1)


def _searches(emulator: HubSpotEmulator) -> int:
    return len(emulator.server.calls("POST", FEEDBACK_SEARCH))


@pytest.fixture
def closed(emulator: HubSpotEmulator) -> str:
    [ticket_id] = emulator.seed([seed_ticket("Refund please", status="solved")])
    return ticket_id


def _later(emulator: HubSpotEmulator, minutes: int) -> None:
    emulator.server.clock.set(NOW + timedelta(minutes=minutes))


def test_a_rating_reaches_its_ticket_though_the_ticket_did_not_change(
    emulator: HubSpotEmulator, connector: HubSpotConnector, closed: str
) -> None:
    first = connector.pull(None, start=START)
    assert [(t.id, t.satisfaction) for t in first.tickets] == [(closed, None)]
    stamp = emulator.record(closed)["properties"]["hs_lastmodifieddate"]

    _later(emulator, 1)
    emulator.submit_feedback(closed, 2, content="Quick and kind")
    _later(emulator, 16)  # past feedback_every_seconds (900)
    second = connector.pull(first.cursor, start=START)

    assert emulator.record(closed)["properties"]["hs_lastmodifieddate"] == stamp
    assert [(t.id, t.satisfaction) for t in second.tickets] == [(closed, "good")]


def test_responses_are_searched_every_fifteen_minutes_not_every_poll(
    emulator: HubSpotEmulator, connector: HubSpotConnector, closed: str
) -> None:
    cursor = connector.pull(None, start=START).cursor
    assert _searches(emulator) == 1
    for minute in (5, 10):
        _later(emulator, minute)
        cursor = connector.pull(cursor, start=START).cursor
    assert _searches(emulator) == 1
    _later(emulator, 15)
    connector.pull(cursor, start=START)
    assert _searches(emulator) == 2


def test_the_newest_csat_answer_stands_and_other_surveys_do_not_count(
    emulator: HubSpotEmulator, connector: HubSpotConnector, closed: str
) -> None:
    cursor = connector.pull(None, start=START).cursor
    _later(emulator, 1)
    emulator.submit_feedback(closed, 2)
    emulator.submit_feedback(closed, 3, survey_type="NPS")  # about the company, not the ticket
    _later(emulator, 16)
    pulled = connector.pull(cursor, start=START)
    assert [t.satisfaction for t in pulled.tickets] == ["good"]

    _later(emulator, 17)
    emulator.submit_feedback(closed, 0, content="Reopened twice")
    _later(emulator, 40)
    again = connector.pull(pulled.cursor, start=START)
    assert [(t.id, t.satisfaction) for t in again.tickets] == [(closed, "bad")]

    # the ticket changes for another reason later: it keeps its rating
    _later(emulator, 41)
    emulator.update(closed, priority="high")
    later = connector.pull(again.cursor, start=START)
    assert [(t.id, t.satisfaction) for t in later.tickets] == [(closed, "bad")]


def test_a_restarted_connector_learns_the_ratings_again(
    emulator: HubSpotEmulator, retry: RetryPolicy, closed: str
) -> None:
    emulator.submit_feedback(closed, 1)
    fresh = connect(emulator, retry)
    try:
        pulled = fresh.pull(None, start=START)
        assert [(t.id, t.satisfaction) for t in pulled.tickets] == [(closed, "neutral")]
        assert fresh.fetch(closed).satisfaction == "neutral"
    finally:
        fresh.close()


def test_the_dated_api_searches_responses_on_its_own_paths(
    emulator: HubSpotEmulator, retry: RetryPolicy, closed: str
) -> None:
    emulator.submit_feedback(closed, 2)
    dated = connect(emulator, retry, api_version="2026-09")
    try:
        pulled = dated.pull(None, start=START)
    finally:
        dated.close()
    assert [t.satisfaction for t in pulled.tickets] == ["good"]
    paths = [c.path for c in emulator.server.calls("POST", FEEDBACK_SEARCH)]
    assert paths == ["/crm/objects/2026-09/feedback_submissions/search"]
    assert emulator.server.calls("POST", r"/crm/associations/2026-09/feedback_submissions/")


def test_zero_turns_the_survey_search_off(
    emulator: HubSpotEmulator, retry: RetryPolicy, closed: str
) -> None:
    emulator.submit_feedback(closed, 2)
    quiet = connect(emulator, retry, feedback_every_seconds=0)
    try:
        pulled = quiet.pull(None, start=START)
    finally:
        quiet.close()
    assert [t.satisfaction for t in pulled.tickets] == [None]
    assert _searches(emulator) == 0


def test_a_missing_scope_is_a_warning_and_the_tickets_still_come(
    emulator: HubSpotEmulator, connector: HubSpotConnector, closed: str
) -> None:
    """An app without the ``crm.objects.feedback_submissions.read`` scope: HubSpot answers 403
    MISSING_SCOPES (its error body: status, message, category, errors[].context), see
    https://developers.hubspot.com/docs/api/error-handling . The pull goes on without ratings
    and says why; the search is asked again at the next interval, and then it works."""
    emulator.submit_feedback(closed, 2)
    emulator.server.inject(
        "POST",
        FEEDBACK_SEARCH,
        status=403,
        body={
            "status": "error",
            "message": "This app hasn't been granted all required scopes to make this call.",
            "category": "MISSING_SCOPES",
            "errors": [
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": [SCOPE]},
                }
            ],
        },
    )
    first = connector.pull(None, start=START)
    assert [(t.id, t.satisfaction) for t in first.tickets] == [(closed, None)]
    [warning] = first.warnings
    assert warning.field == "satisfaction"
    assert "refused" in warning.message

    _later(emulator, 16)  # the scope granted meanwhile
    second = connector.pull(first.cursor, start=START)
    assert [(t.id, t.satisfaction) for t in second.tickets] == [(closed, "good")]
    assert second.warnings == ()


def test_a_missing_scope_does_not_renew_an_oauth_token(
    emulator: HubSpotEmulator, retry: RetryPolicy, closed: str
) -> None:
    """403 means the token is good but lacks a scope: a new token would not help."""
    oauth = {"access_token": None, "oauth": emulator.oauth_settings()}
    connector = connect(emulator, retry, **oauth)
    emulator.server.inject("POST", FEEDBACK_SEARCH, status=403)
    try:
        pulled = connector.pull(None, start=START)
    finally:
        connector.close()
    assert [t.id for t in pulled.tickets] == [closed]
    assert len(emulator.server.calls("POST", r"/oauth/(v1|2026-03)/token$")) == 1


def test_past_the_search_cap_the_next_search_goes_on_from_the_last_stamp(
    retry: RetryPolicy,
) -> None:
    """HubSpot refuses paging past a search's cap (400): each search reads up to it, and
    the next one starts from the newest response it read."""
    emulator = start_emulator(page_size=2, search_cap=4)
    try:
        ids = emulator.seed(
            [
                seed_ticket(f"t{i}", status="solved", created_at=NOW.replace(hour=8, minute=i))
                for i in range(6)
            ]
        )
        for minute, ticket_id in enumerate(ids):
            _later(emulator, minute)
            emulator.submit_feedback(ticket_id, 2)
        connector = connect(emulator, retry)
        try:
            first = connector.pull(None, start=START)
            rated = {t.id for t in first.tickets if t.satisfaction == "good"}
            assert 0 < len(rated) < 6  # not all in one search
            assert first.warnings == ()
            _later(emulator, 30)
            second = connector.pull(first.cursor, start=START)
            rated |= {t.id for t in second.tickets if t.satisfaction == "good"}
            assert rated == set(ids)
        finally:
            connector.close()
    finally:
        emulator.stop()


def test_a_failed_association_read_loses_no_rating(
    emulator: HubSpotEmulator, connector: HubSpotConnector, closed: str
) -> None:
    """The watermark moves only once the responses are mapped to their tickets."""
    cursor = connector.pull(None, start=START).cursor
    _later(emulator, 1)
    emulator.submit_feedback(closed, 0)
    emulator.server.inject("POST", r"/feedback_submissions/tickets/batch/read$", status=500,
                           count=20)  # fmt: skip
    _later(emulator, 16)
    failed = connector.pull(cursor, start=START)
    assert [w.field for w in failed.warnings] == ["satisfaction"]
    assert all(t.satisfaction is None for t in failed.tickets)
    emulator.server.clear_faults()
    _later(emulator, 32)
    again = connector.pull(failed.cursor, start=START)
    assert [(t.id, t.satisfaction) for t in again.tickets] == [(closed, "bad")]


def test_a_rating_found_by_a_pull_that_then_failed_comes_with_the_next(
    emulator: HubSpotEmulator, connector: HubSpotConnector, closed: str
) -> None:
    cursor = connector.pull(None, start=START).cursor
    _later(emulator, 1)
    emulator.submit_feedback(closed, 2)
    emulator.server.inject("POST", r"/tickets/search$", status=500, count=20)
    _later(emulator, 16)
    with pytest.raises(ConnectorError):
        connector.pull(cursor, start=START)  # the sweep ran; the ticket search did not
    emulator.server.clear_faults()
    _later(emulator, 17)  # before the next sweep is due
    later = connector.pull(cursor, start=START)
    assert [(t.id, t.satisfaction) for t in later.tickets] == [(closed, "good")]


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"hs_response_group": "PROMOTER", "hs_value": "2"}, "good"),
        ({"hs_response_group": "passive"}, "neutral"),
        ({"hs_response_group": "DETRACTOR"}, "bad"),
        ({"hs_response_group": None, "hs_value": "2"}, "good"),  # group not (yet) computed
        ({"hs_response_group": None, "hs_value": "7"}, None),
        ({"hs_value": None}, None),
    ],
)
def test_csat_groups_and_values(props: dict[str, str | None], expected: str | None) -> None:
    assert satisfaction_of(props) == expected
