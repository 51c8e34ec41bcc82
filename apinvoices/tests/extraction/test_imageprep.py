"""Phone photos before OCR: finding the sheet on the desk, undoing perspective, evening light.

Photos are made at test time from corpus pages: the page is warped onto a desk-coloured
background through known corners, so where the sheet is (and where each word on it lands) is
known exactly. Pixel-level checks carry no marker; the end-to-end read runs real Tesseract.
"""

from __future__ import annotations

import io
import math
from decimal import Decimal
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image, ImageChops, ImageFilter, ImageStat

from apinvoices.extraction import imageprep
from apinvoices.extraction.ocr import extract_image_ocr, prepare

COOLBLUE = Path("invoice2data-compare") / "tests" / "compare" / "coolblue1.pdf"
# Where the A4 page's corners land in the photo (pixels): a sheet seen from slightly above
# and to the left, as in the generator's phone photos.
PHOTO_SIZE = (1500, 1950)
CORNERS = [(160.0, 130.0), (1340.0, 95.0), (1390.0, 1820.0), (115.0, 1860.0)]


def render(path: Path, *, dpi: int) -> Image.Image:
    document = pypdfium2.PdfDocument(str(path))
    try:
        return document[0].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        document.close()


BROWN_DESK = (96, 84, 70)


