"""django-q2 entry points: thin, by id, each calls one service."""

from __future__ import annotations

from apinvoices.services.extraction import invoice_extract


def extract_invoice(invoice_id: int) -> str:
    """Extract, check and route one invoice. Returns the state it ended in."""
    return invoice_extract(invoice_id=invoice_id).state
