"""The shared throwaway-PostgreSQL fixtures (tests/pg.py), for the report tests."""

from __future__ import annotations

from tests.pg import fresh_postgres_url, postgres_server, postgres_url

__all__ = ["fresh_postgres_url", "postgres_server", "postgres_url"]
