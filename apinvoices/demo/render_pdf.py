"""Render an ``InvoiceSpec`` as a vendor-style PDF with a text layer (reportlab).

Eight layouts differ in where the vendor and buyer blocks sit, whether the header data are
label:value pairs or a table, how the line table is ruled, and where totals and bank details
go, so extraction is tested against positions it has not been tuned on. Every layout prints
the buyer's address and VAT ID as well as the vendor's (extraction must tell them apart),
and breaks onto further pages when the lines do not fit.

``render_pdf`` is deterministic: the same spec gives the same bytes (reportlab's invariant
mode fixes the creation date and document ID).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

from reportlab.lib.colors import Color, HexColor, black, white
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from schwifty import IBAN

from apinvoices.demo.localize import (
    format_date,
    format_money,
    format_number,
    format_quantity,
    format_rate,
    label,
)
from apinvoices.demo.specs import (
    UNIT_LABELS,
    InvoiceSpec,
    Party,
    base_language,
    format_iban,
)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_FONT_FILES = {
    "sans": "DejaVuSans.ttf",
    "sans_bold": "DejaVuSans-Bold.ttf",
    "cond": "DejaVuSansCondensed.ttf",
    "cond_bold": "DejaVuSansCondensed-Bold.ttf",
    "serif": "DejaVuSerif.ttf",
    "serif_bold": "DejaVuSerif-Bold.ttf",
    "mono": "DejaVuSansMono.ttf",
    "mono_bold": "DejaVuSansMono-Bold.ttf",
}
# Base-14 fallbacks cover Latin-1 only (no €), so they are a last resort.
_FALLBACK = {
    "sans": "Helvetica", "sans_bold": "Helvetica-Bold", "cond": "Helvetica",
    "cond_bold": "Helvetica-Bold", "serif": "Times-Roman", "serif_bold": "Times-Bold",
    "mono": "Courier", "mono_bold": "Courier-Bold",
}


@cache
def fonts() -> dict[str, str]:
    """Role -> registered reportlab font name (DejaVu when installed)."""
    names = {}
    for role, filename in _FONT_FILES.items():
        path = FONT_DIR / filename
        if path.exists():
            name = f"Demo-{path.stem}"
            if name not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont(name, str(path)))
            names[role] = name
        else:
            names[role] = _FALLBACK[role]
    return names


GREY = HexColor("#555555")
LIGHT = HexColor("#EEEEEE")
MID = HexColor("#BBBBBB")


def _accent(name: str) -> Color:
    palette = ("#1F4E79", "#7A1F3D", "#1E6B52", "#8C4A0F", "#4B3B8F", "#0F6C8C", "#6B6B1E",
               "#9E2A2B")
    return HexColor(palette[zlib.crc32(name.encode()) % len(palette)])


def _initials(name: str) -> str:
    words = [w for w in name.replace("&", " ").split() if w[:1].isalpha() and w[:1].isupper()]
    return "".join(w[0] for w in words[:2]) or name[:2].upper()


# --- drawing primitives (y measured from the top of the page) ------------------------------


class Pen:
    def __init__(self, canvas: Canvas, width: float, height: float):
        self.c = canvas
        self.w = width
        self.h = height
        self.f = fonts()

    def text(self, x, y, s, *, size=9.0, font="sans", align="left", color=black):
        if not s:
            return
        self.c.setFillColor(color)
        self.c.setFont(self.f[font], size)
        if align == "right":
            self.c.drawRightString(x, self.h - y, s)
        elif align == "center":
            self.c.drawCentredString(x, self.h - y, s)
        else:
            self.c.drawString(x, self.h - y, s)

    def lines(self, x, y, rows, *, size=9.0, leading=None, font="sans", align="left",
              color=black, first_font=None) -> float:
        """Draw rows as baselines starting at y; return the y below the block."""
        leading = leading or size * 1.3
        for i, row in enumerate(rows):
            self.text(x, y + i * leading, row, size=size,
                      font=first_font if (i == 0 and first_font) else font,
                      align=align, color=color)
        return y + len(rows) * leading

    def width(self, s, size=9.0, font="sans") -> float:
        return pdfmetrics.stringWidth(s, self.f[font], size)

    def wrap(self, s, width, size=9.0, font="sans") -> list[str]:
        words, rows, current = s.split(), [], ""
        for word in words:
            trial = f"{current} {word}".strip()
            if self.width(trial, size, font) <= width or not current:
                current = trial
            else:
                rows.append(current)
                current = word
        return rows + ([current] if current else [])

    def rule(self, x1, y, x2, *, width=0.5, color=black, dash=None):
        self.c.setStrokeColor(color)
        self.c.setLineWidth(width)
        self.c.setDash(*(dash or ()))
        self.c.line(x1, self.h - y, x2, self.h - y)
        self.c.setDash()

    def vrule(self, x, y1, y2, *, width=0.5, color=black):
        self.c.setStrokeColor(color)
        self.c.setLineWidth(width)
        self.c.line(x, self.h - y1, x, self.h - y2)

    def rect(self, x, y, w, h, *, fill=None, stroke=None, width=0.5, radius=0):
        """Rectangle whose top-left corner is (x, y)."""
        if fill is not None:
            self.c.setFillColor(fill)
        if stroke is not None:
            self.c.setStrokeColor(stroke)
            self.c.setLineWidth(width)
        args = (x, self.h - y - h, w, h)
        kw = {"fill": int(fill is not None), "stroke": int(stroke is not None)}
        if radius:
            self.c.roundRect(*args, radius, **kw)
        else:
            self.c.rect(*args, **kw)


# --- context shared by the layout pieces ---------------------------------------------------


@dataclass
class Ctx:
    spec: InvoiceSpec
    pen: Pen
    style: LayoutStyle
    total_pages: int
    page: int = 1

    @property
    def lang(self) -> str:
        return self.spec.language

    @property
    def accent(self) -> Color:
        return _accent(self.spec.vendor.name)

    def L(self, key: str) -> str:
        return label(self.lang, key, self.style.variant)

    def money(self, value: Decimal, style: str | None = None) -> str:
        sign = -1 if self.spec.is_credit_note else 1
        return format_money(sign * value, self.lang, self.spec.currency,
                            style or self.style.money_style)

    def number(self, value: Decimal) -> str:
        sign = -1 if self.spec.is_credit_note else 1
        return format_number(sign * value, self.lang, self.spec.currency)

    def date(self, value) -> str:
        return format_date(value, self.lang, self.spec.date_style)

    def title(self) -> str:
        return self.L("credit_note") if self.spec.is_credit_note else self.L("invoice")

    def number_label(self) -> str:
        key = "credit_note_number" if self.spec.is_credit_note else "invoice_number"
        return self.L(key)

    def vat_label(self, party: Party) -> str:
        if party.country == "CH":
            return "MWST-Nr." if base_language(self.lang) == "de" else "VAT No. (CH)"
        if party.country == "US" and not party.vat_id:
            return label("en_US", "vat_id", self.style.variant)
        if self.lang == "en_US":
            return "VAT ID"
        return self.L("vat_id")

    def tax_row_label(self, rate: Decimal) -> str:
        name = self.L("vat")
        if self.spec.vendor.country == "CH" and base_language(self.lang) == "de":
            name = "MWST"
        elif self.lang == "en_US" and self.spec.vendor.country != "US":
            name = "VAT"
        rate_text = format_rate(rate, self.lang, self.spec.currency)
        if self.lang == "en_US":
            return f"{name} ({rate_text})"
        return f"{name} {rate_text}"

    def meta_pairs(self, *, with_due=True, with_buyer_vat=False) -> list[tuple[str, str]]:
        s = self.spec
        pairs = [(self.number_label(), s.number), (self.L("issue_date"), self.date(s.issue_date))]
        if s.delivery_date:
            pairs.append((self.L("delivery_date"), self.date(s.delivery_date)))
        pairs.append((self.L("customer_number"), s.customer_number))
        if s.po_number:
            pairs.append((self.L("po_number"), s.po_number))
        if s.original_invoice_number:
            pairs.append((self.L("original_invoice"), s.original_invoice_number))
        if with_due and s.due_date:
            pairs.append((self.L("due_date"), self.date(s.due_date)))
        if with_buyer_vat:
            pairs.append((self.L("buyer_vat_id"), s.buyer.tax_id_display))
        return pairs

    def vendor_contact(self) -> list[str]:
        v = self.spec.vendor
        rows = [f"{self.L('phone')} {v.phone}", f"{self.L('email')}: {v.email}"]
        if v.website:
            rows.append(v.website)
        return rows

    def vendor_tax_line(self) -> str:
        v = self.spec.vendor
        return f"{self.vat_label(v)}: {v.tax_id_display}"

    def buyer_tax_line(self) -> str:
        return f"{self.L('buyer_vat_id')}: {self.spec.buyer.tax_id_display}"

    def buyer_block(self, *, with_vat=True) -> list[str]:
        b = self.spec.buyer
        rows = [b.name]
        if self.style.variant % 2:
            rows.append({"de": "Kreditorenbuchhaltung", "fr": "Service comptabilité fournisseurs",
                         "nl": "Crediteurenadministratie", "es": "Dpto. de cuentas a pagar",
                         "it": "Ufficio contabilità fornitori"}.get(base_language(self.lang),
                                                                   "Accounts Payable"))
        rows += b.address_lines()
        if with_vat:
            rows.append(self.buyer_tax_line())
        return rows

    def bank_rows(self) -> list[str]:
        v = self.spec.vendor
        if v.iban:
            bank = IBAN(v.iban).bank
            rows = [bank.name] if bank is not None and bank.name else []
            rows += [f"IBAN: {format_iban(v.iban)}"]
            if v.bic:
                rows.append(f"BIC: {v.bic}")
            return rows
        return [f"Account: {v.account_number}", f"ABA Routing: {v.routing_number}"]

    def totals_rows(self, *, always_due=False, kinds=None) -> list[tuple[str, str, bool]]:
        """(label, printed amount, emphasised) from net to the amount actually due."""
        s = self.spec
        rows = [("net", self.L("net_total"), self.money(s.net_amount), False)]
        for tax in s.taxes:
            rows.append(("tax", self.tax_row_label(tax.rate), self.money(tax.amount), False))
        rows.append(("total", self.L("total"), self.money(s.total_amount), True))
        if s.amount_paid:
            rows.append(("trap", self.L("amount_paid"), self.money(-s.amount_paid), False))
        if s.previous_balance:
            rows.append(("trap", self.L("previous_balance"), self.money(s.previous_balance),
                         False))
        if s.amount_paid or s.previous_balance or always_due:
            rows.append(("due", self.L("amount_due"), self.money(s.amount_due), True))
        return [r[1:] for r in rows if kinds is None or r[0] in kinds]


# --- line table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str  # pos, description, qty, unit, unit_price, vat, amount
    width: float  # fraction of the table width
    align: str = "left"


@dataclass(frozen=True)
class TableStyle:
    columns: tuple[Column, ...]
    rules: str = "rows"  # grid, rows, zebra, header, dashes
    header_fill: Color | None = None
    header_color: Color = black
    size: float = 8.5
    font: str = "sans"
    padding: float = 3.0


STANDARD_COLUMNS = (
    Column("pos", 0.06), Column("description", 0.44), Column("qty", 0.09, "right"),
    Column("unit", 0.08), Column("unit_price", 0.15, "right"), Column("amount", 0.18, "right"),
)
VAT_COLUMNS = (
    Column("pos", 0.06), Column("description", 0.40), Column("qty", 0.08, "right"),
    Column("unit", 0.08), Column("unit_price", 0.14, "right"), Column("vat", 0.08, "right"),
    Column("amount", 0.16, "right"),
)
US_COLUMNS = (
    Column("qty", 0.09, "right"), Column("description", 0.55), Column("unit_price", 0.17, "right"),
    Column("amount", 0.19, "right"),
)


def _cell(ctx: Ctx, line, key: str) -> str:
    if key == "pos":
        return str(line.position)
    if key == "description":
        return line.description
    if key == "qty":
        return format_quantity(line.quantity, ctx.lang, ctx.spec.currency)
    if key == "unit":
        return UNIT_LABELS[line.unit][base_language(ctx.lang)]
    if key == "unit_price":
        return format_number(line.unit_price, ctx.lang, ctx.spec.currency)
    if key == "vat":
        return format_rate(line.tax_rate, ctx.lang, ctx.spec.currency)
    if key == "amount":
        return ctx.number(line.net_amount)
    raise KeyError(key)


def _header_text(ctx: Ctx, key: str) -> str:
    if key == "vat":
        return ctx.L("vat")
    return ctx.L(key)


class Table:
    def __init__(self, ctx: Ctx, x: float, width: float, ts: TableStyle):
        self.ctx, self.x, self.width, self.ts = ctx, x, width, ts
        self.lead = ts.size * 1.35
        self.edges = [x]
        for col in ts.columns:
            self.edges.append(self.edges[-1] + col.width * width)
        self.row_index = 0

    def _draw_cells(self, y, cells: list[list[str]], *, font, color, height):
        pen, ts = self.ctx.pen, self.ts
        for i, col in enumerate(ts.columns):
            left, right = self.edges[i] + ts.padding, self.edges[i + 1] - ts.padding
            for j, row in enumerate(cells[i]):
                base = y + ts.padding + ts.size + j * self.lead
                # Long labels in narrow columns shrink rather than overprint the neighbour.
                natural = max(pen.width(row, ts.size, font), 1)
                size = min(ts.size, ts.size * (right - left) / natural)
                if col.align == "right":
                    pen.text(right, base, row, size=size, font=font, align="right", color=color)
                else:
                    pen.text(left, base, row, size=size, font=font, color=color)
        if ts.rules == "grid":
            for edge in self.edges:
                pen.vrule(edge, y, y + height, width=0.4)

    def header(self, y: float) -> float:
        pen, ts = self.ctx.pen, self.ts
        height = self.lead + 2 * ts.padding
        if ts.header_fill is not None:
            pen.rect(self.x, y, self.width, height, fill=ts.header_fill)
        texts = [[_header_text(self.ctx, c.key)] for c in ts.columns]
        if ts.rules == "dashes":
            texts = [[t[0].upper()] for t in texts]
        bold = "mono_bold" if ts.font == "mono" else f"{ts.font}_bold"
        self._draw_cells(y, texts, font=bold, color=ts.header_color, height=height)
        if ts.rules == "grid":
            pen.rule(self.x, y, self.x + self.width, width=0.4)
        if ts.rules == "dashes":
            self._dash_line(y + height)
        elif ts.rules != "zebra" or ts.header_fill is None:
            pen.rule(self.x, y + height, self.x + self.width, width=0.8)
        self.row_index = 0
        return y + height

    def _dash_line(self, y):
        pen, ts = self.ctx.pen, self.ts
        n = int(self.width / pen.width("-", ts.size, ts.font))
        pen.text(self.x, y + 1, "-" * n, size=ts.size, font=ts.font)

    def row_cells(self, line) -> list[list[str]]:
        cells = []
        for i, col in enumerate(self.ts.columns):
            text = _cell(self.ctx, line, col.key)
            if col.key == "description":
                room = self.edges[i + 1] - self.edges[i] - 2 * self.ts.padding
                cells.append(self.ctx.pen.wrap(text, room, self.ts.size, self.ts.font))
            else:
                cells.append([text])
        return cells

    def row_height(self, line) -> float:
        return max(len(c) for c in self.row_cells(line)) * self.lead + 2 * self.ts.padding

    def row(self, y: float, line) -> float:
        pen, ts = self.ctx.pen, self.ts
        cells = self.row_cells(line)
        height = max(len(c) for c in cells) * self.lead + 2 * ts.padding
        if ts.rules == "zebra" and self.row_index % 2:
            pen.rect(self.x, y, self.width, height, fill=LIGHT)
        self._draw_cells(y, cells, font=ts.font, color=black, height=height)
        if ts.rules in ("grid", "rows"):
            pen.rule(self.x, y + height, self.x + self.width, width=0.3,
                     color=black if ts.rules == "grid" else MID)
        self.row_index += 1
        return y + height

    def close(self, y: float) -> float:
        if self.ts.rules == "dashes":
            self._dash_line(y + 2)
            return y + self.lead
        if self.ts.rules in ("zebra", "header"):
            self.ctx.pen.rule(self.x, y, self.x + self.width, width=0.8)
        return y


# --- layout description --------------------------------------------------------------------

Block = tuple[float, Callable[["Ctx", float], float]]  # (height, draw(ctx, y) -> new y)


@dataclass
class LayoutStyle:
    name: str
    variant: int
    first_header: Callable[[Ctx], float]  # draws page-1 header, returns the table's top y
    cont_header: Callable[[Ctx], float]
    footer: Callable[[Ctx], None]
    blocks: Callable[[Ctx], list[Block]]  # totals, terms, notes after the table
    table: Callable[[Ctx], TableStyle]
    margin: float = 20 * mm
    footer_height: float = 22 * mm
    money_style: str = "symbol"
    table_indent: tuple[float, float] = (0.0, 0.0)  # extra left, right inset of the table
    extra: dict = field(default_factory=dict)

    def table_box(self, ctx: Ctx) -> tuple[float, float]:
        left = self.margin + self.table_indent[0]
        return left, ctx.pen.w - self.margin - self.table_indent[1] - left


# --- reusable pieces -----------------------------------------------------------------------


def _logo(ctx: Ctx, x: float, y: float, w: float, h: float, *, round_=False):
    pen = ctx.pen
    pen.rect(x, y, w, h, fill=ctx.accent, radius=h / 2 if round_ else 3)
    pen.text(x + w / 2, y + h / 2 + 5, _initials(ctx.spec.vendor.name), size=15,
             font="sans_bold", align="center", color=white)


def _pairs(ctx: Ctx, x: float, y: float, pairs, *, label_w: float, size=9.0, bold_values=False,
           right_edge: float | None = None, lead=None) -> float:
    lead = lead or size * 1.45
    for i, (k, v) in enumerate(pairs):
        ctx.pen.text(x, y + i * lead, f"{k}:", size=size, color=GREY)
        if right_edge is not None:
            ctx.pen.text(right_edge, y + i * lead, v, size=size, align="right",
                         font="sans_bold" if bold_values and i == 0 else "sans")
        else:
            ctx.pen.text(x + label_w, y + i * lead, v, size=size,
                         font="sans_bold" if bold_values and i == 0 else "sans")
    return y + len(pairs) * lead


def _totals_block(ctx: Ctx, *, width=75 * mm, boxed=False, size=9.0, always_due=False,
                  fill=None) -> Block:
    rows = ctx.totals_rows(always_due=always_due)
    lead = size * 1.6
    height = len(rows) * lead + (8 if boxed else 4)

    def draw(ctx: Ctx, y: float) -> float:
        pen = ctx.pen
        right = pen.w - ctx.style.margin
        left = right - width
        if boxed:
            pen.rect(left, y, width, height, fill=fill, stroke=black, width=0.6)
        yy = y + lead + (2 if boxed else 0)
        for text, amount, strong in rows:
            if strong:
                pen.rule(left + 3, yy - size - 2, right - 3, width=0.6)
            font = "sans_bold" if strong else "sans"
            pen.text(left + 5, yy, text, size=size, font=font)
            pen.text(right - 5, yy, amount, size=size, font=font, align="right")
            yy += lead
        return y + height + 6

    return height + 6, draw


def _paragraph_block(ctx: Ctx, rows: list[str], *, size=8.5, title: str = "", x=None,
                     width=None, font="sans") -> Block:
    pen = ctx.pen
    x = ctx.style.margin if x is None else x
    width = width or (pen.w - 2 * ctx.style.margin)
    wrapped = []
    for row in rows:
        wrapped += pen.wrap(row, width, size, font)
    lead = size * 1.4
    height = (len(wrapped) + (1 if title else 0)) * lead + 6

    def draw(ctx: Ctx, y: float) -> float:
        yy = y + size
        if title:
            ctx.pen.text(x, yy, title, size=size, font=f"{font}_bold")
            yy += lead
        ctx.pen.lines(x, yy, wrapped, size=size, leading=lead, font=font)
        return y + height

    return height, draw


def _terms_rows(ctx: Ctx) -> list[str]:
    s = ctx.spec
    rows = [f"{ctx.L('payment_terms')}: {s.payment_terms}"]
    if s.due_date:
        rows[0] += f" ({ctx.L('due_date')}: {ctx.date(s.due_date)})"
    return rows


def _page_label(ctx: Ctx) -> str:
    return ctx.L("page").format(n=ctx.page, m=ctx.total_pages)


def _simple_cont_header(ctx: Ctx) -> float:
    pen, m = ctx.pen, ctx.style.margin
    pen.text(m, m, ctx.spec.vendor.name, size=10, font="sans_bold")
    pen.text(pen.w - m, m, f"{ctx.title()} {ctx.spec.number} – {ctx.L('continued')}", size=9,
             align="right")
    pen.rule(m, m + 6, pen.w - m, width=0.5, color=MID)
    return m + 16


def _footer_columns(ctx: Ctx, *, size=6.8, top_rule=True, color=GREY):
    """Letterhead footer in four columns: address, contact, bank, registration + VAT ID."""
    pen, m, v = ctx.pen, ctx.style.margin, ctx.spec.vendor
    top = pen.h - ctx.style.footer_height + 4
    if top_rule:
        pen.rule(m, top, pen.w - m, width=0.4, color=MID)
    widths = [0.21, 0.25, 0.31, 0.23]  # the bank column fits a whole IBAN on one line
    cols = [
        [v.name, *v.address_lines()],
        ctx.vendor_contact(),
        [ctx.L("bank"), *ctx.bank_rows()],
        [v.registration, ctx.vendor_tax_line()] if v.registration else [ctx.vendor_tax_line()],
    ]
    x = m
    for frac, rows in zip(widths, cols, strict=True):
        col_w = frac * (pen.w - 2 * m)
        fitted = [part for row in rows for part in pen.wrap(row, col_w - 4, size)]
        pen.lines(x, top + 10, fitted, size=size, leading=size * 1.35, color=color)
        x += col_w
    pen.text(pen.w - m, pen.h - 8 * mm, _page_label(ctx), size=7, align="right", color=GREY)


# --- the eight layouts ---------------------------------------------------------------------


def _classic_header(ctx: Ctx) -> float:
    """German business letter (DIN 5008 form B): sender line over the window address, logo
    top right, label:value block to the right of the address."""
    pen, s, m = ctx.pen, ctx.spec, ctx.style.margin
    v = s.vendor
    _logo(ctx, pen.w - m - 28 * mm, 12 * mm, 28 * mm, 14 * mm)
    pen.text(pen.w - m - 31 * mm, 18 * mm, v.name, size=12, font="sans_bold", align="right",
             color=ctx.accent)
    pen.text(pen.w - m - 31 * mm, 23 * mm, v.website, size=8, align="right", color=GREY)
    sender = " · ".join([v.name, v.street, v.address_lines()[-1]])
    pen.text(m, 50 * mm, sender, size=6.5, color=GREY)
    pen.rule(m, 51.5 * mm, m + pen.width(sender, 6.5), width=0.3, color=GREY)
    pen.lines(m, 57 * mm, ctx.buyer_block(with_vat=False), size=10, leading=13)
    pairs = ctx.meta_pairs(with_buyer_vat=True)
    _pairs(ctx, pen.w - m - 78 * mm, 50 * mm, pairs, label_w=36 * mm, size=8.5)
    y = 100 * mm
    pen.text(m, y, f"{ctx.title()} {s.number}", size=15, font="sans_bold")
    y += 7 * mm
    return y


def _classic_blocks(ctx: Ctx) -> list[Block]:
    return [
        _totals_block(ctx),
        _paragraph_block(ctx, _terms_rows(ctx) + list(ctx.spec.notes)),
    ]


def _modern_header(ctx: Ctx) -> float:
    """Vendor block right-aligned, big coloured title left, meta as a one-row header table."""
    pen, s, m = ctx.pen, ctx.spec, ctx.style.margin
    v, right = s.vendor, pen.w - m
    pen.text(m, 26 * mm, ctx.title().upper(), size=26, font="sans_bold", color=ctx.accent)
    rows = [v.name, *v.address_lines(), *ctx.vendor_contact()[:2], ctx.vendor_tax_line()]
    pen.lines(right, 16 * mm, rows, size=8.5, leading=11, align="right", first_font="sans_bold")
    y = 58 * mm
    pen.text(m, y, ctx.L("bill_to").upper(), size=7.5, font="sans_bold", color=ctx.accent)
    pen.lines(m, y + 5 * mm, ctx.buyer_block(), size=9, leading=12, first_font="sans_bold")
    # header table
    pairs = ctx.meta_pairs(with_due=True)
    y = 92 * mm
    width = pen.w - 2 * m
    cell = width / len(pairs)
    pen.rect(m, y, width, 12 * mm, fill=LIGHT)
    for i, (k, val) in enumerate(pairs):
        pen.text(m + i * cell + 3, y + 4.5 * mm, k, size=6.8, color=GREY)
        pen.text(m + i * cell + 3, y + 9.5 * mm, val, size=8.5, font="sans_bold")
    return y + 20 * mm


def _modern_blocks(ctx: Ctx) -> list[Block]:
    bank = [f"{ctx.L('bank')}: " + " · ".join(ctx.bank_rows())]
    return [
        _totals_block(ctx, boxed=True, fill=LIGHT),
        _paragraph_block(ctx, _terms_rows(ctx) + bank + list(ctx.spec.notes)),
    ]


def _page_number_footer(ctx: Ctx):
    pen, m = ctx.pen, ctx.style.margin
    pen.rule(m, pen.h - 14 * mm, pen.w - m, width=0.4, color=MID)
    pen.text(m, pen.h - 10 * mm, f"{ctx.spec.vendor.name} · {ctx.spec.vendor.email}", size=7,
             color=GREY)
    pen.text(pen.w - m, pen.h - 10 * mm, _page_label(ctx), size=7, align="right", color=GREY)


def _centered_header(ctx: Ctx) -> float:
    """Letterhead centred at the top (serif), bill-to left, label:value pairs right."""
    pen, s, m = ctx.pen, ctx.spec, ctx.style.margin
    v, mid = s.vendor, pen.w / 2
    _logo(ctx, mid - 8 * mm, 10 * mm, 16 * mm, 16 * mm, round_=True)
    pen.text(mid, 33 * mm, v.name, size=16, font="serif_bold", align="center")
    address = " · ".join([v.street, *v.address_lines()[1:]])
    pen.text(mid, 38.5 * mm, address, size=8.5, font="serif", align="center", color=GREY)
    pen.text(mid, 42.5 * mm, " · ".join(ctx.vendor_contact()), size=8, font="serif",
             align="center", color=GREY)
    pen.rule(m, 46 * mm, pen.w - m, width=1.2, color=ctx.accent)
    pen.text(mid, 57 * mm, ctx.title(), size=18, font="serif_bold", align="center")
    y = 68 * mm
    pen.text(m, y, ctx.L("bill_to"), size=8, font="serif_bold", color=GREY)
    end = pen.lines(m, y + 5 * mm, ctx.buyer_block(), size=9.5, leading=12.5, font="serif")
    end2 = _pairs(ctx, mid + 12 * mm, y, ctx.meta_pairs(), label_w=35 * mm, size=9,
                  bold_values=True, right_edge=pen.w - m)
    return max(end, end2) + 6 * mm


def _centered_blocks(ctx: Ctx) -> list[Block]:
    return [
        _totals_block(ctx, width=85 * mm),
        _paragraph_block(ctx, _terms_rows(ctx) + list(ctx.spec.notes), font="serif"),
    ]


def _centered_footer(ctx: Ctx):
    pen, v = ctx.pen, ctx.spec.vendor
    y = pen.h - 16 * mm
    pen.rule(ctx.style.margin, y - 4 * mm, pen.w - ctx.style.margin, width=0.4, color=MID)
    parts = [ctx.vendor_tax_line(), *ctx.bank_rows()[-2:]]
    pen.text(pen.w / 2, y, "  ·  ".join(parts), size=7, align="center", color=GREY)
    pen.text(pen.w / 2, y + 3.5 * mm, f"{v.registration}  ·  {_page_label(ctx)}".strip(" ·"),
             size=7, align="center", color=GREY)


def _statement_header(ctx: Ctx) -> float:
    """US-style: vendor top left, big INVOICE top right with a small number/date grid,
    Bill To and Ship To boxes, then one header row with P.O., terms, due date."""
    pen, s, m = ctx.pen, ctx.spec, ctx.style.margin
    v, right = s.vendor, pen.w - m
    _logo(ctx, m, 12 * mm, 14 * mm, 14 * mm)
    pen.lines(m + 17 * mm, 16 * mm, [v.name, *v.address_lines(), v.phone, ctx.vendor_tax_line()],
              size=8.5, leading=11, first_font="sans_bold")
    pen.text(right, 20 * mm, ctx.title().upper(), size=22, font="sans_bold", align="right",
             color=ctx.accent)
    grid = [(ctx.L("issue_date"), ctx.date(s.issue_date)), (ctx.number_label(), s.number)]
    gx, gw = right - 70 * mm, 35 * mm
    for i, (k, val) in enumerate(grid):
        pen.rect(gx + i * gw, 25 * mm, gw, 6 * mm, fill=LIGHT, stroke=black, width=0.4)
        pen.rect(gx + i * gw, 31 * mm, gw, 6 * mm, stroke=black, width=0.4)
        pen.text(gx + i * gw + gw / 2, 29.3 * mm, k, size=7.5, font="sans_bold", align="center")
        pen.text(gx + i * gw + gw / 2, 35.3 * mm, val, size=8.5, align="center")
    y = 50 * mm
    bw = (pen.w - 2 * m - 10 * mm) / 2
    ship_label = {"en": "Ship To", "de": "Lieferadresse", "fr": "Livré à", "nl": "Afleveradres",
                  "es": "Enviar a", "it": "Destinazione"}[base_language(ctx.lang)]
    for i, (title, rows) in enumerate(((ctx.L("bill_to"), ctx.buyer_block()),
                                       (ship_label, ctx.buyer_block(with_vat=False)))):
        x = m + i * (bw + 10 * mm)
        pen.rect(x, y, bw, 6 * mm, fill=ctx.accent)
        pen.text(x + 3, y + 4.3 * mm, title, size=8, font="sans_bold", color=white)
        pen.rect(x, y + 6 * mm, bw, 28 * mm, stroke=black, width=0.4)
        pen.lines(x + 3, y + 11 * mm, rows, size=8.5, leading=11)
    y = 90 * mm
    cols = [(ctx.L("po_number"), s.po_number or "—"), (ctx.L("payment_terms"), s.payment_terms),
            (ctx.L("due_date"), ctx.date(s.due_date) if s.due_date else "—"),
            (ctx.L("customer_number"), s.customer_number)]
    if s.original_invoice_number:
        cols[0] = (ctx.L("original_invoice"), s.original_invoice_number)
    widths = [0.2, 0.4, 0.2, 0.2]
    x = m
    for (k, val), frac in zip(cols, widths, strict=True):
        w = frac * (pen.w - 2 * m)
        pen.rect(x, y, w, 6 * mm, fill=LIGHT, stroke=black, width=0.4)
        pen.rect(x, y + 6 * mm, w, 7 * mm, stroke=black, width=0.4)
        pen.text(x + w / 2, y + 4.3 * mm, k, size=7.5, font="sans_bold", align="center")
        fitted = pen.wrap(val, w - 6, 7.5)[0]
        pen.text(x + w / 2, y + 11 * mm, fitted, size=7.5, align="center")
        x += w
    return y + 18 * mm


def _statement_blocks(ctx: Ctx) -> list[Block]:
    s, pen = ctx.spec, ctx.pen
    blocks = [_totals_block(ctx, boxed=True, always_due=True, width=80 * mm)]
    blocks.append(_paragraph_block(ctx, [f"{ctx.L('bank')}: " + ", ".join(ctx.bank_rows())]
                                   + list(s.notes)))

    # Remittance stub: repeats the amount due (not a second invoice).
    def stub(ctx: Ctx, y: float) -> float:
        m = ctx.style.margin
        pen.rule(m, y + 3 * mm, pen.w - m, width=0.6, dash=(3, 2))
        pen.text(pen.w / 2, y + 7 * mm, {
            "en": "Please detach and return this portion with your payment",
            "de": "Bitte abtrennen und mit der Zahlung zurücksenden",
            "fr": "Coupon à détacher et à joindre à votre règlement",
            "nl": "Dit deel afscheuren en met uw betaling meesturen",
            "es": "Recorte y adjunte esta parte con su pago",
            "it": "Staccare e allegare al pagamento"}[base_language(ctx.lang)],
            size=7, align="center", color=GREY)
        pairs = [(ctx.L("customer_number"), s.customer_number), (ctx.number_label(), s.number),
                 (ctx.L("amount_due"), ctx.money(s.amount_due))]
        _pairs(ctx, m, y + 14 * mm, pairs, label_w=35 * mm, size=8.5)
        pen.lines(pen.w / 2 + 10 * mm, y + 14 * mm,
                  [s.vendor.name, *s.vendor.address_lines()], size=8.5, leading=11)
        return y + 30 * mm

    if not s.is_credit_note:  # nobody remits payment against a credit
        blocks.append((30 * mm, stub))
    return blocks


def _sidebar_header(ctx: Ctx) -> float:
    """Two-column German style: a tinted left column with all vendor details on every page,
    the recipient, title and label:value pairs in the main column."""
    pen, s = ctx.pen, ctx.spec
    _sidebar(ctx)
    x = ctx.style.extra["main_x"]
    pen.lines(x, 30 * mm, ctx.buyer_block(), size=9.5, leading=12.5)
    pen.text(x, 78 * mm, ctx.title(), size=20, font="sans_bold", color=ctx.accent)
    pairs = ctx.meta_pairs()
    half = (len(pairs) + 1) // 2
    _pairs(ctx, x, 88 * mm, pairs[:half], label_w=30 * mm, size=8.5)
    _pairs(ctx, x + 68 * mm, 88 * mm, pairs[half:], label_w=30 * mm, size=8.5)
    return 88 * mm + half * 8.5 * 1.45 + 8 * mm


def _sidebar(ctx: Ctx):
    pen, v = ctx.pen, ctx.spec.vendor
    w = ctx.style.extra["main_x"] - 10 * mm
    pen.rect(0, 0, w, pen.h, fill=HexColor("#F1F3F5"))
    _logo(ctx, 8 * mm, 12 * mm, 20 * mm, 20 * mm)
    y = 42 * mm
    name_rows = pen.wrap(v.name, w - 14 * mm, 10, "sans_bold")
    y = pen.lines(8 * mm, y, name_rows, size=10, leading=12.5, font="sans_bold")
    sections = [
        (None, v.address_lines()),
        (None, ctx.vendor_contact()),
        (ctx.L("bank"), [r.replace("IBAN: ", "IBAN\n") for r in ctx.bank_rows()]),
        (ctx.vat_label(v), [v.tax_id_display]),
        (None, pen.wrap(v.registration, w - 14 * mm, 7.5)),
    ]
    for title, rows in sections:
        y += 4 * mm
        if title:
            pen.text(8 * mm, y, title, size=7.5, font="sans_bold", color=ctx.accent)
            y += 9.5
        for row in rows:
            for part in row.split("\n"):
                # IDs and IBANs shrink to fit the column; prose wraps.
                room = w - 12 * mm
                if " " not in part.strip() or part[:2].isalpha() and part[2:4].isdigit():
                    size = min(7.5, 7.5 * room / pen.width(part, 7.5))
                    pen.text(8 * mm, y, part, size=size)
                    y += 9.5
                else:
                    y = pen.lines(8 * mm, y, pen.wrap(part, room, 7.5), size=7.5, leading=9.5)
    pen.text(8 * mm, pen.h - 12 * mm, _page_label(ctx), size=7, color=GREY)


def _sidebar_cont(ctx: Ctx) -> float:
    _sidebar(ctx)
    x = ctx.style.extra["main_x"]
    ctx.pen.text(x, 22 * mm, f"{ctx.title()} {ctx.spec.number} – {ctx.L('continued')}",
                 size=10, font="sans_bold")
    return 30 * mm


def _sidebar_blocks(ctx: Ctx) -> list[Block]:
    x = ctx.style.extra["main_x"]
    width = ctx.pen.w - ctx.style.margin - x
    return [
        _totals_block(ctx, width=78 * mm),
        _paragraph_block(ctx, _terms_rows(ctx) + list(ctx.spec.notes), x=x, width=width),
    ]


def _typewriter_header(ctx: Ctx) -> float:
    """An ERP print-out in a monospaced font: everything left-aligned, ruled with dashes."""
    pen, s, m = ctx.pen, ctx.spec, ctx.style.margin
    v = s.vendor
    size, lead = 9, 11.5
    rows = [v.name.upper(), *v.address_lines(), f"{ctx.L('phone')} {v.phone}",
            ctx.vendor_tax_line()]
    pen.lines(m, 18 * mm, rows, size=size, leading=lead, font="mono", first_font="mono_bold")
    pen.lines(pen.w / 2 + 10 * mm, 18 * mm, [ctx.title().upper(), "=" * len(ctx.title())],
              size=14, leading=14, font="mono_bold")
    width = max(len(k) for k, _ in ctx.meta_pairs()) + 2
    meta = [f"{(k + ':').ljust(width)}{val}" for k, val in ctx.meta_pairs()]
    pen.lines(pen.w / 2 + 10 * mm, 18 * mm + 28, meta, size=8, leading=10.5, font="mono")
    pen.lines(m, 72 * mm, [ctx.L("bill_to").upper() + ":", *ctx.buyer_block()], size=size,
              leading=lead, font="mono")
    return 72 * mm + 7 * lead + 6 * mm


def _typewriter_blocks(ctx: Ctx) -> list[Block]:
    rows = ctx.totals_rows()
    width = max(len(r[0]) for r in rows) + 2
    amount_w = max(len(r[1]) for r in rows)
    text_rows = [f"{(r[0] + ':').ljust(width)}{r[1].rjust(amount_w)}" for r in rows]
    size, lead = 9, 12
    height = len(text_rows) * lead + 10

    def draw(ctx: Ctx, y: float) -> float:
        pen = ctx.pen
        x = pen.w - ctx.style.margin - pen.width(text_rows[0], size, "mono")
        for i, (row, (_, _, strong)) in enumerate(zip(text_rows, rows, strict=True)):
            pen.text(x, y + size + i * lead, row, size=size,
                     font="mono_bold" if strong else "mono")
        return y + height

    bank = [f"{ctx.L('bank')}: " + " / ".join(ctx.bank_rows())]
    return [(height, draw),
            _paragraph_block(ctx, _terms_rows(ctx) + bank + list(ctx.spec.notes), font="mono",
                             size=8)]


def _typewriter_footer(ctx: Ctx):
    pen, m = ctx.pen, ctx.style.margin
    pen.text(m, pen.h - 10 * mm, f"{ctx.spec.vendor.registration}".strip(), size=7, font="mono")
    pen.text(pen.w - m, pen.h - 10 * mm, _page_label(ctx), size=7, font="mono", align="right")


def _banded_header(ctx: Ctx) -> float:
    """A coloured band across the top with the vendor in white, meta in a grey box of three
    columns, buyer on the left below."""
    pen, s, m = ctx.pen, ctx.spec, ctx.style.margin
    v = s.vendor
    pen.rect(0, 0, pen.w, 30 * mm, fill=ctx.accent)
    pen.text(m, 14 * mm, v.name, size=17, font="sans_bold", color=white)
    pen.text(m, 20 * mm, " | ".join([v.street, v.address_lines()[-1], v.phone]), size=8,
             color=white)
    pen.text(m, 24.5 * mm, f"{v.email} | {ctx.vendor_tax_line()}", size=8, color=white)
    pen.text(pen.w - m, 18 * mm, ctx.title().upper(), size=20, font="sans_bold", align="right",
             color=white)
    y = 40 * mm
    pen.text(m, y, ctx.L("bill_to"), size=8, font="sans_bold", color=ctx.accent)
    pen.lines(m, y + 5 * mm, ctx.buyer_block(), size=9, leading=12)
    pairs = ctx.meta_pairs()
    box_x, box_w = pen.w / 2, pen.w / 2 - m
    rows = (len(pairs) + 1) // 2
    pen.rect(box_x, y - 4 * mm, box_w, rows * 10 * mm + 3 * mm, fill=LIGHT)
    for i, (k, val) in enumerate(pairs):
        cx = box_x + 4 + (i % 2) * box_w / 2
        cy = y + (i // 2) * 10 * mm
        pen.text(cx, cy, k, size=7, color=GREY)
        pen.text(cx, cy + 4.2 * mm, val, size=9, font="sans_bold")
    return max(y + rows * 10 * mm + 6 * mm, 84 * mm)


def _banded_blocks(ctx: Ctx) -> list[Block]:
    s = ctx.spec
    size, lead = 8.5, 12
    rows = [(ctx.L("tax_base"), ctx.L("rate"), ctx.L("tax_amount"))]
    rows += [(ctx.money(t.base, "none"), format_rate(t.rate, ctx.lang, s.currency),
              ctx.money(t.amount, "none")) for t in s.taxes]
    tax_h = len(rows) * lead + 4

    def tax_table(ctx: Ctx, y: float) -> float:
        pen, m = ctx.pen, ctx.style.margin
        for i, row in enumerate(rows):
            font = "sans_bold" if i == 0 else "sans"
            for j, cell in enumerate(row):
                pen.text(m + 30 * mm * (j + 1), y + size + i * lead, cell, size=size, font=font,
                         align="right")
        pen.rule(m, y + lead + 1, m + 92 * mm, width=0.4)
        return y + tax_h

    band_h = 10 * mm
    trap_rows = ctx.totals_rows(kinds=("trap", "due"))

    def band(ctx: Ctx, y: float) -> float:
        pen, m = ctx.pen, ctx.style.margin
        pen.text(pen.w - m, y + 4 * mm, f"{ctx.L('net_total')}  {ctx.money(s.net_amount)}",
                 size=9, align="right")
        pen.rect(pen.w / 2, y + 7 * mm, pen.w / 2 - m, band_h, fill=ctx.accent)
        pen.text(pen.w / 2 + 4 * mm, y + 13.5 * mm, ctx.L("total"), size=11, font="sans_bold",
                 color=white)
        pen.text(pen.w - m - 4 * mm, y + 13.5 * mm, ctx.money(s.total_amount), size=11,
                 font="sans_bold", color=white, align="right")
        yy = y + 7 * mm + band_h + 5 * mm
        for text, amount, strong in trap_rows:
            font = "sans_bold" if strong else "sans"
            pen.text(pen.w / 2 + 4 * mm, yy, text, size=9, font=font)
            pen.text(pen.w - m - 4 * mm, yy, amount, size=9, font=font, align="right")
            yy += 12
        return yy + 4

    band_total = 7 * mm + band_h + 9 * mm + len(trap_rows) * 12
    return [(tax_h, tax_table), (band_total, band),
            _paragraph_block(ctx, _terms_rows(ctx) + list(s.notes))]


def _banded_footer(ctx: Ctx):
    pen, m = ctx.pen, ctx.style.margin
    pen.rect(0, pen.h - 14 * mm, pen.w, 14 * mm, fill=LIGHT)
    pen.text(m, pen.h - 8 * mm, f"{ctx.L('bank')}: " + " · ".join(ctx.bank_rows()), size=7.5)
    pen.text(m, pen.h - 4.5 * mm, ctx.spec.vendor.registration, size=7, color=GREY)
    pen.text(pen.w - m, pen.h - 4.5 * mm, _page_label(ctx), size=7, align="right", color=GREY)


def _grid_header(ctx: Ctx) -> float:
    """A form: boxes for seller and buyer side by side, a meta grid, everything ruled."""
    pen, s, m = ctx.pen, ctx.spec, ctx.style.margin
    v = s.vendor
    pen.text(m, 16 * mm, f"{ctx.title()}", size=16, font="cond_bold")
    pen.text(pen.w - m, 16 * mm, f"{ctx.number_label()} {s.number}", size=12, font="cond_bold",
             align="right")
    width = (pen.w - 2 * m - 6 * mm) / 2
    seller = {"en": "Supplier", "de": "Lieferant", "fr": "Fournisseur", "nl": "Leverancier",
              "es": "Proveedor", "it": "Cedente / prestatore"}[base_language(ctx.lang)]
    buyer = {"en": "Customer", "de": "Kunde", "fr": "Client", "nl": "Klant", "es": "Cliente",
             "it": "Cessionario / committente"}[base_language(ctx.lang)]
    blocks = [(seller, [v.name, *v.address_lines(), ctx.vendor_tax_line(), v.email]),
              (buyer, ctx.buyer_block())]
    for i, (title, rows) in enumerate(blocks):
        x = m + i * (width + 6 * mm)
        pen.rect(x, 22 * mm, width, 34 * mm, stroke=black, width=0.6)
        pen.rect(x, 22 * mm, width, 5.5 * mm, fill=LIGHT, stroke=black, width=0.6)
        pen.text(x + 3, 26 * mm, title, size=7.5, font="cond_bold")
        pen.lines(x + 3, 32 * mm, rows, size=8.5, leading=10.8, font="cond",
                  first_font="cond_bold")
    pairs = ctx.meta_pairs()
    cols = 4
    cell_w = (pen.w - 2 * m) / cols
    y = 62 * mm
    for i, (k, val) in enumerate(pairs):
        x, yy = m + (i % cols) * cell_w, y + (i // cols) * 10 * mm
        pen.rect(x, yy, cell_w, 10 * mm, stroke=black, width=0.5)
        pen.text(x + 3, yy + 3.6 * mm, k, size=6.8, font="cond", color=GREY)
        pen.text(x + 3, yy + 8 * mm, val, size=8.5, font="cond_bold")
    return y + ((len(pairs) + cols - 1) // cols) * 10 * mm + 6 * mm


def _grid_blocks(ctx: Ctx) -> list[Block]:
    s = ctx.spec
    lead, size = 6 * mm, 8.5
    heads = [ctx.L("tax_base"), ctx.L("rate"), ctx.L("tax_amount")]
    rows = [[ctx.money(t.base, "none"), format_rate(t.rate, ctx.lang, s.currency),
             ctx.money(t.amount, "none")] for t in s.taxes]
    h = (len(rows) + 1) * lead

    def tax_grid(ctx: Ctx, y: float) -> float:
        pen, m = ctx.pen, ctx.style.margin
        w = 25 * mm
        for r, row in enumerate([heads, *rows]):
            for c, cell in enumerate(row):
                x = m + c * w
                pen.rect(x, y + r * lead, w, lead, stroke=black, width=0.4,
                         fill=LIGHT if r == 0 else None)
                pen.text(x + w - 3, y + r * lead + 4.2 * mm, cell, size=size, align="right",
                         font="cond_bold" if r == 0 else "cond")
        return y

    tot = _totals_block(ctx, boxed=True, width=80 * mm)

    def both(ctx: Ctx, y: float) -> float:
        tax_grid(ctx, y)
        return max(y + h + 4, tot[1](ctx, y))

    bank = [f"{ctx.L('bank')}: " + " · ".join(ctx.bank_rows())]
    return [(max(h + 4, tot[0]), both),
            _paragraph_block(ctx, _terms_rows(ctx) + bank + list(s.notes), font="cond")]


def _grid_footer(ctx: Ctx):
    pen, m = ctx.pen, ctx.style.margin
    v = ctx.spec.vendor
    pen.text(m, pen.h - 10 * mm, " · ".join(filter(None, [v.name, v.registration, v.website])),
             size=7, font="cond", color=GREY)
    pen.text(pen.w - m, pen.h - 10 * mm, _page_label(ctx), size=7, font="cond", align="right")


def _layouts() -> dict[str, Callable[[InvoiceSpec], LayoutStyle]]:
    def classic(spec):
        return LayoutStyle(
            "classic", 0, _classic_header, _simple_cont_header, _footer_columns, _classic_blocks,
            lambda ctx: TableStyle(VAT_COLUMNS if len(spec.taxes) > 1 else STANDARD_COLUMNS,
                                   rules="rows", header_fill=None),
            margin=22 * mm, footer_height=26 * mm)

    def modern(spec):
        return LayoutStyle(
            "modern", 1, _modern_header, _simple_cont_header, _page_number_footer, _modern_blocks,
            lambda ctx: TableStyle(US_COLUMNS if spec.language == "en_US" else STANDARD_COLUMNS,
                                   rules="zebra", header_fill=ctx.accent, header_color=white),
            margin=18 * mm, footer_height=18 * mm)

    def centered(spec):
        return LayoutStyle(
            "centered", 2, _centered_header, _simple_cont_header, _centered_footer,
            _centered_blocks,
            lambda ctx: TableStyle(VAT_COLUMNS, rules="grid", header_fill=LIGHT, font="serif"),
            margin=20 * mm, footer_height=22 * mm, money_style="code")

    def statement(spec):
        return LayoutStyle(
            "statement", 0, _statement_header, _simple_cont_header, _page_number_footer,
            _statement_blocks,
            lambda ctx: TableStyle(US_COLUMNS, rules="grid", header_fill=ctx.accent,
                                   header_color=white),
            margin=15 * mm, footer_height=16 * mm)

    def sidebar(spec):
        return LayoutStyle(
            "sidebar", 1, _sidebar_header, _sidebar_cont, lambda ctx: None, _sidebar_blocks,
            lambda ctx: TableStyle(STANDARD_COLUMNS, rules="header", size=8.2),
            margin=15 * mm, footer_height=15 * mm, table_indent=(55 * mm, 0),
            extra={"main_x": 70 * mm})

    def typewriter(spec):
        return LayoutStyle(
            "typewriter", 2, _typewriter_header, _simple_cont_header, _typewriter_footer,
            _typewriter_blocks,
            lambda ctx: TableStyle(VAT_COLUMNS, rules="dashes", font="mono", size=8),
            margin=16 * mm, footer_height=16 * mm, money_style="code")

    def banded(spec):
        return LayoutStyle(
            "banded", 1, _banded_header, _simple_cont_header, _banded_footer, _banded_blocks,
            lambda ctx: TableStyle(VAT_COLUMNS, rules="rows", header_fill=ctx.accent,
                                   header_color=white),
            margin=16 * mm, footer_height=18 * mm)

    def grid(spec):
        return LayoutStyle(
            "grid", 2, _grid_header, _simple_cont_header, _grid_footer, _grid_blocks,
            lambda ctx: TableStyle(VAT_COLUMNS, rules="grid", header_fill=LIGHT, font="cond"),
            margin=14 * mm, footer_height=15 * mm, money_style="none")

    return {"classic": classic, "modern": modern, "centered": centered, "statement": statement,
            "sidebar": sidebar, "typewriter": typewriter, "banded": banded, "grid": grid}


LAYOUT_BUILDERS = _layouts()


def _render(spec: InvoiceSpec, total_pages: int) -> tuple[bytes, int]:
    pagesize = LETTER if spec.language == "en_US" else A4
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=pagesize, invariant=1, pageCompression=1)
    canvas.setTitle(f"{spec.vendor.name} {spec.number}")
    canvas.setAuthor(spec.vendor.name)
    canvas.setCreator("apinvoices.demo")
    pen = Pen(canvas, *pagesize)
    style = LAYOUT_BUILDERS[spec.layout](spec)
    ctx = Ctx(spec=spec, pen=pen, style=style, total_pages=total_pages)
    bottom = pen.h - style.footer_height - 4 * mm
    x, width = style.table_box(ctx)
    table = Table(ctx, x, width, style.table(ctx))

    def new_page() -> float:
        style.footer(ctx)
        canvas.showPage()
        ctx.page += 1
        return style.cont_header(ctx)

    y = style.first_header(ctx)
    y = table.header(y)
    for line in spec.lines:
        if y + table.row_height(line) > bottom:
            y = table.close(y)
            pen.text(x + width, y + 10, f"{ctx.L('carried')}:", size=7.5, align="right",
                     color=GREY)
            y = table.header(new_page())
        y = table.row(y, line)
    y = table.close(y) + 5 * mm
    for height, draw in style.blocks(ctx):
        if y + height > bottom:
            y = new_page()
        y = draw(ctx, y)
    style.footer(ctx)
    canvas.showPage()
    canvas.save()
    return buf.getvalue(), ctx.page


def render_pdf(spec: InvoiceSpec) -> bytes:
    """The invoice as a PDF with a text layer; pages numbered "n of m"."""
    _, pages = _render(spec, total_pages=1)
    data, check = _render(spec, total_pages=pages)
    assert check == pages, "page count changed between passes"
    return data
