"""The one interface every ERP backend implements.

Contract (MUST/SHOULD/MAY):
- ``post_invoice`` MUST be idempotent on ``payload.idempotency_key``: before creating anything it
  MUST call ``find_invoice`` (or use the ERP's own idempotency mechanism) and return the existing
  document if one is found. It MUST NOT acknowledge "similar/duplicate invoice" warnings.
- Every failure MUST be raised as an ``ErpError`` subclass carrying the ERP's own message; the
  original exception is chained (``raise ... from err``).
- Backends MUST NOT touch Django models: they take and return the plain values below, so the
  outbox service owns every database write.
- Credentials come from settings (which read the environment), never from arguments typed by users.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


@dataclass(frozen=True)
class ErpVendor:
    name: str
    tax_id: str = ""
    iban: str = ""
    bic: str = ""
    country: str = ""
    email: str = ""
    erp_id: str = ""  # the ERP's own id, once known


@dataclass(frozen=True)
class ErpInvoiceLine:
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    tax_rate: Decimal | None = None  # percent, e.g. Decimal("19")
    account_code: str = ""


@dataclass(frozen=True)
class ErpInvoice:
    """An approved supplier invoice as the ERP needs it."""

    idempotency_key: str  # unique per invoice and posting attempt series, <= 50 chars
    vendor: ErpVendor
    invoice_number: str
    issue_date: date
    due_date: date | None
    currency: str
    net_amount: Decimal
    tax_amount: Decimal
    total_amount: Decimal
    lines: tuple[ErpInvoiceLine, ...] = ()
    po_number: str = ""
    is_credit_note: bool = False
    description: str = ""


@dataclass(frozen=True)
class ErpPostResult:
    erp_id: str  # the ERP's primary key of the created (or found) document
    erp_number: str = ""  # the ERP's document number, if it assigns one
    already_existed: bool = False  # True when the idempotency lookup found it


class PaymentStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ErpPurchaseOrderLine:
    line_no: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    received_quantity: Decimal = Decimal("0")


@dataclass(frozen=True)
class ErpPurchaseOrder:
    number: str
    vendor_erp_id: str
    currency: str
    order_date: date | None
    lines: tuple[ErpPurchaseOrderLine, ...] = field(default_factory=tuple)
    erp_id: str = ""


class ErpErrorCode(StrEnum):
    UNAVAILABLE = "unavailable"  # connection refused, DNS, 5xx: retry later
    TIMEOUT = "timeout"  # the request may or may not have succeeded: retry (idempotent)
    AUTH = "auth"  # 401/403: fix credentials, then retry
    VALIDATION = "validation"  # the ERP refused the data: fix the invoice or mapping
    RATE_LIMITED = "rate_limited"  # 429: retry after ``retry_after`` seconds
    CONFLICT = "conflict"  # e.g. two documents match one idempotency key
    NOT_CONFIGURED = "not_configured"


class ErpError(Exception):
    retryable: bool = True

    def __init__(self, code: ErpErrorCode, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.retryable = code in {
            ErpErrorCode.UNAVAILABLE,
            ErpErrorCode.TIMEOUT,
            ErpErrorCode.RATE_LIMITED,
        }


class ErpBackend(abc.ABC):
    """One ERP. Instances are cheap; create one per task run, or reuse one per worker thread
    through ``backends.worker_backend`` when ``reusable``."""

    name: str = ""
    # Whether one instance may serve many task runs in one thread (it keeps a session and
    # configuration read from the ERP, and nothing a later run must not see).
    reusable: bool = False

    def settings_key(self) -> tuple:
        """What the instance was configured from: a reused instance is replaced when it changes."""
        return ()

    @abc.abstractmethod
    def post_invoice(self, payload: ErpInvoice) -> ErpPostResult:
        """Create and post (book) the supplier invoice exactly once; see the module contract."""

    @abc.abstractmethod
    def find_invoice(self, payload: ErpInvoice) -> ErpPostResult | None:
        """Return the ERP document already created for ``payload.idempotency_key``, or None."""

    def sync_vendors(self) -> list[ErpVendor]:
        """All active suppliers in the ERP. MAY be unsupported (returns [])."""
        return []

    def sync_purchase_orders(self) -> list[ErpPurchaseOrder]:
        """Open purchase orders with received quantities. MAY be unsupported (returns [])."""
        return []

    def payment_status(self, erp_id: str) -> PaymentStatus:
        """Whether the posted invoice has been paid in the ERP."""
        return PaymentStatus.UNKNOWN

    def payment_statuses(self, erp_ids: Sequence[str]) -> dict[str, PaymentStatus]:
        """``payment_status`` of many documents: every id in ``erp_ids`` is a key of the result.

        Backends SHOULD override this with one ERP round trip per call (the scheduled payment
        status task asks in batches of a few hundred); this default asks one by one. An id the
        ERP does not know maps to UNKNOWN. A failure of the ERP itself raises ``ErpError``.
        """
        return {erp_id: self.payment_status(erp_id) for erp_id in erp_ids}
