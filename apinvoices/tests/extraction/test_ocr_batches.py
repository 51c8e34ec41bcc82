"""OCR pages read in runs: one tesseract process for several pages (real Tesseract).

A tesseract process loads its models before it reads anything (~0.25 CPU-s per language), so
the pages of a document are read in runs; these tests pin that the runs keep the pages apart
and in order, that a short document costs one process after the language vote, and that the
prepared pages left on disk are gone afterwards.
"""

from __future__ import annotations

import io
import tempfile

import pypdfium2
import pytest
from PIL import Image, ImageDraw, ImageFont

from apinvoices.extraction import ocr
from apinvoices.extraction.ocr import BATCH_PAGES, extract_pdf_ocr, tesseract_pages

EINFACH = "zugferd-corpus/XML-Rechnung/FX/EN16931_Einfach.pdf"


def _label(text: str) -> Image.Image:
    image = Image.new("L", (900, 200), 255)
    ImageDraw.Draw(image).text((40, 60), text, fill=0, font=ImageFont.load_default(size=64))
    return image


def test_runs_spread_pages_over_workers_and_cover_every_page_once():
    assert ocr._chunks(1, 2) == [[0]]
    # A document that fits one run is one: a second process would load the models again.
    assert ocr._chunks(3, 2) == [[0, 1, 2]]
    assert ocr._chunks(BATCH_PAGES, 2) == [list(range(BATCH_PAGES))]
    assert ocr._chunks(BATCH_PAGES + 2, 2) == [
        list(range(BATCH_PAGES // 2 + 1)),
        list(range(BATCH_PAGES // 2 + 1, BATCH_PAGES + 2)),
    ]
    for count, workers in ((19, 2), (300, 2), (300, 1), (17, 4)):
        runs = ocr._chunks(count, workers)
        assert [i for run in runs for i in run] == list(range(count))
        assert all(1 <= len(run) <= BATCH_PAGES for run in runs)
        assert len(runs) >= min(workers, -(-count // BATCH_PAGES))


@pytest.mark.ocr
def test_one_process_reads_a_run_and_keeps_the_pages_apart(tmp_path, settings):
    settings.AP_OCR_LANGUAGES = "eng"
    paths = []
    for name, image in (
        ("a", _label("ALPHA 111")),
        ("b", Image.new("L", (900, 200), 255)),
        ("c", _label("OMEGA 333")),
    ):
        path = tmp_path / f"{name}.pgm"
        image.save(path, format="PPM")
        paths.append(str(path))

    pages = tesseract_pages(paths, languages="eng")

    texts = [[w[0] for w in page if str(w[0]).strip()] for page in pages]
    assert texts == [["ALPHA", "111"], [], ["OMEGA", "333"]]
    # The run's list file is not left behind beside the pages.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pgm", "b.pgm", "c.pgm"]


@pytest.mark.ocr
def test_a_short_scan_costs_a_vote_and_one_tesseract_process(
    corpus_dir, settings, monkeypatch, tmp_path, tesseract_runs
):
    settings.AP_OCR_LANGUAGES = "eng+deu"
    settings.AP_OCR_WORKERS = 1
    document = pypdfium2.PdfDocument(str(corpus_dir / EINFACH))
    try:
        page = document[0].render(scale=300 / 72).to_pil().convert("L")
    finally:
        document.close()
    buffer = io.BytesIO()
    page.save(buffer, "PDF", save_all=True, append_images=[page] * 2, resolution=300.0)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    result = extract_pdf_ocr(buffer.getvalue())

    # The English vote on page 1, then the three pages in one process with the voted language.
    assert tesseract_runs == ["eng", "deu"]
    assert result.page_count == 3
    assert result.value("invoice_number") == "471102"
    # Each copy of the page was read as its own page.
    assert result.text.count("471102") >= 3
    # Prepared pages waited on disk in a temporary folder that is gone afterwards.
    assert list(tmp_path.iterdir()) == []
