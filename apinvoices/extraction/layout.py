"""Page layout: positioned words grouped into lines, and invoice fields read from them.

Both the PDF text layer (``pdftext.py``) and OCR (``ocr.py``) produce :class:`Word` objects in
PDF points from the top-left corner of the page; :func:`extract_invoice` turns the words of
all pages into an :class:`~apinvoices.extraction.types.ExtractedInvoice`. Keeping one field
logic for both sources means a fix for one helps the other, and OCR confidence only scales
the result instead of changing the rules.

Confidence scale (measured on the corpus, see the tests): ≥ 0.9 only for values backed by
independent evidence (checksum-valid IBAN / VAT ID, net + tax = total, an explicit specific
label); 0.7–0.9 for a specific label match; ≤ 0.6 for heuristics without a label.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from apinvoices.extraction import fields as F
from apinvoices.extraction.types import BBox, ExtractedInvoice, ExtractedLine, FieldValue, Source

# --- Words and lines -----------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    page: int  # 1-based
    conf: float = 1.0  # 0..1; OCR word confidence, 1.0 for a text layer

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 0.1)


@dataclass
class Line:
    page: int
    words: list[Word]
    text: str = ""
    spans: list[tuple[int, int]] = field(default_factory=list)  # char span of each word
    # ``segments()`` once worked out: the rules look at a line's segments ~6 times.
    _segments: list[Line] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.words.sort(key=lambda w: w.x0)
        parts, spans, pos = [], [], 0
        for word in self.words:
            spans.append((pos, pos + len(word.text)))
            parts.append(word.text)
            pos += len(word.text) + 1
        self.text = " ".join(parts)
        self.spans = spans

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def x0(self) -> float:
        return self.words[0].x0

    @property
    def x1(self) -> float:
        return max(w.x1 for w in self.words)

    @property
    def height(self) -> float:
        # A stray ":" or "." that OCR boxes at a fraction of the text's height would halve the
        # median of a two-word line; letters and digits give the line's size.
        sized = [w.height for w in self.words if any(ch.isalnum() for ch in w.text)]
        return statistics.median(sized or [w.height for w in self.words])

    def slice(self, start: int, end: int) -> Line | None:
        """The part of the line between two char offsets; a word cut by a boundary is split
        with x positions estimated in proportion to its characters."""
        pieces = []
        for word, (s, e) in zip(self.words, self.spans):
            lo, hi = max(s, start), min(e, end)
            if lo >= hi:
                continue
            if lo == s and hi == e:
                pieces.append(word)
                continue
            per_char = (word.x1 - word.x0) / max(len(word.text), 1)
            text = word.text[lo - s : hi - s]
            if not text.strip():
                continue
            pieces.append(
                Word(
                    text,
                    word.x0 + per_char * (lo - s),
                    word.top,
                    word.x0 + per_char * (hi - s),
                    word.bottom,
                    word.page,
                    word.conf,
                )
            )
        return Line(self.page, pieces) if pieces else None

    def words_in(self, start: int, end: int) -> list[Word]:
        return [w for w, (s, e) in zip(self.words, self.spans) if s < end and e > start]

    def segments(self) -> list[Line]:
        """The line split at wide horizontal gaps (columns, label/value pairs set apart)."""
        if self._segments is None:
            groups: list[list[Word]] = [[self.words[0]]]
            for prev, word in zip(self.words, self.words[1:]):
                gap = word.x0 - prev.x1
                if gap > 1.6 * min(prev.height, word.height):
                    groups.append([word])
                else:
                    groups[-1].append(word)
            self._segments = [Line(self.page, group) for group in groups]
        return list(self._segments)


@dataclass
class Page:
    number: int  # 1-based
    width: float
    height: float
    words: list[Word]
    lines: list[Line] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.lines:
            self.lines = group_lines(self.words)


def group_lines(words: list[Word]) -> list[Line]:
    """Words of one page grouped into visual lines, top to bottom.

    A word joins a line when it overlaps the line's vertical band by at least half of the
    smaller height: robust to mixed font sizes and the slight baseline drift of OCR.
    """
    lines: list[list[Word]] = []
    bands: list[tuple[float, float]] = []
    for word in sorted(words, key=lambda w: (w.top, w.x0)):
        if not word.text.strip():
            continue
        placed = False
        for index in range(len(lines) - 1, max(len(lines) - 4, -1), -1):
            top, bottom = bands[index]
            overlap = min(bottom, word.bottom) - max(top, word.top)
            if overlap >= 0.5 * min(bottom - top, word.height):
                # Against words of similar size only: a tall heading must not pull two text
                # lines beside it into one.
                similar = [w for w in lines[index] if 0.7 <= w.height / word.height <= 1.43]
                if similar and all(
                    min(w.bottom, word.bottom) - max(w.top, word.top) < 0.5 * word.height
                    for w in similar
                ):
                    continue
                lines[index].append(word)
                placed = True
                break
        if not placed:
            lines.append([word])
            bands.append((word.top, word.bottom))
    result = [Line(words[0].page, _merge_touching(group)) for group in lines]
    result.sort(key=lambda line: (line.top, line.x0))
    return result


def _joined(prev: Word, word: Word) -> Word:
    """One word of ``prev`` and the ``word`` right after it on its line, spanning both."""
    return Word(
        prev.text + word.text,
        prev.x0,
        min(prev.top, word.top),
        word.x1,
        max(prev.bottom, word.bottom),
        prev.page,
        min(prev.conf, word.conf),
    )


def _merge_touching(words: list[Word]) -> list[Word]:
    """Join pieces of one word that a PDF drew separately ("F" + "actuurnummer:"): a real
    space is at least ~0.2 of the font height wide, these gaps are almost nil."""
    merged: list[Word] = []
    for word in sorted(words, key=lambda w: w.x0):
        prev = merged[-1] if merged else None
        if prev is not None and 0 <= word.x0 - prev.x1 < 0.08 * min(prev.height, word.height):
            merged[-1] = _joined(prev, word)
        else:
            merged.append(word)
    return merged


def bbox_of(words: list[Word]) -> BBox | None:
    if not words:
        return None
    return BBox(
        min(w.x0 for w in words),
        min(w.top for w in words),
        max(w.x1 for w in words),
        max(w.bottom for w in words),
    )


# --- Candidates ----------------------------------------------------------------------------


@dataclass
class Candidate:
    field: str
    value: object
    score: float
    words: list[Word]
    label: str = ""
    phrase: str = ""  # the label phrase that matched (for tie-breaking)
    page: int = 1
    top: float = 0.0
    checksum: bool = False
    ambiguous: bool = False  # a numeric date whose day/month order nothing on the page fixed
    rivals: int = 0  # other values of the same field found with a comparable score

    @property
    def ocr_conf(self) -> float:
        return min((w.conf for w in self.words), default=1.0)


_AMOUNT_IN_TEXT = re.compile(
    r"(?<![\w.,/])[-−(]?\s?(?:[€$£₹]|US\$|Rs\.?|EUR|USD|GBP|CHF|INR)?\s?"
    r"(?:\d{1,3}(?:[ .,'’\u00a0\u202f]\d{3})+|\d+)(?:[.,]\d{1,2})?"
    r"(?:\s?[-)])?(?:\s?(?:[€$£₹]|EUR|USD|GBP|CHF|INR))?(?![\w%/]|[.,]\d|\s?%)"
)
_CURRENCY_OR_RATE = re.compile(
    r"\b(?:EUR|USD|GBP|CHF|INR|incl|excl|inkl|zzgl|on|of|auf|sur|op|su|sobre)\b\.?|"
    r"\d+(?:[.,]\d+)?\s?%|[€$£₹]",
    re.IGNORECASE,
)
_VALUE_FILLER = re.compile(
    r"^(?:[\s:#.\-–/]|n°|nº|no\.?|nr\.?|num\.?|number|nummer|numero|número|id|du|del|vom|of|"
    r"de|van|le|on|am)+(?=\S)",
    re.IGNORECASE,
)


def amounts_in(
    line: Line, start: int, decimal_hint: str | None
) -> list[tuple[Decimal, list[Word], bool]]:
    """Money amounts in ``line`` after char ``start``: (value, words, has_decimals)."""
    found = []
    date_spans = [(d.start, d.end) for d in F.find_dates(line.text)]
    for match in _AMOUNT_IN_TEXT.finditer(line.text, start):
        raw = match.group(0).strip()
        if not re.search(r"\d", raw):
            continue
        if any(match.start() < e and match.end() > s for s, e in date_spans):
            continue
        value = F.parse_amount(raw, decimal_hint)
        if value is None:
            continue
        digits = re.sub(r"[^\d.,]", "", raw)
        has_decimals = bool(re.search(r"[.,]\d{1,2}$", digits))
        found.append((value, line.words_in(match.start(), match.end()), has_decimals))
    return found


def _rest_after(line: Line, end: int) -> int:
    """Char position after a label end, skipping separators such as ':' or '#'."""
    rest = line.text[end:]
    stripped = re.sub(r"^(?:[\s:#.]|[-–](?!\d))+", "", rest)  # keep the sign of "-7,67"
    return end + len(rest) - len(stripped)


# OCR boxes a word by its ink, about the cap height (~0.7 em) for a label in capitals, where a
# text layer's box is the font's whole em: the same gap is that much larger in OCR heights.
_OCR_HEIGHT_RATIO = 0.7


def _below(
    page: Page, line: Line, words: list[Word], max_lines: int = 2, *, ocr: bool = False
) -> list[Line]:
    """Segments directly under ``words`` (horizontally overlapping) on the next lines."""
    x0 = min(w.x0 for w in words) - 4
    x1 = max(w.x1 for w in words) + 4
    index = _line_index(page, line)
    result = []
    reach = 1.6 / _OCR_HEIGHT_RATIO if ocr else 1.6
    for nxt in page.lines[index + 1 : index + 1 + max_lines * 2]:
        # The value sits right under its header: a gap of more than ~1.5 lines of the value's
        # size means the text below belongs to something else (a big title's "factuur").
        if nxt.top - line.bottom > reach * min(line.height, nxt.height) * (len(result) + 1):
            break
        under = [segment for segment in nxt.segments() if segment.x1 >= x0 and segment.x0 <= x1]
        if not under:
            continue
        result.append(under[0])
        if len(result) >= max_lines:
            break
    return result


def _beside(
    page: Page, line: Line, label_words: list[Word], *, reach: float = 4.0, overlap: float = 0.5
) -> Line | None:
    """The value printed right of a label that ends its line but was grouped into the line
    above or below: a taller value, or a scan's slightly slanted row, overlaps the label's
    band but started a line of its own ("London  CN-TC-2025-40532" over "Credit Note No.:").
    Only words that start within ``reach`` label heights of the label's end and overlap
    ``overlap`` of its height count, up to the next column-sized gap; of two neighbouring
    lines the one overlapping more wins."""
    if not label_words:
        return None
    x1 = label_words[-1].x1
    top = min(w.top for w in label_words)
    bottom = max(w.bottom for w in label_words)
    size = bottom - top
    index = _line_index(page, line)
    best: tuple[float, Line] | None = None
    for other in page.lines[max(0, index - 1) : index + 2]:
        if other is line:
            continue
        right = sorted(
            (
                w
                for w in other.words
                if x1 - 1 <= w.x0 <= x1 + reach * size
                and min(w.bottom, bottom) - max(w.top, top) >= overlap * min(size, w.height)
            ),
            key=lambda w: w.x0,
        )
        if not right:
            continue
        run = [right[0]]
        for word in other.words:
            if word.x0 > run[-1].x0 and word.x0 - run[-1].x1 <= 1.6 * size:
                run.append(word)
            elif word.x0 > run[-1].x1 + 1.6 * size:
                break
        shared = min(right[0].bottom, bottom) - max(right[0].top, top)
        if best is None or shared > best[0]:
            best = (shared, Line(page.number, run))
    return best[1] if best else None


# --- The extraction ------------------------------------------------------------------------

_LEGAL_FORMS = re.compile(
    # "SA" (société anonyme) but not a state before its postcode ("Adelaide SA 5000").
    r"\b(?:AG|KG|OHG|e\.K\.|UG|AB|Oy|GbR|LLP|PLC|plc|SAS|SA(?!\s*\d)|SpA|Srl|"
    r"(?i:GmbH|B\.V\.|BV|N\.V\.|Ltd\.?|Limited|LLC|Inc\.?|Corp\.?|SARL|S\.A\.S?\.?|S\.L\.?(?:U\.?)?|"
    r"S\.p\.A\.?|S\.r\.l\.?|Pvt))(?![\w])"
)
_HEADER_WORDS = {
    "description": (
        "description",
        "beschreibung",
        "bezeichnung",
        "artikel",
        "omschrijving",
        "designation",
        "libelle",
        "descripcion",
        "descrizione",
        "concepto",
        "item",
        "product",
        "produkt",
        "article",
        "leistung",
        "title",
    ),
    "quantity": (
        "quantity",
        "qty",
        "menge",
        "anzahl",
        "aantal",
        "quantite",
        "qte",
        "cantidad",
        "quantita",
        "qta",
        "hoeveelheid",
        "nombre",
        "units",
        "stuks",
        "anz",
        "unidades",
        "cant",
        "q.ta",
    ),
    "position": ("pos", "position", "nr", "no", "#", "lfd nr", "n°", "nº", "lin", "linea", "riga"),
    # The unit of measure: only a column boundary, so quantity and description stay apart.
    "unit": ("unit", "unite", "ud", "u.m", "um", "me", "eenheid", "einheit", "unidad", "unita", "uom"),
    # The VAT rate of a line: also only a boundary ("Menge Produkt USt. Preis Gesamtbetrag").
    "tax_rate": ("ust", "mwst", "vat", "vat %", "tva", "btw", "iva", "steuersatz", "ust %", "mwst %"),
    "unit_price": (
        "unit price",
        "e-preis",
        "precio unit",
        "prezzo unit",
        "p.u. ht",
        "pu ht",
        "prix unit",
        "stukprijs",
        "price",
        "preis",
        "einzelpreis",
        "prix unitaire",
        "p.u.",
        "prix",
        "prijs",
        "precio",
        "prezzo",
        "rate",
        "vk-preis",
        "stuckpreis",
        "prijs per stuk",
        "nettopreis",
    ),
    "amount": (
        "amount",
        "line total",
        "total",
        "betrag",
        "gesamtpreis",
        "gesamt",
        "montant",
        "bedrag",
        "importe",
        "importo",
        "zeilenbetrag",
        "totaal",
        "prijs incl",
        "net",
        "net amount",
        "montant ht",
        "importe neto",
        "gesamtbetrag",
        "nettobetrag",
        "summe",
    ),
}
_AMOUNT_FIELDS = ("total_amount", "net_amount", "tax_amount")
_ID_FIELDS = ("invoice_number", "po_number")
_DATE_FIELDS = ("issue_date", "due_date")


@dataclass
class _Context:
    pages: list[Page]
    language: str | None
    decimal_hint: str | None
    date_order: str | None
    buyer_boxes: list[tuple[int, BBox]]
    ocr: bool = False


def extract_invoice(pages: list[Page], *, source: Source, kind: str) -> ExtractedInvoice:
    """Read the header fields and lines of an invoice from positioned words.

    Guarantees: every returned field has a value of the right type (Decimal amounts, ``date``
    dates, upper-case currency code, compact IBAN/VAT ID), ``source``, a 1-based page and a
    bbox in PDF points; a field that cannot be found is absent, never guessed at 0.
    """
    if source == "ocr":
        pages = [_join_split_decimals(_mend_label_words(page)) for page in pages]
    text = "\n".join(line.text for page in pages for line in page.lines)
    language = F.detect_language(text)
    decimal_hint = F.detect_decimal_separator(text) or F.decimal_separator_for(language)
    currency = F.detect_currency(text)
    date_order = F.infer_date_order(text)
    if date_order is None and language == "en" and currency and currency[0] == "USD":
        date_order = F.MDY
    ctx = _Context(
        pages, language, decimal_hint, date_order, _buyer_boxes(pages), ocr=source == "ocr"
    )
    candidates = _label_candidates(ctx)
    candidates += _table_total_candidates(ctx)

    invoice = ExtractedInvoice(kind=kind, page_count=len(pages), text=text)  # type: ignore[arg-type]
    chosen: dict[str, Candidate] = {}
    for name in _ID_FIELDS + _DATE_FIELDS + ("payment_terms",):
        best = _best(candidates, name)
        if best:
            chosen[name] = best
    _one_print_one_date(candidates, chosen)
    unlabelled_issue = None
    if "issue_date" not in chosen:
        unlabelled_issue = _issue_date_fallback(ctx)
        if unlabelled_issue:
            chosen["issue_date"] = unlabelled_issue
    if (
        "due_date" in chosen
        and "issue_date" in chosen
        and chosen["due_date"].value < chosen["issue_date"].value  # type: ignore[operator]
    ):
        chosen["due_date"].score *= 0.6
    if "due_date" not in chosen:
        debit = _debit_date(ctx)
        if debit:
            chosen["due_date"] = debit
    chosen.update(_choose_amounts(candidates))
    _tax_from_rate_rows(ctx, chosen)
    terms = _payment_terms(ctx, chosen.get("payment_terms"))
    if terms is not None:
        chosen["payment_terms"] = terms
        if "due_date" not in chosen and "issue_date" in chosen:
            parsed = F.parse_payment_terms(str(terms.value))
            if parsed is not None:
                chosen["due_date"] = Candidate(
                    "due_date",
                    parsed.due_date(chosen["issue_date"].value),  # type: ignore[arg-type]
                    min(terms.score, chosen["issue_date"].score) * 0.85,
                    terms.words,
                    label=terms.label,
                    page=terms.page,
                    top=terms.top,
                )
        elif "due_date" in chosen and (
            unlabelled_issue is not None or "issue_date" not in chosen
        ):
            _issue_date_from_terms(chosen, str(terms.value))
        elif "due_date" in chosen and "issue_date" in chosen:
            _prefer_due_date_matching_terms(candidates, chosen, str(terms.value))
    _cross_check_dates(chosen)
    if "invoice_number" in chosen:
        _confirm_repeated_number(ctx, chosen["invoice_number"])
    for name, picker in (
        ("vendor_iban", _vendor_iban),
        ("vendor_tax_id", _vendor_tax_id),
        ("vendor_name", _vendor_name),
    ):
        best = picker(ctx)
        if name == "vendor_tax_id" and ctx.ocr and (best is None or not best.checksum):
            best = _ocr_misread_prefix_tax_id(ctx, chosen.get("vendor_iban")) or best
        if best:
            chosen[name] = best
    bic = _vendor_bic(ctx, chosen.get("vendor_iban"))
    if bic:
        chosen["vendor_bic"] = bic
    implied = _implied_currency(chosen, text) if ctx.ocr and currency else None
    if currency and implied is not None and _once_in_ocr_noise(ctx, chosen, currency, implied):
        # Named once on an OCR page while the vendor's bank and VAT country say otherwise: a
        # symbol read into garbled text ("Rs" in a line OCR could not read), not a currency.
        chosen["currency"] = implied
    elif currency:
        code, conf = currency
        chosen["currency"] = _currency_candidate(ctx, code, conf)
    else:
        implied = _implied_currency(chosen, text)
        if implied:
            chosen["currency"] = implied
    chosen["document_type"] = _document_type(ctx)
    _credit_note_signs(chosen)

    for name, cand in chosen.items():
        invoice.fields[name] = FieldValue(
            value=cand.value,  # type: ignore[arg-type]
            confidence=_final_confidence(cand, source),
            source=source,
            page=cand.page,
            bbox=bbox_of(cand.words),
            label=cand.label,
        )
    invoice.lines = extract_line_items(pages, decimal_hint)
    # taxes.py reads lines with this module's helpers, so it is imported here, not at the top.
    from apinvoices.extraction.taxes import extract_tax_breakdown

    invoice.taxes = extract_tax_breakdown(
        pages, decimal_hint=decimal_hint, net=invoice.value("net_amount"), tax=invoice.value("tax_amount")
    )
    return invoice


def _one_print_one_date(candidates: list[Candidate], chosen: dict[str, Candidate]) -> None:
    """One printed date claimed by both an issue-date and a due-date label (a column header
    above it, and a label inside the terms sentence beside it: "Pagamento a 30 gg data
    fattura.  12 agosto 2025") answers only one of them. The field that has another value
    of its own takes that one; with none or both, the two stay below auto-accept."""
    issue, due = chosen.get("issue_date"), chosen.get("due_date")
    if issue is None or due is None or not issue.words or issue.words != due.words:
        return
    shared = {id(w) for w in issue.words}

    def alternative(name: str) -> Candidate | None:
        others = [
            c
            for c in candidates
            if c.field == name and c.words and not shared & {id(w) for w in c.words}
        ]
        return max(others, key=lambda c: c.score, default=None)

    alt_issue, alt_due = alternative("issue_date"), alternative("due_date")
    if alt_issue is not None and alt_due is None:
        chosen["issue_date"] = alt_issue
    elif alt_due is not None and alt_issue is None:
        chosen["due_date"] = alt_due
    else:
        for cand in (issue, due):
            cand.score = min(cand.score, 0.6)
        return
    for cand in (chosen["issue_date"], chosen["due_date"]):
        cand.rivals = max(cand.rivals, 1)  # a label lost its value: no cross-check trusts it


def _label_vocabulary() -> dict[str, str | None]:
    """Each long word of the label phrases, keyed by its spellings with one letter unknown
    ("rech?ungs"); None where two words share a key."""
    keys: dict[str, str | None] = {}
    words = {
        w
        for per_lang in F.LABELS.values()
        for phrases in per_lang.values()
        for phrase in phrases
        if not phrase.startswith("re:")
        for w in re.split(r"[^a-z]+", phrase)
        if len(w) >= 8
    }
    for word in words:
        for i in range(len(word)):
            key = word[:i] + "?" + word[i + 1 :]
            keys[key] = word if keys.get(key, word) == word else None
    return keys


_VOCABULARY = _label_vocabulary()
# Words never mended: the label words themselves and the languages' own invoice words, and
# a word of another language one letter from a label ("facturacion", "facturation").
_KNOWN = {w for w in _VOCABULARY.values() if w} | {
    w for words in F._LANGUAGE_WORDS.values() for w in words
} | {"facturacion", "bestellungen", "rechnungen"}  # fmt: skip
_LETTERS = re.compile(r"[^\W\d_]{8,}")


def _mend_label_words(page: Page) -> Page:
    """The page with each long word that OCR misread by one letter in a label restored
    ("Rechrungs-Nr." -> "Rechnungs-Nr."): a word of eight letters or more, not a label word
    itself, that differs from exactly one label word in exactly one letter. Same length, so
    every position on the line stays where it was."""
    changed = False
    lines = []
    for line in page.lines:
        words = []
        mended = False
        for word in line.words:
            text = word.text
            if "@" in text or "/" in text or "www." in text.lower():
                words.append(word)  # a mail or web address is no label
                continue
            for run in _LETTERS.finditer(word.text):
                folded = F.fold(run.group(0))
                if len(folded) != len(run.group(0)) or folded in _KNOWN:
                    continue
                found = {
                    _VOCABULARY.get(folded[:i] + "?" + folded[i + 1 :]) for i in range(len(folded))
                } - {None}
                if len(found) != 1:
                    continue
                fixed = found.pop()
                if run.group(0).isupper():
                    fixed = fixed.upper()
                elif run.group(0)[0].isupper():
                    fixed = fixed.capitalize()
                text = text[: run.start()] + fixed + text[run.end() :]
            if text != word.text:
                word = Word(text, word.x0, word.top, word.x1, word.bottom, word.page, word.conf)
                mended = changed = True
            words.append(word)
        lines.append(Line(line.page, words) if mended else line)
    if not changed:
        return page
    return Page(page.number, page.width, page.height, [w for l in lines for w in l.words], lines)


_DECIMAL_HEAD = re.compile(r"\d[.,](\d?)")
_CENTS = re.compile(r"\d{1,2}")


def _join_split_decimals(page: Page) -> Page:
    """The page with amounts whose cents OCR set apart joined again: "546. 99" and "6,3 0"
    (a space read after the decimal separator of a monospaced or widely set figure). Only
    two digits of cents in all, right after a word that ends in a separator (and at most one
    digit); a text layer never splits a number like this, so pages from PDFs are left
    alone."""
    changed = False
    lines = []
    for line in page.lines:
        words: list[Word] = []
        for word in line.words:
            prev = words[-1] if words else None
            head = _DECIMAL_HEAD.search(prev.text) if prev is not None else None
            if (
                prev is not None
                and head is not None
                and head.end() == len(prev.text)
                and _CENTS.fullmatch(word.text)
                and len(head.group(1)) + len(word.text) == 2
                and 0 <= word.x0 - prev.x1 <= 0.8 * max(prev.height, word.height)
            ):
                words[-1] = _joined(prev, word)
                changed = True
            else:
                words.append(word)
        lines.append(Line(line.page, words) if len(words) != len(line.words) else line)
    if not changed:
        return page
    return Page(page.number, page.width, page.height, [w for l in lines for w in l.words], lines)


def _issue_date_from_terms(chosen: dict[str, Candidate], terms: str) -> None:
    """No labelled issue date, but a due date and terms of "n days" from the invoice date: the
    issue date is the due date minus n days. It replaces an unlabelled guess that
    disagrees (a guess that may well be the due date itself, the first date on the page),
    and is never trusted alone."""
    parsed = F.parse_payment_terms(terms)
    due = chosen["due_date"]
    if parsed is None or not parsed.net_days:
        return
    expected = due.value - timedelta(days=parsed.net_days)  # type: ignore[operator]
    issue = chosen.get("issue_date")
    if issue is not None and issue.value == expected:
        issue.score = max(issue.score, 0.6)
        return
    chosen["issue_date"] = Candidate(
        "issue_date",
        expected,
        min(due.score, 0.55),
        [],
        label="due date - payment terms",
        page=due.page,
        top=due.top,
    )


def _prefer_due_date_matching_terms(
    candidates: list[Candidate], chosen: dict[str, Candidate], terms: str
) -> None:
    """Of several printed due dates, the one that equals the issue date plus the stated terms
    wins ("Zahlbar innerhalb 30 Tagen" and a garbled second due date). Its rivals still keep
    it below auto-accept."""
    parsed = F.parse_payment_terms(terms)
    if parsed is None:
        return
    expected = parsed.due_date(chosen["issue_date"].value)  # type: ignore[arg-type]
    current = chosen["due_date"]
    if current.value == expected:
        return
    if current.ambiguous and _swap_day_month(current.value) == expected:  # type: ignore[arg-type]
        # "10/09/2025" read day-first, but issue date + "Net 30" says October 9: the terms
        # settle the order.
        current.value, current.ambiguous = expected, False
        return
    matching = [c for c in candidates if c.field == "due_date" and c.value == expected]
    if matching:
        best = max(matching, key=lambda c: c.score)
        best.rivals = max(best.rivals, 1)
        best.score = max(best.score, min(current.score, 0.85))
        chosen["due_date"] = best


def _swap_day_month(value: date) -> date | None:
    try:
        return value.replace(month=value.day, day=value.month)
    except ValueError:
        return None


def _specific_date_label(cand: Candidate) -> bool:
    """The value stands after a label that names this date field and nothing else
    ("Rechnungsdatum", "Due date"), not a bare "Date" nor another field's label."""
    phrases = {p for per_lang in F.LABELS[cand.field].values() for p in per_lang}
    return cand.phrase in phrases and cand.phrase not in F.GENERIC_LABELS and len(cand.phrase) > 5


def _cross_check_dates(chosen: dict[str, Candidate]) -> None:
    """Raise issue and due date confidence only on independent agreement.

    - A due date equal to the issue date plus the stated payment terms confirms both (the
      strongest check: two printed values and the terms agree).
    - A specific, unambiguous label with no rival value, and a due date 0–180 days after the
      issue date (or no due date at all), makes each date trustworthy (≥ 0.9).
    Ambiguous day/month order, rival values or a due date derived from the terms themselves
    never reach 0.9.
    """
    issue, due = chosen.get("issue_date"), chosen.get("due_date")
    terms = chosen.get("payment_terms")
    parsed = F.parse_payment_terms(str(terms.value)) if terms is not None else None
    derived = due is not None and terms is not None and due.words is terms.words

    def clean(cand: Candidate) -> bool:
        return not cand.ambiguous and cand.rivals == 0 and cand.score >= 0.7

    if issue is None or derived:
        return
    if due is None:
        if clean(issue) and _specific_date_label(issue):
            issue.score = max(issue.score, 0.9)
        return
    gap = (due.value - issue.value).days  # type: ignore[operator]
    if not 0 <= gap <= 180:
        return
    if parsed is not None and parsed.net_days == gap and clean(issue) and clean(due) and gap > 0:
        for cand in (issue, due):
            cand.score = max(cand.score, 0.87) + 0.08
        return
    for cand in (issue, due):
        if clean(cand) and _specific_date_label(cand):
            cand.score = max(cand.score, 0.9)


# A value this shape is an amount, a postal code or a year as often as a document number, so
# finding it twice on a page proves nothing.
_WEAK_NUMBER = re.compile(r"\d{1,5}|\d{1,3}(?:[.,]\d{3})*(?:[.,]\d{1,2})?")


def _confirm_repeated_number(ctx: _Context, cand: Candidate) -> None:
    """Raise an invoice number to >= 0.9 when the page prints it a second time, elsewhere,
    right after a word that names the document or asks for it as the payment reference
    ("Facture 2025/31692" in a footer, "Invoice 25-50308 - continued" on page 2, "Please
    quote INV-0042"). Two prints that agree character for character, one found through a
    label, are an independent check of both the reading and the choice of field; OCR would
    have to misread both alike. Never for a number that rivals another candidate, nor for a
    short all-digit value or one shaped like an amount (a postal code or a total can recur
    beside the word "invoice" by chance)."""
    value = str(cand.value)
    if cand.rivals or cand.score < 0.6 or len(value) < 5 or not re.search(r"\d", value):
        return
    if _WEAK_NUMBER.fullmatch(value) or F.find_dates(value):
        return
    own = {(w.page, w.x0, w.top) for w in cand.words}
    for page in ctx.pages:
        for line in page.lines:
            for word, (start, _end) in zip(line.words, line.spans):
                if word.text.rstrip(".,;:)") != value or (word.page, word.x0, word.top) in own:
                    continue
                if cand.words and page.number == cand.page and abs(word.top - cand.top) < 1:
                    continue  # the same line: a label repeated in a row, not a second print
                before = F.fold(line.text[max(0, start - 40) : start])
                before = re.sub(r"[\s:#.°º\-–]+$", " ", before)
                named = F.find_labels(before, "invoice_number") or re.search(
                    r"(?:^|\s)(?:n[°ºo]|nr|no|#|ref|num)?\s*$", before
                ) and F.contains_any(before[-25:], F.DOCUMENT_WORDS + F.PAYMENT_REFERENCE_MARKERS)
                if named:
                    cand.score = max(cand.score, 0.87) + 0.05
                    return


def _final_confidence(cand: Candidate, source: Source) -> float:
    score = min(cand.score, 0.99)
    if source == "ocr":
        conf = cand.ocr_conf
        factor = 0.8 + 0.2 * conf if cand.checksum else 0.5 + 0.5 * conf
        score *= factor
    return round(max(0.0, min(score, 0.99)), 3)


def _best(candidates: list[Candidate], name: str) -> Candidate | None:
    mine = [c for c in candidates if c.field == name]
    if not mine:
        return None
    best = max(mine, key=lambda c: (c.score, -c.page, -c.top))
    agreeing = sum(1 for c in mine if c.value == best.value)
    disagreeing = len({str(c.value) for c in mine if c.score >= best.score * 0.9}) - 1
    best.rivals = len({str(c.value) for c in mine if c.score >= best.score * 0.7}) - 1
    if agreeing > 1:
        best.score = min(best.score + 0.05, 0.97)
    if disagreeing:
        best.score *= 0.85
    return best


def _all_label_matches(line: Line, language: str | None) -> list[F.LabelMatch]:
    """Label matches of every field in a line, minus those inside a longer label of another
    field ("Factuur datum" is a date label, not the invoice-number label "Factuur")."""
    matches = []
    folded = F.fold_in_place(line.text)
    for name in F.LABELS:
        matches += F.find_labels(line.text, name, language, folded=folded)
    kept = []
    for match in matches:
        opened = line.text.rfind("(", 0, match.start)
        closed = line.text.find(")", opened) if opened >= 0 else -1
        if closed >= match.end and not re.search(r"\d", line.text[match.end : closed]):
            # "(excl. USt.)" qualifies another label; it is not one itself. "(Due date:
            # 13/03/2025)" is a label with its value, set in brackets.
            continue
        swallowed = any(
            other.field != match.field
            and other.start <= match.start
            and other.end >= match.end
            and (other.end - other.start) > (match.end - match.start)
            for other in matches
        )
        if not swallowed:
            kept.append(match)
    return kept


def _label_candidates(ctx: _Context) -> list[Candidate]:
    result: list[Candidate] = []
    for page in ctx.pages:
        n_lines = len(page.lines)
        for line_index, line in enumerate(page.lines):
            matches = _all_label_matches(line, ctx.language)
            if not matches:
                continue
            matches.sort(key=lambda m: m.start)
            for i, match in enumerate(matches):
                # Generic words ("invoice", "date") inside a phrase do not end the value.
                next_label_start = next(
                    (
                        m.start
                        for m in matches[i + 1 :]
                        if m.start >= match.end and m.strength >= 0.8
                    ),
                    len(line.text),
                )
                label_words = line.words_in(match.start, match.end)
                label_text = line.text[match.start : match.end]
                strength = match.strength
                if ctx.language and match.language != ctx.language:
                    strength *= 0.95
                bottomness = (line_index + 1) / max(n_lines, 1)
                base = {
                    "label": label_text,
                    "phrase": match.phrase,
                    "page": page.number,
                    "top": line.top,
                }
                name = match.field
                start = _rest_after(line, match.end)
                # The value belongs to this label only up to where the next label starts.
                same_line = line.slice(start, next_label_start)
                if (
                    same_line is None
                    and next_label_start == len(line.text)
                    and name in _ID_FIELDS + _DATE_FIELDS
                ):
                    same_line = _beside(page, line, label_words)
                below = _below(
                    page,
                    line,
                    label_words,
                    max_lines=5 if name in _AMOUNT_FIELDS else 2,
                    ocr=ctx.ocr,
                )
                if name == "tax_amount" and _negated_tax_label(page, line, match):
                    continue
                if name in _AMOUNT_FIELDS:
                    result += _amount_candidates(
                        ctx,
                        name,
                        match,
                        line,
                        start,
                        next_label_start,
                        below,
                        strength,
                        bottomness,
                        base,
                    )
                elif name in _DATE_FIELDS:
                    if name == "issue_date" and _TERMS_REFERENCE.search(
                        F.fold(line.text[: match.start])
                    ):
                        # "Payment within 30 days of invoice date": the label names the
                        # reference point of the terms; the date after it is another one.
                        continue
                    result += _date_candidates(ctx, name, same_line, below, strength, base)
                elif name in _ID_FIELDS:
                    if re.match(r"[-/_]\w", line.text[match.end : match.end + 2]):
                        continue  # "PO-798296": the prefix of a value, not a label before one
                    if name == "invoice_number" and F.contains_any(
                        line.text[max(0, match.start - 20) : match.end + 15],
                        F.ORIGINAL_INVOICE_MARKERS,
                    ):
                        continue
                    ids = _id_candidates(ctx, name, match, same_line, below, strength, base)
                    result += ids
                    if name == "invoice_number":
                        result += _dated_number(ctx, page, line, same_line, ids, strength, base)
                elif name == "payment_terms" and same_line is not None:
                    result.append(
                        Candidate(name, same_line.text, 0.7 * strength, same_line.words, **base)
                    )
    return result


# Joins an invoice number to its date: "Facture n° 562044387 du 02 Juillet 2015", "Invoice #
# RE-507 issued at 2019-06-10", "Nr. 471102" / "vom 05.03.2018".
_DATE_JOIN = re.compile(
    r"^[\s,;:/\-]*(?:(?:du|vom|von|from|of|dated|issued(?: at| on)?|del|van|dd\.?|le|am|d\.)"
    r"[\s.:]*)?$",
    re.IGNORECASE,
)


def _dated_number(ctx, page, line, same_line, ids, strength, base) -> list[Candidate]:
    """The issue date printed with the invoice number: right after it on its line, or alone
    after a joining word at the start of the next line. A date elsewhere on the line ("Rechnung
    gemäß Bestellung vom 01.03.2018") is some other document's."""
    if not ids:
        return []
    number = ids[0]
    holder = same_line
    if holder is None or not any(w in holder.words for w in number.words):
        return []
    token_end = max(holder.spans[holder.words.index(w)][1] for w in number.words)
    for d in F.find_dates(holder.text, ctx.language, ctx.date_order):
        if d.start < token_end:
            continue
        if _DATE_JOIN.match(holder.text[token_end : d.start]):
            return [
                Candidate(
                    "issue_date", d.value, 0.72 * strength, holder.words_in(d.start, d.end), **base
                )
            ]
        break
    if holder.slice(token_end, len(holder.text)) is not None:
        return []  # more text after the number: the next line is not its continuation
    index = _line_index(page, line)
    if index + 1 < len(page.lines):
        nxt = page.lines[index + 1]
        if nxt.top - line.bottom <= 1.2 * line.height:
            first = nxt.segments()[0]
            dates = F.find_dates(first.text, ctx.language, ctx.date_order)
            if dates and _DATE_JOIN.match(first.text[: dates[0].start]) and not first.text[
                dates[0].end :
            ].strip(" .,"):
                d = dates[0]
                return [
                    Candidate(
                        "issue_date",
                        d.value,
                        0.7 * strength,
                        first.words_in(d.start, d.end),
                        **{**base, "top": nxt.top},
                    )
                ]
    return []


# A tax label qualified by the word before it, so the amount after it is not the tax: "Ohne
# MwSt.", "excl. VAT", "hors TVA" (a net amount) or "inklusive 19 % Versicherungsteuer",
# "incl. VAT" (a gross amount).
_WITHOUT = re.compile(
    r"(?:ohne|without|excl|exkl|excluding|hors|sans|zonder|exclusief|sin|senza|netto|net|"
    r"inkl|inklusive|incl|including|inclusive|inclusief|incluido|incluida|compris|comprese?)"
    r"\.?\s*(?:\d+(?:[.,]\d+)?\s*%\s*)?$"
)


def _negated_tax_label(page: Page, line: Line, match: F.LabelMatch) -> bool:
    if _WITHOUT.search(F.fold(line.text[: match.start])):
        return True
    # A column header wrapped over two lines: "Ohne" above "MwSt.".
    words = line.words_in(match.start, match.end)
    index = _line_index(page, line)
    if not words or index == 0:
        return False
    above = page.lines[index - 1]
    if line.top - above.bottom > 0.8 * line.height:
        return False
    x0, x1 = words[0].x0, words[-1].x1
    over = [w for w in above.words if w.x1 > x0 - 2 and w.x0 < x1 + 2]
    return bool(over) and bool(_WITHOUT.search(F.fold(" ".join(w.text for w in over))))


def page_of(ctx: _Context, line: Line) -> Page:
    return next(p for p in ctx.pages if p.number == line.page)


def _amount_candidates(ctx, name, match, line, start, stop, below, strength, bottomness, base):
    result = []
    label_text = line.text[: match.end]
    if name == "total_amount":
        excluded = F.contains_any(line.text[max(0, match.start - 25) : stop], F.NOT_TOTAL_LABELS)
        if excluded:
            return result
    found = []
    for amount in amounts_in(line, start, ctx.decimal_hint):
        first = line.spans[line.words.index(amount[1][0])][0]
        if not amount[1] or first >= stop:
            continue
        between = _CURRENCY_OR_RATE.sub("", line.text[start:first])
        if len(re.findall(r"[^\W\d_]", between)) > 14:
            continue  # too many words between label and number: the number is something else
        found.append(amount)
    if name == "tax_amount" and F.contains_any(
        label_text,
        ("vat id", "vat no", "vat number", "btw nr", "btw-nummer", "tva intracommunautaire"),
    ):
        return result
    # With several amounts on a label's line ("VAT 21% of 100.00  21.00") the last one is the
    # value; a rate or base comes first on every layout seen.
    options = [(found[-1], 1.0)] if found else []
    if not found and stop >= len(line.text) and line.words_in(match.start, match.end):
        # A slanted photo or a taller figure puts the amount right of its label on the OCR
        # line above or below; a right-aligned column may sit far to the right.
        beside = _beside(
            page_of(ctx, line), line, line.words_in(match.start, match.end), reach=60.0,
            overlap=0.3,
        )
        row = amounts_in(beside, 0, ctx.decimal_hint) if beside is not None else []
        if row:
            options.append((row[0], 0.92))
    if not found:
        # Under a column header the rows may be per-rate lines followed by their sum; each
        # row adds up on its own, so later rows are preferred slightly (the sum comes last).
        for index, segment in enumerate(below):
            row = amounts_in(segment, 0, ctx.decimal_hint)
            if row:
                options.append((row[-1], min(0.9 + 0.02 * index, 0.96)))
    for (value, words, has_decimals), position in options:
        score = 0.82 * strength * position * (1.0 if has_decimals else 0.85)
        if name == "total_amount":
            score *= 0.9 + 0.1 * bottomness
        result.append(Candidate(name, value, score, words, **base))
    return result


# A day count before a date label: the label is the reference of payment terms ("within 30
# days of invoice date", "30 Tage nach Rechnungsdatum", "30 dagen na factuurdatum").
_TERMS_REFERENCE = re.compile(
    r"\d+\s*(?:days?|tage?n?|jours?|dagen|dias?|giorni|gg)\b[^.;:]{0,40}$"
)


def _date_candidates(ctx, name, same_line, below, strength, base):
    result = []
    sources = []
    if same_line is not None:
        sources.append((same_line, 1.0))
    sources += [(segment, 0.9) for segment in below[:1]]
    other = "due_date" if name == "issue_date" else "issue_date"
    for segment, position in sources:
        dates = F.find_dates(segment.text, ctx.language, ctx.date_order)
        if not dates:
            continue
        d = dates[0]
        if d.start > 25 and position == 1.0:
            continue  # a date far along the line belongs to something else
        if position == 1.0 and F.find_labels(segment.text[: d.start], other):
            continue  # "(Due Date: 28 April)": the date belongs to the other label
        score = (
            0.85 * strength * position * (0.85 if d.ambiguous and ctx.date_order is None else 1.0)
        )
        result.append(
            Candidate(
                name,
                d.value,
                score,
                segment.words_in(d.start, d.end),
                # Only English is written month-first anywhere (en_US): in the other
                # languages a numeric date is day-first and not ambiguous.
                ambiguous=d.ambiguous and ctx.date_order is None and ctx.language in (None, "en"),
                **base,
            )
        )
        break
    return result


_ID_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_.\-]*[A-Za-z0-9]|[0-9]")
_NOT_ID_WORDS = {"page", "seite", "date", "datum", "of", "du", "vom", "from", "for", "to", "and"}


