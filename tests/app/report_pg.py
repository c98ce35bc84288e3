"""The shared throwaway-PostgreSQL fixtures (tests/pg.py), for the report tests."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])  # tests/ holds the shared pg plugin
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
from pg import fresh_postgres_url, postgres_server, postgres_url  # noqa: E402

__all__ = ["fresh_postgres_url", "postgres_server", "postgres_url"]