def photograph(
    page: Image.Image, *, desk: tuple[int, int, int] = BROWN_DESK, shadow: bool = True
) -> Image.Image:
    """``page`` lying on a ``desk`` at ``CORNERS``, lit from one side, a little soft."""
    w, h = page.size
    coeffs = imageprep.perspective_coeffs(CORNERS, [(0, 0), (w, 0), (w, h), (0, h)])
    mask = Image.new("L", page.size, 255).transform(
        PHOTO_SIZE, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR
    )
    warped = page.transform(
        PHOTO_SIZE, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC
    )
    photo = Image.new("RGB", PHOTO_SIZE, desk)
    photo.paste(warped, (0, 0), mask)
    if shadow:
        # Light falls from the top left: the far corner gets ~60 % of it.
        across = Image.linear_gradient("L").rotate(90).resize(PHOTO_SIZE)
        down = Image.linear_gradient("L").resize(PHOTO_SIZE)
        light = ImageChops.add(across, down, scale=2).point(lambda v: 255 - v * 100 // 255)
        photo = ImageChops.multiply(photo, Image.merge("RGB", (light, light, light)))
    return photo.filter(ImageFilter.GaussianBlur(0.6))


def apply(coeffs, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f, g, h = coeffs
    w = g * x + h * y + 1
    return (a * x + b * y + c) / w, (d * x + e * y + f) / w


def test_perspective_coeffs_send_each_target_corner_to_its_source():
    target = [(0, 0), (1000, 0), (1000, 1400), (0, 1400)]
    for (x, y), (u, v) in zip(target, CORNERS, strict=True):
        got = apply(imageprep.perspective_coeffs(target, CORNERS), x, y)
        assert got == pytest.approx((u, v), abs=1e-6)


@pytest.mark.parametrize(
    "desk",
    [BROWN_DESK, (40, 110, 60), (100, 100, 104)],
    ids=["brown desk", "green desk", "grey desk"],
)
def test_the_sheet_is_found_on_a_desk_under_uneven_light(corpus_dir, desk):
    """The page's blue footer band runs to the sheet's bottom edge: it must count as sheet
    (told from a coloured desk by its hue, from a grey one by its colourfulness), or the
    bottom corners would be found at the top of the band."""
    photo = photograph(render(corpus_dir / COOLBLUE, dpi=150), desk=desk)
    found = imageprep.find_page(photo)
    assert found is not None
    for (x, y), (want_x, want_y) in zip(found, CORNERS, strict=True):
        # Found on a 5x smaller copy: a corner within ~1/3 of a text line is plenty.
        assert math.dist((x, y), (want_x, want_y)) < 10


def test_a_page_that_fills_the_frame_is_left_alone(corpus_dir):
    scan = render(corpus_dir / COOLBLUE, dpi=300).convert("L")
    assert imageprep.find_page(scan) is None
    assert imageprep.find_page(Image.new("L", (2000, 2600), 90)) is None


def test_rectified_sheet_is_an_upright_page_at_200_dpi(corpus_dir):
    """GIVEN a 150-dpi photo of an A4 sheet on a desk
    WHEN it is prepared for OCR
    THEN the sheet alone remains, as a portrait page at 200 dpi with no desk around it, and a
    point on it maps back to where the photo shows it."""
    photo = photograph(render(corpus_dir / COOLBLUE, dpi=150))
    ready = prepare(photo, dpi=150)
    assert ready.warp is not None and ready.turn == 0
    width_in, height_in = ready.image.width / ready.dpi, ready.image.height / ready.dpi
    assert width_in == pytest.approx(8.27, abs=0.05)
    assert height_in == pytest.approx(11.69, rel=0.06)
    assert ready.dpi == pytest.approx(200)
    # No desk left along the edges: a 10-pixel border strip is lighter than the desk (grey
    # ~86) even in the shadowed far corner, except the bottom edge: the page's blue band.
    for box in (
        (0, 0, ready.image.width, 10),
        (0, 0, 10, ready.image.height),
        (ready.image.width - 10, 0, ready.image.width, ready.image.height),
    ):
        assert ImageStat.Stat(ready.image.crop(box)).median[0] > 130
    top_left = ready.warp.to_photo(0, 0)
    bottom_right = ready.warp.to_photo(*ready.frame)
    assert (top_left[0] * 150 / 72, top_left[1] * 150 / 72) == pytest.approx(CORNERS[0], abs=10)
    assert (bottom_right[0] * 150 / 72, bottom_right[1] * 150 / 72) == pytest.approx(
        CORNERS[2], abs=10
    )


def test_flattened_lighting_makes_paper_even_and_keeps_text_dark(corpus_dir):
    page = render(corpus_dir / COOLBLUE, dpi=200).convert("L")
    light = Image.linear_gradient("L").resize(page.size).point(lambda v: 255 - v * 110 // 255)
    shaded = ImageChops.multiply(page, light)
    flat = imageprep.flatten_lighting(shaded)
    # Blank paper above the letterhead, and between the item table and the totals.
    top = (100, page.height // 100, page.width - 100, page.height * 3 // 100)
    bottom = (100, page.height * 52 // 100, page.width - 100, page.height * 58 // 100)
    before = ImageStat.Stat(shaded.crop(top)).median[0] - ImageStat.Stat(
        shaded.crop(bottom)
    ).median[0]
    after = ImageStat.Stat(flat.crop(top)).median[0] - ImageStat.Stat(flat.crop(bottom)).median[0]
    assert before > 45
    assert abs(after) < 8
    # Text in the shadowed lower half is still far darker than the paper around it.
    lower = flat.crop((0, page.height // 2, page.width, page.height))
    histogram = lower.histogram()
    dark = sum(histogram[:100])
    assert dark > 0.002 * lower.width * lower.height


@pytest.mark.ocr
def test_photo_of_a_sheet_on_a_desk_is_read_and_boxes_land_on_the_photo(corpus_dir, settings):
    """GIVEN a 150-dpi phone photo of a Dutch invoice lying at an angle on a desk, in uneven
    light, with a DPI tag
    WHEN it is read
    THEN the fields are right, and a field's box, drawn on the photo as stored, covers where the
    photo shows that text."""
    settings.AP_OCR_LANGUAGES = "nld+eng"
    page = render(corpus_dir / COOLBLUE, dpi=150)
    photo = photograph(page)
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=70, dpi=(150, 150))
    result = extract_image_ocr(buffer.getvalue())
    assert result.value("invoice_number") == "993548900"
    assert result.value("vendor_iban") == "NL50INGB0683251309"
    assert result.value("total_amount") == Decimal("717.97")

    clean = extract_image_ocr(_png(page, dpi=150))
    w, h = page.size
    page_to_photo = imageprep.perspective_coeffs([(0, 0), (w, 0), (w, h), (0, h)], CORNERS)
    for name in ("vendor_iban", "invoice_number"):
        want, got = clean.fields[name].bbox, result.fields[name].bbox
        centre = ((want.x0 + want.x1) / 2 * 150 / 72, (want.top + want.bottom) / 2 * 150 / 72)
        expected = apply(page_to_photo, *centre)
        assert got.x0 * 150 / 72 - 15 < expected[0] < got.x1 * 150 / 72 + 15
        assert got.top * 150 / 72 - 15 < expected[1] < got.bottom * 150 / 72 + 15


def test_ascenders_tell_an_upright_page_from_one_upside_down(corpus_dir):
    page = render(corpus_dir / COOLBLUE, dpi=150).convert("L")
    upright = imageprep.ascender_ratio(page)
    assert upright > 1.5
    assert imageprep.ascender_ratio(page.transpose(Image.Transpose.ROTATE_180)) < 1 / 1.5
    assert imageprep.ascender_ratio(Image.new("L", (800, 1100), 255)) == 1.0
    assert not imageprep.lines_run_vertically(page)
    assert imageprep.lines_run_vertically(page.transpose(Image.Transpose.ROTATE_90))


def test_photo_taken_upside_down_is_turned_over(corpus_dir):
    """A portrait sheet is turned over by its ink alone (no OSD), and an upright one is not."""
    photo = photograph(render(corpus_dir / COOLBLUE, dpi=150))
    assert prepare(photo, dpi=150).turn == 0
    upside_down = prepare(photo.transpose(Image.Transpose.ROTATE_180), dpi=150)
    assert upside_down.turn == 180
    assert imageprep.ascender_ratio(upside_down.image) > 1.5


@pytest.mark.ocr
@pytest.mark.parametrize("ccw, turn", [(90, 90), (270, 270)], ids=["turned left", "turned right"])
def test_photo_taken_sideways_is_read_upright(corpus_dir, settings, ccw, turn):
    """GIVEN a phone photo of a sheet on a desk, the camera held sideways (the stored photo is
    landscape, its text running top to bottom or bottom to top), without EXIF orientation
    WHEN it is read
    THEN the sheet is turned upright the right way round (Tesseract OSD was unsure on such
    sheets and read some of them sideways: no fields), the fields are right, and a field's
    box lands on the photo as stored."""
    settings.AP_OCR_LANGUAGES = "nld+eng"
    page = render(corpus_dir / COOLBLUE, dpi=150)
    photo = photograph(page)
    sideways = photo.rotate(ccw, expand=True)
    assert prepare(sideways, dpi=150).turn == turn
    buffer = io.BytesIO()
    sideways.save(buffer, "JPEG", quality=70, dpi=(150, 150))
    result = extract_image_ocr(buffer.getvalue())
    assert result.value("invoice_number") == "993548900"
    assert result.value("vendor_iban") == "NL50INGB0683251309"
    assert result.value("total_amount") == Decimal("717.97")

    w, h = page.size
    page_to_photo = imageprep.perspective_coeffs([(0, 0), (w, 0), (w, h), (0, h)], CORNERS)
    box = result.fields["vendor_iban"].bbox
    # Where the upright photo shows the IBAN's first character, then that point after the turn.
    clean = extract_image_ocr(_png(page, dpi=150)).fields["vendor_iban"].bbox
    x, y = apply(
        page_to_photo, (clean.x0 + 3) * 150 / 72, (clean.top + clean.bottom) / 2 * 150 / 72
    )
    if ccw == 90:
        x, y = y, PHOTO_SIZE[0] - x
    else:
        x, y = PHOTO_SIZE[1] - y, x
    assert box.x0 * 150 / 72 - 15 < x < box.x1 * 150 / 72 + 15
    assert box.top * 150 / 72 - 15 < y < box.bottom * 150 / 72 + 15
    # The IBAN runs along the long side of its box: top to bottom in the stored photo.
    assert box.bottom - box.top > box.x1 - box.x0


def _png(image: Image.Image, *, dpi: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", dpi=(dpi, dpi))
    return buffer.getvalue()
