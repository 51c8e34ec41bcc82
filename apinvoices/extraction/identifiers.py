"""Bank and tax identifiers: compact form and checksum validation.

Every function accepts whatever a document printed (spaces, dots, lower case, a leading
"IBAN:" label) and returns the compact upper-case form, so stored values compare equal
whatever the layout. ``normalize_*`` return ``None`` when the value fails its checksum;
``compact_*`` never validate (an e-invoice value is kept as written, and a check flags it).
"""

from __future__ import annotations

import re

from schwifty import BIC, IBAN, registry
from schwifty.exceptions import SchwiftyException
from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.us import ein as us_ein

_LABEL = re.compile(
    r"^\s*(?:iban|bic|swift|vat(?:\s*(?:id|no|number|reg(?:istration)?))?|tax\s*id|"
    r"ust-?id(?:nr)?|tva|btw|nif|cif|ein|fein)\s*[.:#]?\s*",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"[\s.\-_]+")

# Countries whose VAT number python-stdnum validates outside the EU VIES set. Greece prints
# "EL" in VAT numbers but "GR" elsewhere; stdnum handles "EL" through eu.vat.
_NON_EU_VAT = (
    "gb",
    "no",
    "ch",
    "is",
    "au",
    "nz",
    "za",
    "tr",
    "rs",
    "ru",
    "by",
    "ua",
    "mx",
    "br",
    "ar",
    "cl",
    "co",
    "ec",
    "pe",
    "uy",
    "ve",
    "il",
    "in",
    "jp",
    "kr",
    "cn",
    "sg",
    "my",
    "th",
    "id",
    "ph",
    "tw",
    "ca",
    "al",
    "ad",
    "md",
    "me",
    "mk",
    "sm",
)


def _strip_label(raw: str) -> str:
    return _LABEL.sub("", raw.strip(), count=1)


def compact_iban(raw: str | None) -> str | None:
    """Return ``raw`` without spaces and separators, upper case; ``None`` when empty."""
    if not raw:
        return None
    value = _SEPARATORS.sub("", _strip_label(str(raw))).upper()
    return value or None


def normalize_iban(raw: str | None) -> str | None:
    """Return the compact IBAN when ``raw`` has a valid structure and check digits, else None."""
    value = compact_iban(raw)
    if not value:
        return None
    try:
        return IBAN(value).compact
    except (SchwiftyException, ValueError):
        return None


def iban_shaped(raw: str | None) -> str | None:
    """The compact value when it has the length and country of an IBAN but need not pass its
    check digits (a typo or a specimen number printed as the payee account), else None."""
    value = compact_iban(raw)
    if not value or not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", value):
        return None
    try:
        spec = registry.get_iban_spec(value[:2])
    except (SchwiftyException, KeyError, ValueError):
        return None
    return value if spec is not None and spec.iban_length == len(value) else None


# Characters OCR reads for a digit, and for a letter, where the IBAN's structure says which
# one must stand there.
_AS_DIGIT = str.maketrans("OoDQIl|iSsBZzG", "00001111558226")
_AS_LETTER = str.maketrans("0125864", "OIZSBGA")
_BBAN_PART = re.compile(r"(\d+)!([nace])")


