"""The throwaway PostgreSQL of tests/pg.py keeps to itself: loopback only, its own dirs."""

from __future__ import annotations

import os

from escalator.store import open_store
from tests.pg import SESSION_DATABASE, PostgresServer


def test_server_listens_on_loopback_only_with_its_socket_in_its_temp_dir(
    postgres_server: PostgresServer,
) -> None:
    with postgres_server.connect() as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("listen_addresses", "unix_socket_directories", "fsync", "port")
        }
    assert settings == {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": str(postgres_server.root),
        "fsync": "off",
        "port": str(postgres_server.port),
    }
    assert (postgres_server.root / f".s.PGSQL.{postgres_server.port}").is_socket()
    if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to `postgres`
        assert (postgres_server.root / "data").stat().st_uid != 0


def test_fresh_url_keeps_a_tests_tables_in_its_own_schema(
    postgres_server: PostgresServer, fresh_postgres_url: str
) -> None:
    open_store(fresh_postgres_url).close()
    schema = fresh_postgres_url.rsplit("search_path%3D", 1)[1]
    with postgres_server.connect(SESSION_DATABASE) as conn:
        rows = conn.execute(
            "SELECT table_schema, count(*) FROM information_schema.tables"
            " WHERE table_name IN ('actions', 'schema_version') GROUP BY table_schema"
        ).fetchall()
    assert rows == [(schema, 2)]
