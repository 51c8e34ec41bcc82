"""A threaded HTTP stand-in server on 127.0.0.1 with switchable faults.

Used by the QuickBooks Online and Xero stand-ins. Each stub subclass implements ``route`` and keeps
its state in memory; this base owns the socket, the JSON wire encoding and the fault queue.

Faults apply to the next requests in arrival order and are consumed one per request. Each
setter takes ``on=`` (e.g. ``"POST /bill"``: method plus path suffix) to aim the fault at the
next *matching* request only, letting lookups before it pass untouched:

- ``fail_next(n, status=500)``: answer ``status`` without touching state.
- ``rate_limit_next(n, retry_after=…)``: 429 with a ``Retry-After`` header, state untouched.
- ``unauthorized_next(n)``: 401 in the service's own fault shape, state untouched.
- ``slow_next(seconds)``: handle the request (the write is committed), then wait before answering,
  so a client with a shorter timeout gives up although the ERP did the work.
- ``drop_next()``: handle the request (committed), then close the connection without an answer.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


def encode_json(value: Any) -> str:
    """JSON text in which Decimal becomes a JSON number written exactly (never via float)."""
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))}:{encode_json(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(encode_json(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    return json.dumps(value)


@dataclass
class StubRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON (Decimal numbers) or None


@dataclass
class StubResponse:
    status: int
    body: Any = None
    headers: dict[str, str] | None = None


@dataclass
class _Fault:
    kind: str  # "status" | "slow" | "drop"
    status: int = 0
    headers: dict[str, str] | None = None
    body: Any = None
    seconds: float = 0.0
    on: str | None = None

    def matches(self, request: StubRequest) -> bool:
        if self.on is None:
            return True
        method, _, suffix = self.on.partition(" ")
        return request.method == method and request.path.endswith(suffix)


class StubServer:
    """Base class: subclasses implement ``route(request) -> StubResponse`` and ``auth_fault()``."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._faults: deque[_Fault] = deque()
        self.requests: list[StubRequest] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> StubServer:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0: one request per connection, so a dropped connection never poisons a pool.
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                stub._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- faults --------------------------------------------------------------------------------
    def fail_next(self, n: int = 1, *, status: int = 500, on: str | None = None) -> None:
        with self._lock:
            for _ in range(n):
                self._faults.append(_Fault("status", status=status, body=self.error_body(status),
                                           on=on))

    def rate_limit_next(self, n: int = 1, *, retry_after: int = 7, on: str | None = None) -> None:
        with self._lock:
            for _ in range(n):
                self._faults.append(
                    _Fault("status", status=429, headers={"Retry-After": str(retry_after)},
                           body=self.error_body(429), on=on)
                )

    def unauthorized_next(self, n: int = 1, *, on: str | None = None) -> None:
        with self._lock:
            for _ in range(n):
                self._faults.append(_Fault("status", status=401, body=self.auth_fault(), on=on))

    def slow_next(self, seconds: float, *, on: str | None = None) -> None:
        with self._lock:
            self._faults.append(_Fault("slow", seconds=seconds, on=on))

    def drop_next(self, *, on: str | None = None) -> None:
        with self._lock:
            self._faults.append(_Fault("drop", on=on))

    def _take_fault(self, request: StubRequest) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(request):
                self._faults.remove(fault)
                return fault
        return None

    # --- subclass hooks ------------------------------------------------------------------------
    def route(self, request: StubRequest) -> StubResponse:
        raise NotImplementedError

    def auth_fault(self) -> Any:
        raise NotImplementedError

    def error_body(self, status: int) -> Any:
        return None

    # --- plumbing ------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw, parse_float=Decimal) if raw else None
        except ValueError:
            self._write(handler, StubResponse(400, {"message": "body is not JSON"}))
            return
        request = StubRequest(
            method=handler.command,
            path=parts.path,
            query={k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
        )
        with self._lock:
            self.requests.append(request)
            fault = self._take_fault(request)
        if fault is not None and fault.kind == "status":
            self._write(handler, StubResponse(fault.status, fault.body, fault.headers))
            return
        with self._lock:
            response = self.route(request)
        if fault is not None and fault.kind == "drop":
            # Committed, but the client never hears back: shut the socket without a status line.
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
        self._write(handler, response)

    @staticmethod
    def _write(handler: BaseHTTPRequestHandler, response: StubResponse) -> None:
        payload = b"" if response.body is None else encode_json(response.body).encode()
        try:
            handler.send_response(response.status)
            for name, value in (response.headers or {}).items():
                handler.send_header(name, value)
            if response.body is not None:
                handler.send_header("Content-Type", "application/json;charset=UTF-8")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test); the write is committed all the same
