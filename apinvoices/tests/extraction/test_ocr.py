"""OCR of scans and photos made at test time from corpus pages (real Tesseract).

Each OCR test reads one page (two for the TIFF); the languages are narrowed per test through
the ``AP_OCR_LANGUAGES`` setting to keep the tier short. Input checks that never reach
Tesseract (decompression bombs, tiny or blurred images) carry no marker.
"""

from __future__ import annotations

import io
import os
import random
import struct
import zlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image, ImageDraw, ImageFilter

from apinvoices.extraction import ocr
from apinvoices.extraction.errors import ExtractionError, ExtractionErrorCode
from apinvoices.extraction.ocr import (
    RENDER_METER,
    detect_language,
    extract_image_ocr,
    extract_pdf_ocr,
    sharpness,
    skew_angle,
    vote_language,
)

COMPARE = Path("invoice2data-compare") / "tests" / "compare"
EINFACH = Path("zugferd-corpus") / "XML-Rechnung" / "FX" / "EN16931_Einfach.pdf"


def assert_ordered_substrings(text: str, parts: list[str]) -> None:
    haystack = text.lower()
    position = 0
    for part in parts:
        found = haystack.find(part.lower(), position)
        assert found >= 0, f"{part!r} not found after position {position}"
        position = found + len(part)


def render(path: Path, *, page: int = 0, dpi: int = 300) -> Image.Image:
    document = pypdfium2.PdfDocument(str(path))
    try:
        return document[page].render(scale=dpi / 72).to_pil().convert("L")
    finally:
        document.close()


def degrade(
    image: Image.Image, *, angle: float, blur: float, speckles: int, seed: int = 7
) -> Image.Image:
    """A scanner's output: slightly rotated, a little soft, with dust specks."""
    rnd = random.Random(seed)
    out = image.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=255)
    if blur:
        out = out.filter(ImageFilter.GaussianBlur(blur))
    pixels = out.load()
    for _ in range(speckles):
        x, y = rnd.randrange(out.width), rnd.randrange(out.height)
        pixels[x, y] = rnd.choice((0, 90, 255))
    return out


def png_bytes(image: Image.Image, dpi: int | None = 300) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **({"dpi": (dpi, dpi)} if dpi else {}))
    return buffer.getvalue()


# --- OCR of real pages ---------------------------------------------------------------------


@pytest.mark.ocr
def test_noisy_skewed_dutch_scan(corpus_dir, settings):
    settings.AP_OCR_LANGUAGES = "nld+eng"
    page = render(corpus_dir / COMPARE / "coolblue1.pdf")
    scan = degrade(page, angle=2.5, blur=0.8, speckles=60_000)
    result = extract_image_ocr(png_bytes(scan))
    assert result.kind == "ocr"
    assert_ordered_substrings(result.text, ["Coolblue", "Factuurnummer", "993548900", "Totaal"])
    assert result.value("invoice_number") == "993548900"
    assert result.value("issue_date") == date(2014, 4, 19)
    assert result.value("vendor_iban") == "NL50INGB0683251309"
    assert result.value("vendor_tax_id") == "NL810433941B01"
    assert result.value("total_amount") == Decimal("717.97")
    assert result.value("currency") == "EUR"
    iban = result.fields["vendor_iban"]
    assert iban.source == "ocr" and iban.page == 1
    # bbox in PDF points: the IBAN sits in the right column of an A4 page (595 x 842 pt).
    assert 380 < iban.bbox.x0 < iban.bbox.x1 < 620 and 120 < iban.bbox.top < 230


@pytest.mark.ocr
def test_page_turned_90_degrees_is_read_upright(corpus_dir, settings):
    settings.AP_OCR_LANGUAGES = "deu"
    page = render(corpus_dir / EINFACH)
    turned = page.rotate(90, expand=True, fillcolor=255)
    result = extract_image_ocr(png_bytes(turned))
    assert_ordered_substrings(result.text, ["Nr. 471102", "Lieferant GmbH", "Kunden AG"])
    assert result.value("invoice_number") == "471102"
    assert result.value("issue_date") == date(2018, 3, 5)
    assert result.value("vendor_tax_id") == "DE123456789"
    # Boxes are in the frame of the image as stored: the turned number runs top to bottom.
    box = result.fields["invoice_number"].bbox
    width_pt, height_pt = turned.width * 72 / 300, turned.height * 72 / 300
    assert 0 <= box.x0 < box.x1 <= width_pt and 0 <= box.top < box.bottom <= height_pt
    assert box.bottom - box.top > box.x1 - box.x0
    # The title line (top left when upright) is at the left, low down, once turned back.
    assert box.x1 < width_pt / 3 and box.top > height_pt / 2


