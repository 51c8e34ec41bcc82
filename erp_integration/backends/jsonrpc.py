"""A small Tryton JSON-RPC client on ``requests``.

Guarantees:
- One login per client (``common.db.login``); later calls carry the
  ``Authorization: Session base64(login:uid:token)`` header. Basic auth would re-hash the
  password on every call (measured 7x slower), so it is never used.
- An expired session (HTTP 401 on a model call) triggers exactly one re-login and one retry of the
  call. A second 401, or a refused login, is ``ErpError(AUTH)``.
- ``Decimal``, ``date`` and ``datetime`` travel in Tryton's tagged form
  (``{"__class__": "Decimal", "decimal": "1.00"}``) both ways: no float ever carries money.
- Every failure is an ``ErpError`` with a code, the original exception chained:
  connection refused/reset -> UNAVAILABLE; client-side timeout or HTTP 504 -> TIMEOUT (the call may
  have been applied); 401/403 -> AUTH; unknown database (404) -> NOT_CONFIGURED; 429 ->
  RATE_LIMITED; other 5xx -> UNAVAILABLE; ``UserError``/``UserWarning``/domain errors (HTTP 200
  with an ``error`` member) -> VALIDATION carrying Tryton's own message. Warnings are never
  acknowledged: this client has no way to do so.
- Not thread-safe: create one client per thread (they are cheap; each logs in once).
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import re
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import requests

from erp_integration.backends.base import ErpError, ErpErrorCode

DEFAULT_TIMEOUT = 30.0  # seconds; posting one invoice takes ~0.1-1 s on a warm server


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {
            "__class__": "datetime", "year": value.year, "month": value.month, "day": value.day,
            "hour": value.hour, "minute": value.minute, "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, bytes):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode_object(obj: dict) -> Any:
    kind = obj.get("__class__")
    if kind is None:
        return obj
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "datetime":
        return dt.datetime(
            obj["year"], obj["month"], obj["day"], obj.get("hour", 0), obj.get("minute", 0),
            obj.get("second", 0), obj.get("microsecond", 0),
        )
    if kind == "time":
        return dt.time(obj.get("hour", 0), obj.get("minute", 0), obj.get("second", 0))
    if kind == "timedelta":
        return dt.timedelta(seconds=obj["seconds"])
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    return obj


class TrytonUserError(ErpError):
    """Tryton answered with an ``error`` member (UserError, UserWarning, ...): VALIDATION.

    ``kind`` is Tryton's exception name and ``tryton_args`` its raw arguments, so a caller can tell
    a warning's name (``tryton_args[0]`` of a UserWarning) from other refusals.
    """

    def __init__(self, kind: str, tryton_args: list, message: str):
        super().__init__(ErpErrorCode.VALIDATION, message)
        self.kind = kind
        self.tryton_args = tuple(tryton_args)

    @property
    def warning_name(self) -> str:
        if self.kind == "UserWarning" and self.tryton_args:
            return str(self.tryton_args[0])
        return ""

    @property
    def missing_ids(self) -> frozenset[int]:
        """Record ids of an "access records that don't exist" refusal (deleted meanwhile by
        another session); empty for any other refusal."""
        found = _MISSING_RECORDS.search(self.message)
        if not found:
            return frozenset()
        return frozenset(int(n) for n in re.findall(r"\d+", found.group(1)))


# Tryton's message, in the session's language (we log in with "en").
_MISSING_RECORDS = re.compile(r'records "([\d,\s]+)" of .+ that don.t exist')


def _tryton_message(kind: str, args: list) -> str:
    """Tryton's human message from an ``error`` member.

    UserError args are ``[message, description, domain]``; UserWarning args are
    ``[name, message, description]``; others vary.
    """
    if kind == "UserWarning" and len(args) >= 2:
        parts = [args[1], args[2] if len(args) > 2 else ""]
    elif args:
        parts = [args[0], args[1] if len(args) > 1 and isinstance(args[1], str) else ""]
    else:
        parts = [kind]
    return " ".join(str(p).strip() for p in parts if p).strip() or kind


class TrytonClient:
    """JSON-RPC session with one Tryton database."""

    def __init__(
        self, *, url: str, database: str, user: str, password: str,
        timeout: float = DEFAULT_TIMEOUT, session: requests.Session | None = None,
    ):
        if not (url and database and user):
            raise ErpError(
                ErpErrorCode.NOT_CONFIGURED, "Tryton URL, database and user are required"
            )
        self.url = url.rstrip("/")
        self.database = database
        self.user = user
        self._password = password
        self.timeout = timeout
        self._http = session or requests.Session()
        self._ids = itertools.count(1)
        self._auth_header: str | None = None
        self.user_id: int | None = None
        self.logins = 0  # sessions opened by this client (a reused worker backend keeps one)
        self.context: dict[str, Any] = {}

    # --- transport -------------------------------------------------------------------------

    def _post(self, path: str, method: str, params: list, *, timeout: float | None) -> Any:
        body = json.dumps({"id": next(self._ids), "method": method, "params": _encode(params)})
        headers = {"Content-Type": "application/json"}
        if self._auth_header and path != "/rpc/":
            headers["Authorization"] = self._auth_header
        try:
            resp = self._http.post(
                self.url + path, data=body, headers=headers,
                timeout=self.timeout if timeout is None else timeout,
            )
        except requests.Timeout as err:
            raise ErpError(
                ErpErrorCode.TIMEOUT, f"Tryton did not answer {method} in time; it may have run"
            ) from err
        except requests.ConnectionError as err:
            raise ErpError(
                ErpErrorCode.UNAVAILABLE, f"Tryton is unreachable at {self.url}: {err}"
            ) from err
        status = resp.status_code
        if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
            raise _HttpAuthError(status)
        if status == HTTPStatus.NOT_FOUND:
            raise ErpError(
                ErpErrorCode.NOT_CONFIGURED,
                f"Tryton has no database {self.database!r} (HTTP 404)",
            )
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            retry_after = resp.headers.get("Retry-After")
            raise ErpError(
                ErpErrorCode.RATE_LIMITED, "Tryton refused: too many requests",
                retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        if status == HTTPStatus.GATEWAY_TIMEOUT:
            raise ErpError(ErpErrorCode.TIMEOUT, f"Tryton timed out running {method}")
        if status >= 500:
            raise ErpError(
                ErpErrorCode.UNAVAILABLE,
                f"Tryton failed on {method}: HTTP {status} {resp.text[:300]}",
            )
        if status != HTTPStatus.OK:
            raise ErpError(
                ErpErrorCode.VALIDATION, f"Tryton refused {method}: HTTP {status} {resp.text[:300]}"
            )
        try:
            answer = json.loads(resp.text, object_hook=_decode_object)
        except ValueError as err:
            raise ErpError(ErpErrorCode.UNAVAILABLE, f"Tryton sent no JSON for {method}") from err
        if answer.get("error"):
            error = answer["error"]
            kind, args = (error[0], error[1]) if isinstance(error, list) else (str(error), [])
            args = args if isinstance(args, list) else [args]
            raise TrytonUserError(kind, args, _tryton_message(kind, args))
        return answer.get("result")

    # --- session ---------------------------------------------------------------------------

    def login(self) -> None:
        """Open a session. Raises ErpError(AUTH) on a wrong password."""
        path = f"/{self.database}/rpc/"
        self._auth_header = None
        try:
            result = self._post(
                path, "common.db.login", [self.user, {"password": self._password}, "en"],
                timeout=None,
            )
        except _HttpAuthError as err:
            raise ErpError(ErpErrorCode.AUTH, f"Tryton refused the login of {self.user!r}") from err
        user_id, token = result[0], result[1]
        self.logins += 1
        raw = f"{self.user}:{user_id}:{token}".encode()
        self._auth_header = "Session " + base64.b64encode(raw).decode()
        self.user_id = user_id

    def server_version(self) -> str:
        return self._post("/rpc/", "common.server.version", [], timeout=None)

    def call(self, method: str, *params: Any, timeout: float | None = None) -> Any:
        """Call ``method`` (e.g. ``model.account.invoice.search``) with positional params.

        The caller appends the context dict itself where the method expects one; see ``model``.
        """
        if self._auth_header is None:
            self.login()
        path = f"/{self.database}/rpc/"
        try:
            return self._post(path, method, list(params), timeout=timeout)
        except _HttpAuthError:
            self.login()  # the session expired or was dropped: one fresh login, one retry
            try:
                return self._post(path, method, list(params), timeout=timeout)
            except _HttpAuthError as err:
                raise ErpError(
                    ErpErrorCode.AUTH, f"Tryton refused {method} after a fresh login"
                ) from err

    def model(
        self, model: str, method: str, *params: Any, timeout: float | None = None,
        context: dict[str, Any] | None = None,
    ) -> Any:
        """``model.<model>.<method>(*params, context)`` with this client's context appended
        (updated by ``context`` for this one call)."""
        ctx = {**self.context, **context} if context else self.context
        return self.call(f"model.{model}.{method}", *params, ctx, timeout=timeout)

    # --- conveniences ----------------------------------------------------------------------

    def search(
        self, model: str, domain: list, *, offset: int = 0, limit: int | None = None,
        order: list | None = None,
    ) -> list[int]:
        return self.model(model, "search", domain, offset, limit, order)

    def read(
        self, model: str, ids: list[int], fields: list[str], *,
        context: dict[str, Any] | None = None,
    ) -> list[dict]:
        return self.model(model, "read", ids, fields, context=context)

    def search_read(
        self, model: str, domain: list, fields: list[str], *, offset: int = 0,
        limit: int | None = None, order: list | None = None,
        context: dict[str, Any] | None = None,
    ) -> list[dict]:
        return self.model(
            model, "search_read", domain, offset, limit, order, fields, context=context
        )

    def create(self, model: str, values: list[dict], *, timeout: float | None = None) -> list[int]:
        return self.model(model, "create", values, timeout=timeout)


class _HttpAuthError(Exception):
    """401/403 from the server; turned into a re-login or ErpError(AUTH) by the caller."""

    def __init__(self, status: int):
        super().__init__(f"HTTP {status}")
        self.status = status
