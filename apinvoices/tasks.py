"""django-q2 entry points: thin, by id, each calls one service."""

from __future__ import annotations

from apinvoices.models import Invoice
from apinvoices.services.extraction import invoice_extract

# The only states the extraction task is queued for (on arrival, after a PDF password).
EXTRACT_TASK_STATES = frozenset({Invoice.State.RECEIVED, Invoice.State.EXTRACTING})


def extract_invoice(invoice_id: int) -> str:
    """Extract, check and route one invoice. Returns the state it ended in.

    A no-op for an invoice that has already left ``received``/``extracting``: the ORM broker
    delivers a task again when the worker that ran it died before the result was acknowledged
    (SIGKILL, OOM, power loss), and by then the invoice may be under review, approved or posted.
    Extracting it again would pull it back to ``extracting`` under a clerk, or fail every retry
    on a posted invoice.
    """
    state = Invoice.objects.filter(pk=invoice_id).values_list("state", flat=True).first()
    if state is not None and state not in EXTRACT_TASK_STATES:
        return state
    return invoice_extract(invoice_id=invoice_id).state
