"""Versioned migrations: applied once, in order, each in a transaction; newer databases refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Connection, Engine, inspect, select, text

from escalator.store import LATEST_VERSION, SchemaTooNewError, StoreError, open_store
from escalator.store.connect import create_store_engine, parse_store_url
from escalator.store.migrations import MIGRATIONS, Migration, describe, migrate, read_version
from escalator.store.schema import metadata, schema_version
from tests.store.store_samples import T0


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    """A bare engine on the test database, configured the way the store configures its own."""
    raw = create_store_engine(parse_store_url(store_url))
    yield raw
    raw.dispose()


def _versions(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        stmt = select(schema_version.c.version, schema_version.c.name).order_by("version")
        return [(v, n) for v, n in conn.execute(stmt)]


def test_steps_are_numbered_from_one_without_gaps() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert MIGRATIONS[-1].version == LATEST_VERSION


def test_opening_a_migrated_database_again_changes_nothing(store_url: str, engine: Engine) -> None:
    first = open_store(store_url)
    first.set_cursor("zendesk", "c1", T0)
    first.close()
    assert _versions(engine) == [(m.version, m.name) for m in MIGRATIONS]

    second = open_store(store_url)
    try:
        assert second.schema_version == LATEST_VERSION
        assert second.get_cursor("zendesk") == "c1"
    finally:
        second.close()
    assert _versions(engine) == [(m.version, m.name) for m in MIGRATIONS]


def test_the_migrated_database_has_the_tables_the_code_uses(engine: Engine) -> None:
    migrate(engine, where="test")
    with engine.connect() as conn:
        found = describe(conn)
    expected = {name: {c.name for c in table.columns} for name, table in metadata.tables.items()}
    assert found == expected


def test_a_database_from_a_newer_sidecar_is_refused(store_url: str, engine: Engine) -> None:
    open_store(store_url).close()
    with engine.begin() as conn:
        conn.execute(
            schema_version.insert().values(
                version=LATEST_VERSION + 1,
                name="from the future",
                applied_at=T0,
            )
        )
    with pytest.raises(SchemaTooNewError) as caught:
        open_store(store_url)
    message = str(caught.value)
    assert f"schema version {LATEST_VERSION + 1}" in message
    assert f"knows versions up to {LATEST_VERSION}" in message
    assert isinstance(caught.value, StoreError)


def _create_table(name: str) -> Migration:
    def apply(conn: Connection) -> None:
        conn.execute(text(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY)"))

    return Migration(len(MIGRATIONS) + 1, f"add {name}", apply)


def test_a_failing_step_rolls_back_whole_and_runs_again_next_time(engine: Engine) -> None:
    def half_done(conn: Connection) -> None:
        conn.execute(text("CREATE TABLE half_done (id INTEGER PRIMARY KEY)"))
        raise RuntimeError("step failed after its first statement")

    broken = Migration(len(MIGRATIONS) + 1, "add half_done", half_done)
    with pytest.raises(RuntimeError, match="after its first statement"):
        migrate(engine, where="test", steps=(*MIGRATIONS, broken))
    with engine.connect() as conn:
        assert read_version(conn) == LATEST_VERSION  # the steps before it stay applied
        assert not inspect(conn).has_table("half_done")  # its DDL was rolled back with it

    fixed = _create_table("half_done")
    assert migrate(engine, where="test", steps=(*MIGRATIONS, fixed)) == LATEST_VERSION + 1
    assert migrate(engine, where="test", steps=(*MIGRATIONS, fixed)) == LATEST_VERSION + 1
    assert _versions(engine)[-1] == (LATEST_VERSION + 1, "add half_done")


def test_processes_opening_a_new_database_together_migrate_it_once(store_url: str) -> None:
    barrier = threading.Barrier(4)

    def open_and_close(_: int) -> int:
        barrier.wait()
        store = open_store(store_url)
        store.close()
        return store.schema_version

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(open_and_close, range(4))) == [LATEST_VERSION] * 4
    raw = create_store_engine(parse_store_url(store_url))
    try:
        assert _versions(raw) == [(m.version, m.name) for m in MIGRATIONS]
    finally:
        raw.dispose()
