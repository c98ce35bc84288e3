"""Fixtures live in hubspot_helpers, beside the helpers the test modules import from it."""

from tests.connectors.hubspot.hubspot_helpers import *  # noqa: F403