# A letter Tesseract confuses with a digit, between two digits: "45O0123" is "4500123".
_DIGIT_LOOKALIKE = re.compile(r"(?<=\d)[OoDQIl|](?=\d)")
_LOOKALIKE_DIGIT = {"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1"}


# An "O" that ends a run of capitals and opens the digits: a zero-padded number after its
# prefix ("INV022176", "F071196", "BE0127259") that OCR's word model read as a letter.
_PREFIX_ZERO = re.compile(r"(?<![A-Za-z])([A-Z]*)O(?=\d)")
# Prefixes that do end in the letter O: purchase, sales, work, change and delivery orders,
# and "No" run into its number.
_O_PREFIXES = frozenset({"P", "S", "W", "C", "D", "N"})


def _ocr_digits(token: str) -> str:
    """An OCR-read document number with look-alike letters inside a run of digits replaced,
    and the "O" between a capital prefix and the digits read as the zero it nearly always is
    ("INVO22176" -> "INV022176"), except where an order prefix ends in O ("PO12345")."""
    token = _DIGIT_LOOKALIKE.sub(lambda m: _LOOKALIKE_DIGIT[m.group(0)], token)
    return _PREFIX_ZERO.sub(
        lambda m: m.group(0) if not m.group(1) or m.group(1) in _O_PREFIXES else m.group(1) + "0",
        token,
    )


