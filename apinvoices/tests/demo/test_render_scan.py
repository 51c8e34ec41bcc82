"""Scans, photos and faxes look degraded, keep the page geometry they claim, and are
reproducible from the rng."""

from __future__ import annotations

import io
import random
from functools import cache

import pypdfium2 as pdfium
from PIL import Image, ImageChops, ImageStat

from apinvoices.demo import specs
from apinvoices.demo.render_pdf import render_pdf
from apinvoices.demo.render_scan import (
    images_to_pdf,
    images_to_tiff,
    render_pages,
    render_scan,
)

A4_MM = (210, 297)


@cache
def _pdf() -> bytes:
    vendor = specs.VENDOR_PROFILES["Nordlicht Bürobedarf GmbH"].party
    spec = specs.random_spec(random.Random(6), layout="classic", vendor=vendor, line_count=3)
    return render_pdf(spec)


@cache
def _clean_300() -> Image.Image:
    (clean,) = render_pages(_pdf(), dpi=300)
    return clean


def _mean_difference(a: Image.Image, b: Image.Image) -> float:
    a, b = a.convert("L"), b.convert("L").resize(a.size)
    return ImageStat.Stat(ImageChops.difference(a, b)).mean[0]


def test_scan_is_a4_at_300_dpi_greyscale_and_noisy():
    (scan,) = render_scan(_pdf(), dpi=300, quality="scan", rng=random.Random(1))
    expected = [mm / 25.4 * 300 for mm in A4_MM]
    assert abs(scan.size[0] - expected[0]) <= 1.5 and abs(scan.size[1] - expected[1]) <= 1.5
    assert scan.mode == "L"
    assert _mean_difference(scan, _clean_300()) > 3
    # Paper stays light: noise and rotation must not swamp the page.
    assert ImageStat.Stat(scan).mean[0] > 180


def test_scan_is_deterministic_for_the_same_rng_seed():
    first = render_scan(_pdf(), dpi=100, quality="scan", rng=random.Random(5))
    again = render_scan(_pdf(), dpi=100, quality="scan", rng=random.Random(5))
    other = render_scan(_pdf(), dpi=100, quality="scan", rng=random.Random(6))
    assert first[0].tobytes() == again[0].tobytes()
    assert first[0].tobytes() != other[0].tobytes()


def test_photo_is_warped_onto_a_background_at_lower_resolution():
    clean = _clean_300()
    (photo,) = render_scan(_pdf(), quality="photo", rng=random.Random(3))
    assert photo.mode == "RGB"
    # 150-200 dpi plus the desk around the page: far fewer pixels than the 300 dpi page.
    assert photo.size[0] * photo.size[1] < 0.7 * clean.size[0] * clean.size[1]
    assert photo.size != clean.size
    corner = photo.crop((0, 0, 20, 20)).convert("L")
    assert ImageStat.Stat(corner).mean[0] < 200  # desk, not paper
    assert _mean_difference(photo, clean) > 20


def test_photo_is_sometimes_turned_sideways():
    orientations = set()
    for seed in range(4):
        (photo,) = render_scan(_pdf(), dpi=40, quality="photo", rng=random.Random(seed))
        orientations.add(photo.size[0] > photo.size[1])
    assert orientations == {True, False}


def test_fax_is_bitonal_and_containers_hold_every_page():
    images = render_scan(_pdf(), quality="fax", rng=random.Random(2))
    assert images[0].mode == "1"
    tiff = Image.open(io.BytesIO(images_to_tiff(images * 2, dpi=204)))
    assert tiff.n_frames == 2
    pdf = pdfium.PdfDocument(images_to_pdf(images * 3, dpi=204))
    assert len(pdf) == 3
    # Image-only: there is no text layer to extract.
    assert pdf[0].get_textpage().get_text_range().strip() == ""
    width_pt = pdf[0].get_width()
    assert abs(width_pt - 210 / 25.4 * 72) < 3
    pdf.close()
