from __future__ import annotations

import base64
import json
import stat
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from connectors.errors import AuthError
from connectors.zendesk import ZendeskConnector
from connectors.zendesk.emulator import ZendeskEmulator
from tests.connectors.zendesk.zendesk_seeds import seed_ticket

TOKENS = "/oauth/tokens"


def test_client_credentials_then_renewal_on_401(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    (tid,) = emulator.seed([seed_ticket(0)])
    connector.fetch(tid)
    assert [g["grant_type"] for g in emulator.token_grants] == ["client_credentials"]
    assert emulator.token_grants[0]["expires_in"] == 1800  # always sent, never assumed
    bearer = emulator.server.calls("GET", r"/api/v2/tickets/")[-1].headers["authorization"]
    assert bearer.startswith("Bearer at-")

    emulator.server.clock.advance(2 * 3600)  # the server expires the token; our clock disagrees
    connector.fetch(tid)

    assert [g["grant_type"] for g in emulator.token_grants] == ["client_credentials"] * 2
    statuses = [r.headers["authorization"] for r in emulator.server.calls("GET", r"/tickets/")]
    assert statuses[-1] != bearer  # re-sent once with the new token


def test_refresh_token_rotation_is_persisted_atomically(
    emulator: ZendeskEmulator, make_connector: Callable[..., ZendeskConnector], tmp_path: Path
) -> None:
    token_file = tmp_path / "state" / "zendesk-token.json"
    connector = make_connector(auth="oauth_refresh_token", token_file=str(token_file))
    (tid,) = emulator.seed([seed_ticket(0)])
    assert not token_file.exists()
    assert emulator.token_grants == []

    connector.fetch(tid)
    saved = json.loads(token_file.read_text())
    first_refresh = emulator.token_grants[0]["refresh_token"]
    assert emulator.token_grants[0]["grant_type"] == "refresh_token"
    assert saved["refresh_token"] != first_refresh
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert [p.name for p in token_file.parent.iterdir()] == [token_file.name]  # no temp left

    emulator.server.clock.advance(2 * 3600)
    connector.fetch(tid)  # 401 → refresh with the *rotated* token from the file
    assert emulator.token_grants[1]["refresh_token"] == saved["refresh_token"]
    rotated = json.loads(token_file.read_text())["refresh_token"]
    assert rotated not in (saved["refresh_token"], first_refresh)

    # a restart reads the file: the stale token from the YAML is never sent again
    emulator.server.clock.advance(2 * 3600)
    restarted = make_connector(auth="oauth_refresh_token", token_file=str(token_file))
    restarted.fetch(tid)
    assert emulator.token_grants[-1]["refresh_token"] == rotated
    # the old refresh tokens are dead on the server
    reuse = dict(emulator.token_grants[0])
    answer = httpx.post(f"{emulator.base_url}{TOKENS}", json=reuse)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_legacy_api_token(
    emulator: ZendeskEmulator, make_connector: Callable[..., ZendeskConnector]
) -> None:
    (tid,) = emulator.seed([seed_ticket(0)])
    connector = make_connector(auth="api_token")
    assert connector.fetch(tid).id == tid
    header = emulator.server.calls("GET", r"/tickets/")[-1].headers["authorization"]
    assert base64.b64decode(header.split()[1]).decode() == (
        f"{emulator.email}/token:{emulator.api_token}"
    )
    assert emulator.token_grants == []


def test_wrong_credentials_are_fatal_not_retried(
    emulator: ZendeskEmulator,
    make_connector: Callable[..., ZendeskConnector],
    sleeps: list[float],
) -> None:
    (tid,) = emulator.seed([seed_ticket(0)])
    token_connector = make_connector(auth="api_token")
    oauth_connector = make_connector()
    emulator.api_token = "rotated-by-an-admin"
    emulator.client_secret = "rotated-by-an-admin"

    with pytest.raises(AuthError):
        token_connector.fetch(tid)
    with pytest.raises(AuthError, match="token grant refused"):
        oauth_connector.fetch(tid)
    assert sleeps == []  # a person must act: nothing is retried


def test_a_client_credentials_token_outlives_the_process_that_got_it(
    emulator: ZendeskEmulator, make_connector: Callable[..., ZendeskConnector], tmp_path: Path
) -> None:
    token_file = tmp_path / "zendesk-access.json"
    auth = {**emulator.settings()["auth"], "token_file": str(token_file)}
    (tid,) = emulator.seed([seed_ticket(0)])
    make_connector(auth=auth).fetch(tid)
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600

    make_connector(auth=auth).fetch(tid)  # the next process: no new grant while it lasts

    assert [g["grant_type"] for g in emulator.token_grants] == ["client_credentials"]
    emulator.server.clock.advance(2 * 3600)  # expired on the server: one new grant, kept
    make_connector(auth=auth).fetch(tid)
    assert len(emulator.token_grants) == 2
    assert json.loads(token_file.read_text())["expires_at"] > 0


def test_rotated_refresh_tokens_kept_in_the_state_store(
    emulator: ZendeskEmulator, make_connector: Callable[..., ZendeskConnector], tmp_path: Path
) -> None:
    """The app keeps the tokens in its store: a restart (or a standby sharing the store) sends
    the latest rotated refresh token, never the YAML's stale one, and the file is moved in."""
    from escalator.store import open_store
    from escalator.tokens import StoredTokens

    token_file = tmp_path / "zendesk-token.json"
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    (tid,) = emulator.seed([seed_ticket(0)])
    first = make_connector(auth="oauth_refresh_token", token_file=str(token_file))
    first.keep_tokens_in(StoredTokens(store, "zendesk"))
    first.fetch(tid)
    kept = store.read_credentials("zendesk")
    assert kept is not None
    assert kept["refresh_token"] != emulator.token_grants[0]["refresh_token"]  # rotated

    emulator.server.clock.advance(2 * 3600)  # the access token expired
    standby = make_connector(auth="oauth_refresh_token", token_file=str(tmp_path / "other"))
    standby.keep_tokens_in(StoredTokens(store, "zendesk"))
    standby.fetch(tid)
    assert emulator.token_grants[-1]["refresh_token"] == kept["refresh_token"]
    store.close()
