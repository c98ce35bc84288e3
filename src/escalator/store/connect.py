"""URL -> SQLAlchemy Engine: SQLite (WAL, busy timeout, foreign keys) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import json
import sqlite3
import time
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from escalator.store.errors import StoreError
from escalator.store.schema import json_ready

BUSY_TIMEOUT_MS = 10_000  # how long a SQLite writer waits for another before "database is locked"

_EXPECTED = "expected sqlite:///path/state.db or postgresql://user@host/db"
_json_dumps = partial(json.dumps, default=json_ready, separators=(",", ":"))


def parse_store_url(url: str) -> URL:
    """Validate ``url`` and pin the driver: sqlite:///path or postgresql://... (psycopg 3)."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError; say what we accept
        raise StoreError(f"bad store URL {url!r}: {_EXPECTED}") from exc
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return parsed.set(drivername="sqlite+pysqlite")
    raise StoreError(
        f"unsupported store URL {parsed.render_as_string(hide_password=True)!r}: {_EXPECTED}"
    )


def is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_store_engine(url: URL) -> Engine:
    if url.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, json_serializer=_json_dumps)
    if is_memory_sqlite(url):
        # One shared connection, or every thread would see its own empty database.
        engine = create_engine(
            url,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,  # reports decode a hundred thousand tickets
        )
    else:
        assert url.database is not None
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,  # reports decode a hundred thousand tickets
        )
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Driver autocommit, so BEGIN is ours (below) and PRAGMAs run outside any transaction.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    _ensure_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across app crashes in WAL mode
    cursor.close()


def _ensure_wal(cursor: sqlite3.Cursor) -> None:
    """Switch a new database file to WAL (persistent, so later connections find it set).

    Switching needs an exclusive lock and SQLite answers "locked" at once rather than waiting,
    so processes opening a new file together retry here until the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")  # an in-memory database stays "memory"
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _begin_immediate(conn: Any) -> None:
    # Take the write lock at BEGIN: a read-then-write transaction can then never hit a
    # lock-upgrade deadlock, which busy_timeout cannot resolve.
    conn.exec_driver_sql("BEGIN IMMEDIATE")
