"""The Zendesk OAuth access token is kept in the store until it expires: a restarted sidecar
(or a standby taking over) uses it instead of asking Zendesk for a new one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from escalator.app import open_sidecar
from escalator.config import load_config
from escalator.demo import DemoWorld
from escalator.store import open_store
from tests.e2e.sidecar_process import ROOT


@pytest.fixture
def world() -> Iterator[DemoWorld]:
    world = DemoWorld()
    world.start()
    yield world
    world.stop()


def test_a_restart_reuses_the_token_kept_in_the_store(world: DemoWorld, tmp_path: Path) -> None:
    config = load_config(ROOT / "config")
    url = f"sqlite:///{tmp_path}/state.db"
    with open_store(url) as store, open_sidecar(config, world.env(), store=store) as sidecar:
        sidecar.poll("zendesk")
        assert len(world.zendesk.token_grants) == 1
        kept = store.read_credentials("zendesk")
        assert kept is not None
        assert kept["access_token"]
    # a new process on the same store: no new grant while the token lasts
    with open_store(url) as store, open_sidecar(config, world.env(), store=store) as sidecar:
        sidecar.poll("zendesk")
        sidecar.poll("zendesk")
    assert len(world.zendesk.token_grants) == 1