@pytest.mark.ocr
def test_jpeg_photo_without_dpi(corpus_dir, settings):
    """GIVEN a phone-style JPEG: 200 dpi, skewed, uneven light, compressed, no DPI tag."""
    settings.AP_OCR_LANGUAGES = "fra+eng"
    page = render(corpus_dir / COMPARE / "NetpresseInvoice.pdf", dpi=200).convert("RGB")
    photo = degrade(page.convert("L"), angle=-2.0, blur=0.5, speckles=0).convert("RGB")
    shade = Image.linear_gradient("L").resize(photo.size).point(lambda v: 255 - v // 5)
    photo = Image.composite(photo, Image.new("RGB", photo.size, (150, 140, 120)), shade)
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=60)
    result = extract_image_ocr(buffer.getvalue())
    assert_ordered_substrings(result.text, ["Facture", "2022089083", "Total HT", "Total TTC"])
    assert result.value("invoice_number") == "2022089083"
    assert result.value("total_amount") == Decimal("56.02")
    assert result.value("net_amount") == Decimal("46.68")


@pytest.mark.ocr
def test_pdf_pages_are_rendered_and_read(corpus_dir, settings):
    settings.AP_OCR_LANGUAGES = "deu+eng"
    result = extract_pdf_ocr(
        (corpus_dir / COMPARE / "QualityHosting.pdf").read_bytes(), max_pages=5
    )
    assert result.kind == "ocr" and result.page_count == 2
    assert result.value("invoice_number") == "30064443"
    assert result.value("issue_date") == date(2014, 5, 7)
    assert result.value("vendor_iban") == "DE30507500940000048567"
    assert result.value("vendor_tax_id") == "DE232446240"
    assert result.fields["vendor_iban"].confidence >= 0.9
    pages = {fv.page for fv in result.fields.values() if fv.page}
    assert pages <= {1, 2}


@pytest.mark.ocr
def test_multi_page_tiff(corpus_dir, settings):
    settings.AP_OCR_LANGUAGES = "deu"
    first = render(corpus_dir / EINFACH, page=0)
    second = Image.new("L", first.size, 255)
    ImageDraw.Draw(second).text((300, 300), "Seite 2", fill=0)
    buffer = io.BytesIO()
    first.save(
        buffer,
        "TIFF",
        save_all=True,
        append_images=[second],
        dpi=(300, 300),
        compression="tiff_lzw",
    )
    result = extract_image_ocr(buffer.getvalue())
    assert result.page_count == 2
    assert result.value("invoice_number") == "471102"


@pytest.mark.ocr
def test_missing_language_pack_is_reported(corpus_dir, settings):
    settings.AP_OCR_LANGUAGES = "xyz"
    page = render(corpus_dir / EINFACH, dpi=150)
    with pytest.raises(ExtractionError) as caught:
        extract_image_ocr(png_bytes(page, dpi=150))
    assert caught.value.code == ExtractionErrorCode.OCR_UNAVAILABLE


# --- Input checks before OCR ---------------------------------------------------------------


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(ExtractionError) as caught:
        extract_image_ocr(_png_header_only(40_000, 40_000))
    assert caught.value.code == ExtractionErrorCode.UNREADABLE_IMAGE


def test_image_over_the_configured_pixel_limit_is_refused(settings):
    settings.AP_MAX_IMAGE_PIXELS = 1_000_000
    with pytest.raises(ExtractionError) as caught:
        extract_image_ocr(_png_header_only(1500, 1000))
    assert caught.value.code == ExtractionErrorCode.UNREADABLE_IMAGE


