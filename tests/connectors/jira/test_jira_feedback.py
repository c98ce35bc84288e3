"""JSM request feedback: the customer's rating becomes ``Ticket.satisfaction``.

Shapes followed (Atlassian's references):
- the field list's "Satisfaction date" (``com.atlassian.servicedesk:sd-request-feedback-date``,
  ``schema.type`` datetime), set when the customer rates the request:
  https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-fields/#api-rest-api-3-field-get
- "Get feedback", ``GET /rest/servicedeskapi/request/{key}/feedback`` ->
  ``{"type": "csat", "rating": 1-5, "comment": {"body": ...}}``:
  https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/#api-rest-servicedeskapi-request-requestidorkey-feedback-get
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from connectors.emulation import SeedComment, SeedTicket
from connectors.errors import AuthError, Forbidden
from connectors.jira import JiraConnector, Settings
from connectors.jira.emulator import JiraEmulator
from connectors.jira.feedback import FeedbackReader, satisfaction_of
from connectors.jira.site import resolve_fields
from connectors.retry import RetryPolicy

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the emulator's clock (conftest)

FEEDBACK = r"/rest/servicedeskapi/request/[^/]+/feedback$"


@pytest.mark.parametrize(
    ("rating", "expected"),
    [(5, "good"), (4, "good"), (3, "neutral"), (2, "bad"), (1, "bad")],
)
def test_a_rating_of_four_or_five_stars_is_good(
    emulator: JiraEmulator,
    connector: JiraConnector,
    seed: Callable[..., SeedTicket],
    rating: int,
    expected: str,
) -> None:
    [key] = emulator.seed([seed(0)])
    first = connector.pull(None, start=T0 - timedelta(days=1))
    assert first.tickets[0].satisfaction is None
    assert emulator.server.calls("GET", FEEDBACK) == []  # unrated: no feedback read

    emulator.server.clock.set(T0 + timedelta(minutes=5))
    emulator.resolve(key)
    emulator.rate(key, rating, "thanks")
    second = connector.pull(first.cursor, start=T0)

    assert [(t.id, t.satisfaction) for t in second.tickets] == [(key, expected)]
    [call] = emulator.server.calls("GET", FEEDBACK)
    assert call.headers.get("x-experimentalapi") == "opt-in"


def test_each_rating_is_read_once_and_a_new_rating_again(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    [key] = emulator.seed([seed(0)])
    cursor = connector.pull(None, start=T0 - timedelta(days=1)).cursor
    emulator.server.clock.set(T0 + timedelta(minutes=5))
    emulator.rate(key, 2)
    cursor = connector.pull(cursor, start=T0).cursor

    # the issue changes again (a comment): the rating it carries is already known
    emulator.server.clock.set(T0 + timedelta(minutes=10))
    emulator.add_comment(key, SeedComment(T0 + timedelta(minutes=10), "customer", True, "ok"))
    again = connector.pull(cursor, start=T0)
    assert again.tickets[0].satisfaction == "bad"
    assert len(emulator.server.calls("GET", FEEDBACK)) == 1

    # the customer rates again (a reopened and re-solved request): a new date, read anew
    emulator.server.clock.set(T0 + timedelta(minutes=15))
    emulator.rate(key, 5)
    rerated = connector.pull(again.cursor, start=T0)
    assert rerated.tickets[0].satisfaction == "good"
    assert len(emulator.server.calls("GET", FEEDBACK)) == 2


def test_a_fetch_carries_the_rating_too(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    [key] = emulator.seed([seed(0)])
    emulator.rate(key, 4)
    assert connector.fetch(key).satisfaction == "good"


def test_a_rating_without_feedback_behind_it_is_no_rating(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    """The date set but the feedback gone (deleted by an admin): 404, read as unrated."""
    [key] = emulator.seed([seed(0)])
    emulator.rate(key, 5)
    emulator.state.feedback.clear()
    assert connector.fetch(key).satisfaction is None


def test_the_satisfaction_date_is_found_by_its_jsm_type_not_its_name(
    emulator: JiraEmulator,
) -> None:
    listed = [
        {"id": "customfield_10042", "name": "Zufriedenheitsdatum",  # a German site
         "schema": {"type": "datetime",
                    "custom": "com.atlassian.servicedesk:sd-request-feedback-date"}},
        {"id": "customfield_10043", "name": "Satisfaction date",  # an admin's own date field
         "schema": {"type": "datetime",
                    "custom": "com.atlassian.jira.plugin.system.customfieldtypes:datetime"}},
    ]  # fmt: skip
    settings = Settings.model_validate(emulator.settings())
    chosen = resolve_fields(settings, listed).satisfaction_date
    assert chosen is not None
    assert chosen.id == "customfield_10042"


@pytest.mark.parametrize("body", [None, {}, {"rating": None}, {"rating": "5"}, {"rating": True}])
def test_a_body_without_a_numeric_rating_is_no_rating(body: dict[str, object] | None) -> None:
    assert satisfaction_of(body) is None


def test_data_center_is_never_asked_for_feedback(
    retry: RetryPolicy, seed: Callable[..., SeedTicket]
) -> None:
    """Data Center documents no feedback resource and lists no "Satisfaction date"."""
    with JiraEmulator(flavour="datacenter", page_size=3) as emulator:
        emulator.server.clock.set(T0)
        [key] = emulator.seed([seed(0)])
        settings = Settings.model_validate(emulator.settings())
        connector = JiraConnector("jira", settings, retry=retry, now=emulator.server.clock.now)
        try:
            pulled = connector.pull(None, start=T0 - timedelta(days=1))
        finally:
            connector.close()
    assert [(t.id, t.satisfaction) for t in pulled.tickets] == [(key, None)]
    assert emulator.server.calls("GET", FEEDBACK) == []


def test_the_cache_keeps_the_most_recent_ratings_only() -> None:
    reads: list[str] = []

    def read(key: str) -> dict[str, object]:
        reads.append(key)
        return {"type": "csat", "rating": 5}

    reader = FeedbackReader(read, enabled=True, keep=2)
    for key in ("SUP-1", "SUP-2", "SUP-1", "SUP-3", "SUP-1", "SUP-2"):
        assert reader.satisfaction(key, "2026-11-20T09:00:00.000+0000") == ("good", None)
    # SUP-2 was pushed out by SUP-3 (SUP-1 was used more recently): read again
    assert reads == ["SUP-1", "SUP-2", "SUP-3", "SUP-2"]


@pytest.mark.parametrize(
    ("status", "body"),
    [
        # an API user without permission to view a request's feedback: the service desk API's
        # error body (``errorMessage`` + ``i18nErrorMessage``)
        (403, {"errorMessage": "You do not have permission to view this request's feedback.",
               "i18nErrorMessage": {"i18nKey": "sd.request.feedback.error", "parameters": []}}),
        (400, {"errorMessage": "Bad request.",
               "i18nErrorMessage": {"i18nKey": "sd.request.feedback.error", "parameters": []}}),
        (500, None),  # retried, then given up
    ],
)  # fmt: skip
def test_a_failed_feedback_read_is_a_warning_and_the_rating_comes_later(
    emulator: JiraEmulator,
    connector: JiraConnector,
    seed: Callable[..., SeedTicket],
    status: int,
    body: dict[str, object] | None,
) -> None:
    """The pull delivers the issues unrated and warns; reads pause instead of failing once per
    rated issue; after the pause the owed issues are re-read with their ratings."""
    keys = emulator.seed([seed(0), seed(1)])
    for key in keys:
        emulator.rate(key, 5)
    emulator.server.inject("GET", FEEDBACK, status=status, count=10, body=body)
    pulled = connector.pull(None, start=T0 - timedelta(days=1))
    assert sorted((t.id, t.satisfaction) for t in pulled.tickets) == [(k, None) for k in keys]
    [warning] = [w for w in pulled.warnings if w.field == "satisfaction"]
    assert "not read" in warning.message
    failed_reads = len(emulator.server.calls("GET", FEEDBACK))
    assert failed_reads <= 5  # one issue's read (and its retries), not one per issue

    emulator.server.clear_faults()
    emulator.server.clock.set(T0 + timedelta(minutes=5))
    paused = connector.pull(pulled.cursor, start=T0)
    assert paused.tickets == ()  # still paused: nothing re-read yet

    emulator.server.clock.set(T0 + timedelta(minutes=20))
    later = connector.pull(paused.cursor, start=T0)
    assert sorted((t.id, t.satisfaction) for t in later.tickets) == [(k, "good") for k in keys]
    assert later.warnings == ()


def test_owed_ratings_are_read_once_the_pause_is_over() -> None:
    clock = [0.0]
    answers: list[dict[str, object] | Exception] = [Forbidden("403"), {"rating": 4}]

    def read(key: str) -> dict[str, object] | None:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    reader = FeedbackReader(read, enabled=True, clock=lambda: clock[0])
    assert reader.satisfaction("SUP-1", "t1")[0] is None
    assert reader.satisfaction("SUP-2", "t1") == (None, None)  # paused: not asked, owed
    assert reader.owed(10) == []  # nothing re-read while paused
    clock[0] = 901.0
    assert reader.owed(10) == ["SUP-1", "SUP-2"]
    assert reader.satisfaction("SUP-1", "t1") == ("good", None)
    assert reader.owed(10) == ["SUP-2"]
    reader.forget("SUP-2")
    assert reader.owed(10) == []


def test_a_pull_reads_a_few_hundred_ratings_and_owes_the_rest() -> None:
    reads: list[str] = []

    def read(key: str) -> dict[str, object] | None:
        reads.append(key)
        return {"rating": 5}

    reader = FeedbackReader(read, enabled=True, reads_per_pull=2)
    reader.begin_pull()
    got = [reader.satisfaction(f"SUP-{i}", "t1")[0] for i in range(4)]
    assert got == ["good", "good", None, None]
    assert reader.owed(10) == []  # this pull's reads are spent
    reader.begin_pull()
    assert reader.owed(10) == ["SUP-2", "SUP-3"]
    assert [reader.satisfaction(k, "t1")[0] for k in ("SUP-2", "SUP-3")] == ["good", "good"]
    assert reads == ["SUP-0", "SUP-1", "SUP-2", "SUP-3"]


def test_a_refused_token_still_stops_the_pull() -> None:
    def read(key: str) -> dict[str, object] | None:
        raise AuthError("Jira HTTP 401: token expired")

    reader = FeedbackReader(read, enabled=True)
    with pytest.raises(AuthError):
        reader.satisfaction("SUP-1", "t1")
