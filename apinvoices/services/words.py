"""Word boxes of an original's pages, for the review screen's "click a word to fill a field"
and for vendor memory that remembers a position rather than a label.

Boxes are ``[text, x0, top, x1, bottom]`` in the frame of the page image the review screen
shows (``previews.document_page_sizes``): PDF points from the top-left corner for PDFs, pixels
for images. A page with a text layer is read with pdfplumber; a scanned page or an image is
read with Tesseract (seconds, so the result is kept). Words are computed the first time a page
is asked for and kept on the document's latest successful Extraction (``Extraction.words``).
"""

from __future__ import annotations

import io
import logging

from django.db import transaction

from apinvoices.exceptions import ApplicationError, ErrorCode
from apinvoices.models import Document, Extraction
from apinvoices.secrets import decrypt_secret

logger = logging.getLogger(__name__)

# Fewer words than this on a PDF page means no usable text layer there: read it with OCR.
MIN_TEXT_WORDS = 3
# Tesseract words below this confidence (0..100) are noise, not something to click.
MIN_OCR_CONFIDENCE = 30
OCR_DPI = 300
# Fewer readable words than this and the page may be sideways: ask OSD and read it turned.
MIN_READABLE_WORDS = 15
# Longest side of an image given to Tesseract (about A4 at 300 dpi).
MAX_OCR_SIDE = 3500

WordBox = list  # [text, x0, top, x1, bottom]


def _round(value: float) -> float:
    return round(float(value), 1)


def _pdf_text_words(data: bytes, *, page: int, password: str | None) -> list[WordBox]:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data), password=password or "") as pdf:
        if not 1 <= page <= len(pdf.pages):
            raise ApplicationError("No such page.", code=ErrorCode.NOT_FOUND)
        raw = pdf.pages[page - 1].extract_words(keep_blank_chars=False, use_text_flow=False,
                                                x_tolerance=3, y_tolerance=3)
    return [
        [w["text"], _round(w["x0"]), _round(w["top"]), _round(w["x1"]), _round(w["bottom"])]
        for w in raw if w["text"].strip()
    ]


def _tesseract_words(image, *, scale: float) -> tuple[list[WordBox], int]:
    """(words, how many of them are confidently read words of three characters or more)."""
    import pytesseract
    from django.conf import settings

    from apinvoices.extraction.ocr import DEFAULT_LANGUAGES

    data = pytesseract.image_to_data(
        image, lang=getattr(settings, "AP_OCR_LANGUAGES", "") or DEFAULT_LANGUAGES,
        config="--psm 11", output_type=pytesseract.Output.DICT,
    )
    words, readable = [], 0
    for text, conf, left, top, width, height in zip(
        data["text"], data["conf"], data["left"], data["top"], data["width"], data["height"]
    ):
        text = (text or "").strip()
        if text and float(conf) >= MIN_OCR_CONFIDENCE:
            words.append([text, _round(left * scale), _round(top * scale),
                          _round((left + width) * scale), _round((top + height) * scale)])
            readable += float(conf) >= 80 and len(text) >= 3
    return words, readable


def _to_original(word: WordBox, *, clockwise: int, width: float, height: float) -> WordBox:
    """A box found on the page turned upright, mapped back to the page as stored (which is
    what the review screen shows)."""
    corners = [(word[1], word[2]), (word[3], word[4])]
    if clockwise == 90:
        mapped = [(v, height - u) for u, v in corners]
    elif clockwise == 180:
        mapped = [(width - u, height - v) for u, v in corners]
    elif clockwise == 270:
        mapped = [(width - v, u) for u, v in corners]
    else:
        return word
    xs, ys = [x for x, _ in mapped], [y for _, y in mapped]
    return [word[0], _round(min(xs)), _round(min(ys)), _round(max(xs)), _round(max(ys))]


