"""Purchase-order matching: the PO exists, is open and is the vendor's; 2-way (price and
quantity against the order) and 3-way (quantity against goods received), with tolerances."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q, Sum
from django.utils.translation import gettext as _
from rapidfuzz import fuzz

from apinvoices.checks import Check, Finding, Kind, Severity, register
from apinvoices.models import (
    GoodsReceipt,
    Invoice,
    InvoiceLine,
    MatchTolerance,
    PurchaseOrder,
    PurchaseOrderLine,
)
from apinvoices.money import format_amount

# An invoice line matches a PO line whose description is at least this similar (0..100).
DESCRIPTION_MATCH = 70
EXCLUDED_STATES = (Invoice.State.VOID, Invoice.State.DUPLICATE, Invoice.State.REJECTED)


def tolerance_for(vendor_id: int | None) -> MatchTolerance:
    tolerances = {
        t.vendor_id: t for t in MatchTolerance.objects.filter(Q(vendor_id=vendor_id) | Q(vendor__isnull=True))
    }
    return tolerances.get(vendor_id) or tolerances.get(None) or MatchTolerance()


def _match_line(
    line: InvoiceLine, po_lines: list[PurchaseOrderLine], *, taken: set[int] = frozenset()
) -> PurchaseOrderLine | None:
    """The order line this invoice line bills: the one linked by hand, else the best description
    match. An order line already matched to an earlier invoice line loses ties to a free one,
    and the same line number breaks ties, so two lines with one description ("Express parcel"
    twice) match two order lines instead of doubling the quantity on one."""
    if line.po_line_id:
        return next((p for p in po_lines if p.pk == line.po_line_id), None)
    best, best_score = None, 0.0
    for candidate in po_lines:
        score = fuzz.token_set_ratio(line.description.lower(), candidate.description.lower())
        if line.unit_price is not None and line.unit_price == candidate.unit_price:
            score += 10
        if score < DESCRIPTION_MATCH:
            continue
        if candidate.line_no == line.position:
            score += 5
        if candidate.pk in taken:
            score -= 50
        if score > best_score:
            best, best_score = candidate, score
    return best


@register
class PurchaseOrderCheck(Check):
    kinds = (Kind.PO_MISMATCH,)

    def run(self, invoice: Invoice):
        number = invoice.po_number.strip()
        if not number and invoice.purchase_order_id is None:
            return
        po = (
            PurchaseOrder.objects.filter(pk=invoice.purchase_order_id).first()
            if invoice.purchase_order_id
            else PurchaseOrder.objects.filter(number__iexact=number).first()
        )
        if po is None:
            yield Finding(
                kind=Kind.PO_MISMATCH, key="not_found", severity=Severity.BLOCKING,
                message=_("Purchase order %(po)s does not exist. Check the number on the original or ask the requester.")
                % {"po": number},
                params={"po_number": number},
            )
            return
        if invoice.vendor_id and po.vendor_id != invoice.vendor_id:
            yield Finding(
                kind=Kind.PO_MISMATCH, key="vendor", severity=Severity.BLOCKING,
                message=_("Purchase order %(po)s belongs to another vendor (%(vendor)s).")
                % {"po": po.number, "vendor": po.vendor},
                params={"po_number": po.number, "po_vendor_id": po.vendor_id},
            )
        if po.status != PurchaseOrder.Status.OPEN:
            yield Finding(
                kind=Kind.PO_MISMATCH, key="status", severity=Severity.BLOCKING,
                message=_("Purchase order %(po)s is %(status)s; it cannot be invoiced any more.")
                % {"po": po.number, "status": po.get_status_display().lower()},
                params={"po_number": po.number, "status": po.status},
            )
        if invoice.currency and po.currency != invoice.currency:
            yield Finding(
                kind=Kind.PO_MISMATCH, key="currency", severity=Severity.BLOCKING,
                message=_("The invoice is in %(inv)s but purchase order %(po)s is in %(po_cur)s.")
                % {"inv": invoice.currency, "po": po.number, "po_cur": po.currency},
                params={"currency": invoice.currency, "po_currency": po.currency},
            )
            return

        tolerance = tolerance_for(invoice.vendor_id)
        po_lines = list(po.lines.all())
        currency = po.currency

        def money(value: Decimal) -> str:
            return f"{format_amount(value, currency)} {currency}"

        invoiced_elsewhere = dict(
            InvoiceLine.objects.filter(po_line__purchase_order=po)
            .exclude(invoice=invoice)
            .exclude(invoice__state__in=EXCLUDED_STATES)
            .values("po_line_id")
            .annotate(q=Sum("quantity"))
            .values_list("po_line_id", "q")
        )
        received = dict(
            GoodsReceipt.objects.filter(po_line__purchase_order=po)
            .values("po_line_id")
            .annotate(q=Sum("quantity"))
            .values_list("po_line_id", "q")
        )
        qty_factor = 1 + tolerance.quantity_percent / 100
        taken: set[int] = set()
        billed_here: dict[int, Decimal] = {}  # by order line, over this invoice's earlier lines
        for line in invoice.lines.all():
            po_line = _match_line(line, po_lines, taken=taken)
            if po_line is None:
                yield Finding(
                    kind=Kind.PO_MISMATCH, key=f"line:{line.position}:unmatched", severity=Severity.WARNING,
                    message=_("Line %(pos)d “%(desc)s” is not on purchase order %(po)s.")
                    % {"pos": line.position, "desc": line.description[:80], "po": po.number},
                    params={"position": line.position},
                )
                continue
            taken.add(po_line.pk)
            if line.unit_price is not None:
                allowed = max(po_line.unit_price * tolerance.price_percent / 100, tolerance.price_absolute)
                if abs(line.unit_price - po_line.unit_price) > allowed:
                    yield Finding(
                        kind=Kind.PO_MISMATCH, key=f"line:{line.position}:price", severity=Severity.BLOCKING,
                        message=_(
                            "Line %(pos)d is billed at %(billed)s per unit; purchase order %(po)s line "
                            "%(po_line)d says %(ordered)s (tolerance ±%(allowed)s)."
                        )
                        % {
                            "pos": line.position, "billed": money(line.unit_price), "po": po.number,
                            "po_line": po_line.line_no, "ordered": money(po_line.unit_price), "allowed": money(allowed),
                        },
                        params={"position": line.position, "billed": str(line.unit_price), "ordered": str(po_line.unit_price)},
                    )
            if line.quantity is None:
                continue
            billed_here[po_line.pk] = billed_here.get(po_line.pk, Decimal(0)) + line.quantity
            total_invoiced = (invoiced_elsewhere.get(po_line.pk) or Decimal(0)) + billed_here[po_line.pk]
            if total_invoiced > po_line.quantity * qty_factor:
                yield Finding(
                    kind=Kind.PO_MISMATCH, key=f"line:{line.position}:ordered", severity=Severity.BLOCKING,
                    message=_(
                        "Line %(pos)d brings the quantity billed on PO %(po)s line %(po_line)d to "
                        "%(billed)s, but only %(ordered)s were ordered."
                    )
                    % {"pos": line.position, "po": po.number, "po_line": po_line.line_no,
                       "billed": total_invoiced.normalize(), "ordered": po_line.quantity.normalize()},
                    params={"position": line.position, "billed": str(total_invoiced), "ordered": str(po_line.quantity)},
                )
            got = received.get(po_line.pk) or Decimal(0)
            if total_invoiced > got * qty_factor:
                yield Finding(
                    kind=Kind.PO_MISMATCH, key=f"line:{line.position}:received", severity=Severity.BLOCKING,
                    message=_(
                        "Line %(pos)d: %(billed)s billed on PO %(po)s line %(po_line)d but only "
                        "%(received)s received so far. Wait for the goods receipt or ask the requester."
                    )
                    % {"pos": line.position, "billed": total_invoiced.normalize(), "po": po.number,
                       "po_line": po_line.line_no, "received": got.normalize()},
                    params={"position": line.position, "billed": str(total_invoiced), "received": str(got)},
                )
