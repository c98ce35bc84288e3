"""``HubSpotConnector``: the Connector protocol over HubSpot Service Hub tickets."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from connectors.base import (
    ActionResult,
    ActionStatus,
    MappingWarning,
    PullResult,
    Quarantined,
    WebhookEvent,
)
from connectors.errors import FatalError, MalformedRecord, NotFoundError, WebhookRejected
from connectors.hubspot.auth import OAuthToken, StaticToken, TokenSource
from connectors.hubspot.client import BATCH_READ_MAX, JSON, HubSpotClient, chunks
from connectors.hubspot.cursor import Cursor
from connectors.hubspot.echo import EchoFilter
from connectors.hubspot.feedback import FeedbackSweep
from connectors.hubspot.limiter import RequestBudget
from connectors.hubspot.mapping import (
    CREATED,
    HISTORY_PROPERTIES,
    MODIFIED,
    SYSTEM,
    FieldMap,
    format_instant,
    to_millis,
)
from connectors.hubspot.paths import ApiPaths
from connectors.hubspot.pull import (
    SearchWindows,
    TicketAssembler,
    created_ms,
    ids_of,
    modified_ms,
)
from connectors.hubspot.settings import Settings
from connectors.hubspot.threads import OVERLAP_MS, ThreadIndex
from connectors.hubspot.webhook import THREAD_REF, WebhookVerifier
from connectors.hubspot.write import TicketWriter
from connectors.retry import RetryPolicy
from engine.model import Action, Ticket

# tickets created this long before the cursor are looked up one by one, not by listing threads
THREAD_LOOKBACK_MS = 30 * 24 * 3600 * 1000
# when no ticket changed, threads are still listed this often (a message that moved no ticket)
THREAD_RELIST_MS = 5 * 60 * 1000


@dataclass(slots=True)
class HubSpotStats:
    """A snapshot of the counters the app exports for this source."""

    api_calls: int
    rate_limit_remaining: int | None
    echoes_suppressed: int
    quarantined: int
    undelivered_public_comments: int
    patches: int
    notes: int
    messages: int


class HubSpotConnector:
    system = SYSTEM

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        retry: RetryPolicy,
        budget: RequestBudget | None = None,
        now: Callable[[], datetime] | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.retry = retry
        self._now = now or (lambda: datetime.now(UTC))
        self.budget = budget or RequestBudget(
            requests_per_10s=settings.requests_per_10s,
            search_per_second=settings.search_per_second,
        )
        http = http or httpx.Client(
            base_url=settings.base_url.rstrip("/"), timeout=settings.timeout_seconds
        )
        tokens: TokenSource
        if settings.oauth is not None:
            tokens = OAuthToken(settings.oauth, http)
        else:
            assert settings.access_token is not None  # Settings validates exactly one
            tokens = StaticToken(settings.access_token.get_secret_value())
        self.tokens = tokens
        self.client = HubSpotClient(
            settings.base_url,
            tokens,
            retry,
            self.budget,
            timeout=settings.timeout_seconds,
            http=http,
            paths=ApiPaths(settings.api_version),
        )
        self.fields = FieldMap(settings)
        self.threads = ThreadIndex()
        self.feedback = FeedbackSweep(
            self.client,
            every_seconds=settings.feedback_every_seconds,
            page_size=settings.page_size,
            cap=settings.search_cap,
        )
        self.assembler = TicketAssembler(
            name, self.client, self.fields, self.threads, satisfaction=self.feedback.satisfaction
        )
        self.writer = TicketWriter(
            self.client,
            self.fields,
            now=self._now,
            records=self.assembler.records,
            threads=self.threads,
        )
        self.echoes = EchoFilter()
        self._quarantined = 0
        self._webhooks: WebhookVerifier | None = None
        if settings.webhook_secret is not None and settings.webhook_url is not None:
            self._webhooks = WebhookVerifier(
                settings.webhook_secret.get_secret_value(),
                settings.webhook_url,
                max_bytes=settings.webhook_max_bytes,
                ticket_of_thread=self.threads.ticket_of,
            )

    # -- pull --------------------------------------------------------------------------------
    def pull(self, cursor: str | None, *, start: datetime) -> PullResult:
        """Changed tickets in pages: the search finds tickets whose properties changed, the
        threads list those with new messages; messages are read only for changed threads."""
        calls_before = self.client.stats.api_calls
        ceiling = to_millis(self._now())  # the cursor never passes the instant the pull began
        try:
            position = Cursor.decode(cursor) if cursor else Cursor.starting_at(start)
        except ValueError as exc:
            raise FatalError(str(exc)) from exc
        search = SearchWindows(
            self.client, [MODIFIED, CREATED], self.settings.page_size, self.settings.search_cap
        )
        # tickets a new survey response rated: re-read below, as changed
        swept = self.feedback.due(ceiling)
        if swept:
            self.feedback.run(ceiling, since=lambda: start)
        rated = self.feedback.pending()  # delivered below; a failed pull leaves them owed
        wanted: list[JSON] = []
        for page in search.pages(position.watermark):
            for record in page:
                stamp = modified_ms(record)
                record_id = str(record.get("id"))
                if stamp is not None and not position.is_new(record_id, stamp):
                    continue
                if self.echoes.is_echo(record_id, stamp):
                    position = position.advanced(record_id, stamp or 0, ceiling)
                    continue
                wanted.append(record)
        messaged = self._threads_with_news(wanted, position.watermark, ceiling)
        tickets: list[Ticket] = []
        quarantined: list[Quarantined] = []
        wanted_ids = ids_of(wanted)
        required = set(wanted_ids)  # found by the search: one missing on the read is reported
        extra = [t for t in dict.fromkeys([*messaged, *rated]) if t not in required]
        # one batch read for all: the search's tickets, those with a new message or rating only
        for part in chunks([*wanted_ids, *extra], BATCH_READ_MAX):
            assembled = self.assembler.read(part)
            tickets.extend(assembled.tickets)
            quarantined.extend(assembled.quarantined)
            found = {t.id for t in assembled.tickets} | {q.record_id for q in assembled.quarantined}
            quarantined.extend(
                Quarantined(self.name, i, "missing on batch read")
                for i in part
                if i in required and i not in found
            )
        for record in wanted:
            stamp = modified_ms(record)
            if stamp is not None:
                position = position.advanced(str(record["id"]), stamp, ceiling)
        self._quarantined += len(quarantined)
        # read (or found gone, or quarantined): no longer owed; a pull that failed before here
        # leaves them for the next
        self.feedback.delivered([*wanted_ids, *extra])
        problem = self.feedback.problem if swept else None
        return PullResult(
            tickets=tuple(tickets),
            cursor=position.encode(),
            quarantined=tuple(quarantined),
            api_calls=self.client.stats.api_calls - calls_before,
            warnings=(
                (MappingWarning(self.name, None, "satisfaction", problem),) if problem else ()
            ),
        )

    def _threads_with_news(self, wanted: Sequence[JSON], watermark: int, ceiling: int) -> list[str]:
        """Tickets whose thread has a message the connector has not read, from the pages of
        the threads list; also teaches the index which ticket each thread belongs to."""
        if not self.settings.conversations:
            return []
        last = self.threads.covered
        if not wanted and last is not None and ceiling - last.end < THREAD_RELIST_MS:
            return []  # a new message moves its ticket's stamp too: a quiet poll is one search
        needed = min((c for c in map(created_ms, wanted) if c is not None), default=None)
        floor = watermark - THREAD_LOOKBACK_MS  # older tickets: one lookup each, once
        since = self.threads.listing_start(needed, watermark, floor)
        after = format_instant(datetime.fromtimestamp(since / 1000, UTC))
        listed = [t for page in self.client.changed_threads(after, self.settings.page_size)
                  for t in page]  # fmt: skip
        news_after = last.end - OVERLAP_MS if last is not None else watermark
        return self.threads.listed(since, ceiling, listed, news_after)

    def fetch(self, ticket_id: str) -> Ticket:
        """One ticket; ``thread:<id>`` (from a conversation webhook) names the thread's ticket."""
        if ticket_id.startswith(THREAD_REF):
            ticket_id = self._ticket_of_thread(ticket_id.removeprefix(THREAD_REF))
        record = self.client.get_ticket(ticket_id, self.fields.properties, HISTORY_PROPERTIES)
        assembled = self.assembler.assemble([record], fresh_messages=True)
        if assembled.quarantined:
            reason = assembled.quarantined[0].reason
            raise MalformedRecord(reason, ticket_id, record)
        return assembled.tickets[0]

    def _ticket_of_thread(self, thread_id: str) -> str:
        known = self.threads.ticket_of(thread_id)
        if known is not None:
            return known
        thread = self.client.get_thread(thread_id)
        ticket_id = (thread.get("threadAssociations") or {}).get("associatedTicketId")
        if not ticket_id:
            raise NotFoundError(f"conversation thread {thread_id} has no associated ticket")
        self.threads.link(str(ticket_id), thread_id)
        return str(ticket_id)

    # -- apply -------------------------------------------------------------------------------
    def apply(self, ticket: Ticket, actions: Sequence[Action]) -> list[ActionResult]:
        [results] = self.apply_many([(ticket, actions)])
        return results

    def apply_many(
        self, items: Sequence[tuple[Ticket, Sequence[Action]]]
    ) -> list[list[ActionResult]]:
        """``apply`` for many tickets at once: their property changes go in batch updates of
        up to 100 tickets a call instead of one PATCH each."""
        out = []
        for (ticket, actions), outcome in zip(items, self.writer.apply_many(items), strict=True):
            if outcome.echo_mark is not None:
                self.echoes.wrote(ticket.id, outcome.echo_mark)
            out.append(
                [
                    outcome.results.get(a.key)
                    or ActionResult(a.key, ActionStatus.FAILED, "not handled")
                    for a in actions
                ]
            )
        return out

    # -- webhooks ----------------------------------------------------------------------------
    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> WebhookEvent:
        if self._webhooks is None:
            raise WebhookRejected(404, "webhooks are not configured for this HubSpot source")
        return self._webhooks.verify(headers, body, now=now)

    # -- the rest ----------------------------------------------------------------------------
    @property
    def stats(self) -> HubSpotStats:
        w = self.writer.stats
        return HubSpotStats(
            api_calls=self.client.stats.api_calls,
            rate_limit_remaining=self.client.stats.rate_limit_remaining,
            echoes_suppressed=self.echoes.suppressed,
            quarantined=self._quarantined,
            undelivered_public_comments=w.undelivered_public_comments,
            patches=w.patches,
            notes=w.notes,
            messages=w.messages,
        )

    def close(self) -> None:
        self.client.close()


def create(
    name: str,
    settings: Settings,
    *,
    retry: RetryPolicy,
    now: Callable[[], datetime] | None = None,
) -> HubSpotConnector:
    """``now``: the app's clock (the wall clock when not given)."""
    if now is None:
        return HubSpotConnector(name, settings, retry=retry)
    return HubSpotConnector(name, settings, retry=retry, now=now)
