"""Fixtures live in hubspot_helpers (test modules import its helpers by that unique name)."""

from tests.connectors.hubspot.hubspot_helpers import *  # noqa: F403
