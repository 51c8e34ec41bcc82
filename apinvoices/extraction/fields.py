"""Language-aware parsers for the values printed on invoices.

Everything here works on plain strings and knows nothing about page layout (that is
``layout.py``). Supported languages: English (US and UK), German, French, Dutch, Spanish and
Italian. The parsers never guess silently: they return ``None`` when a string cannot be read
with confidence, and the callers decide what an absent value means.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache

from apinvoices.extraction import identifiers

LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "nl", "es", "it")


# The combining marks NFKD splits off Latin, Greek and Cyrillic letters (the blocks of
# combining diacritical marks, their extension and supplement, and the half marks).
_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """Lower-case ``text`` and strip diacritics, so labels match with or without accents."""
    if text.isascii():  # most lines: nothing to decompose
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = _COMBINING_MARKS.sub("", decomposed)
    return stripped.replace("ß", "ss").lower()


# --- Language detection --------------------------------------------------------------------

# Short, frequent words that are distinctive for one language on invoices. Words shared by
# several languages ("total", "date", "de") are left out on purpose.
_LANGUAGE_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "and",
            "of",
            "for",
            "to",
            "invoice",
            "amount",
            "due",
            "date",
            "total",
            "tax",
            "payment",
            "please",
            "thank",
            "you",
            "bill",
            "number",
            "order",
            "quantity",
            "price",
            "description",
            "customer",
            "account",
            "balance",
            "paid",
        ]
    ),
    "de": frozenset(
        [
            "und",
            "der",
            "die",
            "das",
            "rechnung",
            "betrag",
            "datum",
            "gesamtbetrag",
            "mwst",
            "ust",
            "steuer",
            "zahlbar",
            "bitte",
            "menge",
            "preis",
            "kunde",
            "kundennr",
            "rechnungsnr",
            "rechnungsdatum",
            "netto",
            "brutto",
            "summe",
            "mit",
            "von",
            "zu",
            "ihre",
            "wir",
            "uns",
            "bankverbindung",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "des",
            "du",
            "facture",
            "montant",
            "date",
            "tva",
            "total",
            "ttc",
            "ht",
            "paiement",
            "prix",
            "quantite",
            "client",
            "votre",
            "nous",
            "pour",
            "avec",
            "echeance",
            "payer",
            "somme",
            "reglement",
        ]
    ),
    "nl": frozenset(
        [
            "het",
            "een",
            "van",
            "en",
            "factuur",
            "bedrag",
            "datum",
            "btw",
            "totaal",
            "betaling",
            "prijs",
            "aantal",
            "klant",
            "uw",
            "wij",
            "voor",
            "met",
            "vervaldatum",
            "betalen",
            "factuurnummer",
            "factuurdatum",
            "incl",
            "excl",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "los",
            "las",
            "del",
            "factura",
            "importe",
            "fecha",
            "iva",
            "pago",
            "precio",
            "cantidad",
            "cliente",
            "su",
            "nosotros",
            "para",
            "con",
            "vencimiento",
            "pagar",
            "base",
            "imponible",
            "numero",
        ]
    ),
    "it": frozenset(
        [
            "il",
            "lo",
            "gli",
            "della",
            "fattura",
            "importo",
            "data",
            "iva",
            "totale",
            "pagamento",
            "prezzo",
            "quantita",
            "cliente",
            "vostro",
            "noi",
            "per",
            "con",
            "scadenza",
            "pagare",
            "imponibile",
            "numero",
        ]
    ),
}


def detect_language(text: str) -> str | None:
    """The most likely language of ``text`` among :data:`LANGUAGES`, or None if unclear."""
    words = re.findall(r"[a-z]+", fold(text))
    if not words:
        return None
    scores = {lang: 0 for lang in LANGUAGES}
    for word in words:
        for lang, vocabulary in _LANGUAGE_WORDS.items():
            if word in vocabulary:
                scores[lang] += 1
    best = max(scores, key=lambda lang: scores[lang])
    ranked = sorted(scores.values(), reverse=True)
    if ranked[0] < 2 or ranked[0] == ranked[1]:
        return None
    return best


# --- Amounts -------------------------------------------------------------------------------

_LANGUAGE_DECIMAL = {"en": ".", "de": ",", "fr": ",", "nl": ",", "es": ",", "it": ","}
# Countries whose convention differs from their language's default.
_COUNTRY_DECIMAL = {
    "CH": ".",
    "LI": ".",
    "MX": ".",
    "IE": ".",
    "GB": ".",
    "US": ".",
    "CA": ".",
    "AU": ".",
    "IN": ".",
    "BE": ",",
    "AT": ",",
}

_CURRENCY_NOISE = re.compile(
    r"(?i)(?:eur|usd|gbp|chf|inr|pln|sek|nok|dkk|cad|aud|jpy|czk|huf|rs\.?|fr\.|"
    r"[€$£¥₹]|zł|zl|kr\.?|ttc|ht|net|brutto|netto)"
)
_SPACE_CHARS = "\u00a0\u202f\u2009\u2007 "


def decimal_separator_for(locale_hint: str | None) -> str | None:
    """The decimal separator implied by a hint: ``","``/``"."`` itself, a language or locale."""
    if not locale_hint:
        return None
    if locale_hint in {",", "."}:
        return locale_hint
    hint = locale_hint.replace("-", "_")
    lang, _, country = hint.partition("_")
    if country.upper() in _COUNTRY_DECIMAL:
        return _COUNTRY_DECIMAL[country.upper()]
    return _LANGUAGE_DECIMAL.get(lang.lower())


def detect_decimal_separator(text: str) -> str | None:
    """The decimal separator a document uses, judged from its unambiguous amounts."""
    comma = len(re.findall(r"\d,\d{2}(?!\d)", text)) + 2 * len(re.findall(r"\d\.\d{3},\d", text))
    dot = len(re.findall(r"\d\.\d{2}(?!\d)", text)) + 2 * len(re.findall(r"\d,\d{3}\.\d", text))
    # Dates such as 01.05.14 look like "dot" amounts; they are removed before counting.
    dot -= len(re.findall(r"\b\d{1,2}\.\d{2}\.\d{2,4}\b", text))
    if comma > dot and comma >= 1:
        return ","
    if dot > comma and dot >= 1:
        return "."
    return None


_AMOUNT_SHAPE = re.compile(r"^\d{1,3}(?:[.,' ]\d{3})*(?:[.,]\d+)?$|^\d+(?:[.,]\d+)?$")


def parse_amount(text: str, locale_hint: str | None = None) -> Decimal | None:
    """Read a money amount such as ``1.234,56``, ``1,234.56``, ``1'234.56`` or ``-12,00 €``.

    ``locale_hint`` is a language (``"de"``), a locale (``"de_CH"``) or the decimal separator
    itself; it only decides the truly ambiguous case of one separator followed by exactly
    three digits (``1.234``). Returns None for anything that is not a single amount
    (percentages, dates, identifiers).
    """
    if text is None:
        return None
    raw = text.strip()
    if not raw or "%" in raw:
        return None
    negative = False
    if raw.startswith("(") and raw.endswith(")"):
        negative, raw = True, raw[1:-1]
    raw = _CURRENCY_NOISE.sub("", raw).strip(_SPACE_CHARS + ":*")
    for dash in ("-", "\u2212", "\u2013"):
        if raw.startswith(dash):
            negative, raw = True, raw[1:].strip(_SPACE_CHARS)
        elif raw.endswith(dash):
            negative, raw = True, raw[:-1].strip(_SPACE_CHARS)
    if raw.startswith("+"):
        raw = raw[1:].strip(_SPACE_CHARS)
    for ch in _SPACE_CHARS:
        raw = raw.replace(ch, " ")
    raw = raw.replace("’", "'").replace("´", "'")
    if not raw or not _AMOUNT_SHAPE.match(raw):
        return None
    # A space or apostrophe is only ever a thousands separator.
    body = raw.replace(" ", "").replace("'", "")
    if "'" in raw or " " in raw:
        if not re.match(r"^\d{1,3}(?:[ ']\d{3})+(?:[.,]\d{1,})?$", raw):
            return None
    last_dot, last_comma = body.rfind("."), body.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        decimal_sep = "." if last_dot > last_comma else ","
    elif last_dot >= 0 or last_comma >= 0:
        sep = "." if last_dot >= 0 else ","
        digits_after = len(body) - body.rfind(sep) - 1
        if body.count(sep) > 1:
            decimal_sep = None  # "1.234.567": thousands only
        elif digits_after != 3:
            decimal_sep = sep
        else:
            hinted = decimal_separator_for(locale_hint)
            if body.split(sep)[0] == "0":
                decimal_sep = sep  # "0,125" can only be a fraction
            elif hinted is not None:
                decimal_sep = sep if hinted == sep else None
            else:
                decimal_sep = None  # invoices print cents, so three digits are thousands
    else:
        decimal_sep = None
    if decimal_sep is None:
        normalized = body.replace(".", "").replace(",", "")
    else:
        thousands = "," if decimal_sep == "." else "."
        integer, _, fraction = body.rpartition(decimal_sep)
        if thousands in integer and not re.match(rf"^\d{{1,3}}(?:\{thousands}\d{{3}})+$", integer):
            return None
        normalized = integer.replace(thousands, "") + "." + fraction
    try:
        value = Decimal(normalized)
    except InvalidOperation:
        return None
    return -value if negative else value


# --- Currencies ----------------------------------------------------------------------------

ISO_CURRENCIES = frozenset(
    [
        "EUR",
        "USD",
        "GBP",
        "CHF",
        "INR",
        "PLN",
        "SEK",
        "NOK",
        "DKK",
        "CAD",
        "AUD",
        "NZD",
        "JPY",
        "CNY",
        "CZK",
        "HUF",
        "RON",
        "BGN",
        "HRK",
        "TRY",
        "ZAR",
        "BRL",
        "MXN",
        "SGD",
        "HKD",
        "AED",
        "SAR",
        "ILS",
        "RUB",
        "UAH",
        "ISK",
    ]
)
_CURRENCY_SYMBOLS: list[tuple[str, str]] = [
    ("US$", "USD"),
    ("A$", "AUD"),
    ("C$", "CAD"),
    ("CA$", "CAD"),
    ("AU$", "AUD"),
    ("HK$", "HKD"),
    ("NZ$", "NZD"),
    ("€", "EUR"),
    ("£", "GBP"),
    ("₹", "INR"),
    ("¥", "JPY"),
    ("zł", "PLN"),
    ("Rs.", "INR"),
    ("Rs", "INR"),
    ("Fr.", "CHF"),
    ("$", "USD"),
]
_CURRENCY_WORDS = {
    "euro": "EUR",
    "euros": "EUR",
    "dollars": "USD",
    "pounds": "GBP",
    "rupees": "INR",
    "franken": "CHF",
}


def find_currencies(text: str) -> dict[str, int]:
    """How often each currency is named in ``text`` (ISO codes, symbols and a few words)."""
    counts: dict[str, int] = {}
    for code in re.findall(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])", text):
        if code in ISO_CURRENCIES:
            counts[code] = counts.get(code, 0) + 1
    remaining = text
    for symbol, code in _CURRENCY_SYMBOLS:
        if symbol == "Fr.":
            # "Mo.-Fr. 08.30" is a weekday: francs only before an amount with cents.
            pattern = r"(?<![A-Za-z.\-])Fr\.(?=\s?-?\d[\d'’.,]*[.,]\d{2}(?!\d))"
        elif symbol[0].isalpha():
            pattern = rf"(?<![A-Za-z]){re.escape(symbol)}(?=\s?-?\d)"
        else:
            pattern = re.escape(symbol)
        hits = len(re.findall(pattern, remaining))
        if hits:
            counts[code] = counts.get(code, 0) + hits
            remaining = re.sub(pattern, " ", remaining)
    for word in re.findall(r"[a-z]+", fold(text)):
        if word in _CURRENCY_WORDS:
            code = _CURRENCY_WORDS[word]
            counts[code] = counts.get(code, 0) + 1
    return counts


def detect_currency(text: str) -> tuple[str, float] | None:
    """The document currency and a confidence, or None when no currency is named.

    One currency named several times is near-certain; a bare ``$`` is less so (it also means
    CAD, AUD, ...); several different currencies lower the confidence.
    """
    counts = find_currencies(text)
    if not counts:
        return None
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    code, hits = ranked[0]
    total = sum(counts.values())
    share = hits / total
    confidence = 0.6 + 0.3 * share + min(hits, 4) * 0.02
    if hits == 1:
        confidence = min(confidence, 0.8)  # named once, perhaps only in passing
    if code == "USD" and not re.search(r"\bUSD\b|US\$", text):
        confidence = min(confidence, 0.8)
    return code, round(min(confidence, 0.97), 3)


# --- Dates ---------------------------------------------------------------------------------

_MONTHS: dict[str, int] = {}


def _add_months(names: str) -> None:
    for number, group in enumerate(names.split(";"), start=1):
        for name in group.split(","):
            _MONTHS[fold(name.strip())] = number


_add_months(  # English
    "january,jan;february,feb;march,mar;april,apr;may;june,jun;july,jul;august,aug;"
    "september,sep,sept;october,oct;november,nov;december,dec"
)
_add_months(  # German
    "januar,jänner,jan;februar,feb;märz,maerz,mär,mrz;april,apr;mai;juni;juli;august,aug;"
    "september,sep,sept;oktober,okt;november,nov;dezember,dez"
)
_add_months(  # French
    "janvier,janv;février,fevr,févr;mars;avril,avr;mai;juin;juillet,juil;août,aout;"
    "septembre,sept;octobre,oct;novembre,nov;décembre,déc,dec"
)
_add_months(  # Dutch
    "januari,jan;februari,feb;maart,mrt;april,apr;mei;juni,jun;juli,jul;augustus,aug;"
    "september,sep,sept;oktober,okt;november,nov;december,dec"
)
_add_months(  # Spanish
    "enero,ene;febrero,feb;marzo,mar;abril,abr;mayo,may;junio,jun;julio,jul;agosto,ago;"
    "septiembre,setiembre,sep,sept;octubre,oct;noviembre,nov;diciembre,dic"
)
_add_months(  # Italian
    "gennaio,gen;febbraio,feb;marzo,mar;aprile,apr;maggio,mag;giugno,giu;luglio,lug;"
    "agosto,ago;settembre,set;ottobre,ott;novembre,nov;dicembre,dic"
)

_MONTH_ALT = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
_DAY = r"(?P<d>[0-3]?\d)(?:st|nd|rd|th|er|e|eme|o|º|°)?"
_YEAR = r"(?P<y>\d{4}|'?\d{2})"
_TEXT_DATE_DMY = re.compile(
    rf"(?<![\w]){_DAY}\.?\s*(?:de\s+|-|/|\.)?\s*(?P<m>{_MONTH_ALT})\.?,?\s*(?:de\s+|-|/)?\s*{_YEAR}(?!\d)"
)
_TEXT_DATE_MDY = re.compile(rf"(?<![\w])(?P<m>{_MONTH_ALT})\.?\s+{_DAY}\s?,?\s+{_YEAR}(?!\d)")
_ISO_DATE = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})[-/.](?P<m>[01]?\d)[-/.](?P<d>[0-3]?\d)(?!\d)")
_NUMERIC_DATE = re.compile(
    r"(?<![\d.,])(?P<a>[0-3]?\d)(?P<sep>[./-])(?P<b>[0-3]?\d)(?P=sep)(?P<y>\d{4}|\d{2})(?![\d]|[.,]\d)"
)
_COMPACT_DATE = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?!\d)")

DMY, MDY, YMD = "DMY", "MDY", "YMD"


def date_order_for(language: str | None) -> str:
    """The numeric date order a language or locale implies (``en_US`` is month-first)."""
    if not language:
        return DMY
    lang, _, country = language.replace("-", "_").partition("_")
    if lang.lower() == "en" and country.upper() in {"US", "PH"}:
        return MDY
    return DMY


def _year(raw: str) -> int:
    raw = raw.lstrip("'")
    value = int(raw)
    if len(raw) == 2:
        value += 2000 if value < 70 else 1900
    return value


def _make_date(y: int, m: int, d: int) -> date | None:
    if not 1900 <= y <= 2100:
        return None
    try:
        return date(y, m, d)
    except ValueError:
        return None


@dataclass(frozen=True)
class DateMatch:
    value: date
    start: int
    end: int
    ambiguous: bool  # a numeric day/month pair that the order hint decided


def find_dates(
    text: str, language: str | None = None, order_hint: str | None = None
) -> list[DateMatch]:
    """Every date in ``text``, in order, read in any of the supported formats.

    ``order_hint`` (``"DMY"``, ``"MDY"``) decides numeric dates such as ``03/04/2024``; without
    it the language decides (US English month-first, everything else day-first).
    """
    folded = fold(text)
    order = order_hint or date_order_for(language)
    found: list[DateMatch] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    for match in _ISO_DATE.finditer(folded):
        made = _make_date(int(match["y"]), int(match["m"]), int(match["d"]))
        if made and free(match.start(), match.end()):
            found.append(DateMatch(made, match.start(), match.end(), False))
            taken.append(match.span())
    for pattern in (_TEXT_DATE_DMY, _TEXT_DATE_MDY):
        for match in pattern.finditer(folded):
            month = _MONTHS.get(match["m"].rstrip("."))
            if month is None or not free(match.start(), match.end()):
                continue
            made = _make_date(_year(match["y"]), month, int(match["d"]))
            if made:
                found.append(DateMatch(made, match.start(), match.end(), False))
                taken.append(match.span())
    for match in _NUMERIC_DATE.finditer(folded):
        if not free(match.start(), match.end()):
            continue
        a, b, y = int(match["a"]), int(match["b"]), _year(match["y"])
        if match["sep"] == "." or a > 12:
            day, month, ambiguous = a, b, False  # dotted dates are day-first everywhere
            if a <= 12 and b <= 12 and match["sep"] != ".":
                ambiguous = True
        elif b > 12:
            day, month, ambiguous = b, a, False
        else:
            ambiguous = a != b
            day, month = (b, a) if order == MDY else (a, b)
        made = _make_date(y, month, day)
        if made:
            found.append(DateMatch(made, match.start(), match.end(), ambiguous))
            taken.append(match.span())
    for match in _COMPACT_DATE.finditer(folded):
        made = _make_date(int(match["y"]), int(match["m"]), int(match["d"]))
        if made and free(match.start(), match.end()):
            found.append(DateMatch(made, match.start(), match.end(), False))
            taken.append(match.span())
    found.sort(key=lambda item: item.start)
    return found


def infer_date_order(text: str) -> str | None:
    """``"DMY"`` or ``"MDY"`` when some numeric date in ``text`` can only be read one way."""
    votes = {DMY: 0, MDY: 0}
    for match in _NUMERIC_DATE.finditer(text):
        if match["sep"] == ".":
            votes[DMY] += 1
            continue
        a, b = int(match["a"]), int(match["b"])
        if a > 12 >= b:
            votes[DMY] += 1
        elif b > 12 >= a:
            votes[MDY] += 1
    if votes[DMY] == votes[MDY]:
        return None
    return DMY if votes[DMY] > votes[MDY] else MDY


def parse_date(
    text: str, language: str | None = None, order_hint: str | None = None
) -> date | None:
    """The first date in ``text`` (``4. März 2024``, ``12 janvier 2024``, ``03/04/2024``, ISO).

    For numeric dates with both parts ≤ 12 the order comes from ``order_hint``, else from
    ``language`` (``"en_US"`` month-first; other languages and plain ``"en"`` day-first).
    """
    if not text:
        return None
    found = find_dates(text, language=language, order_hint=order_hint)
    return found[0].value if found else None


# --- Payment terms -------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentTerms:
    net_days: int
    discount_percent: Decimal | None = None
    discount_days: int | None = None
    text: str = ""

    def due_date(self, issue_date: date) -> date:
        return issue_date + timedelta(days=self.net_days)

    def discount_date(self, issue_date: date) -> date | None:
        if self.discount_days is None:
            return None
        return issue_date + timedelta(days=self.discount_days)


_DAYS_WORD = r"(?:days?|tagen?|tg\.?|jours?|j\.?|dagen|dias|giorni|gg\.?)"
_NET_TERMS = [
    # "netto 1.420,00" is an amount after a "net" label, not a term of one day.
    re.compile(r"\bnet(?:to)?\s*(?P<n>\d{1,3})\b(?![.,]\d)(?:\s*" + _DAYS_WORD + r")?"),
    re.compile(r"\b(?P<n>\d{1,3})\s*" + _DAYS_WORD + r"\s*(?:net(?:to)?|rein|netto)\b"),
    re.compile(
        r"\b(?:payable|payment|due|zahlbar|zahlung|payable|paiement|a regler|betaling|te betalen|"
        r"pago|pagamento|pagabile|vencimiento|da pagare)\b[^.\n]{0,40}?"
        r"(?:within|in|innerhalb(?:\s+von)?|binnen|a|à|sous|dans les|entro|en|en un plazo de|"
        r"a\s+mas\s+tardar\s+en)\s+(?P<n>\d{1,3})\s*" + _DAYS_WORD
    ),
    re.compile(r"\b(?:binnen|innerhalb(?:\s+von)?|entro|within)\s+(?P<n>\d{1,3})\s*" + _DAYS_WORD),
    re.compile(r"(?:^|\s)a\s+(?P<n>\d{1,3})\s*(?:dias|jours)\b"),
    re.compile(
        r"\b(?P<n>\d{1,3})\s*"
        + _DAYS_WORD
        + r"\s*(?:fecha factura|date de facture|data fattura|d\.f\.)"
    ),
]
_DISCOUNT_SLASH = re.compile(
    r"\b(?P<p>\d{1,2}(?:[.,]\d+)?)\s*%?\s*/\s*(?P<d>\d{1,3})\s*,?\s*net(?:to)?\s*(?P<n>\d{1,3})\b"
)
_DISCOUNT_WORDS = re.compile(
    r"(?P<p>\d{1,2}(?:[.,]\d+)?)\s*%\s*(?:skonto|escompte|korting|descuento|sconto|discount)?"
    r"[^.\n%]{0,30}?(?:within|innerhalb(?:\s+von)?|bei zahlung (?:innerhalb|binnen)(?:\s+von)?|binnen|entro|"
    r"sous|a|à|en|in)?\s*(?P<d>\d{1,3})\s*" + _DAYS_WORD
)
_IMMEDIATE = re.compile(
    r"\b(?:due (?:up)?on receipt|payable (?:up)?on receipt|(?:zahlbar|fallig) sofort|"
    r"sofort (?:zahlbar|fallig)|ohne abzug sofort|a reception|des reception|payable immediatement|direct opeisbaar|"
    r"onmiddellijk|al contado|a la vista|a vista|immediatamente)\b"
)


def parse_payment_terms(text: str) -> PaymentTerms | None:
    """Read payment terms (``Net 30``, ``2/10 net 30``, ``zahlbar innerhalb von 14 Tagen``,
    ``payable à 30 jours``, ``binnen 30 dagen``, ``a 30 días``, ``entro 30 giorni``).

    Returns None when no term with a number of days is stated.
    """
    if not text:
        return None
    folded = fold(text)
    slash = _DISCOUNT_SLASH.search(folded)
    if slash:
        return PaymentTerms(
            net_days=int(slash["n"]),
            discount_percent=Decimal(slash["p"].replace(",", ".")),
            discount_days=int(slash["d"]),
            text=text.strip(),
        )
    net_days: int | None = None
    net_span: tuple[int, int] | None = None
    candidates = []
    for pattern in _NET_TERMS:
        for match in pattern.finditer(folded):
            candidates.append((int(match["n"]), match.span("n")))
    if candidates:
        # With a discount stated too ("2 % within 10 days, 30 days net") the longest term is net.
        net_days, net_span = max(candidates, key=lambda item: item[0])
    discount = None
    for match in _DISCOUNT_WORDS.finditer(folded):
        if net_span and match.span("d") == net_span:
            continue
        if "%" in folded[match.start() : match.end()]:
            discount = match
            break
    if net_days is None:
        if _IMMEDIATE.search(folded):
            return PaymentTerms(net_days=0, text=text.strip())
        return None
    if discount and int(discount["d"]) < net_days:
        return PaymentTerms(
            net_days=net_days,
            discount_percent=Decimal(discount["p"].replace(",", ".")),
            discount_days=int(discount["d"]),
            text=text.strip(),
        )
    return PaymentTerms(net_days=net_days, text=text.strip())


def due_date_from_terms(text: str, issue_date: date) -> date | None:
    """The due date that payment terms in ``text`` imply for an invoice issued ``issue_date``."""
    terms = parse_payment_terms(text)
    return terms.due_date(issue_date) if terms else None


# --- Labels --------------------------------------------------------------------------------

# Per field, label phrases in folded form (lower case, no accents), strongest first within a
# language. A phrase matches at word boundaries; "." and ":" in the printed label are optional.
LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "invoice_number": {
        "en": (
            "invoice number",
            "invoice no",
            "invoice num",
            "invoice #",
            "invoice nr",
            "invoice id",
            r"re:(?<![a-z])(?:tax |commercial |credit )?(?:invoice|note)(?:\s*\(\d{3}\))?\s*(?:no|nr|#)\.?",
            "inv no",
            "inv #",
            "bill number",
            "bill no",
            "document number",
            "invoice ref",
            "invoice reference",
            "credit memo number",
            "credit memo no",
            "credit memo #",
            "credit note number",
            "invoice",
        ),
        "de": (
            "rechnungsnummer",
            "rechnungsnr",
            "rechnungs-nr",
            "rechnung nr",
            "rechnung-nr",
            r"re:(?<![a-z])[a-z]*(?:rechnung|gutschrift|rechnungskorrektur)\b[^:\n]{0,45}?"
            r"\s(?:nr|no|nummer|#)\.?(?![a-z])",
            "rechnungs nr",
            "gutschriftsnummer",
            "gutschrift-nr",
            "re-nr",
            "belegnummer",
            "beleg-nr",
            "rechnung",
        ),
        "fr": (
            "numero de facture",
            "n° de facture",
            "no de facture",
            "n de facture",
            "facture n°",
            "facture no",
            "facture n",
            "n° facture",
            "facture numero",
            "facture #",
            "avoir n°",
            "avoir no",
            "numero d'avoir",
            "n° d'avoir",
            "facture",
        ),
        "nl": (
            "factuurnummer",
            "factuurnr",
            "factuur nummer",
            "factuur nr",
            "factuur #",
            "creditnotanummer",
            "creditnota nummer",
            "creditnota nr",
            "factuur",
        ),
        "es": (
            "numero de factura",
            "n° de factura",
            "nº de factura",
            "no de factura",
            "nº factura",
            "n° factura",
            "num factura",
            "factura n°",
            "factura nº",
            "factura no",
            "factura #",
            "abono n°",
            "abono nº",
            "numero de abono",
            "factura",
        ),
        "it": (
            "numero fattura",
            "numero documento",
            "fattura n°",
            "fattura nr",
            "fattura n",
            "n fattura",
            "fattura numero",
            "fattura #",
            "nota di credito n°",
            "nota di credito n",
            "numero nota di credito",
            "fattura",
        ),
    },
    "issue_date": {
        "en": (
            "invoice date",
            "date of invoice",
            "date of issue",
            "issue date",
            "date issued",
            "billing date",
            "invoice dated",
            "tax point",
            "date",
        ),
        "de": ("rechnungsdatum", "belegdatum", "ausstellungsdatum", "rechnungs-datum", "datum"),
        "fr": (
            "date de facture",
            "date de facturation",
            "date d'emission",
            "date de la facture",
            "date facture",
            "date",
        ),
        "nl": ("factuurdatum", "factuur datum", "datum factuur", "datum"),
        "es": (
            "fecha de factura",
            "fecha factura",
            "fecha de emision",
            "fecha de expedicion",
            "fecha",
        ),
        "it": ("data fattura", "data documento", "data di emissione", "data emissione", "data"),
    },
    "due_date": {
        "en": (
            "due date",
            "payment due",
            "date due",
            "due by",
            "pay by",
            "payable by",
            "due on",
            "payment due date",
            "please remit until",
            "remit until",
            "pay until",
            "payable until",
            "please pay by",
        ),
        "de": (
            "falligkeitsdatum",
            "falligkeitstag",
            "fallig am",
            "fallig bis",
            "zahlbar bis",
            "netto bis",
            "bitte bis zum",
            "bis spatestens",
            "falligkeit",
            "fallig",
            "bis zum",
            "zahlungsziel",
        ),
        "fr": (
            "date d'echeance",
            "date limite de paiement",
            "echeance",
            "a payer avant le",
            "payable avant le",
            "date limite",
        ),
        "nl": ("vervaldatum", "uiterste betaaldatum", "te betalen voor", "betalen voor"),
        "es": ("fecha de vencimiento", "fecha vencimiento", "vencimiento", "pagar antes de"),
        "it": ("data di scadenza", "data scadenza", "scadenza"),
    },
    "total_amount": {
        "en": (
            "total amount due",
            "amount due",
            "balance due",
            "total due",
            "due payable",
            "amount payable",
            "total payable",
            "please pay",
            "amount to pay",
            "grand total",
            "invoice total",
            "total amount",
            "total incl",
            "total including",
            "total (incl",
            "total",
        ),
        "de": (
            "zu zahlender betrag",
            "zu zahlender beitrag",
            "rechnungsbeitrag",
            "zahlbetrag",
            "zu zahlen",
            "rechnungsbetrag",
            "gesamtbetrag",
            "endbetrag",
            "gesamtsumme",
            "rechnungssumme",
            "bruttobetrag",
            "bruttosumme",
            "summe brutto",
            "gesamt brutto",
            "brutto",
            "gesamt",
            "summe",
            "total",
        ),
        "fr": (
            "net a payer",
            "montant a payer",
            "somme a payer",
            "total a payer",
            "total ttc",
            "montant ttc",
            "montant total",
            "total facture",
            "total",
        ),
        "nl": (
            "totaal te betalen",
            "te betalen",
            "openstaand bedrag",
            "totaalbedrag",
            "factuur totaal",
            "totaal incl",
            "totaal",
        ),
        "es": ("total a pagar", "importe total", "total factura", "importe a pagar", "total"),
        "it": (
            "totale da pagare",
            "netto a pagare",
            "totale documento",
            "totale fattura",
            "importo totale",
            "totale",
        ),
    },
    "net_amount": {
        "en": (
            "total net",
            "net total",
            "net amount",
            "subtotal",
            "sub-total",
            "sub total",
            "amount before tax",
            "total before tax",
            "total excl",
            "total excluding",
            "taxable amount",
            "total untaxed",
            "untaxed amount",
            "net",
        ),
        "de": (
            "rechnungssumme netto",
            "gesamtbeitrag",
            "rechnungssumme ohne ust",
            "summe ohne ust",
            "gesamtsumme netto",
            "summe netto",
            "gesamt netto",
            "nettobetrag",
            "nettosumme",
            "netto",
            "zwischensumme",
            "warenwert",
            "gesamtbetrag netto",
            "summe positionen",
            "positionssumme",
        ),
        "fr": (
            "total ht",
            "montant ht",
            "total hors taxes",
            "montant hors taxes",
            "sous-total",
            "sous total",
            "base ht",
        ),
        "nl": (
            "totaal excl",
            "exclusief btw",
            "excl btw",
            "subtotaal",
            "netto bedrag",
            "grondslag",
        ),
        "es": ("base imponible", "importe neto", "total sin iva", "subtotal"),
        "it": ("totale imponibile", "imponibile", "totale netto", "subtotale"),
    },
    "tax_amount": {
        "en": (
            "total vat",
            "vat total",
            "tax total",
            "vat amount",
            "total tax",
            "tax amount",
            "sales tax",
            "vat",
            "tax",
            "gst",
        ),
        "de": (
            "summe mwst",
            "versicherungsteuer",
            "versicherungssteuer",
            "mwst gesamt",
            "ust gesamt",
            "steuer gesamt",
            "mwst-betrag",
            "mwst betrag",
            "umsatzsteuer",
            "mehrwertsteuer",
            "mwst",
            "ust",
            "steuerbetrag",
            "steuer",
        ),
        "fr": ("montant tva", "total tva", "tva"),
        "nl": ("btw bedrag", "totaal btw", "btw"),
        "es": ("cuota iva", "total iva", "importe iva", "iva"),
        "it": ("totale iva", "importo iva", "imposta", "iva"),
    },
    "po_number": {
        "en": (
            "purchase order number",
            "purchase order no",
            "purchase order",
            "po number",
            "po no",
            "p.o. number",
            "p.o. no",
            "p.o.",
            "po #",
            "your order",
            "order reference",
            "customer po",
            "customer ref",
            "customer reference",
            "your ref",
            "your reference",
        ),
        "de": (
            "bestellnummer",
            "bestell-nr",
            "bestellnr",
            "ihre bestellung",
            "auftragsnummer",
            "ihre bestellnummer",
        ),
        "fr": (
            "bon de commande",
            "n° de commande",
            "numero de commande",
            "votre commande",
            "commande n°",
            "ref. commande",
            "reference commande",
            "votre reference",
        ),
        "nl": (
            "inkoopordernummer",
            "inkooporder",
            "uw ordernummer",
            "bestelnummer",
            "uw referentie",
            "uw bestelnummer",
            "uw kenmerk",
            "ordernummer",
            "po-nummer",
        ),
        "es": (
            "numero de pedido",
            "n° de pedido",
            "ref. pedido",
            "referencia pedido",
            "su pedido",
            "su referencia",
            "pedido",
            "orden de compra",
        ),
        "it": (
            "numero ordine",
            "ordine n",
            "vostro ordine",
            "vs. ordine",
            "rif. ordine",
            "riferimento ordine",
            "ordine d'acquisto",
            "ordine cliente",
        ),
    },
    "vendor_tax_id": {
        "en": (
            "vat registration number",
            "vat reg no",
            "vat number",
            "vat no",
            "vat id",
            "vat reg",
            "tax id",
            "tax number",
            "vat",
            "gstin",
            "abn",
            "employer identification number",
            "federal tax id",
            "federal ein",
            "fein",
            "ein",
        ),
        "de": (
            "umsatzsteuer-identifikationsnummer",
            "ust-identnummer",
            "ust-idnr",
            "ust-id-nr",
            "ust-id",
            "ustid",
            "ust id",
            "ust.-id",
            "steuernummer",
            "steuer-nr",
            "st.-nr",
        ),
        "fr": ("tva intracommunautaire", "n° de tva", "numero de tva", "n° tva", "tva"),
        "nl": ("btw-nummer", "btw nummer", "btw-nr", "btw nr", "btw-id", "btw"),
        "es": ("nif", "cif", "n.i.f", "c.i.f", "numero de iva"),
        "it": ("partita iva", "p.iva", "p. iva", "p iva", "codice fiscale"),
    },
    "vendor_iban": {lang: ("iban",) for lang in LANGUAGES},
    "vendor_bic": {
        lang: ("bic", "swift", "swift/bic", "bic/swift", "swift code") for lang in LANGUAGES
    },
    "payment_terms": {
        "en": ("payment terms", "terms of payment", "terms"),
        "de": ("zahlungsbedingungen", "zahlungsbedingung", "zahlungsziel"),
        "fr": ("conditions de paiement", "conditions de reglement", "modalites de paiement"),
        "nl": ("betalingsvoorwaarden", "betalingstermijn", "betaalvoorwaarden"),
        "es": ("condiciones de pago", "forma de pago", "plazo de pago"),
        "it": ("condizioni di pagamento", "termini di pagamento", "modalita di pagamento"),
    },
}

# Words that name the document itself; an invoice number printed right after one of them
# ("Facture 2025/31692", "Invoice 25-50308 - continued") is a second print of that number.
DOCUMENT_WORDS: tuple[str, ...] = (
    "invoice",
    "tax invoice",
    "rechnung",
    "facture",
    "factuur",
    "factura",
    "fattura",
    "gutschrift",
    "avoir",
    "credit note",
    "creditnota",
    "nota de credito",
    "nota di credito",
)

# Where a payer is asked to quote the invoice number with the transfer.
PAYMENT_REFERENCE_MARKERS: tuple[str, ...] = (
    "payment reference",
    "please quote",
    "verwendungszweck",
    "zahlungsreferenz",
    "reference de paiement",
    "communication",
    "betalingskenmerk",
    "referencia de pago",
    "causale",
)

# A credit note names the invoice it corrects; that number is not the document's own.
ORIGINAL_INVOICE_MARKERS: tuple[str, ...] = (
    "original invoice",
    "related invoice",
    "corrected invoice",
    "facture d'origine",
    "facture initiale",
    "ursprungsrechnung",
    "ursprungliche rechnung",
    "originalrechnung",
    "zu rechnung",
    "oorspronkelijke factuur",
    "originele factuur",
    "factura original",
    "factura rectificada",
    "fattura originale",
    "fattura di riferimento",
    "fattura originaria",
    "rif. fattura",
    "rif fattura",
    "riferimento fattura",
)

# Labels that look like a total but never are the amount owed.
NOT_TOTAL_LABELS: tuple[str, ...] = (
    "subtotal",
    "sub-total",
    "sub total",
    "zwischensumme",
    "sous-total",
    "sous total",
    "subtotaal",
    "subtotale",
    "previous balance",
    "balance forward",
    "opening balance",
    "vorheriger saldo",
    "alter saldo",
    "saldo vortrag",
    "solde precedent",
    "vorig saldo",
    "saldo anterior",
    "saldo precedente",
    "amount paid",
    "total paid",
    "paid",
    "payment received",
    "payments",
    "bezahlt",
    "gezahlt",
    "erhaltene anzahlung",
    "anzahlung",
    "deja regle",
    "deja paye",
    "acompte",
    "betaald",
    "reeds betaald",
    "pagado",
    "pagato",
    "deposit",
    "total net",
    "net total",
    "netto",
    "total ht",
    "montant ht",
    "total excl",
    "exclusief",
    "excl btw",
    "ohne mwst",
    "base imponible",
    "imponibile",
    "ohne ust",
    "ohne mwst",
    "zuschlage",
    "abschlage",
    "total tax",
    "total vat",
    "total tva",
    "totaal btw",
    "total iva",
    "totale iva",
    "summe mwst",
    "tax total",
    "untaxed",
    "hors taxes",
)

# Markers of the buyer's block ("bill to") or the buyer's own identifiers ("your VAT number").
BUYER_MARKERS: tuple[str, ...] = (
    "bill to",
    "billed to",
    "billing address",
    "invoice to",
    "invoiced to",
    "sold to",
    "ship to",
    "shipping address",
    "deliver to",
    "delivery address",
    "customer",
    "client",
    "buyer",
    "purchaser",
    "accounts payable",
    "kreditorenbuchhaltung",
    "crediteurenadministratie",
    "comptabilite fournisseurs",
    "cuentas a pagar",
    "contabilita fornitori",
    # The accounts-payable department with the word for "department" before it, so that
    # the marker opens its line: "Service comptabilité fournisseurs", "Dpto. de cuentas a
    # pagar", "Ufficio contabilità fornitori", "Afdeling crediteurenadministratie".
    "service comptabilite fournisseurs",
    "dpto. de cuentas a pagar",
    "departamento de cuentas a pagar",
    "ufficio contabilita fornitori",
    "afdeling crediteurenadministratie",
    "abteilung kreditorenbuchhaltung",
    "your vat",
    "customer vat",
    "recipient",
    "rechnungsempfanger",
    "rechnungsadresse",
    "lieferadresse",
    "leistungsempfanger",
    "kaufer",
    "auftraggeber",
    "kunde",
    "ihre ust",
    "ihre umsatzsteuer",
    "empfanger",
    "facture a",
    "facturer a",
    "adresse de facturation",
    "adresse de livraison",
    "destinataire",
    "acheteur",
    "votre tva",
    "votre n° tva",
    "votre numero de tva",
    "abonne",
    "factuuradres",
    "afleveradres",
    "leveradres",
    "klant",
    "koper",
    "afnemer",
    "uw btw",
    "btw klant",
    "debiteur",
    "facturar a",
    "comprador",
    "cliente",
    "destinatario",
    "direccion de facturacion",
    "su nif",
    "fatturare a",
    "acquirente",
    "committente",
    "intestatario",
    "vostra partita iva",
    "customer details",
    "kundendaten",
    "donnees client",
    "klantgegevens",
    "datos del cliente",
    "datos cliente",
    "dati del cliente",
    "dati cliente",
)

# Headers of the seller's block: an identifier under one of them is the vendor's.
SELLER_MARKERS: tuple[str, ...] = (
    "seller",
    "supplier",
    "vendor",
    "sold by",
    "issued by",
    "verkaufer",
    "lieferant",
    "rechnungssteller",
    "rechnungsersteller",
    "leistungserbringer",
    "vendeur",
    "fournisseur",
    "emetteur",
    "prestataire",
    "verkoper",
    "leverancier",
    "proveedor",
    "vendedor",
    "emisor",
    "fornitore",
    "cedente",
    "venditore",
    "prestatore",
)

# Markers of the payment section, where an IBAN is the vendor's.
PAYMENT_MARKERS: tuple[str, ...] = (
    "bank details",
    "bank account",
    "payment details",
    "remit to",
    "please transfer",
    "pay to",
    "bankverbindung",
    "bankdaten",
    "zahlungsempfanger",
    "uberweisung",
    "coordonnees bancaires",
    "rib",
    "bankgegevens",
    "rekeningnummer",
    "datos bancarios",
    "coordinate bancarie",
)

# Buyer markers that lost their first letter at the edge of a column OCR cut ("hre USt-IdNr."
# for "Ihre USt-IdNr."): only phrases long enough that the rest is still no other word.
TRUNCATED_BUYER_MARKERS: tuple[str, ...] = tuple(m[1:] for m in BUYER_MARKERS if len(m) >= 7)

# Words that say the IBAN is the one the vendor will debit (the buyer's), not the payee's.
DEBIT_MARKERS: tuple[str, ...] = (
    "direct debit",
    "will be debited",
    "lastschrift",
    "abgebucht",
    "eingezogen",
    "von ihrem konto",
    "prelevement",
    "preleve",
    "incasso",
    "domiciliering",
    "domiciliacion",
    "adeudo",
    "addebito",
    "your account",
    "ihr konto",
    "votre compte",
    "uw rekening",
)

CREDIT_NOTE_WORDS: tuple[str, ...] = (
    "credit note",
    "credit memo",
    "gutschrift",
    "avoir",
    "note de credit",
    "creditnota",
    "creditfactuur",
    "nota de credito",
    "factura rectificativa",
    "nota di credito",
)


# Between the words of a label: separators, and a currency that some layouts put there
# ("Montant EUR HT", "Total € TTC").
_LABEL_GAP = r"[\s\-_.]*(?:(?:eur|usd|gbp|chf|€|\$|£)(?![a-z])[\s\-_.]*)?"


def _label_regex(phrase: str) -> str:
    if phrase.startswith("re:"):
        return phrase[3:]
    parts = []
    for ch in phrase:
        if ch == " ":
            parts.append(_LABEL_GAP)
        elif ch in ".":
            parts.append(r"\.?")
        elif ch == "°":
            # OCR reads a raised "º" as "2" or "9" ("Factura n2: A2025/38330"), or as "®"
            # with or without such a digit ("n®2:"); the digit only before ":" or ".", or
            # before a word or the end of the line as in a column header ("Factura n2  Fecha
            # de emisión"), so that "n 2" and "n2 2025/17" keep their numbers.
            parts.append(r"(?:®?[29](?=[:.]|\s+[^\W\d]|\s*$)|[°ºo.®])?")
        elif ch == "-":
            parts.append(r"[\s\-]?")
        else:
            parts.append(re.escape(ch))
    if phrase[0].isalnum():
        # Not inside a word: the character before the first letter is no letter or digit. The
        # check follows that letter ("r(?<![a-z0-9_]r)echnung") instead of opening the pattern,
        # so that the regex engine can skip along the line to the letters a label can start
        # with; a leading look-behind makes it try every label at every position (a third of
        # the text layer's CPU went there).
        parts[0] += rf"(?<![a-z0-9_]{parts[0]})"
    body = "".join(parts)
    lead = ""
    if phrase[-1].isalnum():
        tail = r"(?![a-z_])"
    elif phrase[-1] == "." and len(phrase) > 1 and phrase[-2].isalnum():
        # The final dot is optional, so without it the phrase must still end a word: "p.o."
        # is not the start of "Porto".
        tail = r"(?:(?<=\.)|(?![a-z_]))"
    else:
        tail = ""
    return lead + body + tail


@dataclass(frozen=True)
class LabelMatch:
    field: str
    language: str
    phrase: str
    rank: int  # 0 = the strongest phrase of its language
    start: int
    end: int

    @property
    def strength(self) -> float:
        """1.0 for a specific label, down to ~0.6 for generic words such as "Total" or "Date"."""
        generic = len(self.phrase) <= 5 or " " not in self.phrase and self.phrase in _GENERIC
        return 0.65 if generic else max(0.8, 1.0 - 0.02 * self.rank)


GENERIC_LABELS = _GENERIC = frozenset(
    {
        "date",
        "datum",
        "data",
        "fecha",
        "total",
        "totale",
        "totaal",
        "gesamt",
        "summe",
        "invoice",
        "rechnung",
        "facture",
        "factuur",
        "factura",
        "fattura",
        "net",
        "netto",
        "brutto",
        "tax",
        "vat",
        "steuer",
        "terms",
    }
)

_COMPILED: dict[str, list[tuple[str, str, int, re.Pattern[str]]]] = {}
_ANY_LABEL: dict[str, re.Pattern[str]] = {}


@cache
def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(_label_regex(phrase))


@cache
def _any_phrase(phrases: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{_label_regex(p)})" for p in phrases))


def _compiled(field: str) -> list[tuple[str, str, int, re.Pattern[str]]]:
    if field not in _COMPILED:
        entries = []
        for lang, phrases in LABELS[field].items():
            for rank, phrase in enumerate(phrases):
                entries.append((lang, phrase, rank, re.compile(_label_regex(phrase))))
        # Longest phrases first so "invoice date" wins over "date" at the same position.
        entries.sort(key=lambda entry: -len(entry[1]))
        _COMPILED[field] = entries
        _ANY_LABEL[field] = re.compile("|".join(f"(?:{e[3].pattern})" for e in entries))
    return _COMPILED[field]


def fold_in_place(text: str) -> str:
    """``fold(text)`` with every character at its position in ``text``."""
    folded = fold(text)
    if len(folded) != len(text):
        folded = "".join(fold(ch)[:1] or " " for ch in text)
    return folded


def find_labels(
    text: str, field: str, language: str | None = None, *, folded: str | None = None
) -> list[LabelMatch]:
    """Label phrases for ``field`` in ``text`` (folded positions equal ``text`` positions).

    Overlapping matches keep the longest phrase. Phrases of ``language`` come first, but other
    languages still match: invoices mix languages (a German vendor's "Invoice No"). A caller
    that searches one text for several fields passes ``fold_in_place(text)`` as ``folded``.
    """
    folded = fold_in_place(text) if folded is None else folded
    entries = _compiled(field)
    if not _ANY_LABEL[field].search(folded):
        return []
    matches: list[LabelMatch] = []
    for lang, phrase, rank, pattern in entries:
        for match in pattern.finditer(folded):
            start, end = match.span()
            if any(not (end <= m.start or start >= m.end) for m in matches):
                continue
            matches.append(LabelMatch(field, lang, phrase, rank, start, end))
    matches.sort(key=lambda m: (m.start, 0 if m.language == language else 1))
    return matches


def contains_any(text: str, phrases: tuple[str, ...]) -> str | None:
    """The first of ``phrases`` found in ``text`` at word boundaries, else None."""
    folded = fold(text)
    if not _any_phrase(tuple(phrases)).search(folded):
        return None
    for phrase in phrases:
        if _phrase_pattern(phrase).search(folded):
            return phrase
    return None


def first_phrase_at(text: str, phrases: tuple[str, ...]) -> int | None:
    """The position of the earliest of ``phrases`` in ``text`` (word boundaries), else None."""
    match = _any_phrase(tuple(phrases)).search(fold(text))
    return match.start() if match else None


# --- Identifiers ---------------------------------------------------------------------------

# Printed groups are usually of four, but French RIB-style grouping ("FR76 10107 00245 ...")
# exists; the caller shortens a match group by group until the checksum holds.
IBAN_PATTERN = re.compile(r"\b([A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{1,5}){2,9})\b")
VAT_PATTERN = re.compile(
    r"\b((?:AT\s?U|BE\s?0?|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|GB|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|"
    r"SI|SK|CHE|XI)[\s.\-]?[0-9A-Z][0-9A-Z\s.\-]{6,16}[0-9A-Z])\b"
)
# OCR reads of an IBAN: letters and digits that Tesseract confuses are allowed anywhere.
OCR_IBAN_PATTERN = re.compile(r"\b([A-Za-z5801]{2}[0-9OSIlBZG]{2}(?:[ ]?[A-Za-z0-9]{1,5}){2,9})\b")
_TO_DIGIT = str.maketrans(
    {
        "O": "0",
        "o": "0",
        "D": "0",
        "S": "5",
        "s": "5",
        "I": "1",
        "l": "1",
        "i": "1",
        "B": "8",
        "Z": "2",
        "z": "2",
        "G": "6",
    }
)
_TO_LETTER = str.maketrans({"0": "O", "5": "S", "1": "I", "8": "B", "2": "Z", "6": "G"})
_CONFUSABLE = {
    "O": "0",
    "0": "O",
    "S": "5",
    "5": "S",
    "I": "1",
    "1": "I",
    "B": "8",
    "8": "B",
    "Z": "2",
    "2": "Z",
    "G": "6",
    "6": "G",
}


def repair_ocr_iban(raw: str) -> str | None:
    """The one valid IBAN within a character confusion of an OCR read, else None.

    Country letters and check digits are mapped by position; then every single confusable
    swap in the rest is tried. Two or more valid variants mean the read is ambiguous: None.
    """
    compact = re.sub(r"\s", "", raw)
    if len(compact) < 15:
        return None
    fixed = (
        compact[:2].translate(_TO_LETTER).upper()
        + compact[2:4].translate(_TO_DIGIT)
        + compact[4:].upper()
    )
    valid = normalize_iban(fixed)
    if valid:
        return valid
    found = set()
    for index in range(4, len(fixed)):
        swap = _CONFUSABLE.get(fixed[index])
        if swap:
            candidate = normalize_iban(fixed[:index] + swap + fixed[index + 1 :])
            if candidate:
                found.add(candidate)
    return found.pop() if len(found) == 1 else None


BIC_PATTERN = re.compile(r"\b([A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?)\b")


# Checksum validation lives in one place (``identifiers``); re-exported for the layout code.
normalize_iban = identifiers.normalize_iban
iban_from_ocr = identifiers.iban_from_ocr
iban_shaped = identifiers.iban_shaped
normalize_tax_id = identifiers.normalize_tax_id
normalize_bic = identifiers.normalize_bic
