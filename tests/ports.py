"""A free TCP port on loopback, for a server a test starts (often in another process)."""

from __future__ import annotations

import random
import socket
from pathlib import Path

_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral_start() -> int:
    try:
        return int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port() -> int:
    """A port nothing listens on, below the kernel's ephemeral range. ``bind(0)`` would give one
    inside it, which any outgoing connection (the tests' HTTP clients, in every worker) may take
    as its source port before the server binds it: "address already in use"."""
    top = _ephemeral_start()
    bottom = 10_000 if top > 11_000 else 1024
    for _ in range(200):
        port = random.randrange(bottom, top)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken: another
            return port
    raise RuntimeError(f"no free port on 127.0.0.1 between {bottom} and {top}")
