"""Shared test data for the QuickBooks Online and Xero backend tests.

The stand-in server fixtures live in each test module (pytest only shares fixtures through
conftest files, and importing a fixture by name shadows it in every test's signature).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from erp_integration.backends.base import ErpInvoice, ErpInvoiceLine, ErpVendor


def make_invoice(*, key: str = "posting-1", number: str = "INV-2026-001",
                 vendor: ErpVendor | None = None, account_code: str = "",
                 currency: str = "EUR") -> ErpInvoice:
    """A two-line invoice, 19 % tax: 100.00 + 23.50 net, 23.47 tax, 146.97 gross."""
    lines = (
        ErpInvoiceLine(description="Printer paper A4, 10 boxes", quantity=Decimal(10),
                       unit_price=Decimal("10.00"), amount=Decimal("100.00"),
                       tax_rate=Decimal(19), account_code=account_code),
        ErpInvoiceLine(description="Delivery", quantity=Decimal(1),
                       unit_price=Decimal("23.50"), amount=Decimal("23.50"),
                       tax_rate=Decimal(19), account_code=account_code),
    )
    return ErpInvoice(
        idempotency_key=key,
        vendor=vendor or ErpVendor(name="Büro Müller GmbH", email="ap@bueromueller.example",
                                   country="DE"),
        invoice_number=number,
        issue_date=date(2026, 3, 2),
        due_date=date(2026, 4, 1),
        currency=currency,
        net_amount=Decimal("123.50"),
        tax_amount=Decimal("23.47"),
        total_amount=Decimal("146.97"),
        lines=lines,
        description="Office supplies March",
    )
