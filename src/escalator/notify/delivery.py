"""What the notifier asks of a channel that is not a chat webhook (email, PagerDuty, Opsgenie).

``send`` delivers a decision the first time. ``settle`` resolves a delivery begun before a
crash: through the channel's own idempotency (a ``dedup_key``, an ``alias`` looked up, the same
``Message-ID``), so the people paged see it once. Both return one ``ActionResult`` and raise
nothing but ``ConnectorError`` (the notifier turns that into a failed result).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol, runtime_checkable

from connectors.base import ActionResult
from engine.model import Notify

FollowUp = Literal["acknowledge", "resolve"]
# called with a reference (a Message-ID) at a delivery's point of no return, before the
# receiver commits: the caller records it, so a crash after it is not sent again
Handed = Callable[[str], None]


class Delivery(Protocol):
    def send(
        self, action: Notify, ticket_url: str | None, handed: Handed | None = None
    ) -> ActionResult: ...

    def settle(self, action: Notify, ticket_url: str | None) -> ActionResult: ...

    def close(self) -> None: ...


@runtime_checkable
class Paging(Delivery, Protocol):
    """A channel whose alert follows the ticket: acknowledged, then resolved."""

    def follow(self, action: Notify, step: FollowUp) -> ActionResult: ...


@runtime_checkable
class AckReadable(Paging, Protocol):
    """A paging channel that can be asked whether a person acknowledged the page (Opsgenie's
    alert lookup; PagerDuty's Events API cannot be asked)."""

    def acknowledged(self, action: Notify) -> bool: ...