def iban_from_ocr(raw: str | None) -> str | None:
    """The valid IBAN an OCR read stands for once each character is read as the kind its
    position must hold, else None.

    The country code is two letters and the check digits are digits; the rest follows the
    country's BBAN format (schwifty's ``bban_spec``: ``n`` digits, ``a`` letters, ``c``
    either), so "DEO4 2004 ..." is DE04 and "NL91 ABNA 0417 1643 OD" is NL91ABNA0417164300.
    Nothing is swapped where a position may hold either kind, and the result must still pass
    the length and mod-97 check of the whole number: a mapping OCR did not cause fails it
    (a random string passes with a chance of about 1 in 97).
    """
    compact = re.sub(r"[\s.\-_]+", "", raw or "")
    if len(compact) < 15:
        return None
    country = compact[:2].translate(_AS_LETTER).upper()
    try:
        spec = registry.get_iban_spec(country)
    except (SchwiftyException, KeyError, ValueError):
        return None
    if spec is None or len(compact) != spec.iban_length:
        return None
    parts, pos = [country, compact[2:4].translate(_AS_DIGIT)], 4
    for count, kind in _BBAN_PART.findall(spec.bban_spec):
        chunk = compact[pos : pos + int(count)]
        pos += int(count)
        if kind == "n":
            chunk = chunk.translate(_AS_DIGIT)
        elif kind == "a":
            chunk = chunk.translate(_AS_LETTER)
        parts.append(chunk.upper())
    return normalize_iban("".join(parts))


def is_valid_iban(raw: str | None) -> bool:
    return normalize_iban(raw) is not None


def normalize_bic(raw: str | None) -> str | None:
    """Return the compact BIC (8 or 11 characters) when it is well formed, else None."""
    value = compact_iban(raw)
    if not value:
        return None
    try:
        return BIC(value).compact
    except (SchwiftyException, ValueError):
        return None


def is_valid_bic(raw: str | None) -> bool:
    return normalize_bic(raw) is not None


def compact_tax_id(raw: str | None) -> str | None:
    """Upper case without spaces, dots and dashes; slashes are kept (they carry meaning in
    national tax numbers such as the German ``12/345/67890``)."""
    if not raw:
        return None
    value = _SEPARATORS.sub("", _strip_label(str(raw))).upper()
    return value or None


def _with_prefix(country: str, compacted: str) -> str:
    prefix = "EL" if country == "gr" else country.upper()
    return compacted if compacted.startswith(prefix) else prefix + compacted


def normalize_tax_id(raw: str | None, country_hint: str | None = None) -> str | None:
    """Return a validated tax identifier in compact upper case, or None.

    Tried in order: an EU VAT number (with its country prefix, or the hint's prefix added),
    a non-EU VAT number that python-stdnum knows (prefix kept or added), a US EIN
    (``12-3456789`` -> ``123456789``), then the hint country's national tax number.
    """
    value = compact_tax_id(raw)
    if not value:
        return None
    hint = (country_hint or "").strip().lower()[:2] or None
    candidates = [value]
    if hint and value[:2].isdigit():
        candidates.append(_with_prefix(hint, value))
    for candidate in candidates:
        if eu_vat.is_valid(candidate):
            return eu_vat.compact(candidate).upper()
    prefix = value[:2].lower()
    countries = [prefix] if prefix.isalpha() and prefix in _NON_EU_VAT else []
    if hint and hint in _NON_EU_VAT and hint not in countries:
        countries.append(hint)
    for country in countries:
        module = _vat_module(country)
        if module is None:
            continue
        try:
            number = module.validate(value)
        except (StdnumValidationError, ValueError):
            continue
        return _with_prefix(country, module.compact(number).upper())
    if hint in (None, "us") and us_ein.is_valid(value):
        return us_ein.compact(value)
    if hint:
        module = _national_tax_module(hint)
        if module is not None and module.is_valid(value.removeprefix(hint.upper())):
            return module.compact(value.removeprefix(hint.upper())).upper()
    return None


def is_valid_tax_id(raw: str | None, country_hint: str | None = None) -> bool:
    return normalize_tax_id(raw, country_hint) is not None


def _vat_module(country: str):
    try:
        return get_cc_module(country, "vat")
    except (ImportError, AttributeError):
        return None


def _national_tax_module(country: str):
    # The national number printed when a seller has no VAT ID (BT-32), e.g. German Steuernummer.
    for name in ("stnr", "tin", "nif", "steuernummer"):
        try:
            module = get_cc_module(country, name)
        except (ImportError, AttributeError):
            continue
        if module is not None:
            return module
    return None
