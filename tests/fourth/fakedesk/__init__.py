"""Fakedesk: a test-only fourth helpdesk, to prove that a new helpdesk is one package.

It lives outside ``src/connectors`` and joins the product only by being registered
(``connectors.registry.register("fakedesk", "fakedesk")``, or ``ESCALATOR_CONNECTORS`` for a
subprocess): the demo's world, the end-to-end harness and the benchmarks then drive it with no
edit anywhere else. Its API is small and made up: tickets as JSON, ``updated_since`` paging,
PATCH for fields, POST for comments, webhooks signed with a hex HMAC of the body.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel

from connectors.retry import RetryPolicy
from fakedesk.connector import FakedeskConnector, Settings

__all__ = ["FakedeskConnector", "Settings", "create"]


def create(
    name: str,
    settings: BaseModel,
    *,
    retry: RetryPolicy,
    now: Callable[[], datetime] | None = None,  # the app's clock: Fakedesk needs none
) -> FakedeskConnector:
    assert isinstance(settings, Settings)
    return FakedeskConnector(name, settings, retry=retry)
