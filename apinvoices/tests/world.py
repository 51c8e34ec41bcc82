"""One row of every model, linked the way production links them: for walks over URLs and admin."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from apinvoices.models import (
    Document,
    DocumentReceipt,
    ExtractedField,
    Extraction,
    GoodsReceipt,
    InboundMail,
    Invoice,
    InvoiceEvent,
    InvoiceException,
    InvoiceTax,
    LoginFailure,
    VendorFieldHint,
)
from apinvoices.tests.factories import (
    InvoiceFactory,
    InvoiceLineFactory,
    PurchaseOrderLineFactory,
    VendorBankAccountFactory,
)


@dataclass(frozen=True)
class World:
    invoice: Invoice
    document: Document


def build_world(cast, *, n: int = 1) -> World:
    """``n`` invoices with every related row; returns the first. Needs the ``cast`` fixture."""
    from approvals.models import ApprovalRule, ApprovalStep, ApprovalToken, Delegation
    from erp_integration.models import ErpPosting, Payment, PaymentRun

    today = date.today()
    run = PaymentRun.objects.create(
        name="Week 48", currency="EUR", due_until=today, execution_date=today,
        file_format=PaymentRun.FileFormat.SEPA_09, debtor_account="DE89370400440532013000",
        created_by=cast.clerk,
    )
    Delegation.objects.create(user=cast.approver, delegate=cast.second_approver, starts_on=today,
                              ends_on=today + timedelta(days=3), reason="Holiday")
    rule = ApprovalRule.objects.get(is_default=True)
    first = None
    for i in range(n):
        invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW)
        InvoiceLineFactory(invoice=invoice, position=1)
        InvoiceTax.objects.create(invoice=invoice, rate=Decimal("19"), base_amount=Decimal("100"),
                                  tax_amount=Decimal("19"))
        extraction = Extraction.objects.create(document=invoice.document, kind="pdf_text", status="succeeded")
        ExtractedField.objects.create(invoice=invoice, extraction=extraction, name="total_amount",
                                      value="119.00", confidence=Decimal("0.9"), source="text", updated_by=cast.clerk)
        InvoiceException.objects.create(invoice=invoice, kind="dates", key="due", severity="warning",
                                        message="Due date far out", related_invoice=first, resolved_by=cast.clerk)
        InvoiceEvent.objects.create(invoice=invoice, kind="note", actor=cast.clerk, message="checked")
        DocumentReceipt.objects.create(document=invoice.document, channel="upload", received_by=cast.clerk)
        InboundMail.objects.create(account="ap@example.test", folder="INBOX", uidvalidity=1, uid=invoice.pk,
                                   status="imported", eml=invoice.document)
        po_line = PurchaseOrderLineFactory(purchase_order__vendor=invoice.vendor,
                                           purchase_order__requester=cast.clerk)
        GoodsReceipt.objects.create(po_line=po_line, quantity=Decimal("2"), received_on=today, reference=f"GR{i}")
        account = VendorBankAccountFactory(vendor=invoice.vendor, entered_by=cast.clerk)
        VendorFieldHint.objects.create(vendor=invoice.vendor, field_name="total_amount", learned_from=invoice,
                                       created_by=cast.clerk)
        step = ApprovalStep.objects.create(invoice=invoice, rule=rule, approver=cast.second_approver,
                                           on_behalf_of=cast.admin)
        ApprovalToken.objects.create(step=step, approver=cast.second_approver, action="approve",
                                     token_hash=hashlib.sha256(f"t{i}-{invoice.pk}".encode()).hexdigest(),
                                     expires_at=timezone.now() + timedelta(days=7))
        ErpPosting.objects.create(invoice=invoice, backend="file", idempotency_key=f"ap-{invoice.pk}",
                                  created_by=cast.clerk)
        Payment.objects.create(run=run, invoice=invoice, bank_account=account, amount=Decimal("119"),
                               currency="EUR", end_to_end_id=f"E2E-{invoice.pk}")
        LoginFailure.objects.create(username=f"guess{invoice.pk}", ip_address="10.0.0.9")
        first = first or invoice
    return World(invoice=first, document=first.document)
