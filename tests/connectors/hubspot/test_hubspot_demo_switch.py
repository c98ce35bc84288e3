"""``ESCALATOR_DEMO_HUBSPOT_API`` picks the API the demo's HubSpot source speaks (issue 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.hubspot.emulator import HubSpotEmulator
from escalator.config import load_config
from escalator.demo import HUBSPOT_API_ENV, use_demo_hubspot_api
from escalator.sources import connector_settings

CONFIG = Path(__file__).resolve().parents[3] / "config"


@pytest.mark.parametrize(("chosen", "expected"), [(None, "2026-09"), ("v3", "v3")])
def test_the_demo_speaks_the_chosen_hubspot_api(chosen: str | None, expected: str) -> None:
    config = load_config(CONFIG)
    env = {HUBSPOT_API_ENV: chosen} if chosen else {}
    assert use_demo_hubspot_api(config, env) == chosen
    emulator = HubSpotEmulator()
    emulator.start()
    try:
        secrets = {**emulator.env(), "HUBSPOT_WEBHOOK_URL": "http://127.0.0.1:1/webhooks/hubspot"}
        assert connector_settings(config, "hubspot", secrets).api_version == expected
    finally:
        emulator.stop()


def test_an_unknown_version_is_refused() -> None:
    with pytest.raises(ValueError, match="2026-09"):
        use_demo_hubspot_api(load_config(CONFIG), {HUBSPOT_API_ENV: "v4"})
