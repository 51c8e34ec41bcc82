"""Invoice fields from scans and photos: Tesseract OCR with word confidences.

Pages are handled one at a time (PDF pages rendered by pdfium at 300 dpi, TIFF frames, single
images): orientation (EXIF, then Tesseract OSD), deskew, cleaning, then
``pytesseract.image_to_data``. Words are converted to PDF points from the top-left corner and
go through the same field logic as the text layer (``layout.extract_invoice``); OCR word
confidence lowers the confidence of every field read from those words.

Tesseract runs with ``OMP_THREAD_LIMIT=1``: its OpenMP threads make one page slower, not
faster, on small machines (measured: 80 vs 11 pages/min on 2 cores, see NOTES.md); throughput
comes from running several worker processes instead.
"""

from __future__ import annotations

import io
import logging
import os
import re
import warnings
from dataclasses import dataclass

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import pypdfium2
import pytesseract
from PIL import (
    Image,
    ImageChops,
    ImageFilter,
    ImageOps,
    ImageSequence,
    ImageStat,
    UnidentifiedImageError,
)

from apinvoices.extraction.errors import ExtractionError, ExtractionErrorCode
from apinvoices.extraction.layout import Page, Word, extract_invoice
from apinvoices.extraction.pdftext import check_page_limit, count_pdf_pages
from apinvoices.extraction.types import BBox, ExtractedInvoice

logger = logging.getLogger(__name__)

RENDER_DPI = 300
DEFAULT_LANGUAGES = "eng+deu+fra+nld+spa+ita"
DEFAULT_MAX_IMAGE_PIXELS = 80_000_000
# A page narrower than this (after EXIF rotation) cannot hold legible 10-pt text.
MIN_PAGE_PIXELS = 600
# How much edge energy a page loses when blurred once more, at 1240 px wide (150 dpi for A4):
# a sharp rendered page measures ~8, a 2-px Gaussian blur at 300 dpi ~2.8 (still read well),
# a 3-px blur ~1.3 and a 4-px blur ~1.05 (Tesseract reads little or nothing).
MIN_SHARPNESS = 1.5
# Share of a page crop's pixels that a 3x3 median filter changes by more than 80 grey levels:
# clean rendered pages measure 0.02-0.04 %, 20,000 dust specks on an A4 page ~0.18 %.
NOISE_THRESHOLD = 0.0008
# Without any DPI information a photo or scan is assumed to show an A4/Letter page width.
ASSUMED_PAGE_WIDTH_INCHES = 8.27
MAX_DESKEW_DEGREES = 5.0


