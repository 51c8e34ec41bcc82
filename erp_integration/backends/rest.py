"""HTTP plumbing shared by the REST backends (QuickBooks Online, Xero).

Guarantees:
- Every failure leaves as an ``ErpError`` with the original exception chained.
- Money never passes through float: requests carry Decimal as exact JSON numbers and responses
  are parsed with ``parse_float=Decimal``.
- The outcome of a failure is classified honestly: a refused or unreachable connection means the
  request never arrived (UNAVAILABLE); a read timeout or a connection dropped after sending means
  the ERP may have done the work (TIMEOUT), so the caller must retry through the idempotent path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.utils import timezone
from urllib3.exceptions import ProtocolError

from erp_integration.backends.base import ErpError, ErpErrorCode

logger = logging.getLogger(__name__)


def encode_json(value: Any) -> str:
    """JSON text with Decimal written as an exact JSON number and dates as ISO strings."""
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))}:{encode_json(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(encode_json(v) for v in value) + "]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send non-finite amount {value!r}")
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("money must be Decimal, not float")
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    return json.dumps(value)


def to_decimal(value: Any) -> Decimal:
    """A JSON number (already Decimal or int) or numeric string as Decimal; missing is zero."""
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, float):  # only if a caller bypassed parse_float
        return Decimal(str(value))
    return Decimal(str(value)) if not isinstance(value, Decimal) else value


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


class RestClient:
    """One ERP's HTTP session. ``error_message`` extracts the ERP's own words from an error body."""

    def __init__(self, *, erp: str, timeout: float,
                 error_message: Callable[[Any], str]) -> None:
        self.erp = erp
        self.timeout = timeout
        self._error_message = error_message
        self.session = requests.Session()

    def request(self, method: str, url: str, *, headers: dict[str, str],
                params: dict[str, str] | None = None, body: Any = None) -> Any:
        data = None
        headers = {"Accept": "application/json", **headers}
        if body is not None:
            data = encode_json(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            response = self.session.request(method, url, params=params, data=data,
                                            headers=headers, timeout=self.timeout)
        except requests.ConnectTimeout as err:
            raise ErpError(ErpErrorCode.UNAVAILABLE,
                           f"{self.erp}: could not connect within {self.timeout}s") from err
        except requests.ReadTimeout as err:
            raise ErpError(ErpErrorCode.TIMEOUT,
                           f"{self.erp}: no answer within {self.timeout}s; the request may "
                           f"have been applied") from err
        except requests.ConnectionError as err:
            if err.args and isinstance(err.args[0], ProtocolError):
                raise ErpError(ErpErrorCode.TIMEOUT,
                               f"{self.erp}: connection dropped after the request was sent; "
                               f"it may have been applied") from err
            raise ErpError(ErpErrorCode.UNAVAILABLE, f"{self.erp}: unreachable ({err})") from err
        except requests.RequestException as err:
            raise ErpError(ErpErrorCode.UNAVAILABLE, f"{self.erp}: {err}") from err
        return self._decode(method, url, response)

    def _decode(self, method: str, url: str, response: requests.Response) -> Any:
        try:
            payload = response.json(parse_float=Decimal) if response.content else None
        except ValueError:
            payload = None
        status = response.status_code
        if 200 <= status < 300:
            if payload is None:
                raise ErpError(ErpErrorCode.UNAVAILABLE,
                               f"{self.erp}: HTTP {status} without a JSON body")
            return payload
        message = self._error_message(payload) or (response.text[:300].strip()
                                                   or response.reason or "")
        text = f"{self.erp}: HTTP {status}: {message}"
        logger.warning("%s %s %s -> %s", self.erp, method, url.split("?")[0], text)
        try:
            response.raise_for_status()
        except requests.HTTPError as err:
            if status in (401, 403):
                raise ErpError(ErpErrorCode.AUTH, text) from err
            if status == 429:
                raise ErpError(ErpErrorCode.RATE_LIMITED, text,
                               retry_after=parse_retry_after(response.headers.get("Retry-After"))
                               ) from err
            if status >= 500:
                raise ErpError(ErpErrorCode.UNAVAILABLE, text) from err
            raise ErpError(ErpErrorCode.VALIDATION, text) from err
        raise ErpError(ErpErrorCode.UNAVAILABLE, text)  # 1xx/3xx: not something we asked for
