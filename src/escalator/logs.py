"""Structured logs: one JSON object per line, and never a secret in one.

Every configured secret value (tokens, webhook URLs) is registered at start-up; any line that
would contain one has it replaced by ``***`` before it is written.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class EventLog:
    def __init__(
        self, stream: IO[str] | None = None, level: str = "info", secrets: Iterable[str] = ()
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._level = LEVELS[level]
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self.add_secrets(secrets)

    def add_secrets(self, values: Iterable[str]) -> None:
        # short values would redact ordinary words; secrets worth the name are longer
        self._secrets.update(v for v in values if v and len(v) >= 6)

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def event(self, event: str, level: str = "info", **fields: Any) -> None:
        if LEVELS[level] < self._level:
            return
        record = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level,
            "event": event,
            **fields,
        }
        line = self.redact(json.dumps(record, default=str, ensure_ascii=False))
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def info(self, event: str, **fields: Any) -> None:
        self.event(event, "info", **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self.event(event, "warning", **fields)

    def error(self, event: str, **fields: Any) -> None:
        self.event(event, "error", **fields)

    def debug(self, event: str, **fields: Any) -> None:
        self.event(event, "debug", **fields)

    def capture_stdlib(self) -> None:
        """Send the libraries' ``logging`` records through this log (and its redaction)."""
        root = logging.getLogger()
        for handler in list(root.handlers):
            if isinstance(handler, _Handler):
                root.removeHandler(handler)
        root.addHandler(_Handler(self))
        root.setLevel(logging.WARNING)


class _Handler(logging.Handler):
    def __init__(self, log: EventLog) -> None:
        super().__init__()
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        level = "error" if record.levelno >= 40 else "warning" if record.levelno >= 30 else "info"
        try:
            message = record.getMessage()
        except Exception:  # a library's bad format string must not kill the process
            message = str(record.msg)
        self._log.event("library", level, logger=record.name, message=message)