def test_random_and_truncated_bytes_are_unreadable(corpus_dir):
    with pytest.raises(ExtractionError) as caught:
        extract_image_ocr(os.urandom(2048))
    assert caught.value.code == ExtractionErrorCode.UNREADABLE_IMAGE
    data = (corpus_dir / COMPARE / "oyo.png").read_bytes()
    with pytest.raises(ExtractionError) as caught:
        extract_image_ocr(data[: len(data) // 2])
    assert caught.value.code == ExtractionErrorCode.UNREADABLE_IMAGE


def test_tiny_image_asks_for_a_better_scan():
    image = Image.new("L", (400, 300), 255)
    ImageDraw.Draw(image).text((10, 10), "Invoice 42 Total 10.00", fill=0)
    with pytest.raises(ExtractionError) as caught:
        extract_image_ocr(png_bytes(image))
    assert caught.value.code == ExtractionErrorCode.IMAGE_TOO_POOR


def test_blurred_scan_asks_for_a_better_scan(corpus_dir):
    page = render(corpus_dir / COMPARE / "coolblue1.pdf", dpi=200)
    with pytest.raises(ExtractionError) as caught:
        extract_image_ocr(png_bytes(page.filter(ImageFilter.GaussianBlur(5)), dpi=200))
    assert caught.value.code == ExtractionErrorCode.IMAGE_TOO_POOR


def test_sharpness_separates_sharp_from_blurred(corpus_dir):
    page = render(corpus_dir / COMPARE / "coolblue1.pdf")
    assert sharpness(page) > 4 * sharpness(page.filter(ImageFilter.GaussianBlur(3)))


@pytest.mark.parametrize("angle", [-3.0, -1.5, 2.0, 3.0])
def test_skew_angle_is_measured(corpus_dir, angle):
    page = render(corpus_dir / COMPARE / "coolblue1.pdf", dpi=150)
    skewed = page.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=255)
    assert skew_angle(skewed) == pytest.approx(-angle, abs=0.3)


# --- Streaming, parallel pages, language --------------------------------------------------


def scanned_pdf(image: Image.Image, pages: int) -> bytes:
    """An image-only PDF of ``pages`` copies of one page, as a scanner writes a batch."""
    buffer = io.BytesIO()
    image.save(
        buffer, "PDF", save_all=True, append_images=[image] * (pages - 1), resolution=300.0
    )
    return buffer.getvalue()


@pytest.mark.ocr
@pytest.mark.parametrize("workers", [1, 2])
def test_a_long_scan_holds_one_rendered_page_at_a_time(
    corpus_dir, settings, monkeypatch, workers
):
    settings.AP_OCR_LANGUAGES = "deu"
    settings.AP_OCR_WORKERS = workers
    monkeypatch.setattr(ocr, "BATCH_PAGES", 2)  # two runs of two pages: a pool with 2 workers
    data = scanned_pdf(render(corpus_dir / EINFACH), 4)
    RENDER_METER.reset()

    result = extract_pdf_ocr(data)

    # Weak references count the rendered page images alive at once in this process: one,
    # whether the other pages were read here (1 worker) or by pool processes.
    assert RENDER_METER.peak == 1
    assert RENDER_METER.alive == 0
    assert result.value("invoice_number") == "471102"
    pages = sorted({w for w in (fv.page for fv in result.fields.values()) if w})
    assert pages and set(pages) <= {1, 2, 3, 4}


def test_language_vote_picks_the_invoice_language():
    allowed = ["eng", "deu", "fra", "nld", "spa", "ita"]
    german = "Rechnung Rechnungsnummer Datum Netto Brutto MwSt Gesamtbetrag".split()
    french = "FACTURE Date d'échéance Montant HT TVA Total TTC".split()
    dutch = "Factuur Factuurdatum Vervaldatum Bedrag BTW Totaal".split()
    assert vote_language(german, allowed) == "deu"
    assert vote_language(french, allowed) == "fra"
    assert vote_language(dutch, allowed) == "nld"
    assert vote_language(["Invoice", "Date", "Total", "Amount due"], allowed) == "eng"
    # Unsure (too few words, or a tie): None, and the page is read with every language.
    assert vote_language(["Total", "IBAN"], allowed) is None
    assert vote_language(german, ["eng", "fra"]) is None


@pytest.mark.ocr
def test_the_language_is_detected_from_the_page(corpus_dir, settings):
    settings.AP_OCR_LANGUAGES = "eng+deu+fra+nld+spa+ita"
    page = render(corpus_dir / EINFACH)

    assert detect_language(page) == "deu"


@pytest.mark.ocr
def test_a_non_english_read_does_not_turn_the_vat_category_s_into_dollars(corpus_dir):
    # Page 2 of the Einfach invoice prints its tax table as "Umsatzsteuer (S) 275,00 7 19,25"
    # (S: standard rate), at 356-400 pt from the top; the German model reads "(S)" as "($)".
    page = render(corpus_dir / EINFACH, page=1)
    band = page.crop((0, round(340 * 300 / 72), page.width, round(410 * 300 / 72)))

    german = [w.text for w in ocr.ocr_words(band, page=2, dpi=300, languages="deu")]
    english = [w.text for w in ocr.ocr_words(band, page=2, dpi=300, languages="eng")]

    assert german.count("(S)") == 2 and "($)" not in german
    assert english.count("(S)") == 2
    # Only a read that includes English keeps a "($)" as it came (e.g. "Amount ($)").
    assert ocr._mend_misreads("($)", "eng") == "($)"
    assert ocr._mend_misreads("($)", "deu") == "(S)"
    assert ocr._mend_misreads("$", "deu") == "$"