def _id_candidates(ctx, name, match, same_line, below, strength, base):
    result = []
    sources = []
    if same_line is not None:
        sources.append((same_line, 1.0))
    sources += [(segment, 0.88) for segment in below[:1]]
    generic = match.strength < 0.7
    for segment, position in sources:
        text = segment.text
        filler = _VALUE_FILLER.match(text)
        offset = filler.end() if filler else 0
        token_match = _ID_TOKEN.search(text, offset)
        if not token_match or token_match.start() - offset > 2:
            continue
        token = token_match.group(0).rstrip(".")
        read = token
        if ctx.ocr:
            token = _ocr_digits(token)
        if token.lower() in _NOT_ID_WORDS or not re.search(r"\d", token):
            continue
        if F.find_dates(token) and len(token) <= 10:
            continue
        opening = F.find_dates(text[token_match.start() :], ctx.language, ctx.date_order)
        if opening and opening[0].start == 0 and opening[0].end > len(token):
            continue  # "2 avril 2025": the day of a date in the next column, not a number
        if len(token) < 3 and generic:
            continue
        if position == 1.0 and generic and token_match.start() > 3:
            continue
        score = 0.85 * strength * position
        if generic:
            score *= 0.85
        if token != read:
            score = min(score, 0.8)  # look-alikes read as digits: a repair, never certain
        result.append(
            Candidate(
                name, token, score, segment.words_in(token_match.start(), token_match.end()), **base
            )
        )
        break
    return result


