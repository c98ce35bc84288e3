"""``JiraConnector``: the Connector and IssueTracker protocols, put together from small parts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from connectors.base import ActionResult, PullResult, WebhookEvent
from connectors.errors import (
    ConnectorError,
    MalformedRecord,
    NotFoundError,
    refuses_credentials,
)
from connectors.jira.client import JiraClient
from connectors.jira.feedback import FeedbackReader
from connectors.jira.links import LinkedIssues
from connectors.jira.mapping import IssueMapper, issue_fields
from connectors.jira.pull import IssuePull
from connectors.jira.settings import Settings
from connectors.jira.site import SiteFacts
from connectors.jira.webhook import JiraWebhookVerifier
from connectors.jira.write import IssueWriter
from connectors.retry import RetryPolicy
from engine.model import Action, CreateLinkedIssue, LinkedIssue, Ticket

OWED_PER_PULL = 50  # rated issues re-read per pull after their rating could not be read


def _utcnow() -> datetime:
    return datetime.now(UTC)


class JiraConnector:
    """Jira Cloud / JSM (REST v3) or Data Center (REST v2). Ticket ids are issue keys."""

    system = "jira"

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        retry: RetryPolicy,
        client: JiraClient | None = None,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.name = name
        self.settings = settings
        self.client = client or JiraClient(settings, retry=retry)
        self._statuses: dict[str, str] | None = None
        self._sidecar_known = False
        self.site = SiteFacts(
            settings,
            myself=self.client.myself,
            fields=self.client.fields,
            customers=self.client.customers,
        )
        self.feedback = FeedbackReader(
            self.client.request_feedback,
            enabled=settings.is_cloud,
            clock=lambda: now().timestamp(),
        )
        self.mapper = IssueMapper(
            settings,
            status_category=self._status_category,
            custom=lambda: self.site.fields,
            is_customer=self.site.is_customer,
            satisfaction=self.feedback.satisfaction,
            source=name,
        )
        # the entity properties (our marker) of comments this process wrote, by comment id:
        # search results embed comments without properties, and these need no read to know
        own_comments: dict[str, list[dict[str, Any]]] = {}
        self._pull = IssuePull(
            self.client, settings, self.mapper, self.site, source=name, now=now,
            own_comments=own_comments,
        )  # fmt: skip
        self._links = LinkedIssues(self.client, settings, self.site, now=now)
        self._writer = IssueWriter(
            self.client, settings, create_linked=self._links.create, own_comments=own_comments
        )
        secret = (
            settings.webhook_secret.get_secret_value().encode() if settings.webhook_secret else None
        )
        self._webhooks = JiraWebhookVerifier(
            secret,
            max_bytes=settings.webhook_max_bytes,
            tolerance_seconds=settings.webhook_tolerance_seconds,
        )

    @property
    def last_echoes(self) -> tuple[str, ...]:
        """Issues the last pull left out because only the sidecar had changed them."""
        return self._pull.last_echoes

    # -- Connector -----------------------------------------------------------------------
    def pull(self, cursor: str | None, *, start: datetime) -> PullResult:
        self._know_sidecar()
        self.feedback.begin_pull()
        pulled = self._pull.pull(cursor, start=start)
        return self._with_owed_ratings(pulled)

    def _with_owed_ratings(self, pulled: PullResult) -> PullResult:
        """The pull plus the rated issues whose rating a failed read left unread (re-read one
        by one, a few a pull: a recovery, not the common path)."""
        have = {t.id for t in pulled.tickets}
        owed = [k for k in self.feedback.owed(OWED_PER_PULL) if k not in have]
        if not owed:
            return pulled
        calls_before = self.client.requests_made
        extra: list[Ticket] = []
        for key in owed:
            try:
                extra.append(self.fetch(key))
            except (NotFoundError, MalformedRecord):
                self.feedback.forget(key)  # gone, or unreadable (quarantined where pulled)
            except ConnectorError as exc:
                if refuses_credentials(exc):
                    raise
                break  # still owed: the next pull tries again
        return dataclasses.replace(
            pulled,
            tickets=(*pulled.tickets, *extra),
            api_calls=pulled.api_calls + self.client.requests_made - calls_before,
        )

    def fetch(self, ticket_id: str) -> Ticket:
        self._know_sidecar()
        fields = issue_fields(self.site.fields)
        raw = self.client.issue(ticket_id, fields=fields, expand="changelog")
        histories = self._pull.histories_of(raw)
        return self.mapper.map(raw, self.client.comments(ticket_id), histories).ticket

    def apply(self, ticket: Ticket, actions: Sequence[Action]) -> list[ActionResult]:
        return self._writer.apply(ticket, actions)

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> WebhookEvent:
        return self._webhooks.verify(headers, body, now=now)

    def close(self) -> None:
        self.client.close()

    # -- IssueTracker --------------------------------------------------------------------
    def create_linked_issue(self, origin: Ticket, action: CreateLinkedIssue) -> ActionResult:
        return self._links.create(origin, action)

    def read_linked_issues(self, keys: Sequence[str]) -> list[LinkedIssue]:
        return self._links.read(keys)

    def prepare_linked_issues(self, actions: Sequence[CreateLinkedIssue]) -> None:
        """Optional, before a batch of ``create_linked_issue``: their duplicate checks in one
        JQL search instead of one each."""
        self._links.prepare(actions)

    # -- lookups, once per connector -----------------------------------------------------
    def _know_sidecar(self) -> None:
        """The API user's id: comments and changes by it are the sidecar's own."""
        if not self._sidecar_known:
            self.mapper.sidecar_account = self.site.account
            self._sidecar_known = True

    def _status_category(self, name: str) -> str | None:
        if self._statuses is None:
            self._statuses = {
                str(s.get("name", "")).casefold(): str((s.get("statusCategory") or {}).get("key"))
                for s in self.client.statuses()
            }
        return self._statuses.get(name.casefold())
