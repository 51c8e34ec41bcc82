"""What the OCR path spends CPU on, and when (bench/README.md, "OCR cost per page").

A 3x3 median filter costs ~0.2 CPU-s on a 300-dpi page: it runs on pages with isolated specks
and on black-and-white scans, not on clean rendered pages or on grey scans whose only noise is
grain (no Tesseract in those tests: ``prepare``'s deskew and contrast stretch are Pillow). The
language vote reads the top third of a page at ~100 dpi, and the rest of the top half only when
that leaves it unsure (real Tesseract, counted processes).
"""

from __future__ import annotations

import random
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from apinvoices.demo.render_scan import render_scan, to_bitonal
from apinvoices.extraction.ocr import (
    detect_language,
    is_bitonal,
    is_noisy,
    skew_angle,
    speck_share,
)

FX = Path("zugferd-corpus") / "XML-Rechnung" / "FX"
COOLBLUE = Path("invoice2data-compare") / "tests" / "compare" / "coolblue1.pdf"


def render(path: Path, *, page: int = 0, dpi: int = 300) -> Image.Image:
    document = pypdfium2.PdfDocument(str(path))
    try:
        return document[page].render(scale=dpi / 72).to_pil().convert("L")
    finally:
        document.close()


def as_prepare_sees_it(image: Image.Image) -> Image.Image:
    """Deskewed and contrast-stretched, as ``prepare`` hands a scan to the speck check."""
    gray = image.convert("L")
    angle = skew_angle(gray)
    if abs(angle) >= 0.2:
        gray = gray.rotate(angle, resample=Image.BILINEAR, expand=False, fillcolor=255)
    return ImageOps.autocontrast(gray, cutoff=1)


def with_specks(image: Image.Image, count: int, *, seed: int = 7) -> Image.Image:
    """A slightly skewed, soft scan with ``count`` single-pixel dust specks."""
    rnd = random.Random(seed)
    out = image.rotate(2.5, resample=Image.BICUBIC, expand=True, fillcolor=255)
    out = out.filter(ImageFilter.GaussianBlur(0.8))
    pixels = out.load()
    for _ in range(count):
        pixels[rnd.randrange(out.width), rnd.randrange(out.height)] = rnd.choice((0, 90, 255))
    return out


@pytest.mark.parametrize(
    ("name", "page"),
    [
        ("EN16931_Einfach.pdf", 0),
        ("EN16931_Einfach.pdf", 1),
        # Measured 0.28 % of pixels changed by a median, 3.5x the old threshold: thin table
        # rules and stroke corners, no specks.
        ("EN16931_1_Teilrechnung.pdf", 1),
        ("EN16931_Elektron.pdf", 1),
    ],
)
def test_clean_rendered_pages_are_not_median_filtered(corpus_dir, name, page):
    rendered = render(corpus_dir / FX / name, page=page)

    prepared = as_prepare_sees_it(rendered)

    assert speck_share(prepared) == 0
    assert not is_noisy(prepared, bitonal=is_bitonal(rendered))


def test_grey_scans_with_grain_and_dust_are_not_median_filtered(corpus_dir):
    """GIVEN pages through the demo scanner: grain (sigma 3-9), blur, dust specks of 1-3 px
    radius (too big for a 3x3 median), contrast shift. THEN no median filter."""
    pdf = (corpus_dir / COOLBLUE).read_bytes()
    for seed in (7, 13):
        (scan,) = render_scan(pdf, dpi=300, quality="scan", rng=random.Random(seed))

        assert not is_noisy(as_prepare_sees_it(scan), bitonal=is_bitonal(scan))


@pytest.mark.parametrize("count", [5_000, 20_000, 60_000])
def test_pages_with_single_pixel_specks_are_median_filtered(corpus_dir, count):
    specked = with_specks(render(corpus_dir / COOLBLUE), count)

    prepared = as_prepare_sees_it(specked)

    assert speck_share(prepared) > 0
    assert is_noisy(prepared, bitonal=is_bitonal(specked))


def test_black_and_white_scans_are_median_filtered(corpus_dir):
    page = render(corpus_dir / FX / "EN16931_Einfach.pdf")
    bitonal = to_bitonal(page)

    assert is_bitonal(bitonal)
    # A PDF page holding a black-and-white image renders to two grey levels.
    assert is_bitonal(bitonal.convert("L"))
    assert not is_bitonal(page)
    assert not is_bitonal(page.convert("RGB"))
    assert is_noisy(as_prepare_sees_it(bitonal), bitonal=True)


# --- The language vote reads the top third, and more only when unsure -----------------------


def a4_page_with(lines: list[tuple[float, str]]) -> Image.Image:
    """A blank 300-dpi A4 page with each text drawn at its share of the page height."""
    page = Image.new("L", (2480, 3508), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=56)
    for share, text in lines:
        draw.text((200, round(3508 * share)), text, fill=0, font=font)
    return page


@pytest.mark.ocr
def test_a_title_in_the_top_third_is_voted_on_in_one_read(settings, tesseract_runs):
    settings.AP_OCR_LANGUAGES = "eng+deu+fra+nld+spa+ita"
    page = a4_page_with(
        [(0.08, "RECHNUNG"), (0.2, "Rechnungsnummer 4711 vom Datum 05.03.2025"), (0.6, "Netto")]
    )

    assert detect_language(page) == "deu"
    assert tesseract_runs == ["eng"]


@pytest.mark.ocr
def test_an_unsure_vote_reads_the_rest_of_the_top_half(settings, tesseract_runs):
    """GIVEN a letterhead with no invoice words in the top third, and the French labels just
    below it. WHEN the language is voted THEN a second band is read and the labels decide."""
    settings.AP_OCR_LANGUAGES = "eng+deu+fra+nld+spa+ita"
    page = a4_page_with(
        [
            (0.05, "KESTREL 42"),
            (0.38, "FACTURE numero 2025-118"),
            (0.42, "Date d'echeance: 30/04/2025"),
            (0.46, "Montant HT et TVA du client"),
        ]
    )

    assert detect_language(page) == "fra"
    assert tesseract_runs == ["eng", "eng"]


@pytest.mark.ocr
def test_a_page_without_invoice_words_is_left_to_every_language(settings, tesseract_runs):
    settings.AP_OCR_LANGUAGES = "eng+deu+fra+nld+spa+ita"
    page = a4_page_with([(0.05, "KESTREL 42"), (0.7, "Rechnung Betrag Gesamtbetrag")])

    # Words below the top half never vote: both bands are read, and the vote stays unsure.
    assert detect_language(page) is None
    assert tesseract_runs == ["eng", "eng"]
