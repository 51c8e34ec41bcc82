"""A local stand-in for the OpenAI Chat Completions endpoint, for tests.

It speaks the documented wire format (``POST /v1/chat/completions``, bearer auth, JSON
body with ``model``, ``messages`` and ``response_format``) and answers structured-output
requests with a JSON object that has exactly the properties of the requested schema: values
come from ``answers`` and every other property is ``null``. Faults can be switched on to
exercise the client's failure handling: ``timeout`` (answers after ``delay`` seconds),
``rate_limit`` (429 with ``Retry-After``), ``server_error`` (500), ``malformed`` (content that
is not JSON), ``bad_auth`` (401). ``fail_times`` limits a fault to the first N requests.

Usage::

    with OpenAIStub() as stub:
        stub.answers = {"invoice_number": "A-1"}
        client = OpenAI(api_key=stub.api_key, base_url=stub.base_url)
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

FAULTS = ("timeout", "rate_limit", "server_error", "malformed", "bad_auth")


class OpenAIStub:
    def __init__(self, *, api_key: str = "sk-test-stub") -> None:
        self.api_key = api_key
        self.answers: dict[str, Any] = {}
        self.fault: str | None = None
        self.fail_times: int | None = None  # None: every request
        self.delay = 2.0
        self.retry_after = "1"
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> OpenAIStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                stub._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the stub first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    # --- protocol --------------------------------------------------------------------------
    def _active_fault(self) -> str | None:
        with self._lock:
            if self.fault is None:
                return None
            if self.fail_times is None:
                return self.fault
            if self.fail_times > 0:
                self.fail_times -= 1
                return self.fault
            return None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        if handler.path.rstrip("/") != "/v1/chat/completions":
            return self._error(handler, 404, "Unknown URL", "invalid_request_error", "unknown_url")
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            return self._error(
                handler, 400, "We could not parse the JSON body", "invalid_request_error", None
            )
        with self._lock:
            self.requests.append({"headers": dict(handler.headers), "body": body})
        fault = self._active_fault()
        if fault == "bad_auth" or handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._error(
                handler,
                401,
                "Incorrect API key provided",
                "invalid_request_error",
                "invalid_api_key",
            )
        if (
            not body.get("model")
            or not isinstance(body.get("messages"), list)
            or not body["messages"]
        ):
            return self._error(
                handler, 400, "model and messages are required", "invalid_request_error", None
            )
        if fault == "timeout":
            time.sleep(self.delay)
        elif fault == "rate_limit":
            return self._error(
                handler,
                429,
                "Rate limit reached for requests",
                "requests",
                "rate_limit_exceeded",
                headers={"Retry-After": self.retry_after},
            )
        elif fault == "server_error":
            return self._error(
                handler,
                500,
                "The server had an error while processing your request.",
                "server_error",
                None,
            )
        content = "{not json" if fault == "malformed" else json.dumps(self._structured_answer(body))
        payload = {
            "id": f"chatcmpl-stub{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": len(raw) // 4,
                "completion_tokens": len(content) // 4,
                "total_tokens": (len(raw) + len(content)) // 4,
            },
        }
        self._send(handler, 200, payload)

    def _structured_answer(self, body: dict) -> dict:
        response_format = body.get("response_format") or {}
        if response_format.get("type") != "json_schema":
            return dict(self.answers)
        schema = response_format["json_schema"]["schema"]
        # Strict structured output returns exactly the schema's properties.
        return {name: self.answers.get(name) for name in schema.get("properties", {})}

    def _error(
        self, handler, status: int, message: str, kind: str, code: str | None, headers=None
    ) -> None:
        self._send(
            handler,
            status,
            {"error": {"message": message, "type": kind, "param": None, "code": code}},
            headers,
        )

    @staticmethod
    def _send(handler, status: int, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.send_header("x-request-id", "req_stub")
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)
