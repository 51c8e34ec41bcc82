"""Invoice fields from a PDF's text layer (pdfplumber words with positions).

The PDF is read one page at a time and each page is released after its words are taken, so a
300-page PDF never holds all parsed pages in memory. A missing or garbage text layer (scans,
``(cid:12)`` glyphs from fonts without a Unicode map) yields None so the caller falls back to OCR.
"""

from __future__ import annotations

import io
import logging
import re

import pdfplumber
import pypdfium2
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFSyntaxError
from pdfminer.psparser import PSException

from apinvoices.extraction.errors import ExtractionError, ExtractionErrorCode
from apinvoices.extraction.layout import Page, Word, extract_invoice
from apinvoices.extraction.types import ExtractedInvoice

logger = logging.getLogger(__name__)

# A page of an invoice carries at least this much real text; below it the page is a scan
# (perhaps with a stamped page number or a scanner's header line).
MIN_CHARS_PER_PAGE = 40
# Below this share of letters and digits among printed characters the layer is garbage.
MIN_ALNUM_SHARE = 0.5
_CID = re.compile(r"\(cid:\d+\)")


def count_pdf_pages(data: bytes, *, password: str | None = None) -> int:
    """Number of pages, raising :class:`ExtractionError` for encrypted or broken PDFs.

    Uses pdfium, which reads the page tree without parsing content streams (~1 ms).
    """
    try:
        document = pypdfium2.PdfDocument(data, password=password)
    except pypdfium2.PdfiumError as err:
        message = str(err).lower()
        if "password" in message:
            if password is None:
                raise ExtractionError(
                    ExtractionErrorCode.ENCRYPTED_PDF,
                    "This PDF is protected by a password. Enter the password to read it.",
                ) from err
            raise ExtractionError(
                ExtractionErrorCode.WRONG_PASSWORD,
                "The password for this PDF is not correct.",
            ) from err
        raise ExtractionError(
            ExtractionErrorCode.CORRUPT_PDF,
            "This PDF is damaged or incomplete and cannot be read. Ask the sender for a new copy.",
        ) from err
    try:
        return len(document)
    finally:
        document.close()


def check_page_limit(count: int, max_pages: int | None) -> None:
    if max_pages is not None and count > max_pages:
        raise ExtractionError(
            ExtractionErrorCode.TOO_MANY_PAGES,
            f"This PDF has {count} pages; at most {max_pages} are read. Split it and upload the "
            "invoice pages only.",
            pages=count,
            max_pages=max_pages,
        )


def is_usable_text(text: str) -> bool:
    """True when ``text`` looks like real words rather than unmapped glyph codes."""
    if not text.strip():
        return False
    cid_chars = sum(len(m) for m in _CID.findall(text))
    visible = re.sub(r"\s", "", text)
    if cid_chars > 0.2 * len(visible):
        return False
    cleaned = _CID.sub("", visible)
    if not cleaned:
        return False
    alnum = sum(1 for ch in cleaned if ch.isalnum())
    letters = sum(1 for ch in cleaned if ch.isalpha())
    return alnum / len(cleaned) >= MIN_ALNUM_SHARE and letters >= 0.25 * len(cleaned)


def extract_pdf_text(
    data: bytes, *, password: str | None = None, max_pages: int | None = None
) -> ExtractedInvoice | None:
    """Read invoice fields from the text layer of a PDF.

    Returns None when the text layer is missing or unusable (the caller then runs OCR).
    Raises :class:`ExtractionError` with ``ENCRYPTED_PDF`` (password needed),
    ``WRONG_PASSWORD``, ``CORRUPT_PDF`` or ``TOO_MANY_PAGES`` (checked before any page is read).
    """
    count = count_pdf_pages(data, password=password)
    check_page_limit(count, max_pages)
    pages: list[Page] = []
    poor_pages = 0
    try:
        with pdfplumber.open(io.BytesIO(data), password=password or "") as pdf:
            for index, pdfpage in enumerate(PDFPage.create_pages(pdf.doc)):
                page = pdfplumber.page.Page(pdf, pdfpage, page_number=index + 1, initial_doctop=0)
                try:
                    page_words = _page_words(page, index + 1)
                    width, height = float(page.width), float(page.height)
                finally:
                    page.close()
                text = " ".join(w.text for w in page_words)
                if len(text) < MIN_CHARS_PER_PAGE or not is_usable_text(text):
                    poor_pages += 1
                pages.append(Page(number=index + 1, width=width, height=height, words=page_words))
    except (PDFPasswordIncorrect, PDFEncryptionError) as err:
        code = (
            ExtractionErrorCode.ENCRYPTED_PDF
            if password is None
            else ExtractionErrorCode.WRONG_PASSWORD
        )
        raise ExtractionError(code, "This PDF is protected by a password.") from err
    except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError) as err:
        raise ExtractionError(
            ExtractionErrorCode.CORRUPT_PDF,
            "This PDF is damaged or incomplete and cannot be read. Ask the sender for a new copy.",
        ) from err
    except Exception as err:
        if type(err).__name__ == "PdfminerException":
            raise ExtractionError(
                ExtractionErrorCode.CORRUPT_PDF,
                "This PDF is damaged or incomplete and cannot be read. Ask the sender for a new "
                "copy.",
            ) from err
        raise
    if not pages or poor_pages * 2 > len(pages) or not pages[0].words:
        logger.info("text layer unusable (%d of %d pages poor)", poor_pages, len(pages))
        return None
    all_text = " ".join(w.text for p in pages for w in p.words)
    if not is_usable_text(all_text):
        return None
    return extract_invoice(pages, source="text", kind="pdf_text")


def _page_words(page, number: int) -> list[Word]:
    raw = page.extract_words(
        keep_blank_chars=False,
        use_text_flow=False,
        x_tolerance=3,
        y_tolerance=3,
        extra_attrs=["size"],
    )
    words = []
    for item in raw:
        text = item["text"]
        if not text.strip():
            continue
        words.append(
            Word(
                text=text,
                x0=float(item["x0"]),
                top=float(item["top"]),
                x1=float(item["x1"]),
                bottom=float(item["bottom"]),
                page=number,
            )
        )
    return words
