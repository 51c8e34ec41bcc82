"""A clerk supplies the password of an encrypted PDF."""

from __future__ import annotations

import logging

from django.db import transaction

from apinvoices.exceptions import ApplicationError, ErrorCode
from apinvoices.ingestion.service import queue_extraction
from apinvoices.models import Document, Invoice
from apinvoices.secrets import encrypt_secret
from apinvoices.states import invoice_transition

logger = logging.getLogger(__name__)


class WrongPassword(ApplicationError):
    code = ErrorCode.VALIDATION


class NoPasswordNeeded(ApplicationError):
    code = ErrorCode.INVALID_TRANSITION


def _opens(document: Document, password: str) -> bool:
    from pypdf import PdfReader

    with document.file.open("rb") as fh:
        reader = PdfReader(fh, strict=False)
        if not reader.is_encrypted:
            return True
        try:
            return bool(reader.decrypt(password))
        except Exception:  # a malformed encryption dictionary: the password cannot be checked
            logger.info("document %s: password check failed inside pypdf", document.pk)
            return False


def invoice_set_pdf_password(*, invoice: Invoice, password: str, actor) -> Invoice:
    """Check ``password`` against the stored PDF; if it opens it, keep it (encrypted with
    ``encrypt_secret``), move the invoice to ``extracting`` and queue extraction after commit.

    Raises ``WrongPassword`` (nothing changes) when it does not open the PDF, and
    ``NoPasswordNeeded`` when the invoice is not waiting for one. The password is never
    logged, stored in clear or put in an event.
    """
    if invoice.state != Invoice.State.PASSWORD_NEEDED:
        raise NoPasswordNeeded("This invoice is not waiting for a password.")
    document = invoice.document
    if not password or not _opens(document, password):
        raise WrongPassword("That password does not open the PDF. Nothing was changed; try again.")
    with transaction.atomic():
        Document.objects.filter(pk=document.pk).update(password_ciphertext=encrypt_secret(password))
        invoice = invoice_transition(
            invoice=invoice,
            to=Invoice.State.EXTRACTING,
            actor=actor,
            reason="PDF password entered; reading the document again.",
        )
        queue_extraction(invoice_id=invoice.pk)
    return invoice
