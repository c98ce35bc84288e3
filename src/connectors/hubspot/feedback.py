"""Customer satisfaction from HubSpot's survey responses (``feedback_submissions``).

A response is its own CRM object, associated with the ticket it rates; answering a survey
need not touch the ticket, so its stamp need not move. Every ``feedback_every_seconds`` the
connector searches the CSAT responses modified since the last search (one call when none are
new), maps each to its ticket through the batch association read, and remembers the newest
rating per ticket; the tickets so rated are re-read as changed. Ratings learned before this
process started are learned again by its first search, which looks back as far as the pull.

HubSpot's CSAT scale is 0-2 with ``hs_response_group`` DETRACTOR, PASSIVE or PROMOTER
(knowledge.hubspot.com/customer-feedback/feedback-submission-properties): a promoter is good.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime

from connectors.errors import ConnectorError, Forbidden, PagingLoop, refuses_credentials
from connectors.hubspot.client import JSON, HubSpotClient
from connectors.hubspot.mapping import parse_instant, to_millis

SURVEY_TYPE = "hs_survey_type"
RESPONSE_GROUP = "hs_response_group"
VALUE = "hs_value"
SUBMITTED = "hs_submission_timestamp"
CREATED = "hs_createdate"
MODIFIED = "hs_lastmodifieddate"
PROPERTIES = (SURVEY_TYPE, RESPONSE_GROUP, VALUE, SUBMITTED, CREATED, MODIFIED)
BY_GROUP = {"PROMOTER": "good", "PASSIVE": "neutral", "DETRACTOR": "bad"}
BY_CSAT_VALUE = {2: "good", 1: "neutral", 0: "bad"}


def satisfaction_of(props: JSON) -> str | None:
    """good / neutral / bad from a CSAT response; its value when the group is missing."""
    group = str(props.get(RESPONSE_GROUP) or "").upper()
    if group in BY_GROUP:
        return BY_GROUP[group]
    try:
        return BY_CSAT_VALUE.get(int(str(props.get(VALUE))))
    except ValueError:
        return None


_RECORD_FIELD = {MODIFIED: "updatedAt", CREATED: "createdAt"}  # what the record says too


def _stamp(record: JSON, name: str) -> int:
    """Property ``name`` in epoch ms (0 when absent or unreadable)."""
    props = record.get("properties") or {}
    value = props.get(name) or record.get(_RECORD_FIELD.get(name, ""))
    try:
        return to_millis(parse_instant(value)) if value else 0
    except (TypeError, ValueError):
        return 0


class FeedbackSweep:
    """The newest CSAT rating per ticket, kept fresh by a search every ``every_ms``.

    The search's watermark moves only once its responses are mapped to their tickets; the
    tickets so rated stay ``pending`` until a pull has delivered them (a failed pull leaves
    them for the next). Each search reads at most ``cap`` responses (HubSpot refuses paging
    past its search cap); the next one goes on from the last stamp read."""

    def __init__(
        self,
        client: HubSpotClient,
        *,
        every_seconds: int,
        page_size: int,
        cap: int,
        keep: int = 50_000,
    ) -> None:
        self._client = client
        self._every_ms = every_seconds * 1000
        self._page_size = page_size
        self._cap = max(cap, page_size)
        self._lock = threading.Lock()
        self._watermark: int | None = None  # hs_lastmodifieddate searched from
        self._last_run: int | None = None
        # ticket -> (submitted, response id, rating), the most recent ``keep``: a rating pushed
        # out is not lost (the app keeps the rating a ticket came with before)
        self._ratings: OrderedDict[str, tuple[int, str, str]] = OrderedDict()
        self._keep = keep
        self._pending: dict[str, None] = {}  # rated tickets no pull has delivered yet
        self.problem: str | None = None  # why the last search gave nothing, if it failed

    def satisfaction(self, ticket_id: str) -> str | None:
        with self._lock:
            known = self._ratings.get(ticket_id)
        return known[2] if known is not None else None

    def due(self, now_ms: int) -> bool:
        if self._every_ms == 0:
            return False
        return self._last_run is None or now_ms - self._last_run >= self._every_ms

    def pending(self) -> list[str]:
        with self._lock:
            return list(self._pending)

    def delivered(self, ticket_ids: Iterable[str]) -> None:
        with self._lock:
            for ticket_id in ticket_ids:
                self._pending.pop(ticket_id, None)

    def run(self, now_ms: int, *, since: Callable[[], datetime]) -> None:
        """Search once, and mark the tickets whose rating is new or changed ``pending``. A
        failed search (403: the app lacks the ``crm.objects.feedback_submissions.read`` scope;
        or the service failing) adds nothing and ``problem`` says why: the pull goes on, and
        the next search starts where this one did. A token refused (401) stops the pull, as
        it would at its next call."""
        start = self._watermark if self._watermark is not None else to_millis(since())
        self._last_run = now_ms
        self.problem = None
        try:
            self._run(start, now_ms)
        except ConnectorError as exc:
            if refuses_credentials(exc):
                raise
            refused = isinstance(exc, Forbidden)
            self.problem = f"survey responses {'refused' if refused else 'not read'}: {exc}"

    def _run(self, start: int, now_ms: int) -> None:
        responses = self._responses(start)
        if not responses:
            return
        tickets_of = self._client.associated_ids(
            "feedback_submissions", "tickets", [str(r["id"]) for r in responses]
        )
        with self._lock:
            for response in responses:
                rating = satisfaction_of(response.get("properties") or {})
                if rating is None:
                    continue
                # the newest answer stands: by submission (else creation), then response id
                order = (_stamp(response, SUBMITTED) or _stamp(response, CREATED),
                         str(response["id"]))  # fmt: skip
                for ticket_id in tickets_of.get(str(response["id"]), []):
                    known = self._ratings.get(ticket_id)
                    if known is not None and known[:2] > order:
                        continue  # an older response read late
                    if known != (*order, rating):
                        self._ratings[ticket_id] = (*order, rating)
                        self._ratings.move_to_end(ticket_id)
                        self._pending[ticket_id] = None
            while len(self._ratings) > self._keep:
                self._ratings.popitem(last=False)
        newest = max(_stamp(r, MODIFIED) for r in responses)
        # only now, the responses mapped: never past the search's instant (the index lags)
        self._watermark = max(start, min(newest, now_ms))

    def _responses(self, since: int) -> list[JSON]:
        body: JSON = {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": SURVEY_TYPE, "operator": "EQ", "value": "CSAT"},
                        {"propertyName": MODIFIED, "operator": "GTE", "value": str(since)},
                    ]
                }
            ],
            "sorts": [{"propertyName": MODIFIED, "direction": "ASCENDING"}],
            "properties": list(PROPERTIES),
            "limit": self._page_size,
            "after": "0",
        }
        found: list[JSON] = []
        used: set[str] = set()
        while True:
            page = self._client.search_feedback(body)
            found.extend(page.get("results") or [])
            token = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not token or len(found) + self._page_size > self._cap:
                return found  # the rest from the newest stamp read, next time
            if token in used:
                raise PagingLoop("feedback submissions search", str(token))
            used.add(str(token))
            body = {**body, "after": str(token)}
