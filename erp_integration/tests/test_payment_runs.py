"""Payment runs: proposal rules, discounts, verified accounts, four eyes, export, camt.054."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from apinvoices.exceptions import ApplicationError, ErrorCode
from apinvoices.models import Invoice, InvoiceEvent, VendorBankAccount
from apinvoices.tests.factories import InvoiceFactory, VendorBankAccountFactory, VendorFactory
from erp_integration.models import Payment, PaymentRun
from erp_integration.payments.nacha import verify_nacha
from erp_integration.payments.sepa import validate_pain001
from erp_integration.services.payments import (
    camt054_import,
    discount_for,
    parse_payment_terms,
    payment_remove,
    payment_run_approve,
    payment_run_exclusions,
    payment_run_export,
    payment_run_propose,
)

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 25)
OUR_IBAN = "DE02120300000000202051"
VENDOR_IBAN = "DE89370400440532013000"


def verified_kw(status) -> dict:
    if status != VendorBankAccount.Status.VERIFIED:
        return {"status": status}
    from apinvoices.tests.factories import UserFactory
    from django.utils import timezone

    return {"status": status, "verified_by": UserFactory(username="verifier"), "verified_at": timezone.now()}


def posted_invoice(*, iban=VENDOR_IBAN, status=VendorBankAccount.Status.VERIFIED, total="119.00",
                   due=TODAY + timedelta(days=3), terms="", issued=TODAY - timedelta(days=20),
                   currency="EUR", vendor=None) -> Invoice:
    vendor = vendor or VendorFactory()
    if status is not None and iban:
        VendorBankAccountFactory(vendor=vendor, iban=iban, currency=currency, **verified_kw(status))
    return InvoiceFactory(state=Invoice.State.POSTED, vendor=vendor, vendor_iban=iban, total_amount=Decimal(total),
                          due_date=due, payment_terms=terms, issue_date=issued, currency=currency)


def propose(actor, **kw) -> object:
    values = dict(name="Week 48", currency="EUR", due_until=TODAY + timedelta(days=7), execution_date=TODAY,
                  debtor_account=OUR_IBAN, file_format=PaymentRun.FileFormat.SEPA_09)
    values.update(kw)
    return payment_run_propose(actor=actor, **values)


@pytest.mark.parametrize("text, expected", [
    ("2/10 net 30", (Decimal("2"), 10, 30)),
    ("2/10 n/30", (Decimal("2"), 10, 30)),
    ("1,5 % 14 days net 30", (Decimal("1.5"), 14, 30)),
    ("net 30", None),
    ("", None),
    ("30/10 net 5", None),  # a discount period longer than the term is nonsense: ignored
])
def test_payment_terms_parse(text, expected):
    terms = parse_payment_terms(text)
    assert (None if terms is None else (terms.percent, terms.days, terms.net_days)) == expected


def test_proposal_takes_only_due_posted_invoices_with_verified_accounts(cast):
    due = posted_invoice()
    later = posted_invoice(due=TODAY + timedelta(days=40))
    unverified = posted_invoice(iban="FR1420041010050500013M02606", status=VendorBankAccount.Status.UNVERIFIED)
    unknown_iban = posted_invoice(iban="NL91ABNA0417164300", status=None)
    approved_only = InvoiceFactory(state=Invoice.State.APPROVED, due_date=TODAY)
    dollars = posted_invoice(currency="USD")

    proposal = propose(cast.clerk)

    assert [p.invoice_id for p in proposal.run.payments.all()] == [due.pk]
    payment = proposal.run.payments.get()
    assert payment.amount == Decimal("119.00") and payment.discount_amount == 0
    reasons = {e.invoice.pk: e.reason for e in proposal.excluded}
    assert set(reasons) == {unverified.pk, unknown_iban.pk}
    assert "unverified" in reasons[unverified.pk] and "verify" in reasons[unverified.pk]
    assert "no verified bank account" in reasons[unknown_iban.pk]
    assert {e.invoice.pk for e in payment_run_exclusions(proposal.run)} == set(reasons)
    assert later.pk not in reasons and approved_only.pk not in reasons and dollars.pk not in reasons
    assert InvoiceEvent.objects.filter(invoice=due, kind="payment").exists()
    # Proposed once: a second proposal does not pay it again.
    assert propose(cast.clerk).run.payments.count() == 0


def test_early_payment_discount_is_taken_when_it_saves_money(cast):
    # Issued 5 days ago on 2/10 net 30: paying today is inside the discount period, even though
    # the invoice is not due within the run's horizon.
    early = posted_invoice(total="1000.00", terms="2/10 net 30", issued=TODAY - timedelta(days=5),
                           due=TODAY + timedelta(days=25))
    missed = posted_invoice(total="500.00", terms="2/10 net 30", issued=TODAY - timedelta(days=15),
                            due=TODAY + timedelta(days=2))

    run = propose(cast.clerk).run

    by_invoice = {p.invoice_id: p for p in run.payments.all()}
    assert by_invoice[early.pk].discount_amount == Decimal("20.00")
    assert by_invoice[early.pk].amount == Decimal("980.00")
    assert by_invoice[missed.pk].discount_amount == 0 and by_invoice[missed.pk].amount == Decimal("500.00")
    assert discount_for(early, execution_date=TODAY + timedelta(days=6)) == (Decimal(0), TODAY + timedelta(days=5))


def test_the_proposer_cannot_approve_and_the_database_agrees(cast):
    posted_invoice()
    run = propose(cast.clerk).run

    with pytest.raises(ApplicationError) as caught:
        payment_run_approve(run=run, actor=cast.clerk)
    assert caught.value.code == ErrorCode.FOUR_EYES and "another person" in caught.value.message
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentRun.objects.filter(pk=run.pk).update(approved_by=cast.clerk)

    approved = payment_run_approve(run=run, actor=cast.second_clerk)
    assert approved.state == PaymentRun.State.APPROVED and approved.approved_by == cast.second_clerk


def test_removed_lines_are_not_paid_and_only_drafts_change(cast):
    keep, drop = posted_invoice(), posted_invoice()
    run = propose(cast.clerk).run
    payment_remove(payment=run.payments.get(invoice=drop), actor=cast.clerk)
    run = payment_run_approve(run=run, actor=cast.second_clerk)
    with pytest.raises(ApplicationError):
        payment_remove(payment=run.payments.get(invoice=keep), actor=cast.clerk)

    run = payment_run_export(run=run, actor=cast.second_clerk)

    data = run.file.read()
    validate_pain001(data, version="pain.001.001.09")
    assert data.count(b"<EndToEndId>") == 1 and f"AP{run.pk}-{keep.pk}".encode() in data
    assert Invoice.objects.get(pk=drop.pk).state == Invoice.State.POSTED
    assert Invoice.objects.get(pk=keep.pk).state == Invoice.State.SCHEDULED
    assert run.payments.get(invoice=keep).state == Payment.State.SCHEDULED


def test_export_then_camt054_marks_paid_and_returned(cast):
    paid, returned = posted_invoice(total="146.97"), posted_invoice(total="1000.00")
    run = propose(cast.clerk).run
    run = payment_run_approve(run=run, actor=cast.second_clerk)
    run = payment_run_export(run=run, actor=cast.second_clerk)
    assert run.state == PaymentRun.State.EXPORTED and run.file.name.endswith(".xml")
    e2e = {p.invoice_id: p.end_to_end_id for p in run.payments.all()}

    camt = camt054(booked=[(e2e[paid.pk], "146.97")], returned=[(e2e[returned.pk], "1000.00")],
                   foreign=[("SOMEONE-ELSE-1", "5.00")])
    result = camt054_import(data=camt, actor=cast.clerk)

    assert (result.paid, result.returned, result.unknown) == (1, 1, ["SOMEONE-ELSE-1"])
    assert Invoice.objects.get(pk=paid.pk).state == Invoice.State.PAID
    assert Payment.objects.get(invoice=paid).paid_at is not None
    assert Invoice.objects.get(pk=returned.pk).state == Invoice.State.POSTED
    assert Payment.objects.get(invoice=returned).state == Payment.State.FAILED
    again = camt054_import(data=camt, actor=cast.clerk)
    assert (again.paid, again.returned) == (0, 0)
    # A returned invoice can be proposed again.
    assert [p.invoice_id for p in propose(cast.clerk).run.payments.all()] == [returned.pk]


def test_usd_run_exports_a_nacha_file(cast, settings):
    settings.AP_NACHA_ODFI_ROUTING = "021000021"
    settings.AP_NACHA_BANK_NAME = "JPMORGAN CHASE"
    settings.AP_NACHA_COMPANY_ID = "1234567890"
    vendor = VendorFactory()
    VendorBankAccountFactory(vendor=vendor, iban="", routing_number="011000015", account_number="123456789",
                             currency="USD", **verified_kw(VendorBankAccount.Status.VERIFIED))
    invoice = posted_invoice(iban="", status=None, currency="USD", total="250.00", vendor=vendor)

    run = propose(cast.clerk, currency="USD", file_format=PaymentRun.FileFormat.NACHA, debtor_account="987654321").run
    run = payment_run_export(run=payment_run_approve(run=run, actor=cast.admin), actor=cast.admin)

    summary = verify_nacha(run.file.read())
    assert run.payments.get().invoice_id == invoice.pk
    assert (summary.entries, summary.total_credit_cents) == (1, 25000)


def test_wrong_currency_for_the_format_is_refused(cast):
    with pytest.raises(ApplicationError, match="euros only"):
        propose(cast.clerk, currency="USD")


def test_pages_propose_refuse_own_approval_approve_and_download(client, cast):
    posted_invoice(terms="2/10 net 30", issued=TODAY - timedelta(days=2))
    client.force_login(cast.clerk)
    response = client.post(reverse("erp_integration:payment_run_create"), {
        "name": "Nov", "file_format": "pain.001.001.03", "currency": "EUR", "debtor_account": OUR_IBAN,
        "due_until": TODAY + timedelta(days=7), "execution_date": TODAY})
    run = PaymentRun.objects.get(name="Nov")
    assert response.status_code == 302 and response.url == reverse("erp_integration:payment_run_detail", args=[run.pk])
    html = client.get(response.url).content.decode()
    assert "another person must approve" in html and "discounts taken" in html

    refused = client.post(reverse("erp_integration:payment_run_approve", args=[run.pk]), follow=True)
    assert "four-eyes" in refused.content.decode()
    run.refresh_from_db()
    assert run.state == PaymentRun.State.DRAFT

    client.force_login(cast.admin)
    client.post(reverse("erp_integration:payment_run_approve", args=[run.pk]))
    run.refresh_from_db()
    assert run.state == PaymentRun.State.EXPORTED
    download = client.get(reverse("erp_integration:payment_run_download", args=[run.pk]))
    assert download.status_code == 200 and b"pain.001.001.03" in b"".join(download.streaming_content)
    client.force_login(cast.auditor)
    assert client.get(reverse("erp_integration:payment_run_download", args=[run.pk])).status_code == 403


def camt054(*, booked=(), returned=(), foreign=()) -> bytes:
    def tx(e2e, amount, *, credit=False, reversal=False):
        return f"""<Ntry><Amt Ccy="EUR">{amount}</Amt>{'<RvslInd>true</RvslInd>' if reversal else ''}
        <CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2026-11-26</Dt></BookgDt><ValDt><Dt>2026-11-26</Dt></ValDt>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>
        <AmtDtls><TxAmt><Amt Ccy="EUR">{amount}</Amt></TxAmt></AmtDtls></TxDtls></NtryDtls></Ntry>"""
    entries = "".join(tx(e, a) for e, a in booked) + "".join(tx(e, a) for e, a in foreign)
    entries += "".join(tx(e, a) + tx(e, a, credit=True) for e, a in returned)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>T1</MsgId><CreDtTm>2026-11-26T06:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>N1</Id><CreDtTm>2026-11-26T06:00:00</CreDtTm><Acct><Id><IBAN>{OUR_IBAN}</IBAN></Id></Acct>
{entries}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>""".encode()
