"""Pull master data from the ERP: vendors (with bank details) and open purchase orders.

Guarantees:
- Vendors are matched by tax ID (compacted, case-insensitive), then by ``erp_id``; a match gets
  the ERP id set, nothing else of ours is overwritten. An unknown vendor is created.
- Bank details from the ERP never change or replace an existing account. A new IBAN becomes a
  new UNVERIFIED account (source "ERP sync"): payments still need a person to verify it.
- Purchase orders are matched by number; lines by line number. Received quantities become
  GoodsReceipt rows (reference "ERP sync"): one receipt tops the line up to the ERP's received
  quantity, so running the sync twice adds nothing.
- Each call runs in one transaction: a failing ERP leaves our data as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from apinvoices.models import GoodsReceipt, PurchaseOrder, PurchaseOrderLine, Vendor, VendorBankAccount
from erp_integration.backends import get_backend
from erp_integration.backends.base import ErpBackend, ErpVendor

SYNC_SOURCE = "ERP sync"


def _compact(tax_id: str) -> str:
    """Comparable form of a tax ID; "" for one the ERP masked (QBO sends ``XXXXXX6780``)."""
    value = re.sub(r"[\s.\-/]", "", tax_id or "").upper()
    return "" if value.startswith("XXX") else value


@dataclass
class SyncResult:
    vendors_created: int = 0
    vendors_linked: int = 0
    bank_accounts_added: int = 0
    orders_created: int = 0
    orders_updated: int = 0
    receipts_added: int = 0
    skipped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"Synced from the ERP: {self.vendors_created} vendors created, {self.vendors_linked} linked, "
            f"{self.bank_accounts_added} new bank accounts to verify, {self.orders_created} purchase orders "
            f"created, {self.orders_updated} updated, {self.receipts_added} goods receipts."
        )
        if self.skipped:
            text += f" Skipped: {'; '.join(self.skipped[:5])}."
        return text


def _match_vendor(erp_vendor: ErpVendor) -> Vendor | None:
    wanted = _compact(erp_vendor.tax_id)
    if wanted:
        for vendor in Vendor.objects.exclude(tax_id=""):
            if _compact(vendor.tax_id) == wanted:
                return vendor
    if erp_vendor.erp_id:
        return Vendor.objects.filter(erp_id=erp_vendor.erp_id).first()
    return None


def _add_bank_account(vendor: Vendor, erp_vendor: ErpVendor, result: SyncResult) -> None:
    iban = re.sub(r"\s", "", erp_vendor.iban or "").upper()
    if not iban or vendor.bank_accounts.filter(iban=iban).exists():
        return
    VendorBankAccount.objects.create(
        vendor=vendor, iban=iban, bic=(erp_vendor.bic or "").upper(), holder_name=erp_vendor.name[:200],
        status=VendorBankAccount.Status.UNVERIFIED, source=SYNC_SOURCE,
        currency=vendor.default_currency or "EUR",
    )
    result.bank_accounts_added += 1


@transaction.atomic
def sync_vendors(*, backend: ErpBackend | None = None, result: SyncResult | None = None) -> SyncResult:
    """Create or link our vendors from the ERP's suppliers; see the module guarantees."""
    backend = backend or get_backend()
    result = result or SyncResult()
    for erp_vendor in backend.sync_vendors():
        vendor = _match_vendor(erp_vendor)
        if vendor is None:
            vendor = Vendor.objects.create(
                name=erp_vendor.name[:200], tax_id=erp_vendor.tax_id if _compact(erp_vendor.tax_id) else "", country=(erp_vendor.country or "")[:2],
                email=erp_vendor.email, erp_id=erp_vendor.erp_id,
            )
            result.vendors_created += 1
        elif erp_vendor.erp_id and vendor.erp_id != erp_vendor.erp_id:
            vendor.erp_id = erp_vendor.erp_id
            vendor.save(update_fields=["erp_id", "updated_at"])
            result.vendors_linked += 1
        _add_bank_account(vendor, erp_vendor, result)
    return result


@transaction.atomic
def sync_purchase_orders(*, backend: ErpBackend | None = None, result: SyncResult | None = None) -> SyncResult:
    """Create or update open purchase orders and their received quantities from the ERP."""
    backend = backend or get_backend()
    result = result or SyncResult()
    today = timezone.localdate()
    for order in backend.sync_purchase_orders():
        vendor = Vendor.objects.filter(erp_id=order.vendor_erp_id).first() if order.vendor_erp_id else None
        if vendor is None:
            result.skipped.append(f"PO {order.number}: vendor {order.vendor_erp_id or '?'} not synced")
            continue
        po, created = PurchaseOrder.objects.get_or_create(
            number=order.number,
            defaults={"vendor": vendor, "currency": order.currency, "order_date": order.order_date,
                      "erp_id": order.erp_id},
        )
        if created:
            result.orders_created += 1
        else:
            if po.vendor_id != vendor.pk:
                result.skipped.append(f"PO {order.number}: belongs to another vendor here")
                continue
            if order.erp_id and po.erp_id != order.erp_id:
                po.erp_id = order.erp_id
                po.save(update_fields=["erp_id", "updated_at"])
            result.orders_updated += 1
        for erp_line in order.lines:
            if erp_line.quantity <= 0:
                continue
            line, _ = PurchaseOrderLine.objects.update_or_create(
                purchase_order=po, line_no=erp_line.line_no,
                defaults={"description": erp_line.description[:500], "quantity": erp_line.quantity,
                          "unit_price": erp_line.unit_price},
            )
            have = line.receipts.aggregate(total=Sum("quantity"))["total"] or Decimal("0")
            missing = Decimal(erp_line.received_quantity) - have
            if missing > 0:
                GoodsReceipt.objects.create(po_line=line, quantity=missing, received_on=today,
                                            reference=SYNC_SOURCE)
                result.receipts_added += 1
    return result


def erp_sync_all(*, actor=None, backend: ErpBackend | None = None) -> SyncResult:
    """Vendors first (purchase orders refer to them by ERP id), then purchase orders."""
    backend = backend or get_backend()
    result = sync_vendors(backend=backend)
    return sync_purchase_orders(backend=backend, result=result)
