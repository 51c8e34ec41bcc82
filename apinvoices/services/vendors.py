"""Vendor matching: which vendor master row an extracted invoice belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

from apinvoices.models import Vendor, VendorBankAccount

# A fuzzy name match must be at least this similar (0..100, token-set ratio on normalised
# names) to be taken; below it the vendor is proposed to the clerk instead.
NAME_MATCH_THRESHOLD = 90
_LEGAL_FORMS = {
    "gmbh", "ag", "kg", "ug", "sarl", "sas", "sa", "bv", "nv", "sl", "srl", "spa", "ltd", "limited",
    "llc", "inc", "corp", "co", "plc", "gbr", "ohg", "eg", "ev",
}


@dataclass(frozen=True)
class VendorMatch:
    vendor: Vendor | None
    method: str  # tax_id | iban | name | none
    score: float  # 0..1
    proposal: str = ""  # the name to propose for a new vendor when nothing matched


def _normalise_name(name: str) -> str:
    words = utils.default_process(name).split()
    return " ".join(w for w in words if w not in _LEGAL_FORMS)


def vendor_match(*, tax_id: str = "", iban: str = "", name: str = "") -> VendorMatch:
    """Find the vendor by tax ID, then by IBAN, then by fuzzy name. Never creates a vendor."""
    if tax_id:
        vendor = Vendor.objects.filter(tax_id=tax_id, is_active=True).first()
        if vendor:
            return VendorMatch(vendor, "tax_id", 1.0)
    if iban:
        vendor_ids = set(
            VendorBankAccount.objects.filter(iban=iban, vendor__is_active=True).values_list(
                "vendor_id", flat=True
            )
        )
        # The same IBAN on two vendors is itself suspicious; do not guess between them.
        if len(vendor_ids) == 1:
            return VendorMatch(Vendor.objects.get(pk=vendor_ids.pop()), "iban", 0.97)
    if name:
        candidates = dict(Vendor.objects.filter(is_active=True).values_list("pk", "name"))
        if candidates:
            normalised = {pk: _normalise_name(n) for pk, n in candidates.items()}
            best = process.extractOne(
                _normalise_name(name), normalised, scorer=fuzz.token_set_ratio
            )
            if best and best[1] >= NAME_MATCH_THRESHOLD:
                return VendorMatch(Vendor.objects.get(pk=best[2]), "name", round(best[1] / 100, 3))
    return VendorMatch(None, "none", 0.0, proposal=name)