def _table_total_candidates(ctx: _Context) -> list[Candidate]:
    """Amounts on a "Total" row read through the column headers above them.

    In "Total facture 24.99 5.00 29.99" under "Montant HT | Montant TVA | Montant TTC" each
    amount belongs to the field whose header sits above it.
    """
    result = []
    for page in ctx.pages:
        for index, line in enumerate(page.lines):
            totals = F.find_labels(line.text, "total_amount", ctx.language)
            if not totals or F.contains_any(line.text, F.NOT_TOTAL_LABELS):
                continue
            amounts = amounts_in(line, totals[0].end, ctx.decimal_hint)
            if len(amounts) < 2:
                continue
            for value, words, has_decimals in amounts:
                cx0, cx1 = words[0].x0, words[-1].x1
                for header in reversed(page.lines[max(0, index - 12) : index]):
                    hits = []
                    for name in _AMOUNT_FIELDS:
                        for m in F.find_labels(header.text, name, ctx.language):
                            hw = header.words_in(m.start, m.end)
                            if hw and hw[0].x0 - 10 <= cx1 and hw[-1].x1 + 10 >= cx0:
                                hits.append((name, m))
                    if hits:
                        # "Montant TVA" matches both total ("montant") and tax ("tva"):
                        # the longest phrase decides.
                        name, m = max(hits, key=lambda h: len(h[1].phrase))
                        result.append(
                            Candidate(
                                name,
                                value,
                                0.8 * (1.0 if has_decimals else 0.85),
                                words,
                                label=header.text[m.start : m.end],
                                phrase=m.phrase,
                                page=page.number,
                                top=line.top,
                            )
                        )
                        break
    return result


def _choose_amounts(candidates: list[Candidate]) -> dict[str, Candidate]:
    """Total, net and tax: the combination where net + tax = total wins and is trusted."""
    by_field = {
        name: sorted((c for c in candidates if c.field == name), key=lambda c: -c.score)[:8]
        for name in _AMOUNT_FIELDS
    }
    by_field["tax_amount"] += _tax_row_sums(
        [c for c in candidates if c.field == "tax_amount"]
    )
    totals, nets, taxes = by_field["total_amount"], by_field["net_amount"], by_field["tax_amount"]
    best_combo, best_score = None, 0.0
    for total in totals:
        for net in nets:
            for tax in taxes:
                if net.value + tax.value == total.value and total.value != 0:  # type: ignore[operator]
                    score = total.score + net.score + tax.score
                    if score > best_score:
                        best_combo, best_score = (total, net, tax), score
    chosen: dict[str, Candidate] = {}
    if best_combo:
        for cand in best_combo:
            cand.score = min(0.97, max(cand.score, 0.7) + 0.2)
            chosen[cand.field] = cand
        return chosen
    for name in _AMOUNT_FIELDS:
        best = _pick_amount(by_field[name], name)
        if best:
            chosen[name] = best
    total, net, tax = (chosen.get(n) for n in _AMOUNT_FIELDS)
    if total and net and not tax and total.value == net.value:
        # No tax on the invoice and net equals total: consistent, mildly reassuring.
        total.score = min(total.score + 0.05, 0.9)
    elif total and net and tax:
        for cand in (total, net, tax):
            cand.score *= 0.75  # arithmetic does not add up: at least one of them is wrong
    elif total and net and net.value > total.value:  # type: ignore[operator]
        net.score *= 0.6
    elif total and tax and not net and total.value >= tax.value >= 0:  # type: ignore[operator]
        # No net row the rules know ("Charges $4.11", "Tax $0.00", "Total $4.11"): the
        # difference, never trusted alone.
        chosen["net_amount"] = Candidate(
            "net_amount",
            total.value - tax.value,  # type: ignore[operator]
            min(total.score, tax.score, 0.6) * 0.8,
            [],
            label="total - tax",
            page=total.page,
            top=total.top,
        )
    elif net and tax and not total and _same_sign(net.value, tax.value):  # type: ignore[arg-type]
        # No total the rules could read (OCR lost a total printed on a coloured band): the
        # sum, which is what the total is by definition (EN 16931 BT-112), never trusted alone.
        chosen["total_amount"] = Candidate(
            "total_amount",
            net.value + tax.value,  # type: ignore[operator]
            min(net.score, tax.score, 0.6) * 0.8,
            [],
            label="net + tax",
            page=tax.page,
            top=tax.top,
        )
    elif total and net and not tax and total.value > net.value > 0:  # type: ignore[operator]
        # A tax printed without a label the rules know: the difference, never trusted alone.
        chosen["tax_amount"] = Candidate(
            "tax_amount",
            total.value - net.value,  # type: ignore[operator]
            min(total.score, net.score, 0.6) * 0.8,
            [],
            label="total - net",
            page=total.page,
            top=total.top,
        )
    return chosen


def _same_sign(net: Decimal, tax: Decimal) -> bool:
    """A net and a tax that can make a total: both positive, or both negative on a credit
    note printed with minus signs (its signs are settled later); a zero tax goes with either."""
    return net != 0 and (tax == 0 or (tax > 0) == (net > 0))


def _tax_from_rate_rows(ctx: _Context, chosen: dict[str, Candidate]) -> None:
    """When the amounts chosen do not add up (or OCR lost the total), the VAT summary's rows
    may still settle the tax: each row agrees with its rate and their bases add up to the
    net, so their taxes add up to the tax. The total is then the one printed that equals net
    + tax, or, when no total was read with a strong label, that sum (never trusted alone)."""
    total, net, tax = (chosen.get(n) for n in _AMOUNT_FIELDS)
    printed = [c for c in (total, net, tax) if c is not None and c.words]
    if net is None or (
        len(printed) == 3
        and net.value + tax.value == total.value  # type: ignore[operator,union-attr]
    ):
        return
    if total is not None and not total.words:
        total = None  # derived from the amounts this may replace
    # taxes.py reads lines with this module's helpers, so it is imported here.
    from apinvoices.extraction.taxes import tax_from_rate_rows

    summed = tax_from_rate_rows(
        ctx.pages, decimal_hint=ctx.decimal_hint, net=net.value  # type: ignore[arg-type]
    )
    if summed is None or not _same_sign(net.value, summed):  # type: ignore[arg-type]
        return
    net.score = max(net.score, 0.8)
    if tax is not None and tax.value == summed:
        tax.score = max(tax.score, 0.8)
    else:
        tax = chosen["tax_amount"] = Candidate(
            "tax_amount", summed, 0.8, [], label="VAT rows", page=net.page, top=net.top
        )
    expected = net.value + summed  # type: ignore[operator]
    if total is not None and total.value == expected:
        total.score = max(total.score, 0.8)
    elif total is None or total.score < 0.6:
        chosen["total_amount"] = Candidate(
            "total_amount", expected, 0.48, [], label="net + tax", page=tax.page, top=tax.top
        )


