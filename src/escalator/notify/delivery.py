"""What the notifier asks of a channel that is not a chat webhook (email, PagerDuty, Opsgenie).

``send`` delivers a decision the first time. ``settle`` resolves a delivery begun before a
crash: through the channel's own idempotency (a ``dedup_key``, an ``alias`` looked up, the same
``Message-ID``), so the people paged see it once. Both return one ``ActionResult`` and raise
nothing but ``ConnectorError`` (the notifier turns that into a failed result).
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from connectors.base import ActionResult
from engine.model import Notify

FollowUp = Literal["acknowledge", "resolve"]


class Delivery(Protocol):
    def send(self, action: Notify, ticket_url: str | None) -> ActionResult: ...

    def settle(self, action: Notify, ticket_url: str | None) -> ActionResult: ...

    def close(self) -> None: ...


@runtime_checkable
class Paging(Delivery, Protocol):
    """A channel whose alert follows the ticket: acknowledged, then resolved."""

    def follow(self, action: Notify, step: FollowUp) -> ActionResult: ...
