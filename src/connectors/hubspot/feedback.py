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
from collections.abc import Callable
from datetime import datetime

from connectors.errors import Forbidden, PagingLoop
from connectors.hubspot.client import JSON, HubSpotClient
from connectors.hubspot.mapping import parse_instant, to_millis

SURVEY_TYPE = "hs_survey_type"
RESPONSE_GROUP = "hs_response_group"
VALUE = "hs_value"
SUBMITTED = "hs_submission_timestamp"
MODIFIED = "hs_lastmodifieddate"
PROPERTIES = (SURVEY_TYPE, RESPONSE_GROUP, VALUE, SUBMITTED, MODIFIED)
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


def _stamp(record: JSON, name: str) -> int:
    props = record.get("properties") or {}
    try:
        return to_millis(parse_instant(props.get(name) or record.get("updatedAt") or ""))
    except (TypeError, ValueError):
        return 0


class FeedbackSweep:
    """The newest CSAT rating per ticket, kept fresh by a search every ``every_ms``."""

    def __init__(self, client: HubSpotClient, *, every_seconds: int, page_size: int) -> None:
        self._client = client
        self._every_ms = every_seconds * 1000
        self._page_size = page_size
        self._lock = threading.Lock()
        self._watermark: int | None = None  # hs_lastmodifieddate searched from
        self._last_run: int | None = None
        self._ratings: dict[str, tuple[int, str]] = {}  # ticket id -> (submitted ms, rating)
        self.refused: str | None = None  # why the last search was refused, if it was

    def satisfaction(self, ticket_id: str) -> str | None:
        with self._lock:
            known = self._ratings.get(ticket_id)
        return known[1] if known is not None else None

    def due(self, now_ms: int) -> bool:
        if self._every_ms == 0:
            return False
        return self._last_run is None or now_ms - self._last_run >= self._every_ms

    def run(self, now_ms: int, *, since: Callable[[], datetime]) -> list[str]:
        """Search once; the ids of tickets whose rating is new or changed. A refusal (403: the
        app lacks the ``crm.objects.feedback_submissions.read`` scope, or the portal has no
        feedback surveys) is no ratings and ``refused`` says why: the pull goes on, and asks
        again at the next interval."""
        start = self._watermark if self._watermark is not None else to_millis(since())
        self._last_run = now_ms
        try:
            return self._run(start, now_ms)
        except Forbidden as exc:
            self.refused = f"survey responses refused, asked again in 15 min: {exc}"
            return []

    def _run(self, start: int, now_ms: int) -> list[str]:
        self.refused = None
        responses = list(self._responses(start))
        newest = max((_stamp(r, MODIFIED) for r in responses), default=start)
        self._watermark = max(start, min(newest, now_ms))  # never past the search's instant
        if not responses:
            return []
        tickets_of = self._client.associated_ids(
            "feedback_submissions", "tickets", [str(r["id"]) for r in responses]
        )
        changed: list[str] = []
        with self._lock:
            for response in responses:
                rating = satisfaction_of(response.get("properties") or {})
                if rating is None:
                    continue
                submitted = _stamp(response, SUBMITTED)
                for ticket_id in tickets_of.get(str(response["id"]), []):
                    known = self._ratings.get(ticket_id)
                    if known is not None and known[0] > submitted:
                        continue  # an older response read late: the newest answer stands
                    if known != (submitted, rating):
                        self._ratings[ticket_id] = (submitted, rating)
                        changed.append(ticket_id)
        return list(dict.fromkeys(changed))

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
            if not token:
                return found
            if token in used:
                raise PagingLoop("feedback submissions search", str(token))
            used.add(str(token))
            body = {**body, "after": str(token)}
