"""A throwaway PostgreSQL server for tests, and the pytest fixtures that hand it out.

One server per test process (so each pytest-xdist worker has its own): a fresh cluster in a temp
dir, listening only on 127.0.0.1 on a free port with its unix socket in that dir, tuned for speed
(no fsync), stopped and removed when the session ends. When PostgreSQL is not installed, tests
that ask for it are skipped with the reason (``.ci/install-postgres.sh`` installs it).

Reuse from a conftest.py: ``from tests.pg import postgres_server, postgres_url, fresh_postgres_url``
(as tests/store/conftest.py does; pytest puts the repository root on sys.path).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.ports import free_port

SUPERUSER = "escalator"
SESSION_DATABASE = "escalator_test"  # the database postgres_url points at
_SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",  # a test cluster never survives a crash; durability only costs time
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_connections": "60",
    "log_min_messages": "warning",
    "log_checkpoints": "off",
}


class PostgresUnavailable(Exception):
    """PostgreSQL cannot be started here; the message says why (used as the skip reason)."""


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl live: PATH first, then the newest /usr/lib/postgresql/*/bin."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


@dataclass
class PostgresServer:
    root: Path  # temp dir: data/, the unix socket and the log
    bindir: Path
    port: int
    run_as: tuple[str, ...]  # prefix that drops root privileges (initdb refuses root)

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit superuser connection."""
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=database, autocommit=True
        )

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        name = name or f"t_{uuid.uuid4().hex[:16]}"
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "immediate", "-w")
        shutil.rmtree(self.root, ignore_errors=True)

    def halt(self) -> None:
        """Stop the server as a crash would (its data stays): a restart test's first half."""
        self._pg_ctl("stop", "-m", "immediate", "-w")

    def resume(self) -> None:
        """Start it again on the same port, after ``halt``."""
        log = str(self.root / "server.log")
        started = self._pg_ctl("start", "-w", "-t", "30", "-l", log, "-o", f"-p {self.port}")
        assert started.returncode == 0, started.stderr


def _privilege_drop() -> tuple[tuple[str, ...], int | None, int | None]:
    """Command prefix and uid/gid to own the cluster: ourselves, or `postgres` when root."""
    if os.geteuid() != 0:
        return (), None, None
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            "running as root and there is no 'postgres' user to run initdb as"
        ) from None
    runuser = shutil.which("runuser")
    if not runuser:
        raise PostgresUnavailable("running as root and runuser(1) is not available")
    return (runuser, "-u", "postgres", "--"), entry.pw_uid, entry.pw_gid


def start_postgres() -> PostgresServer:
    """Create and start a cluster; raise PostgresUnavailable (with the reason) if that fails."""
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(
            "PostgreSQL not installed: initdb/pg_ctl not on PATH nor in /usr/lib/postgresql/*/bin"
            " (run .ci/install-postgres.sh)"
        )
    run_as, uid, gid = _privilege_drop()
    # Directly under /tmp (world-traversable), not pytest's 0700 tmp dir, so `postgres` reaches it.
    root = Path(tempfile.mkdtemp(prefix="escalator-pg-"))
    if uid is not None and gid is not None:
        os.chown(root, uid, gid)
    data = root / "data"
    initdb = [
        *run_as, str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
        "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
    ]  # fmt: skip
    done = subprocess.run(initdb, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise PostgresUnavailable(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
    settings = dict(_SERVER_SETTINGS, unix_socket_directories=f"'{root}'")
    with (data / "postgresql.conf").open("a") as conf:
        conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
    last_error = ""
    for _ in range(3):  # another process may grab the free port between our probe and the bind
        server = PostgresServer(root=root, bindir=bindir, port=free_port(), run_as=run_as)
        started = server._pg_ctl(
            "start", "-w", "-t", "30", "-l", str(root / "server.log"), "-o", f"-p {server.port}"
        )
        if started.returncode == 0:
            return server
        last_error = (root / "server.log").read_text(errors="replace")[-2000:]
    shutil.rmtree(root, ignore_errors=True)
    raise PostgresUnavailable(f"PostgreSQL did not start: {last_error.strip()}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """This process's throwaway server (skips the test when PostgreSQL is unavailable)."""
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """URL of one database shared by the session: postgresql://escalator@127.0.0.1:PORT/..."""
    return postgres_server.create_database(SESSION_DATABASE)


@pytest.fixture
def fresh_postgres_url(postgres_server: PostgresServer, postgres_url: str) -> Iterator[str]:
    """URL that sees a new empty schema for one test (dropped afterwards).

    A schema in the session's database, made the connection's search_path, costs well under a
    millisecond where CREATE DATABASE costs 0.1-0.3 s. Use ``postgres_server.create_database()``
    when a test needs a whole database of its own.
    """
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with postgres_server.connect(SESSION_DATABASE) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    with postgres_server.connect(SESSION_DATABASE) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
