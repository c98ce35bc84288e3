"""The frame every API emulator stands on: a real HTTP server on 127.0.0.1.

Each system's emulator (``connectors/<kind>/emulator.py``) registers its routes on an
``EmulatorServer`` and keeps its tickets in memory. The frame gives them a controllable clock,
fault injection (429 with Retry-After, 5xx, slow or malformed responses, connection resets)
and a request log that
tests read to prove a call was made, or was not.
"""

from __future__ import annotations

import contextlib
import io
import json
import queue
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import httpx


class EmulatorClock:
    """The emulator's idea of now: real time shifted by an offset, or frozen."""

    def __init__(self, frozen_at: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen = frozen_at
        self._offset = timedelta(0)

    def now(self) -> datetime:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return datetime.now(UTC) + self._offset

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._frozen = instant

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += timedelta(seconds=seconds)
            else:
                self._offset += timedelta(seconds=seconds)

    def unfreeze(self) -> None:
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - datetime.now(UTC)
            self._frozen = None


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # named groups of the route pattern

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass(slots=True)
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Fault:
    """Make the next ``count`` matching requests fail (or slow down)."""

    method: str
    path: re.Pattern[str]
    status: int = 429
    count: int = 1
    retry_after: float | None = None
    delay: float = 0.0
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Reset:
    """Drop the next ``count`` matching connections with a TCP reset instead of answering:
    before the request is carried out or, with ``after_handling``, after it (the answer is
    lost with the connection)."""

    method: str
    path: re.Pattern[str]
    count: int
    after_handling: bool


Handler = Callable[[Request], Response]


class EmulatorServer:
    """A ThreadingHTTPServer with a route table, faults and a request log."""

    def __init__(self, name: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.name = name
        self.clock = EmulatorClock()
        self.requests: list[Request] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._faults: list[Fault] = []
        self._resets: list[Reset] = []
        self._lock = threading.RLock()
        self._host = host
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- set-up ---------------------------------------------------------------------------
    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Register ``handler`` for ``method`` and a path regex with named groups."""

        def register(handler: Handler) -> Handler:
            self._routes.append((method.upper(), re.compile(f"^{pattern}$"), handler))
            return handler

        return register

    def inject(
        self,
        method: str,
        path_pattern: str,
        *,
        status: int = 429,
        count: int = 1,
        retry_after: float | None = None,
        delay: float = 0.0,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        with self._lock:
            self._faults.append(
                Fault(
                    method.upper(),
                    re.compile(path_pattern),
                    status,
                    count,
                    retry_after,
                    delay,
                    body,
                    dict(headers or {}),
                )
            )

    def inject_reset(
        self, method: str, path_pattern: str, *, count: int = 1, after_handling: bool = False
    ) -> None:
        """Drop the next ``count`` matching connections with a TCP reset, as a load balancer
        or a restarting server does."""
        with self._lock:
            self._resets.append(
                Reset(method.upper(), re.compile(path_pattern), count, after_handling)
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._resets.clear()

    # -- life -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError(f"{self.name} emulator is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out as separate writes: without this, Nagle + delayed ACK
            # add ~40 ms to every keep-alive request
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                server._dispatch(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._httpd = ThreadingHTTPServer((self._host, self._port), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=lambda: self._httpd.serve_forever(poll_interval=0.05) if self._httpd else None,
            name=f"{self.name}-emulator", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- dispatch -------------------------------------------------------------------------
    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method in (method, "*") and fault.path.search(path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _take_reset(self, method: str, path: str) -> Reset | None:
        with self._lock:
            for reset in self._resets:
                if reset.method in (method, "*") and reset.path.search(path):
                    reset.count -= 1
                    if reset.count <= 0:
                        self._resets.remove(reset)
                    return reset
        return None

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        reset = self._take_reset(h.command, urlsplit(h.path).path)
        if reset is None:
            self._answer(h)
            return
        if reset.after_handling:
            answer, h.wfile = h.wfile, io.BytesIO()  # handled; the answer goes nowhere
            try:
                self._answer(h)
            finally:
                h.wfile = answer
        else:
            length = int(h.headers.get("Content-Length") or 0)
            if length:
                h.rfile.read(length)
            with self._lock:
                self.requests.append(
                    Request(h.command, urlsplit(h.path).path, {}, dict(h.headers), b"")
                )
        # SO_LINGER 0: closing sends RST, as a load balancer dropping the connection does
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.close_connection = True
        h.connection.close()

    def _answer(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        request = Request(
            method=h.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in h.headers.items()},
            body=body,
        )
        with self._lock:
            self.requests.append(request)
        response = self._respond(request)
        payload = (
            response.body
            if isinstance(response.body, bytes)
            else (b"" if response.body is None else json.dumps(response.body).encode())
        )
        h.send_response(response.status)
        headers = {"Content-Type": "application/json; charset=utf-8", **response.headers}
        for name, value in headers.items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    def _respond(self, request: Request) -> Response:
        fault = self._take_fault(request.method, request.path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)  # a slow upstream, on purpose
            if fault.status == 200 and fault.body is None:
                pass  # only a delay: fall through to the real handler
            else:
                headers = dict(fault.headers)
                if fault.retry_after is not None:
                    headers.setdefault("Retry-After", _format_seconds(fault.retry_after))
                body = fault.body if fault.body is not None else self.fault_body(fault.status)
                return Response(fault.status, body, headers)
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                request.params = {k: v for k, v in match.groupdict().items() if v is not None}
                try:
                    return handler(request)
                except Exception as exc:  # an emulator bug must show as a 500, not a hang
                    return Response(500, {"error": "EmulatorError", "description": repr(exc)})
        return self.not_found(request)

    # -- hooks each emulator overrides to match its API's error bodies ------------------
    def fault_body(self, status: int) -> Any:
        return {"error": f"HTTP {status}"}

    def not_found(self, request: Request) -> Response:
        return Response(404, {"error": "RecordNotFound", "description": "Not found"})

    def calls(self, method: str, path_pattern: str) -> list[Request]:
        """Requests made so far that match; tests assert on them."""
        rx = re.compile(path_pattern)
        with self._lock:
            return [r for r in self.requests if r.method == method.upper() and rx.search(r.path)]


class Emulator:
    """What every system's emulator shares: its server's life, the webhooks it sends out, and
    the contract the demo, the benchmarks and the end-to-end tests drive every helpdesk by.

    A subclass (one per ``connectors/<kind>/emulator.py``, found by ``registry``) takes
    ``webhook_url`` as a keyword, sets ``server`` and implements the contract below.
    """

    server: EmulatorServer
    webhook_url: str | None = None
    _outbox: queue.Queue[dict[str, Any]] | None = None
    _outbox_lock = threading.Lock()

    def start(self) -> str:
        return self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    # -- the contract ----------------------------------------------------------------------
    def seed(self, tickets: Sequence[SeedTicket]) -> list[str]:
        """Create ``tickets`` as people did, at their times; their ids, in order."""
        raise NotImplementedError

    def update(
        self,
        ticket_id: str,
        *,
        status: str | None = None,
        priority: str | None = None,
        group: str | None = None,
    ) -> None:
        """A person changes the ticket now (normalised status and priority names)."""
        raise NotImplementedError

    def add_comment(self, ticket_id: str, comment: SeedComment) -> None:
        """A customer or an agent writes on the ticket."""
        raise NotImplementedError

    def labels(self, ticket_id: str) -> set[str]:
        """The labels (tags) the ticket shows now, as the helpdesk stores them."""
        raise NotImplementedError

    def comments(self, ticket_id: str) -> list[dict[str, Any]]:
        """The ticket's comments as the helpdesk stores them (tests count them)."""
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        """The environment a source section of this kind reads (URLs, secrets)."""
        raise NotImplementedError

    def settings(self, name: str) -> dict[str, Any]:
        """The connector's ``Settings``, as a dict, pointing at this emulator (for tests and
        benchmarks that build the connector themselves)."""
        raise NotImplementedError

    @classmethod
    def source_section(cls, name: str) -> dict[str, Any]:
        """A ``sources`` section for this emulator (secrets as ``${VAR}`` of ``env``), for a
        config with none of its kind; the shipped ``config/`` has one per built-in helpdesk."""
        raise NotImplementedError(f"{cls.__name__} has its section in config/")

    def prepare_demo(self) -> None:
        """Anything the demo's escalation matrix expects to exist (groups, say)."""

    def seed_demo(self, tickets: Sequence[SeedTicket]) -> list[str]:
        """Seed a support day: ``seed``, plus whatever makes the tickets fully alive."""
        return self.seed(tickets)

    def signed_delivery(self, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        raise NotImplementedError

    def deliver(self, payload: dict[str, Any]) -> None:
        """Send ``payload`` as a signed webhook to ``webhook_url``, in order, off this thread."""
        if not self.webhook_url:
            return
        with self._outbox_lock:
            if self._outbox is None:
                self._outbox = queue.Queue()
                name = f"{self.server.name}-webhooks"
                threading.Thread(target=self._send_deliveries, name=name, daemon=True).start()
        self._outbox.put(payload)

    def _send_deliveries(self) -> None:
        assert self._outbox is not None
        with httpx.Client(timeout=5.0) as http:
            while True:
                payload = self._outbox.get()
                headers, body = self.signed_delivery(payload)
                # a receiver that is down is not the emulator's problem: the delivery is dropped
                with contextlib.suppress(httpx.HTTPError):
                    http.post(str(self.webhook_url), headers=headers, content=body)


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


@dataclass(slots=True)
class SeedComment:
    at: datetime
    author: str  # "agent" | "customer"
    public: bool
    body: str


@dataclass(slots=True)
class SeedTicket:
    """A ticket in neutral form; each emulator stores it in its own system's shape."""

    title: str
    created_at: datetime
    status: str = "new"  # normalised status
    priority: str = "normal"  # normalised priority
    organization: str | None = None
    requester: str = "customer@example.com"
    category: str | None = None
    customer_tier: str | None = None
    affected_users: int | None = None
    labels: list[str] = field(default_factory=list)
    comments: list[SeedComment] = field(default_factory=list)
    updated_at: datetime | None = None
