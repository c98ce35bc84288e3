"""open_store: URLs, backend settings, readiness, thread use, the public names."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

import escalator.store
from escalator.store import StateStore, StoreError, open_store
from escalator.store.connect import BUSY_TIMEOUT_MS, create_store_engine, parse_store_url
from tests.pg import PostgresServer
from tests.ports import free_port
from tests.store.store_samples import T0, comment_action


def test_public_names_are_pinned() -> None:
    assert sorted(escalator.store.__all__) == [
        "ActionNotPendingError",
        "AuditEntry",
        "LATEST_VERSION",
        "QuarantineEntry",
        "SchemaTooNewError",
        "StateStore",
        "StoreError",
        "UnknownActionError",
        "open_store",
    ]


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite:///var/lib/escalator/state.db", "sqlite+pysqlite"),
        ("postgresql://bot:pw@db.internal:5432/escalator", "postgresql+psycopg"),
        ("postgres://bot@db.internal/escalator", "postgresql+psycopg"),
        ("postgresql+psycopg://bot@db.internal/escalator", "postgresql+psycopg"),
    ],
)
def test_urls_pin_the_driver(url: str, driver: str) -> None:
    assert parse_store_url(url).drivername == driver


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("state.db", "bad store URL 'state.db': expected sqlite:///path/state.db or postgresql"),
        ("mysql://bot:hunter2@db/escalator", "unsupported store URL 'mysql://bot:***@db/escalator'"),
        ("postgresql+psycopg2://bot@db/escalator", "unsupported store URL"),
    ],
)
def test_unusable_urls_are_refused_with_what_is_expected(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=r"expected sqlite:///path/state\.db") as caught:
        open_store(url)
    assert message in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_sqlite_runs_in_wal_mode_with_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/nested/dir/state.db"
    open_store(url).close()
    assert (tmp_path / "nested" / "dir" / "state.db").is_file()  # parent dirs are created
    engine = create_store_engine(parse_store_url(url))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == BUSY_TIMEOUT_MS
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


def test_in_memory_sqlite_is_one_database_shared_by_threads() -> None:
    with open_store("sqlite://") as store:
        action = comment_action()
        thread = threading.Thread(target=store.begin, args=(action, "zendesk"))
        thread.start()
        thread.join()
        assert store.pending() == [action]
        assert store.begin(action, "zendesk") is False


def test_ping_answers_true_on_a_live_database(store: StateStore) -> None:
    assert store.ping() is True


def test_ping_answers_false_when_the_database_is_gone(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database()
    store = open_store(url)
    try:
        store.set_cursor("zendesk", "c", T0)
        postgres_server.drop_database(url.rsplit("/", 1)[1])
        assert store.ping() is False
    finally:
        store.close()


def test_an_unreachable_postgresql_is_a_store_error_without_the_password() -> None:
    url = f"postgresql://bot:hunter2@127.0.0.1:{free_port()}/escalator"
    with pytest.raises(StoreError, match="cannot open the state store") as caught:
        open_store(url)
    assert "bot:***@127.0.0.1" in str(caught.value)
    assert "hunter2" not in str(caught.value)