def _tax_row_sums(taxes: list[Candidate]) -> list[Candidate]:
    """Candidates for the total tax of a multi-rate invoice that prints one row per rate
    ("USt. 19 % 1.305,79" / "USt. 7 % 15,32") and no total-tax row: the sums of runs of
    consecutive tax rows. They are only ever trusted through net + tax = total."""
    rows: dict[tuple[int, float], Candidate] = {}
    for cand in taxes:
        if not cand.words:
            continue
        key = (cand.page, round(cand.words[0].top))
        if key not in rows or cand.score > rows[key].score:
            rows[key] = cand
    ordered = [rows[key] for key in sorted(rows)]
    sums = []
    for start in range(len(ordered)):
        run = [ordered[start]]
        for cand in ordered[start + 1 : start + 4]:
            previous = run[-1]
            gap = cand.words[0].top - previous.words[0].top
            if cand.page != previous.page or gap <= 0 or gap > 3 * _word_height(previous):
                break
            run.append(cand)
            sums.append(
                Candidate(
                    "tax_amount",
                    sum((c.value for c in run), Decimal(0)),
                    min(c.score for c in run) * 0.9,
                    [w for c in run for w in c.words],
                    label=run[0].label,
                    phrase=run[0].phrase,
                    page=run[0].page,
                    top=run[0].top,
                )
            )
    return sums


def _word_height(cand: Candidate) -> float:
    return max(1.0, cand.words[0].bottom - cand.words[0].top)


def _pick_amount(cands: list[Candidate], name: str) -> Candidate | None:
    if not cands:
        return None
    if name == "total_amount":
        # "Amount due"/"total" closest to the bottom wins among labels of similar strength.
        top_score = max(c.score for c in cands)
        strong = [c for c in cands if c.score >= top_score - 0.08]
        best = max(strong, key=lambda c: (c.page, c.top, c.score))
    else:
        best = max(cands, key=lambda c: (c.score, c.page, c.top))
    others = {c.value for c in cands if c is not best and c.score >= best.score - 0.05}
    if others - {best.value}:
        best.score *= 0.85
    return best


_TITLE = re.compile(
    r"^\w*(?:rechnung|invoice|facture|factuur|factura|fattura|gutschrift)\b", re.IGNORECASE
)


def _issue_date_fallback(ctx: _Context) -> Candidate | None:
    """Without a label: a date on the document's title line ("Beitragsrechnung  24. Januar
    2014"), else the first date in the top third of page 1; low confidence either way."""
    page = ctx.pages[0]
    for line in page.lines[:40]:
        if not _TITLE.match(line.text):
            continue
        dates = F.find_dates(line.text, ctx.language, ctx.date_order)
        if dates:
            d = dates[0]
            return Candidate(
                "issue_date",
                d.value,
                0.6,
                line.words_in(d.start, d.end),
                page=page.number,
                top=line.top,
            )
    for line in page.lines:
        if line.top > page.height / 2:
            break
        for d in F.find_dates(line.text, ctx.language, ctx.date_order):
            return Candidate(
                "issue_date",
                d.value,
                0.45 if line.top <= page.height / 3 else 0.35,
                line.words_in(d.start, d.end),
                page=page.number,
                top=line.top,
            )
    return None


_ON_DATE = re.compile(r"(?:^|\s)(?:am|on|le|op|el|il|ab|from|a partir du|vanaf)\s*:?\s*$")


def _debit_date(ctx: _Context) -> Candidate | None:
    """The date a direct debit will be collected on ("wird am 20.03.2014 von Ihrem Konto ...
    eingezogen", "will be debited on 5 May"): that is when the invoice is due."""
    for page in ctx.pages:
        for index, line in enumerate(page.lines):
            following = page.lines[index + 1].text if index + 1 < len(page.lines) else ""
            if not F.contains_any(line.text + " " + following, F.DEBIT_MARKERS):
                continue
            for d in F.find_dates(line.text, ctx.language, ctx.date_order):
                if _ON_DATE.search(F.fold(line.text[: d.start])):
                    return Candidate(
                        "due_date",
                        d.value,
                        0.6,
                        line.words_in(d.start, d.end),
                        label="direct debit",
                        page=page.number,
                        top=line.top,
                    )
    return None


def _payment_terms(ctx: _Context, labelled: Candidate | None) -> Candidate | None:
    if labelled is not None and F.parse_payment_terms(str(labelled.value)):
        labelled.score = 0.8
        return labelled
    for page in ctx.pages:
        for line in page.lines:
            if F.parse_payment_terms(line.text):
                return Candidate(
                    "payment_terms", line.text, 0.65, line.words, page=page.number, top=line.top
                )
    return labelled


def _buyer_boxes(pages: list[Page]) -> list[tuple[int, BBox]]:
    """Regions that hold the buyer's block: a "Bill to" header and the lines under it."""
    boxes = []
    for page in pages:
        for index, line in enumerate(page.lines):
            for segment in line.segments():
                # The marker must open the segment ("Bill to:", "Kunde", "Käufer/Leistungs-
                # empfänger:"), so the earliest one decides.
                first = F.first_phrase_at(segment.text, F.BUYER_MARKERS)
                if first is None or first > 3:
                    continue
                # An address block is left-aligned under its header, at most ~8 lines, and
                # ends at the first wider gap.
                x0, x1 = segment.x0 - 12, segment.x1
                bottom = last = segment.bottom
                taken = 0
                for nxt in page.lines[index + 1 :]:
                    if nxt.top - last > 2.6 * line.height or taken >= 8:
                        break
                    block = [s for s in nxt.segments() if abs(s.x0 - segment.x0) <= 24]
                    if not block:
                        continue
                    taken += 1
                    last = bottom = nxt.bottom
                    x1 = max(x1, max(s.x1 for s in block))
                boxes.append((page.number, BBox(x0, segment.top - 2, x1 + 2, bottom + 2)))
    return boxes


def _party_side(page: Page, line: Line, words: list[Word]) -> str | None:
    """"buyer" or "seller" when ``words`` sit in a block headed by a buyer marker ("Käufer",
    "Bill to") or a seller marker ("Verkäufer", "Supplier"): the nearest such header above,
    in the same column (its left edge at the left edge of the words' segment or of the label
    segment before it), with no paragraph gap in between. None when no header says."""
    if not words:
        return None
    segments = line.segments()
    anchors = {words[0].x0}
    for i, segment in enumerate(segments):
        if any(w in segment.words for w in words):
            anchors.add(segment.x0)
            if i > 0:
                anchors.add(segments[i - 1].x0)
            break
    index = _line_index(page, line)
    previous = line
    for above in reversed(page.lines[max(0, index - 14) : index + 1]):
        if previous.top - above.bottom > 2.5 * max(line.height, above.height):
            break
        previous = above
        for segment in above.segments():
            if not any(abs(segment.x0 - x) <= 30 for x in anchors):
                continue
            buyer = F.first_phrase_at(segment.text, F.BUYER_MARKERS)
            seller = F.first_phrase_at(segment.text, F.SELLER_MARKERS)
            if buyer is not None and buyer <= 3 and (seller is None or buyer <= seller):
                return "buyer"
            if seller is not None and seller <= 3:
                return "seller"
    return None


def _in_buyer_box(ctx: _Context, page: int, words: list[Word]) -> bool:
    box = bbox_of(words)
    if box is None:
        return False
    cx, cy = (box.x0 + box.x1) / 2, (box.top + box.bottom) / 2
    return any(
        p == page and b.x0 <= cx <= b.x1 and b.top <= cy <= b.bottom for p, b in ctx.buyer_boxes
    )


def _line_index(page: Page, line: Line) -> int:
    cache = page.__dict__.setdefault("_index", {})
    if not cache:
        cache.update({id(item): i for i, item in enumerate(page.lines)})
    return cache[id(line)]


def _context_before(page: Page, line: Line, start: int, lines_above: int = 2) -> str:
    index = _line_index(page, line)
    above = " ".join(l.text for l in page.lines[max(0, index - lines_above) : index])
    return above + " " + line.text[:start]


def _read_iban(raw: str, ocr: bool) -> tuple[str | None, bool]:
    """(the valid IBAN ``raw`` is, whether OCR look-alikes had to be read by position)."""
    iban = F.normalize_iban(raw)
    if iban is None and ocr:
        iban = F.iban_from_ocr(raw)
        return iban, iban is not None
    return iban, False


def _vendor_iban(ctx: _Context) -> Candidate | None:
    found: dict[str, list[Candidate]] = {}
    # On OCR a letter may stand where the IBAN's structure needs a digit ("DEO4 2004 ..."),
    # or the country in lower case ("it58"); only the structure and the checksum decide.
    patterns = (F.IBAN_PATTERN, F.OCR_IBAN_PATTERN) if ctx.ocr else (F.IBAN_PATTERN,)
    for page in ctx.pages:
        for index, line in enumerate(page.lines):
            seen: set[int] = set()
            for match in (m for pattern in patterns for m in pattern.finditer(line.text)):
                if match.start(1) in seen:
                    continue
                seen.add(match.start(1))
                raw = match.group(1)
                groups = raw.split(" ")
                iban = None
                end = match.end(1)
                repaired = False
                while groups and iban is None:
                    iban, repaired = _read_iban("".join(groups), ctx.ocr)
                    if iban is None:
                        end -= len(groups.pop()) + 1
                score_cap = 1.0
                if iban is None:
                    wrapped = _wrapped_iban(
                        page, index, line, match.start(1), match.end(1), ocr=ctx.ocr
                    )
                    if wrapped is None:
                        continue
                    iban, words = wrapped
                    score_cap = 0.9  # checksum-valid, but pieced together from two lines
                else:
                    words = line.words_in(match.start(1), end)
                if repaired:
                    # Checksum-valid, but only after reading look-alikes: never auto-accepted.
                    score_cap = min(score_cap, 0.88)
                if _in_buyer_box(ctx, page.number, words):
                    continue
                before = F.fold(line.text[max(0, match.start() - 40) : match.start()])
                if F.contains_any(before, F.BUYER_MARKERS) or F.contains_any(
                    _context_before(page, line, match.start(), 2), F.DEBIT_MARKERS
                ):
                    continue
                side = _party_side(page, line, words)
                if side == "buyer":
                    continue
                score = 0.93
                if side == "seller" or F.contains_any(
                    _context_before(page, line, match.start(), 4), F.PAYMENT_MARKERS
                ):
                    score = 0.96
                score = min(score, score_cap)
                found.setdefault(iban, []).append(
                    Candidate(
                        "vendor_iban",
                        iban,
                        score,
                        words,
                        label="IBAN",
                        page=page.number,
                        top=line.top,
                        checksum=True,
                    )
                )
    if not found and ctx.ocr:
        repaired = _ocr_repaired_iban(ctx) or _iban_without_country(ctx)
        if repaired:
            return repaired
    if not found:
        return _unvalidated_iban(ctx)
    best_iban = max(found, key=lambda k: (max(c.score for c in found[k]), len(found[k])))
    best = max(found[best_iban], key=lambda c: c.score)
    if len(found) > 1:
        best.score = 0.7  # two different payee accounts: a human must choose
    return best


_IBAN_GROUP = re.compile(r"^[A-Z0-9]{1,5}$")


def _wrapped_iban(
    page: Page, index: int, line: Line, start: int, end: int, *, ocr: bool = False
) -> tuple[str, list[Word]] | None:
    """An IBAN that a narrow footer column wrapped onto the next line ("IBAN: FR76 ... 8713"
    / "301"), where the neighbouring column's text may sit right after it on the first line
    ("... 8713 586", the last digits of a VAT ID wrapped the same way). Keeps the words up to
    the first column-sized gap, then adds the groups that open the next line at the column's
    left edge; when that fails, the groups after the last word gap (the neighbour column set
    close) are left out in turn. Returned only when the joined value passes the checksum,
    which is what makes trying several splits safe: a wrong split fails mod 97 and the
    country's length."""
    words = line.words_in(start, end)
    if not words:
        return None
    kept = [words[0]]
    for word in words[1:]:
        if word.x0 - kept[-1].x1 > max(6.0, 0.8 * word.height):
            break
        kept.append(word)
    # Shortest first is wrong here: the longest head that completes with a continuation is
    # the one the printer wrapped; at least the country, check digits and one group stay.
    heads = [kept] + [words[:n] for n in range(len(words) - 1, 1, -1) if n != len(kept)]
    for tail in _column_continuations(page, index, line, kept):
        for head in heads:
            for n in range(len(tail), 0, -1):
                iban, _ = _read_iban("".join(w.text for w in head + tail[:n]), ocr)
                if iban:
                    return iban, head + tail[:n]
    return None


