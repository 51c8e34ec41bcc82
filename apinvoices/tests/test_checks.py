"""Each validation check with realistic positive and negative cases."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apinvoices.checks import invoice_run_checks
from apinvoices.exceptions import ErrorCode, FourEyesViolation
from apinvoices.models import (
    ExtractedField,
    FieldSource,
    GoodsReceipt,
    Invoice,
    InvoiceException,
    MatchTolerance,
    VendorBankAccount,
)
from apinvoices.services.vendors import bank_account_verify
from apinvoices.tests.factories import (
    InvoiceFactory,
    InvoiceLineFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    VendorBankAccountFactory,
    VendorFactory,
)

pytestmark = pytest.mark.django_db
Kind, Status = InvoiceException.Kind, InvoiceException.Status


def open_keys(invoice, kind):
    invoice_run_checks(invoice=invoice)
    return set(
        InvoiceException.objects.filter(invoice=invoice, kind=kind, status=Status.OPEN).values_list("key", flat=True)
    )


# --- duplicates ---------------------------------------------------------------------------------


def test_same_vendor_and_normalised_number_is_a_blocking_duplicate():
    first = InvoiceFactory(invoice_number="INV-000123", invoice_number_normalized="INV123")
    second = InvoiceFactory(vendor=first.vendor, invoice_number="inv 123", invoice_number_normalized="INV123",
                            total_amount=Decimal("500.00"), net_amount=None, tax_amount=None)
    assert open_keys(second, Kind.DUPLICATE) == {f"number:{first.pk}"}
    exc = InvoiceException.objects.get(invoice=second, kind=Kind.DUPLICATE)
    assert exc.severity == "blocking" and exc.related_invoice == first


def test_same_number_from_another_vendor_is_not_a_duplicate():
    first = InvoiceFactory(invoice_number_normalized="INV123")
    second = InvoiceFactory(invoice_number_normalized="INV123", total_amount=Decimal("7.00"), net_amount=None, tax_amount=None)
    assert open_keys(second, Kind.DUPLICATE) == set()
    assert first.vendor != second.vendor


def test_void_invoice_is_not_counted_as_original():
    first = InvoiceFactory(invoice_number_normalized="INV9", state=Invoice.State.VOID)
    second = InvoiceFactory(vendor=first.vendor, invoice_number_normalized="INV9")
    assert not any(k.startswith("number:") for k in open_keys(second, Kind.DUPLICATE))


def test_same_total_same_vendor_within_30_days_is_a_near_duplicate_warning():
    first = InvoiceFactory(issue_date=date(2026, 3, 2))
    second = InvoiceFactory(vendor=first.vendor, issue_date=date(2026, 3, 20))
    far = InvoiceFactory(vendor=first.vendor, issue_date=date(2026, 6, 1))
    assert open_keys(second, Kind.DUPLICATE) == {f"near:{first.pk}"}
    assert f"near:{first.pk}" not in open_keys(far, Kind.DUPLICATE)


def test_other_vendor_same_iban_same_total_is_blocking():
    first = InvoiceFactory(vendor_iban="DE89370400440532013000")
    second = InvoiceFactory(vendor_iban="DE89370400440532013000")
    assert f"iban:{first.pk}" in open_keys(second, Kind.DUPLICATE)


# --- dates --------------------------------------------------------------------------------------


def test_due_before_issue_and_future_date_block():
    today = timezone.localdate()
    inv = InvoiceFactory(issue_date=today + timedelta(days=10), due_date=today + timedelta(days=5))
    assert {"due_before_issue", "issue_in_future"} <= open_keys(inv, Kind.DATES)


def test_normal_dates_raise_nothing_and_old_invoice_warns():
    assert open_keys(InvoiceFactory(), Kind.DATES) == set()
    old = InvoiceFactory(issue_date=date(2024, 1, 3), due_date=date(2024, 2, 2))
    assert open_keys(old, Kind.DATES) == {"very_old"}


# --- amount patterns ----------------------------------------------------------------------------


def _history(vendor, totals):
    for i, total in enumerate(totals):
        InvoiceFactory(vendor=vendor, total_amount=Decimal(total), net_amount=None, tax_amount=None,
                       issue_date=date(2026, 1, 5) + timedelta(days=7 * i))


def test_amount_far_outside_vendor_history_warns_with_median():
    vendor = VendorFactory()
    _history(vendor, ["1180.00", "1210.50", "1195.00", "1250.00", "1205.00", "1190.00"])
    inv = InvoiceFactory(vendor=vendor, total_amount=Decimal("9800.00"), net_amount=None, tax_amount=None)
    assert "outlier" in open_keys(inv, Kind.AMOUNT_PATTERN)
    exc = InvoiceException.objects.get(invoice=inv, key="outlier")
    assert exc.params["median"] == "1200.000" and "9,800.00 EUR" in exc.message


def test_amount_within_history_does_not_warn():
    vendor = VendorFactory()
    _history(vendor, ["1180.00", "1210.50", "1195.00", "1250.00", "1205.00", "1190.00"])
    inv = InvoiceFactory(vendor=vendor, total_amount=Decimal("1230.00"), net_amount=None, tax_amount=None)
    assert open_keys(inv, Kind.AMOUNT_PATTERN) == set()


def test_first_invoice_round_amount_and_new_currency_warn():
    vendor = VendorFactory()
    first = InvoiceFactory(vendor=vendor, total_amount=Decimal("5000.00"), net_amount=None, tax_amount=None)
    assert open_keys(first, Kind.AMOUNT_PATTERN) == {"first_invoice", "round"}
    usd = InvoiceFactory(vendor=vendor, currency="USD", total_amount=Decimal("12.34"), net_amount=None, tax_amount=None)
    assert open_keys(usd, Kind.CURRENCY) == {"USD"}


# --- purchase orders ----------------------------------------------------------------------------


@pytest.fixture
def po_setup():
    vendor = VendorFactory()
    po = PurchaseOrderFactory(vendor=vendor, number="PO-4711")
    line = PurchaseOrderLineFactory(purchase_order=po, line_no=1, description="Office chair ergonomic", quantity=Decimal("10"), unit_price=Decimal("100.00"))
    return vendor, po, line


def _po_invoice(vendor, *, qty, price, po_number="PO-4711"):
    inv = InvoiceFactory(vendor=vendor, po_number=po_number, net_amount=qty * price, tax_amount=Decimal("0"), total_amount=qty * price)
    InvoiceLineFactory(invoice=inv, position=1, description="Ergonomic office chair", quantity=qty, unit_price=price, amount=qty * price)
    return inv


def test_po_matching_within_tolerance_and_received_passes(po_setup):
    vendor, _po, line = po_setup
    GoodsReceipt.objects.create(po_line=line, quantity=Decimal("10"), received_on=date(2026, 2, 1))
    inv = _po_invoice(vendor, qty=Decimal("4"), price=Decimal("101.50"))  # 1.5 % above, tolerance 2 %
    assert open_keys(inv, Kind.PO_MISMATCH) == set()


def test_price_above_tolerance_blocks(po_setup):
    vendor, _po, line = po_setup
    GoodsReceipt.objects.create(po_line=line, quantity=Decimal("10"), received_on=date(2026, 2, 1))
    inv = _po_invoice(vendor, qty=Decimal("2"), price=Decimal("110.00"))
    assert open_keys(inv, Kind.PO_MISMATCH) == {"line:1:price"}
    MatchTolerance.objects.create(vendor=vendor, price_percent=Decimal("12"), price_absolute=Decimal("0"))
    assert open_keys(inv, Kind.PO_MISMATCH) == set()


def test_three_way_billing_more_than_received_blocks_and_partial_deliveries_add_up(po_setup):
    vendor, _po, line = po_setup
    GoodsReceipt.objects.create(po_line=line, quantity=Decimal("4"), received_on=date(2026, 2, 1))
    first = _po_invoice(vendor, qty=Decimal("4"), price=Decimal("100.00"))
    assert open_keys(first, Kind.PO_MISMATCH) == set()
    first.lines.update(po_line=line)
    second = _po_invoice(vendor, qty=Decimal("3"), price=Decimal("100.00"))
    assert open_keys(second, Kind.PO_MISMATCH) == {"line:1:received"}
    GoodsReceipt.objects.create(po_line=line, quantity=Decimal("6"), received_on=date(2026, 2, 9))
    assert open_keys(second, Kind.PO_MISMATCH) == set()


def test_billing_more_than_ordered_blocks(po_setup):
    vendor, _po, line = po_setup
    GoodsReceipt.objects.create(po_line=line, quantity=Decimal("12"), received_on=date(2026, 2, 1))
    inv = _po_invoice(vendor, qty=Decimal("12"), price=Decimal("100.00"))
    assert "line:1:ordered" in open_keys(inv, Kind.PO_MISMATCH)


def test_two_lines_with_one_description_match_two_order_lines(po_setup):
    vendor, po, first = po_setup
    second = PurchaseOrderLineFactory(purchase_order=po, line_no=2, description="Office chair ergonomic",
                                      quantity=Decimal("12"), unit_price=Decimal("100.00"))
    for po_line in (first, second):
        GoodsReceipt.objects.create(po_line=po_line, quantity=po_line.quantity, received_on=date(2026, 2, 1))
    inv = _po_invoice(vendor, qty=Decimal("8"), price=Decimal("100.00"))
    InvoiceLineFactory(invoice=inv, position=2, description="Ergonomic office chair", quantity=Decimal("11"),
                       unit_price=Decimal("100.00"), amount=Decimal("1100.00"))
    # Line 2 bills order line 2 (12 ordered), not order line 1 again (10 ordered).
    assert open_keys(inv, Kind.PO_MISMATCH) == set()


def test_lines_billing_one_order_line_add_up(po_setup):
    vendor, _po, line = po_setup
    GoodsReceipt.objects.create(po_line=line, quantity=Decimal("10"), received_on=date(2026, 2, 1))
    inv = _po_invoice(vendor, qty=Decimal("6"), price=Decimal("100.00"))
    InvoiceLineFactory(invoice=inv, position=2, description="Office chair, ergonomic", quantity=Decimal("6"),
                       unit_price=Decimal("100.00"), amount=Decimal("600.00"))
    assert {"line:2:ordered", "line:2:received"} <= open_keys(inv, Kind.PO_MISMATCH)


def test_unknown_foreign_or_closed_po_blocks(po_setup):
    vendor, po, _line = po_setup
    assert open_keys(_po_invoice(vendor, qty=Decimal("1"), price=Decimal("100"), po_number="PO-9999"), Kind.PO_MISMATCH) == {"not_found"}
    other = VendorFactory()
    assert "vendor" in open_keys(_po_invoice(other, qty=Decimal("1"), price=Decimal("100")), Kind.PO_MISMATCH)
    po.status = po.Status.CLOSED
    po.save()
    assert "status" in open_keys(_po_invoice(vendor, qty=Decimal("1"), price=Decimal("100")), Kind.PO_MISMATCH)


# --- bank details -------------------------------------------------------------------------------


def test_unverified_iban_blocks_until_a_second_person_verifies(cast):
    account = VendorBankAccountFactory(iban="DE89370400440532013000", entered_by=cast.clerk)
    inv = InvoiceFactory(vendor=account.vendor, vendor_iban=account.iban, state=Invoice.State.EXCEPTION)
    assert open_keys(inv, Kind.BANK_DETAILS) == {account.iban}

    with pytest.raises(FourEyesViolation) as exc:
        bank_account_verify(account=account, user=cast.clerk, method="Called +49 30 1234 on file")
    assert exc.value.code == ErrorCode.FOUR_EYES
    account.refresh_from_db()
    assert account.status == VendorBankAccount.Status.UNVERIFIED

    bank_account_verify(account=account, user=cast.second_clerk, method="Called +49 30 1234 on file")
    account.refresh_from_db()
    assert (account.status, account.verified_by) == (VendorBankAccount.Status.VERIFIED, cast.second_clerk)
    assert open_keys(inv, Kind.BANK_DETAILS) == set()


def test_clerk_who_typed_the_iban_cannot_verify_it(cast):
    account = VendorBankAccountFactory(iban="DE89370400440532013000")
    inv = InvoiceFactory(vendor=account.vendor, vendor_iban=account.iban)
    ExtractedField.objects.create(invoice=inv, name="vendor_iban", value=account.iban, confidence=1,
                                  source=FieldSource.CLERK, updated_by=cast.clerk)
    with pytest.raises(FourEyesViolation):
        bank_account_verify(account=account, user=cast.clerk, method="call-back")


def test_changed_iban_names_the_verified_one(cast):
    verified = VendorBankAccountFactory(iban="DE89370400440532013000", status=VendorBankAccount.Status.VERIFIED,
                                        verified_by=cast.second_clerk, verified_at=timezone.now())
    inv = InvoiceFactory(vendor=verified.vendor, vendor_iban="DE02120300000000202051")
    assert open_keys(inv, Kind.BANK_DETAILS) == {"DE02120300000000202051"}
    assert "DE89370400440532013000" in InvoiceException.objects.get(invoice=inv, kind=Kind.BANK_DETAILS).message


def test_bad_iban_and_tax_id_checksums_block():
    inv = InvoiceFactory(vendor_iban="DE89370400440532013001", vendor_tax_id="DE123456789")
    assert open_keys(inv, Kind.INVALID_ID) == {"iban", "tax_id"}