def _setting(name: str, default):
    """Settings are read at call time so tests and deployments can change them."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        return getattr(settings, name, default)
    except ImproperlyConfigured:  # a script outside Django
        return default


def _languages() -> str:
    return _setting("AP_OCR_LANGUAGES", DEFAULT_LANGUAGES) or DEFAULT_LANGUAGES


def _unavailable(err: Exception) -> ExtractionError:
    return ExtractionError(
        ExtractionErrorCode.OCR_UNAVAILABLE,
        "Text recognition (Tesseract) is not installed or lacks a language pack; ask an "
        "administrator.",
        detail=str(err),
    )


# --- Image preparation ---------------------------------------------------------------------


def _edge_variance(image: Image.Image) -> float:
    return ImageStat.Stat(image.filter(ImageFilter.FIND_EDGES)).var[0]


def sharpness(image: Image.Image) -> float:
    """Ratio of edge energy before and after an extra blur, at a fixed scale.

    A ratio rather than an absolute edge energy, so that a page with little text is not
    mistaken for a blurred one; ~1.0 means the image is already as blurred as the probe.
    """
    gray = image.convert("L")
    short = min(gray.size)
    if short > 1240:
        factor = 1240 / short
        gray = gray.resize(
            (max(1, round(gray.width * factor)), max(1, round(gray.height * factor))),
            Image.BILINEAR,
        )
    before = _edge_variance(gray)
    after = _edge_variance(gray.filter(ImageFilter.GaussianBlur(1.5)))
    return before / max(after, 1e-6)


def check_quality(image: Image.Image) -> None:
    """Raise IMAGE_TOO_POOR for pages too small or too blurred for reliable OCR."""
    if min(image.size) < MIN_PAGE_PIXELS:
        raise ExtractionError(
            ExtractionErrorCode.IMAGE_TOO_POOR,
            f"The image is too small to read ({image.width}×{image.height} pixels). Please scan "
            "the invoice at 300 dpi or take a sharper, closer photo.",
            width=image.width,
            height=image.height,
        )
    measured = sharpness(image)
    if measured < MIN_SHARPNESS:
        raise ExtractionError(
            ExtractionErrorCode.IMAGE_TOO_POOR,
            "The image is too blurred to read. Please scan the invoice again or take a sharper "
            "photo in good light.",
            sharpness=round(measured, 1),
        )


def _projection_score(image: Image.Image) -> float:
    # Each row's mean darkness; text lines aligned with the rows give peaky, high-variance
    # profiles, a skewed page smears them.
    profile = image.resize((1, image.height), Image.BOX)
    return ImageStat.Stat(profile).var[0]


def skew_angle(image: Image.Image) -> float:
    """Small skew in degrees (counter-clockwise positive), found by projection profiles."""
    small = image.convert("L")
    factor = max(1, min(small.size) // 600)
    if factor > 1:
        small = small.reduce(factor)
    inverted = ImageOps.invert(ImageOps.autocontrast(small))

    def score(angle: float) -> float:
        rotated = inverted.rotate(angle, resample=Image.BILINEAR, expand=False, fillcolor=0)
        return _projection_score(rotated)

    best = max((a / 2 for a in range(-10, 11)), key=score)
    fine = max((best + a / 10 for a in (-3, -1, 0, 1, 3)), key=score)
    return fine if abs(fine) <= MAX_DESKEW_DEGREES else 0.0


def orientation(image: Image.Image) -> int:
    """Clockwise rotation (0/90/180/270) Tesseract OSD says the page needs; 0 when unsure.

    OSD fails on sparse pages ("Too few characters"); that is not an error, the page is then
    read as it is.
    """
    try:
        osd = pytesseract.image_to_osd(image, config="--psm 0 -c min_characters_to_try=10")
    except pytesseract.TesseractNotFoundError as err:
        raise _unavailable(err) from err
    except pytesseract.TesseractError as err:
        logger.debug("OSD failed, page read as is: %s", err)
        return 0
    rotate = re.search(r"Rotate:\s*(\d+)", osd)
    conf = re.search(r"Orientation confidence:\s*([\d.]+)", osd)
    if not rotate or not conf or float(conf.group(1)) < 1.5:
        return 0
    return int(rotate.group(1)) % 360


def rotate_upright(image: Image.Image, clockwise: int) -> Image.Image:
    # OSD's "Rotate" is clockwise; PIL rotates counter-clockwise.
    return image.rotate(-clockwise, expand=True, fillcolor=255) if clockwise else image


def is_noisy(image: Image.Image) -> bool:
    """Speckle check on a central crop (a full-page median filter costs ~0.5 s)."""
    w, h = image.size
    crop = image.crop((w // 4, h // 4, w // 4 + min(800, w // 2), h // 4 + min(800, h // 2)))
    diff = ImageChops.difference(crop, crop.filter(ImageFilter.MedianFilter(3)))
    changed = sum(diff.histogram()[80:])
    return changed / max(crop.width * crop.height, 1) > NOISE_THRESHOLD


def prepare(image: Image.Image) -> tuple[Image.Image, int]:
    """Grayscale, deskewed, contrast-stretched page, denoised when speckled, and the clockwise
    turn applied to make it upright. A landscape page is turned by OSD first (portrait pages
    are checked by OSD only if they read badly)."""
    gray = image.convert("L")
    turn = 0
    if gray.width > gray.height * 1.15:
        turn = orientation(gray)
        gray = rotate_upright(gray, turn)
    angle = skew_angle(gray)
    if abs(angle) >= 0.2:
        # Same canvas, rotated about its centre: word boxes stay within a few points of where
        # the clerk sees them on the original page.
        gray = gray.rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=255)
    gray = ImageOps.autocontrast(gray, cutoff=1)
    if is_noisy(gray):
        gray = gray.filter(ImageFilter.MedianFilter(3))
    return gray, turn


# --- OCR -----------------------------------------------------------------------------------


def ocr_words(image: Image.Image, *, page: int, dpi: float) -> list[Word]:
    """Words on one prepared page with positions in PDF points and confidences in 0..1."""
    try:
        data = pytesseract.image_to_data(
            # Sparse-text mode: invoices are forms, and the automatic layout mode (3) drops
            # whole amount columns next to table rules; lines are rebuilt from positions.
            image,
            lang=_languages(),
            config="--psm 11",
            output_type=pytesseract.Output.DICT,
        )
    except pytesseract.TesseractNotFoundError as err:
        raise _unavailable(err) from err
    except pytesseract.TesseractError as err:
        if "language" in str(err).lower() or "traineddata" in str(err).lower():
            raise _unavailable(err) from err
        raise
    scale = 72.0 / dpi
    words = []
    for text, conf, left, top, width, height in zip(
        data["text"], data["conf"], data["left"], data["top"], data["width"], data["height"]
    ):
        text = (text or "").strip()
        conf = float(conf)
        if not text or conf < 0:
            continue
        words.append(
            Word(
                text=text,
                x0=left * scale,
                top=top * scale,
                x1=(left + width) * scale,
                bottom=(top + height) * scale,
                page=page,
                conf=max(0.0, min(conf / 100.0, 1.0)),
            )
        )
    return words


@dataclass(frozen=True)
class _Turn:
    """How an upright page relates to the original image: turned ``clockwise`` degrees; the
    original is ``width`` x ``height`` points."""

    clockwise: int
    width: float
    height: float

    def to_original(self, box: BBox) -> BBox:
        w, h = self.width, self.height
        corners = [(box.x0, box.top), (box.x1, box.bottom)]
        if self.clockwise == 90:
            mapped = [(v, h - u) for u, v in corners]
        elif self.clockwise == 180:
            mapped = [(w - u, h - v) for u, v in corners]
        elif self.clockwise == 270:
            mapped = [(w - v, u) for u, v in corners]
        else:
            return box
        xs, ys = [x for x, _ in mapped], [y for _, y in mapped]
        return BBox(min(xs), min(ys), max(xs), max(ys))


def _ocr_page(image: Image.Image, *, number: int, dpi: float) -> tuple[Page, _Turn]:
    original = (image.width * 72.0 / dpi, image.height * 72.0 / dpi)
    prepared, turn = prepare(image)
    if dpi < 250:
        # Tesseract reads best at ~300 dpi; low-resolution photos are scaled up first.
        factor = min(300 / dpi, 3.0)
        prepared = prepared.resize(
            (round(prepared.width * factor), round(prepared.height * factor)), Image.LANCZOS
        )
        dpi *= factor
    words = ocr_words(prepared, page=number, dpi=dpi)
    if _reads_badly(words):
        # Perhaps upside down or sideways: ask OSD, and read again only if it says so.
        rotate = orientation(prepared)
        if rotate:
            turned = rotate_upright(prepared, rotate)
            retry = ocr_words(turned, page=number, dpi=dpi)
            if _mean_conf(retry) > _mean_conf(words):
                words, prepared, turn = retry, turned, (turn + rotate) % 360
    scale = 72.0 / dpi
    page = Page(
        number=number, width=prepared.width * scale, height=prepared.height * scale, words=words
    )
    return page, _Turn(turn, *original)


def _mean_conf(words: list[Word]) -> float:
    return sum(w.conf for w in words) / len(words) if words else 0.0


def _reads_badly(words: list[Word]) -> bool:
    good = [w for w in words if w.conf >= 0.8 and len(w.text) >= 3]
    return len(good) < 15 or _mean_conf(words) < 0.6


def _finish(pages: list[Page], turns: dict[int, _Turn]) -> ExtractedInvoice:
    words = [w for p in pages for w in p.words]
    readable = [w for w in words if w.conf >= 0.6 and re.search(r"\w{2}", w.text)]
    if len(readable) < 5:
        raise ExtractionError(
            ExtractionErrorCode.IMAGE_TOO_POOR,
            "No readable text was found. Please scan the invoice again at 300 dpi, or take a "
            "sharper photo in good light.",
            words=len(words),
        )
    result = extract_invoice(pages, source="ocr", kind="ocr")
    # Boxes go back to the frame of the page as stored, which is what the review screen shows.
    for value in result.fields.values():
        turn = turns.get(value.page or 0)
        if value.bbox is not None and turn is not None:
            value.bbox = turn.to_original(value.bbox)
    mean = sum(w.conf for w in words) / len(words)
    if mean < 0.7:
        result.warnings.append(f"low OCR confidence ({mean:.0%}): check every field")
    return result


def extract_pdf_ocr(
    data: bytes, *, password: str | None = None, max_pages: int | None = None
) -> ExtractedInvoice:
    """OCR every page of a PDF (rendered at 300 dpi, one page in memory at a time).

    Raises :class:`ExtractionError`: ``ENCRYPTED_PDF``, ``WRONG_PASSWORD``, ``CORRUPT_PDF``,
    ``TOO_MANY_PAGES`` (before any page is rendered), ``IMAGE_TOO_POOR`` (nothing readable),
    ``OCR_UNAVAILABLE``.
    """
    count = count_pdf_pages(data, password=password)
    check_page_limit(count, max_pages)
    document = pypdfium2.PdfDocument(data, password=password)
    pages: list[Page] = []
    turns: dict[int, _Turn] = {}
    try:
        for index in range(count):
            pdf_page = document[index]
            try:
                bitmap = pdf_page.render(scale=RENDER_DPI / 72)
                try:
                    image = bitmap.to_pil().convert("L")
                finally:
                    bitmap.close()
            finally:
                pdf_page.close()
            page, turns[index + 1] = _ocr_page(image, number=index + 1, dpi=RENDER_DPI)
            pages.append(page)
            del image
    finally:
        document.close()
    return _finish(pages, turns)


def _max_pixels() -> int:
    return int(
        _setting("AP_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS) or DEFAULT_MAX_IMAGE_PIXELS
    )


def _bomb(width: int, height: int, limit: int) -> ExtractionError:
    return ExtractionError(
        ExtractionErrorCode.UNREADABLE_IMAGE,
        f"The image is too large to process safely ({width}×{height} pixels; the limit is "
        f"{limit:,} pixels). Please scan at 300 dpi.",
        width=width,
        height=height,
        limit=limit,
    )


def extract_image_ocr(data: bytes, *, max_pages: int | None = None) -> ExtractedInvoice:
    """OCR a PNG, JPEG or TIFF (every frame of a multi-page TIFF).

    Raises :class:`ExtractionError`: ``UNREADABLE_IMAGE`` (not an image, truncated, or more
    pixels than ``AP_MAX_IMAGE_PIXELS`` — checked from the header before decoding),
    ``TOO_MANY_PAGES``, ``IMAGE_TOO_POOR`` (too small or blurred), ``OCR_UNAVAILABLE``.
    """
    limit = _max_pixels()
    Image.MAX_IMAGE_PIXELS = limit
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        size = re.findall(r"\d+", str(err))
        raise ExtractionError(
            ExtractionErrorCode.UNREADABLE_IMAGE,
            "The image is too large to process safely. Please scan at 300 dpi.",
            detail=str(err),
            pixels=size[0] if size else None,
            limit=limit,
        ) from err
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise ExtractionError(
            ExtractionErrorCode.UNREADABLE_IMAGE,
            "This file is not a readable image (PNG, JPEG or TIFF).",
        ) from err
    if width * height > limit:
        raise _bomb(width, height, limit)
    frames = getattr(image, "n_frames", 1)
    check_page_limit(frames, max_pages)
    pages: list[Page] = []
    poor: list[tuple[int, ExtractionError]] = []
    turns: dict[int, _Turn] = {}
    try:
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            if frame.size[0] * frame.size[1] > limit:
                raise _bomb(frame.size[0], frame.size[1], limit)
            try:
                page_image = ImageOps.exif_transpose(frame.copy()) if number == 1 else frame.copy()
                page_image.load()
            except (OSError, ValueError, SyntaxError) as err:
                raise ExtractionError(
                    ExtractionErrorCode.UNREADABLE_IMAGE,
                    "The image is damaged or incomplete and cannot be read.",
                ) from err
            try:
                check_quality(page_image)
            except ExtractionError as err:
                # One blank or poor page (a back side, a separator) does not sink a
                # multi-page scan; a single poor page does.
                if frames == 1:
                    raise
                poor.append((number, err))
                continue
            page, turns[number] = _ocr_page(page_image, number=number, dpi=_dpi(page_image))
            pages.append(page)
    finally:
        image.close()
    if not pages:
        raise poor[0][1]
    result = _finish(pages, turns)
    result.page_count = frames
    result.warnings += [f"page {number} not read: {err.message}" for number, err in poor]
    return result


def _dpi(image: Image.Image) -> float:
    dpi = image.info.get("dpi")
    if dpi:
        try:
            value = float(dpi[0])
        except (TypeError, ValueError, IndexError):
            value = 0.0
        # Many writers store 72 or 96 as a placeholder; trust only plausible scanner values.
        if 100 <= value <= 1200:
            return value
    short_side = min(image.size)
    return max(short_side / ASSUMED_PAGE_WIDTH_INCHES, 50.0)