def _column_continuations(
    page: Page, index: int, line: Line, kept: list[Word]
) -> list[list[Word]]:
    """Short upper-case/digit groups that open the next line or two at the left edge of the
    column ``kept`` is in. That edge is the value's own, that of a word of the label just
    before it ("IBAN:", "VAT Reg. No.:"), or the left edge of the run of words it ends;
    columns set close together leave no gap wide enough to tell where the label's column
    starts, so the nearest few words left of the value are tried first."""
    edges = [kept[0].x0]
    left = [w for w in line.words if w.x1 <= kept[0].x0 + 0.5]
    for word in sorted(left, key=lambda w: -w.x0):
        if edges[-1] - word.x1 >= 3 * kept[0].height:
            break
        edges.append(word.x0)
    # The nearest few words (a label's) first; the block's left edge last, where a paragraph
    # ("Payment details: ... IBAN: GB29 ... 9268" / "19 · BIC: ...") wraps.
    edges = edges[:5] + edges[-1:]
    result = []
    for below in page.lines[index + 1 : index + 3]:
        if below.top - line.top > 2.5 * line.height:
            break
        ordered = sorted(below.words, key=lambda w: w.x0)
        for column_x0 in edges:
            tail: list[Word] = []
            for word in ordered:
                if word.x1 < column_x0 - 3:
                    continue
                if not tail and abs(word.x0 - column_x0) > 3:
                    break
                if not _IBAN_GROUP.match(word.text) or (
                    tail and word.x0 - tail[-1].x1 > max(6.0, 0.8 * word.height)
                ):
                    break
                tail.append(word)
            if tail:
                result.append(tail)
                break
    return result


def _ocr_repaired_iban(ctx: _Context) -> Candidate | None:
    """An IBAN whose OCR read fails its checksum but becomes valid by exactly one fix of
    confusable characters (O/0, S/5, I/1, B/8): plausible, never certain."""
    for page in ctx.pages:
        for line in page.lines:
            if not F.find_labels(line.text, "vendor_iban"):
                continue
            for match in F.OCR_IBAN_PATTERN.finditer(line.text):
                groups = match.group(1).split(" ")
                end = match.end(1)
                while len("".join(groups)) >= 15:
                    iban = F.repair_ocr_iban("".join(groups))
                    if iban:
                        words = line.words_in(match.start(1), end)
                        if _in_buyer_box(ctx, page.number, words):
                            break
                        return Candidate(
                            "vendor_iban",
                            iban,
                            0.75,
                            words,
                            label="IBAN",
                            page=page.number,
                            top=line.top,
                        )
                    end -= len(groups.pop()) + 1
    return None


# The check digits and BBAN of an IBAN whose country letters OCR lost at a column's edge
# ("IBAN: S73 0049 1500 ..." for ES73 ...): at most one letter left before them.
_COUNTRYLESS_IBAN = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z]?)(\d{2})((?:\s?[A-Za-z0-9]{3,5}){3,8})\b"
)


def _iban_without_country(ctx: _Context) -> Candidate | None:
    """An IBAN after its label whose country code OCR lost: the countries the page names
    (a BIC's country letters, the document's language) are tried, a letter left over must
    be the country's second, and exactly one must give a valid IBAN. The read check digits
    still have to match the whole number (mod 97), but the country is inferred: below
    auto-accept."""
    countries = []
    for page in ctx.pages:
        for line in page.lines:
            for match in F.find_labels(line.text, "vendor_bic"):
                token = F.BIC_PATTERN.match(line.text, _rest_after(line, match.end))
                if token and token.group(1)[4:6] not in countries:
                    countries.append(token.group(1)[4:6])
    spoken = _LANGUAGE_COUNTRY.get(ctx.language or "", "").upper()
    if spoken and spoken not in countries:
        countries.append(spoken)
    for page in ctx.pages:
        for line in page.lines:
            for label in F.find_labels(line.text, "vendor_iban"):
                start = _rest_after(line, label.end)
                token = _COUNTRYLESS_IBAN.match(line.text, start)
                if token is None or re.match(r"[A-Za-z]{2}\d{2}", line.text[start:]):
                    continue
                body = token.group(2) + re.sub(r"\s", "", token.group(3))
                valid = set()
                for country in countries:
                    if token.group(1) and token.group(1).upper() != country[1]:
                        continue
                    # The BBAN may have swallowed the next word: shorten to the country's length.
                    for end in range(len(body), 13, -1):
                        iban = F.iban_from_ocr(country + body[:end])
                        if iban:
                            valid.add(iban)
                            break
                words = line.words_in(token.start(), token.end())
                if len(valid) != 1 or _in_buyer_box(ctx, page.number, words):
                    continue
                return Candidate(
                    "vendor_iban",
                    valid.pop(),
                    0.7,
                    words,
                    label="IBAN",
                    page=page.number,
                    top=line.top,
                )
    return None


_SHAPED_IBAN = re.compile(r"([A-Z]{2}\d{2}(?:\s?[A-Z0-9]{2,4}){3,8})\b")


def _unvalidated_iban(ctx: _Context) -> Candidate | None:
    """An IBAN printed after an "IBAN" label but failing its checksum: reported at low
    confidence so that validation flags it, rather than silently dropped. The label may end
    the line above ("... Bankverbindung: IBAN" / "DE75 ..."); without a label, a value of the
    exact IBAN length of its country that opens the line after a payment-section marker counts
    too."""
    for page in ctx.pages:
        for index, line in enumerate(page.lines):
            labels = F.find_labels(line.text, "vendor_iban")
            for match in labels:
                start = _rest_after(line, match.end)
                holder = line
                token = _SHAPED_IBAN.match(line.text[start:])
                if not token and not line.text[start:].strip() and index + 1 < len(page.lines):
                    holder, start = page.lines[index + 1], 0
                    token = _SHAPED_IBAN.match(holder.text)
                if not token:
                    continue
                words = holder.words_in(start, start + token.end(1))
                if _in_buyer_box(ctx, page.number, words) or F.contains_any(
                    _context_before(page, line, start, 2), F.DEBIT_MARKERS
                ):
                    continue
                return Candidate(
                    "vendor_iban",
                    re.sub(r"\s", "", token.group(1)),
                    0.4,
                    words,
                    label=line.text[match.start : match.end],
                    page=page.number,
                    top=line.top,
                )
            if labels or index == 0:
                continue
            token = _SHAPED_IBAN.match(line.text)
            shaped = F.iban_shaped(token.group(1)) if token else None
            if not shaped or not F.contains_any(page.lines[index - 1].text, F.PAYMENT_MARKERS):
                continue
            words = line.words_in(0, token.end(1))  # type: ignore[union-attr]
            if _in_buyer_box(ctx, page.number, words) or F.contains_any(
                _context_before(page, line, 0, 1), F.DEBIT_MARKERS
            ):
                continue
            return Candidate(
                "vendor_iban", shaped, 0.35, words, label="", page=page.number, top=line.top
            )
    return None


def _vendor_tax_id(ctx: _Context) -> Candidate | None:
    found: dict[str, list[Candidate]] = {}
    for page in ctx.pages:
        for index, line in enumerate(page.lines):
            iban_spans = [
                m.span(1)
                for m in F.IBAN_PATTERN.finditer(line.text)
                if len(re.sub(r"\s", "", m.group(1))) >= 15
            ]
            for match in F.VAT_PATTERN.finditer(line.text):
                raw = match.group(1)
                if any(
                    match.start(1) < e and match.end(1) > s for s, e in iban_spans
                ) and F.contains_any(
                    line.text[max(0, match.start() - 12) : match.start()], ("iban",)
                ):
                    continue  # the start of an IBAN ("FR76 1010 ...") is not a VAT ID
                vat = None
                end = match.end(1)
                # The pattern may run into the next word ("DE123456789US"): shorten until the
                # checksum holds.
                while end - match.start(1) >= 8 and vat is None:
                    vat = F.normalize_tax_id(line.text[match.start(1) : end])
                    if vat is None:
                        end -= 1
                valid = vat is not None
                wrapped: list[Word] = []
                if not valid:
                    vat, wrapped = _wrapped_tax_id(page, index, line, match.start(1), match.end(1))
                    valid = vat is not None
                if not valid:
                    # Printed but failing its checksum (a typo, or a specimen number): still
                    # the vendor's ID as printed, for validation to flag; low confidence.
                    end = match.end(1)
                    vat = re.sub(r"[\s.\-]", "", raw).upper()
                    if not re.fullmatch(r"[A-Z]{2,3}[0-9A-Z]{8,12}", vat) or not re.search(
                        r"\d{6}", vat
                    ):
                        continue
                if F.normalize_iban(raw.replace(" ", "")):
                    continue
                words = wrapped or line.words_in(match.start(1), end)
                if _in_buyer_box(ctx, page.number, words):
                    continue
                before = line.text[max(0, match.start() - 40) : match.start()]
                if F.contains_any(before, F.BUYER_MARKERS):
                    continue
                if ctx.ocr and _opens_with_cut_buyer_marker(line, words):
                    continue
                side = _party_side(page, line, words)
                if side == "buyer":
                    continue
                labelled = F.find_labels(before, "vendor_tax_id")
                if valid:
                    score = 0.93 if labelled else 0.8
                    if side == "seller":
                        score += 0.04  # checksum, label and the seller's block agree
                else:
                    score = 0.6 if labelled else 0.4
                found.setdefault(vat, []).append(
                    Candidate(
                        "vendor_tax_id",
                        vat,
                        score,
                        words,
                        label=before[labelled[-1].start : labelled[-1].end] if labelled else "",
                        page=page.number,
                        top=line.top,
                        checksum=valid,
                    )
                )
    if not found:
        return _unvalidated_tax_id(ctx)
    best_vat = max(found, key=lambda k: (max(c.score for c in found[k]), len(found[k])))
    best = max(found[best_vat], key=lambda c: c.score)
    if len(found) > 1 and any(
        max(c.score for c in cands) >= 0.8 for key, cands in found.items() if key != best_vat
    ):
        best.score = min(best.score, 0.7)  # two plausible vendor VAT IDs: a human must choose
    return best


def _opens_with_cut_buyer_marker(line: Line, words: list[Word]) -> bool:
    """The segment holding ``words`` starts with a buyer marker whose first letter OCR cut
    off at the column's edge ("hre USt-IdNr.: DE 317 485 927")."""
    for segment in line.segments():
        if words and words[0] in segment.words:
            return F.first_phrase_at(segment.text, F.TRUNCATED_BUYER_MARKERS) == 0
    return False


def _wrapped_tax_id(
    page: Page, index: int, line: Line, start: int, end: int
) -> tuple[str | None, list[Word]]:
    """A VAT ID whose last digits a narrow column wrapped onto the next line ("FR 86 427 193"
    / "586"); only when the joined number passes its checksum."""
    words = line.words_in(start, end)
    if not words:
        return None, []
    for tail in _column_continuations(page, index, line, words):
        for n in range(len(tail), 0, -1):
            vat = F.normalize_tax_id(" ".join(w.text for w in words + tail[:n]))
            if vat:
                return vat, words + tail[:n]
    return None, []


# Ends at a word boundary: "13-4928176 Customer Tax ID" must not take the "C".
_TAX_NUMBER = re.compile(r"([A-Z0-9][A-Z0-9 ./\-]{5,20}[A-Z0-9])(?=\s|$)")


def _unvalidated_tax_id(ctx: _Context) -> Candidate | None:
    """A labelled tax number without a checksum (US EIN, Indian GSTIN, ...): low confidence."""
    for page in ctx.pages:
        for line in page.lines:
            for match in F.find_labels(line.text, "vendor_tax_id", ctx.language):
                if match.phrase in {"vat", "btw", "tva", "iva"}:
                    continue
                if F.contains_any(line.text[: match.start], F.BUYER_MARKERS):
                    continue
                holder, rest = line, line.text[_rest_after(line, match.end) :]
                token = _TAX_NUMBER.match(rest)
                if not token:
                    # "EIN" alone in its column, the number on the line below.
                    below = _below(page, line, line.words_in(match.start, match.end), max_lines=1)
                    if below:
                        holder, rest = below[0], below[0].text
                        token = _TAX_NUMBER.match(rest)
                if not token or not re.search(r"\d{4}", token.group(1)):
                    continue
                start = len(holder.text) - len(rest)
                words = holder.words_in(start, start + len(token.group(1)))
                if _in_buyer_box(ctx, page.number, words):
                    continue
                return Candidate(
                    "vendor_tax_id",
                    re.sub(r"[\s.]", "", token.group(1)),
                    0.5,
                    words,
                    label=line.text[match.start : match.end],
                    page=page.number,
                    top=line.top,
                )
    return None


# What OCR reads for each letter of a VAT country prefix ("IT" printed, "11" read).
_PREFIX_LOOKALIKES = {"I": "1l|", "T": "1", "L": "1", "O": "0", "D": "0", "S": "5", "B": "8",
                      "Z": "2", "G": "6", "E": "F"}  # fmt: skip
_LANGUAGE_COUNTRY = {"de": "de", "fr": "fr", "nl": "nl", "es": "es", "it": "it"}
_PREFIXED_DIGITS = re.compile(r"([A-Za-z0-9|]{2})[\s.\-]?(\d(?:[\s.]?\d){7,13})(?![\w])")