def _ocr_words(image, *, scale: float) -> list[WordBox]:
    """Tesseract's words on ``image``; ``scale`` maps image pixels to the page frame. A page
    that reads badly is turned upright as Tesseract's OSD says (a sideways photo) and read
    again; its boxes are mapped back to the page as stored."""
    from apinvoices.extraction.ocr import orientation, rotate_upright

    gray = image.convert("L")
    if gray.width > MAX_OCR_SIDE or gray.height > MAX_OCR_SIDE:
        # A phone photo has far more pixels than reading needs; Tesseract's time grows with them.
        factor = MAX_OCR_SIDE / max(gray.width, gray.height)
        gray = gray.resize((round(gray.width * factor), round(gray.height * factor)))
        scale /= factor
    landscape = gray.width > gray.height * 1.15  # invoices are portrait: a wide one is turned
    words, readable = ([], 0) if landscape else _tesseract_words(gray, scale=scale)
    if readable >= MIN_READABLE_WORDS:
        return words
    turn = orientation(gray)
    if not turn:
        return _tesseract_words(gray, scale=scale)[0] if landscape else words
    retry, retry_readable = _tesseract_words(rotate_upright(gray, turn), scale=scale)
    if retry_readable <= readable:
        return words
    width, height = gray.width * scale, gray.height * scale
    return [_to_original(w, clockwise=turn, width=width, height=height) for w in retry]


def _read_page_words(document: Document, page: int) -> list[WordBox]:
    with document.file.open("rb") as fh:
        data = fh.read()
    password = decrypt_secret(document.password_ciphertext) or None
    if document.kind == Document.Kind.PDF:
        words = _pdf_text_words(data, page=page, password=password)
        if len(words) >= MIN_TEXT_WORDS:
            return words
        import pypdfium2

        pdf = pypdfium2.PdfDocument(data, password=password)
        try:
            bitmap = pdf[page - 1].render(scale=OCR_DPI / 72)
            image = bitmap.to_pil()
        finally:
            pdf.close()
        return _ocr_words(image, scale=72 / OCR_DPI)
    if document.kind == Document.Kind.IMAGE:
        if page != 1:
            raise ApplicationError("No such page.", code=ErrorCode.NOT_FOUND)
        from PIL import Image, ImageOps

        image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
        return _ocr_words(image, scale=1.0)  # the page frame of an image is its pixels
    raise ApplicationError("This original has no page images.", code=ErrorCode.NOT_FOUND)


def document_page_words(*, document: Document, page: int) -> list[WordBox]:
    """The word boxes of page ``page`` (1-based) of ``document``, read once and then kept on the
    latest successful Extraction (without one, read every time and not kept).

    Raises ``ApplicationError`` (not_found) for a page the document does not have or a kind
    without pages. Safe to call concurrently: two first readers both read, one write wins.
    """
    extraction = (
        Extraction.objects.filter(document=document, status=Extraction.Status.SUCCEEDED)
        .order_by("-started_at").only("pk", "words").first()
    )
    key = str(page)
    if extraction is not None and key in (extraction.words or {}):
        return extraction.words[key]
    try:
        words = _read_page_words(document, page)
    except ApplicationError:
        raise
    except Exception as err:  # a damaged original: no words to offer, the page still shows
        logger.warning("no word boxes for document %s page %s", document.pk, page, exc_info=True)
        raise ApplicationError("The words of this page cannot be read.", code=ErrorCode.NOT_FOUND) from err
    if extraction is not None:
        with transaction.atomic():
            current = Extraction.objects.select_for_update().only("pk", "words").get(pk=extraction.pk)
            stored = dict(current.words or {})
            stored[key] = words
            Extraction.objects.filter(pk=extraction.pk).update(words=stored)
    return words


def words_in_box(words: list[WordBox], bbox: list[float], *, slack: float = 2.0) -> list[WordBox]:
    """Words whose centre lies inside ``bbox`` (grown by ``slack`` on every side), in reading
    order (top to bottom, then left to right)."""
    x0, top, x1, bottom = bbox
    inside = [
        w for w in words
        if x0 - slack <= (w[1] + w[3]) / 2 <= x1 + slack and top - slack <= (w[2] + w[4]) / 2 <= bottom + slack
    ]
    return sorted(inside, key=lambda w: (round(w[2]), w[1]))


def same_line(words: list[WordBox], word: WordBox) -> list[WordBox]:
    """The words on ``word``'s visual line (vertical centres within half its height), left to
    right."""
    centre, half = (word[2] + word[4]) / 2, max((word[4] - word[2]) / 2, 1.0)
    return sorted((w for w in words if abs((w[2] + w[4]) / 2 - centre) <= half), key=lambda w: w[1])