def _prefix_misread(printed: str, country: str) -> bool:
    code = "EL" if country == "gr" else country.upper()
    return printed.upper() != code and all(
        ch.upper() == want or ch in _PREFIX_LOOKALIKES.get(want, "")
        for ch, want in zip(printed, code)
    )


def _ocr_misread_prefix_tax_id(ctx: _Context, iban: Candidate | None) -> Candidate | None:
    """A VAT ID after a tax-ID label whose country prefix OCR misread ("P.IVA: 1102746190046"
    for IT02746190046): the country comes from the vendor's IBAN or the document's language,
    each printed character must look like the prefix letter it replaces, and the national
    number must pass that country's checksum. A repair, so below auto-accept."""
    countries = [str(iban.value)[:2].lower()] if iban is not None else []
    spoken = _LANGUAGE_COUNTRY.get(ctx.language or "")
    if spoken and spoken not in countries:
        countries.append(spoken)
    if not countries:
        return None
    for page in ctx.pages:
        for line in page.lines:
            for match in F.find_labels(line.text, "vendor_tax_id", ctx.language):
                if F.contains_any(line.text[: match.start], F.BUYER_MARKERS):
                    continue
                start = _rest_after(line, match.end)
                token = _PREFIXED_DIGITS.match(line.text, start)
                if not token:
                    continue
                words = line.words_in(token.start(), token.end())
                if _in_buyer_box(ctx, page.number, words) or _party_side(
                    page, line, words
                ) == "buyer":
                    continue
                for country in countries:
                    if not _prefix_misread(token.group(1), country):
                        continue
                    vat = F.normalize_tax_id(re.sub(r"[\s.]", "", token.group(2)), country)
                    if vat is None or not vat[:2].isalpha():
                        continue
                    return Candidate(
                        "vendor_tax_id",
                        vat,
                        0.7,
                        words,
                        label=line.text[match.start : match.end],
                        page=page.number,
                        top=line.top,
                        checksum=True,
                    )
    return None


def _vendor_bic(ctx: _Context, iban: Candidate | None) -> Candidate | None:
    for page in ctx.pages:
        for line in page.lines:
            for match in F.find_labels(line.text, "vendor_bic"):
                rest_start = _rest_after(line, match.end)
                token = F.BIC_PATTERN.match(line.text, rest_start)
                if not token:
                    continue
                bic = F.normalize_bic(token.group(1))
                if not bic:
                    continue
                words = line.words_in(token.start(1), token.end(1))
                if _in_buyer_box(ctx, page.number, words):
                    continue
                score = 0.8
                if iban is not None and str(iban.value)[:2] == bic[4:6]:
                    score = 0.9
                return Candidate(
                    "vendor_bic",
                    bic,
                    score,
                    words,
                    label=line.text[match.start : match.end],
                    page=page.number,
                    top=line.top,
                    checksum=True,
                )
    return None


def _name_segments(page: Page, index: int, line: Line) -> list[tuple[Line, bool]]:
    """Each segment of a line, and also joined with the segment right above it at the same x
    when a narrow column may have wrapped a company name ("Zeeland Transport &" / "Logistiek
    B.V."): (segment, joined). A lone legal form ("B.V.") is only offered joined."""
    result = []
    # Beside another column the line right above may be that column's ("Lyon" between
    # "Côte d'Azur Nettoyage" and "SA"): the nearest few lines above are looked at.
    aboves = [a for a in page.lines[max(0, index - 3) : index] if a.top < line.top]
    for segment in line.segments():
        lone_form = bool(_LEGAL_FORMS.fullmatch(segment.text.strip(" ,")))
        if not lone_form:
            result.append((segment, False))
        column = [
            a
            for a in aboves
            if any(abs(t.x0 - segment.x0) <= 4 for t in a.segments())
        ]
        above = column[-1] if column else None
        if above is None or line.top - above.bottom >= 0.6 * line.height:
            continue
        for top in above.segments():
            if abs(top.x0 - segment.x0) > 4 or len(top.text) > 40:
                continue
            if re.search(r"[\d:@/]", top.text) or _LEGAL_FORMS.search(top.text):
                continue
            if F.contains_any(top.text, F.SELLER_MARKERS + F.BUYER_MARKERS):
                continue  # a block header ("Verkäufer") is not the first half of a name
            result.append((_stacked(page.number, [*top.words, *segment.words]), True))
    return result


def _stacked(page: int, words: list[Word]) -> Line:
    """A line made of words in the given reading order (a name wrapped over two lines starts
    at the same x on both, so sorting by x would interleave them)."""
    line = Line(page, words[:1])
    line.words = list(words)
    line.spans, pos = [], 0
    for word in words:
        line.spans.append((pos, pos + len(word.text)))
        pos += len(word.text) + 1
    line.text = " ".join(w.text for w in words)
    return line


def _heads_buyer_block(page: Page, index: int, segment: Line) -> bool:
    """A name directly above a buyer marker at the same x ("Kestrel Instruments B.V." /
    "Crediteurenadministratie") is the buyer's."""
    last = segment.words[-1]
    for nxt in page.lines[index + 1 : index + 3]:
        if nxt.top - last.bottom > 1.2 * nxt.height:
            break
        for below in nxt.segments():
            if abs(below.x0 - segment.x0) <= 4:
                at = F.first_phrase_at(below.text, F.BUYER_MARKERS)
                if at is not None and at <= 3:
                    return True
        if nxt.top > last.bottom:
            break
    return False


def _names_the_bank(page: Page, index: int, line: Line, segment: Line, form_at: int) -> bool:
    """A company named after a payment marker on its line ("Datos bancarios: BANCO SANTANDER,
    S.A. / IBAN: ...") or right before an IBAN or BIC label is the vendor's bank."""
    at = segment.words[0].x0
    before = " ".join(w.text for w in line.words if w.x1 <= at + 0.5)
    if F.contains_any(before + " " + segment.text[:form_at], F.PAYMENT_MARKERS):
        return True
    after = " ".join(w.text for w in line.words if w.x0 >= segment.words[-1].x1 - 0.5)
    after = (segment.text[form_at:] + " " + after)[:40]
    if any(F.find_labels(after, name) for name in ("vendor_iban", "vendor_bic")):
        return True
    # A bank column: the bank's name, then "IBAN ..." opening the next line at its left edge.
    nxt = page.lines[index + 1] if index + 1 < len(page.lines) else None
    if nxt is None or nxt.top - line.bottom > 1.5 * line.height:
        return False
    under = [s for s in nxt.segments() if abs(s.x0 - at) <= 4]
    return bool(under) and any(
        (m := F.find_labels(under[0].text, name)) and m[0].start == 0
        for name in ("vendor_iban", "vendor_bic")
    )


def _vendor_name(ctx: _Context) -> Candidate | None:
    """The vendor's name: a company name with a legal form outside the buyer's block,
    preferring the top of page 1; else the first text line of page 1. At least 0.9 only with
    independent evidence: a seller-block header above it or a matching web/mail domain."""
    page = ctx.pages[0]
    options = []
    for index, line in enumerate(page.lines):
        for variant, wrapped in _name_segments(page, index, line):
            segment = variant
            if _heads_buyer_block(page, index, segment):
                continue
            match = _LEGAL_FORMS.search(segment.text)
            if not match or _in_buyer_box(ctx, page.number, segment.words):
                continue
            if segment.text[: match.start()].rstrip().endswith("("):
                continue  # "Total (inc. VAT)" is no company
            if F.contains_any(segment.text, F.BUYER_MARKERS):
                continue
            if _names_the_bank(page, index, line, segment, match.start()):
                continue
            end = match.end()
            # Legal forms in a row belong together ("Pvt. Ltd.", "GmbH & Co. KG").
            while more := re.match(r"[\s.&]*(?:Co\.?\s*)?", segment.text[end:]):
                follow = _LEGAL_FORMS.match(segment.text, end + more.end())
                if not follow or follow.end() == end:
                    break
                end = follow.end()
            name = segment.text[:end].strip(" ,:-–")
            name = re.split(r"\s[-–|]\s|:\s", name)[-1].strip()
            if len(name) < 4 or len(name) > 80:
                continue
            position = 1.0 - 0.3 * (line.top / max(page.height, 1.0))
            words = segment.words_in(segment.text.find(name), segment.text.find(name) + len(name))
            options.append(
                Candidate(
                    "vendor_name",
                    name,
                    0.6 * position * (0.9 if wrapped else 1.0),
                    words or segment.words,
                    page=page.number,
                    top=line.top,
                )
            )
    if options:
        counts: dict[str, int] = {}
        for cand in options:
            key = F.fold(cand.value)  # type: ignore[arg-type]
            counts[key] = counts.get(key, 0) + 1
        domains = _vendor_domains(ctx)
        evidence: dict[str, int] = {}
        for cand in options:
            key = F.fold(cand.value)  # type: ignore[arg-type]
            line = next(l for l in page.lines if cand.words and cand.words[-1] in l.words)
            strong = _party_side(page, line, cand.words) == "seller" or _names_domain(
                str(cand.value), domains
            )
            evidence[key] = max(evidence.get(key, 0), int(strong))
        def rank(cand: Candidate) -> tuple[int, int, float]:
            key = F.fold(str(cand.value))
            return evidence[key], counts[key], cand.score

        best = max(options, key=rank)
        key = F.fold(best.value)  # type: ignore[arg-type]
        if not evidence[key]:
            named = _domain_named_segment(ctx, page)
            if named is not None:
                return named
        if counts[key] > 1:
            best.score = min(best.score + 0.1, 0.7)
        rivals = {k for k, strong in evidence.items() if strong and k != key}
        if evidence[key] and not rivals:
            # Independent evidence: the name heads a seller block ("Verkäufer", "Supplier")
            # or matches the domain of a web or mail address outside the buyer's block.
            best.score = 0.93 if counts[key] > 1 else 0.9
        return best
    named = _domain_named_segment(ctx, page)
    if named is not None:
        return named
    for line in page.lines[:3]:
        segment = line.segments()[0]
        if _in_buyer_box(ctx, page.number, segment.words):
            continue
        if F.first_phrase_at(segment.text, F.SELLER_MARKERS) == 0:
            continue  # the header "Fournisseur", not a name
        if any(F.find_labels(segment.text, name) for name in ("invoice_number", "issue_date")):
            continue
        if re.search(r"[A-Za-z]{3}", segment.text):
            return Candidate(
                "vendor_name",
                segment.text.strip(),
                0.3,
                segment.words,
                page=page.number,
                top=line.top,
            )
    return None


_DOMAIN = re.compile(r"(?:@|www\.|https?://)([a-z0-9][a-z0-9\-]{2,62})\.[a-z]{2,}", re.IGNORECASE)
_NAME_NOISE = re.compile(r"[^a-z0-9]")


def _vendor_domains(ctx: _Context) -> set[str]:
    """Second-level names of mail and web addresses outside the buyer's block (``acme-tools``
    of ``info@acme-tools.de``), without generic mail providers."""
    found = set()
    for page in ctx.pages:
        for line in page.lines:
            for match in _DOMAIN.finditer(line.text):
                words = line.words_in(match.start(1), match.end(1))
                if _in_buyer_box(ctx, page.number, words):
                    continue
                label = _NAME_NOISE.sub("", match.group(1).lower())
                if len(label) >= 4 and label not in _MAIL_PROVIDERS:
                    found.add(label)
    return found


_MAIL_PROVIDERS = frozenset(
    "gmail googlemail yahoo hotmail outlook live gmx web aol icloud orange free wanadoo "
    "libero ziggo kpnmail example localhost fake".split()
)


def _domain_named_segment(ctx: _Context, page: Page) -> Candidate | None:
    """A name without a legal form ("Kantoorhuis De Vries") that spells exactly the domain of
    the page's web or mail address, in the top half of page 1 outside the buyer's block."""
    domains = _vendor_domains(ctx)
    if not domains:
        return None
    for line in page.lines:
        if line.top > page.height / 2:
            break
        for segment in line.segments():
            letters = _NAME_NOISE.sub("", F.fold(segment.text))
            if letters not in domains or _in_buyer_box(ctx, page.number, segment.words):
                continue
            return Candidate(
                "vendor_name",
                segment.text.strip(),
                0.9,
                segment.words,
                label="web domain",
                page=page.number,
                top=line.top,
            )
    return None


def _names_domain(name: str, domains: set[str]) -> bool:
    """Whether a company name and a domain spell the same words ("Bluegrass Office Supply
    Inc." / ``bluegrassoffice.com``): the domain, at least 5 letters, opens the name."""
    letters = _NAME_NOISE.sub("", _LEGAL_FORMS.sub("", F.fold(name)))
    if len(letters) < 4:
        return False
    # Only the domain as a prefix of the whole name: a name cut short ("Rheinblick GmbH" of
    # "Rheinblick Gebäudeservice GmbH") must not match "rheinblick-service".
    return any(len(d) >= 5 and letters.startswith(d) for d in domains)


_CURRENCY_LABEL = re.compile(
    r"(?i)\b(?:currency|wahrung|währung|devise|monnaie|valuta|munteenheid|moneda|divisa|"
    r"amounts? in|betrage in|beträge in|montants en)\s*[:.]?\s*([A-Z]{3})\b"
)


_EURO_COUNTRIES = frozenset(
    "AT BE CY DE EE EL ES FI FR GR HR IE IT LT LU LV MT NL PT SI SK".split()
)
_NATIONAL_CURRENCY = {
    "GB": "GBP", "CH": "CHF", "LI": "CHF", "SE": "SEK", "DK": "DKK", "NO": "NOK",
    "PL": "PLN", "CZ": "CZK", "HU": "HUF", "RO": "RON", "BG": "BGN",
}  # fmt: skip
# Payment details only a US invoice prints: a bank routing number or an EIN label.
_US_MARKERS = re.compile(
    r"\b(?:ABA|routing (?:number|no\.?)|Federal Tax ID|EIN)\b", re.IGNORECASE
)


def _implied_currency(chosen: dict[str, Candidate], text: str) -> Candidate | None:
    """The currency of an invoice that names none: that of the vendor's bank account country
    (else its VAT ID's), or USD when it pays to a US routing number. A guess from the
    country, so it never reaches auto-accept."""
    for name in ("vendor_iban", "vendor_tax_id"):
        cand = chosen.get(name)
        country = str(cand.value)[:2].upper() if cand else ""
        code = "EUR" if country in _EURO_COUNTRIES else _NATIONAL_CURRENCY.get(country)
        if code:
            return Candidate(
                "currency", code, 0.6, [], label=f"{name} country", page=cand.page, top=cand.top
            )
    if _US_MARKERS.search(text):
        return Candidate("currency", "USD", 0.55, [], label="US payment details")
    return None


def _once_in_ocr_noise(
    ctx: _Context, chosen: dict[str, Candidate], currency: tuple[str, float], implied: Candidate
) -> bool:
    """The only currency named is named once, only as a symbol or word (no ISO code), not on
    the line of an amount the rules read, and it is not the currency of the vendor's own
    account country: a UK vendor's one "€" beside its total stays EUR."""
    code, _conf = currency
    text = "\n".join(line.text for page in ctx.pages for line in page.lines)
    counts = F.find_currencies(text)
    if (
        implied.value == code
        or counts.get(code) != 1
        or len(counts) != 1
        or re.search(rf"(?<![A-Za-z]){code}(?![A-Za-z])", text)
    ):
        return False
    amount_words = {id(w) for n in _AMOUNT_FIELDS if n in chosen for w in chosen[n].words}
    for page in ctx.pages:
        for line in page.lines:
            if amount_words & {id(w) for w in line.words} and F.find_currencies(line.text):
                return False
    return True


def _currency_candidate(ctx: _Context, code: str, conf: float) -> Candidate:
    symbols = {code} | {s for s, c in F._CURRENCY_SYMBOLS if c == code}
    for page in ctx.pages:
        for line in page.lines:
            match = _CURRENCY_LABEL.search(line.text)
            stated = match.group(1) if match else ""
            if stated not in F.ISO_CURRENCIES:
                continue
            # "Währung: EUR" states it outright: certain when the symbols agree, and still the
            # currency when they do not (an OCR misread such as "(S)" as "($)"), but
            # then below 0.9.
            words = line.words_in(match.start(1), match.end(1))
            return Candidate(
                "currency",
                stated,
                max(conf, 0.95) if stated == code else 0.75,
                words,
                label="currency",
                page=page.number,
                top=line.top,
            )
    for page in ctx.pages:
        for line in page.lines:
            for word in line.words:
                if any(s in word.text for s in symbols):
                    return Candidate("currency", code, conf, [word], page=page.number, top=line.top)
    first = ctx.pages[0]
    return Candidate("currency", code, conf, [], page=first.number, top=0.0)


def _document_type(ctx: _Context) -> Candidate:
    page = ctx.pages[0]
    for line in page.lines:
        if line.top > page.height / 2:
            break
        phrase = F.contains_any(line.text, F.CREDIT_NOTE_WORDS)
        if phrase:
            return Candidate(
                "document_type",
                "credit_note",
                0.8,
                line.words,
                label=phrase,
                page=page.number,
                top=line.top,
            )
    return Candidate("document_type", "invoice", 0.6, [], page=page.number)


def _credit_note_signs(chosen: dict[str, Candidate]) -> None:
    """Amounts of a credit note as positive values, the document type carrying the sign: the
    convention of UBL CreditNote XML (and of CII type 381) and of the stored invoice, whichever
    way the page prints them ("Avoir ... Total TTC 119,00" or "Gutschrift ... -119,00"). A
    document with negative amounts and no credit-note word keeps its signs: EN 16931 calls it
    a corrective invoice (type 384, "Rechnungskorrektur"), whose XML amounts are negative."""
    if chosen["document_type"].value != "credit_note":
        return
    for name in _AMOUNT_FIELDS:
        cand = chosen.get(name)
        if cand is not None and cand.value < 0:  # type: ignore[operator]
            cand.value = -cand.value  # type: ignore[operator]


# --- Line items ----------------------------------------------------------------------------


def _header_columns(line: Line) -> dict[str, tuple[float, float]]:
    """Column name -> x-range, matching header words one by one (headers set close together
    form one segment, "Prijs BTW Hoeveelheid"); two-word headers are tried first."""
    columns: dict[str, tuple[float, float]] = {}
    words = line.words
    index = 0
    while index < len(words):
        matched = False
        for size in (2, 1):
            group = words[index : index + size]
            if len(group) < size:
                continue
            folded = F.fold(" ".join(w.text for w in group)).strip(":.")
            for name, phrases in _HEADER_WORDS.items():
                if name not in columns and folded in phrases:
                    columns[name] = (group[0].x0, group[-1].x1)
                    index += size
                    matched = True
                    break
            if matched:
                break
        if not matched:
            index += 1
    return columns


# "Carried forward" at the foot of a page and "brought forward" at the top of the next: the
# table goes on over the page, and the carried sum is not a line.
_CARRY_LABEL = re.compile(
    r"^(?:transport|ubertrag|uebertrag|zwischenubertrag|carried forward|carry forward|brought forward|"
    r"balance forward|a reporter|report|reporte|suma y sigue|suma anterior|riporto|a riportare)\b"
)


def _table_header(page: Page) -> tuple[int, dict[str, tuple[float, float]]] | None:
    for index, line in enumerate(page.lines):
        columns = _header_columns(line)
        if "description" in columns and "amount" in columns and len(columns) >= 3:
            return index, columns
    return None


def _ends_table(line: Line, columns: dict[str, tuple[float, float]]) -> bool:
    """A totals label at the start of the line or right of the description column, or a tax
    label starting the line (the VAT summary under the table: "Umsatzsteuer (S) 202,33 14,16")."""
    table_x0 = min(x0 for x0, _ in columns.values())
    for m in F.find_labels(line.text, "tax_amount"):
        label_words = line.words_in(m.start, m.end)
        # Not a sidebar beside the table ("VAT no. GB…" left of the rows).
        if m.start == 0 and label_words and label_words[0].x0 >= table_x0 - 30:
            return True
    for name in ("total_amount", "net_amount"):
        for m in F.find_labels(line.text, name):
            label_words = line.words_in(m.start, m.end)
            if m.start == 0 or (label_words and label_words[0].x0 > columns["description"][1]):
                return True
    return False


def _table_row(
    line: Line, columns: dict[str, tuple[float, float]], decimal_hint: str | None, *, decimals_seen: bool
) -> ExtractedLine | None:
    """The line as an item, or None when nothing sits in the amount column. An amount without
    decimals under a column that has shown decimals is a footer number (a registry or phone
    number), not a line."""
    amount_x0 = columns["amount"][0]
    amounts = amounts_in(line, 0, decimal_hint)
    in_amount_col = [a for a in amounts if a[1][-1].x1 >= amount_x0 - 30]
    if not in_amount_col:
        return None
    value, words, has_decimals = in_amount_col[-1]
    if decimals_seen and not has_decimals:
        return None
    return _row_parts(line, columns, [a for a in amounts if a[1] != words], amount=value)


def _row_parts(
    line: Line,
    columns: dict[str, tuple[float, float]],
    amounts: list[tuple[Decimal, list[Word], bool]],
    *,
    amount: Decimal | None,
) -> ExtractedLine:
    """Description, quantity and unit price of a table row, by the header's columns."""
    description_x0 = columns["description"][0]
    desc_end = min(x for name, (x, _) in columns.items() if name != "description" and x > description_x0)
    # Columns left of the description (position, article number) are not part of it.
    left_columns = [span for name, span in columns.items() if span[1] <= description_x0]
    table_x0 = min(x0 for x0, _ in columns.values())
    desc_words = [
        w for w in line.words
        if table_x0 - 30 <= w.x1 <= desc_end - 2  # a sidebar left of the table is not a description
        and not any(x0 - 8 <= (w.x0 + w.x1) / 2 <= x1 + 8 for x0, x1 in left_columns)
    ]
    item = ExtractedLine(description=" ".join(w.text for w in desc_words).strip(), amount=amount)
    qty_col = columns.get("quantity")
    for other_value, other_words, _ in amounts:
        centre = (other_words[0].x0 + other_words[-1].x1) / 2
        if qty_col and qty_col[0] - 25 <= centre <= qty_col[1] + 25 and item.quantity is None:
            item.quantity = other_value
        elif _under_price(columns, centre):
            item.unit_price = other_value
    return item


def _under_price(columns: dict[str, tuple[float, float]], centre: float) -> bool:
    price_col = columns.get("unit_price")
    return price_col is not None and price_col[0] - 40 <= centre <= price_col[1] + 40


_FOUR_DECIMALS = re.compile(r"(\d{1,6})#(\d{3,4})")


def _with_row_above(
    item: ExtractedLine, above: Line, columns: dict[str, tuple[float, float]], decimal_hint: str | None
) -> ExtractedLine | None:
    """``item`` completed from the line above it, for tables that print a row's description,
    quantity and unit price on one line and its amount on the next ("1 TB100A4 Trennblätter A4
    9,9000 20 Stk 19 %" over "4012345001235 198,00"); None unless quantity times unit price
    there is the amount here, to the cent."""
    parts = _row_parts(above, columns, amounts_in(above, 0, decimal_hint), amount=None)
    if parts.unit_price is None and decimal_hint:
        # Unit prices with four decimals ("9,9000"), which money amounts never have.
        for word in above.words:
            match = _FOUR_DECIMALS.fullmatch(word.text.replace(decimal_hint, "#"))
            if match and _under_price(columns, (word.x0 + word.x1) / 2):
                parts.unit_price = Decimal(f"{match.group(1)}.{match.group(2)}")
    if parts.quantity is None or parts.unit_price is None or not parts.description:
        return None
    if abs(parts.quantity * parts.unit_price - item.amount) > Decimal("0.005"):
        return None
    details = item.description
    parts.amount = item.amount
    parts.description = parts.description + (f"\n{details}" if details else "")
    return parts


def extract_line_items(pages: list[Page], decimal_hint: str | None) -> list[ExtractedLine]:
    """Rows of the line-item table: a header naming description and amount columns, then rows
    until a totals label. The table may go on over several pages, with or without the header
    repeated; "carried forward" sums are skipped. Continuation lines extend the description."""
    items: list[ExtractedLine] = []
    columns: dict[str, tuple[float, float]] | None = None
    row_height = 0.0
    decimals_seen = False
    for page in pages:
        found = _table_header(page)
        if found is not None:
            header_index, columns = found
            header = page.lines[header_index]
            rows, row_height, last_bottom = page.lines[header_index + 1 :], header.height, header.bottom
        elif columns is not None and items:
            rows, last_bottom = page.lines, None  # the table goes on without a repeated header
        else:
            continue
        page_items = 0
        above: Line | None = None  # the line before this one, when it was no item
        appended: str | None = None  # what that line added to the item before it
        for line in rows:
            if last_bottom is not None and page_items and line.top - last_bottom > 6 * row_height:
                break
            if _ends_table(line, columns):
                return items
            if _CARRY_LABEL.match(F.fold(line.text)):
                if page_items:
                    break  # carried forward: the rest of the page is footer
                continue  # brought forward at the top of the page
            item = _table_row(line, columns, decimal_hint, decimals_seen=decimals_seen)
            if item is not None and above is not None and item.quantity is None:
                completed = _with_row_above(item, above, columns, decimal_hint)
                if completed is not None:
                    item = completed
                    if appended is not None:  # it was this row's first line, not a continuation
                        items[-1].description = items[-1].description.removesuffix(appended)
            above, appended = (None, None) if item is not None else (line, None)
            if item is not None:
                items.append(item)
                page_items += 1
                decimals_seen = decimals_seen or item.amount != item.amount.to_integral_value() or bool(
                    re.search(r"[.,]\d{2}\b", line.text)
                )
                last_bottom = line.bottom
            elif page_items and last_bottom is not None and line.top - last_bottom < 2.5 * row_height:
                extra = " ".join(w.text for w in line.words if w.x1 < columns["amount"][0])
                before = items[-1].description
                items[-1].description = (before + "\n" + extra).strip()
                appended = items[-1].description[len(before) :]
                last_bottom = line.bottom
    return items
