"""Page images of originals for the review screen, rendered once and cached on disk.

Originals are only ever read. Renders go to ``MEDIA_ROOT/previews/<sha256>/`` keyed by page and
width, so a repeat request is a file read; widths snap to a few sizes to bound the cache.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

from django.conf import settings

from apinvoices.exceptions import ApplicationError, ErrorCode
from apinvoices.models import Document
from apinvoices.secrets import decrypt_secret

PREVIEW_WIDTHS = (600, 900, 1200, 1600, 2000)
DEFAULT_WIDTH = 900


def snap_width(requested: int | str | None) -> int:
    """The smallest preview width at or above ``requested`` (the largest for anything bigger)."""
    try:
        wanted = int(requested)
    except (TypeError, ValueError):
        return DEFAULT_WIDTH
    return next((w for w in PREVIEW_WIDTHS if w >= wanted), PREVIEW_WIDTHS[-1])


def _cache_dir(document: Document) -> Path:
    return Path(settings.MEDIA_ROOT) / "previews" / document.sha256


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _open_pdf(document: Document):
    import pypdfium2 as pdfium

    with document.file.open("rb") as fh:
        data = fh.read()
    try:
        return pdfium.PdfDocument(data, password=decrypt_secret(document.password_ciphertext) or None)
    except pdfium.PdfiumError as err:
        raise ApplicationError("The original cannot be shown as pages.", code=ErrorCode.NOT_FOUND) from err


def _open_image(document: Document):
    from PIL import Image, ImageOps

    with document.file.open("rb") as fh:
        try:
            image = Image.open(io.BytesIO(fh.read()))
            image.load()
        except (OSError, Image.DecompressionBombError) as err:
            raise ApplicationError("The original cannot be shown as pages.", code=ErrorCode.NOT_FOUND) from err
    return ImageOps.exif_transpose(image)


def document_page_sizes(*, document: Document) -> list[tuple[float, float]]:
    """(width, height) of every page in PDF points (images: pixels), cached beside the renders."""
    cache = _cache_dir(document) / "sizes.json"
    if cache.exists():
        return [tuple(size) for size in json.loads(cache.read_text())]
    if document.kind == Document.Kind.PDF:
        pdf = _open_pdf(document)
        try:
            sizes = [tuple(pdf[i].get_size()) for i in range(len(pdf))]
        finally:
            pdf.close()
    elif document.kind == Document.Kind.IMAGE:
        image = _open_image(document)
        sizes = [(float(image.width), float(image.height))]
    else:
        sizes = []
    _write_atomically(cache, json.dumps(sizes).encode())
    return sizes


def document_page_png(*, document: Document, page: int, width: int) -> Path:
    """Path to a PNG of page ``page`` (1-based) at ``width`` pixels (snapped), rendering it the
    first time. Raises ``ApplicationError`` (not_found) for a page the document does not have
    and for a kind that has no pages (XML, e-mail)."""
    width = snap_width(width)
    if document.kind not in (Document.Kind.PDF, Document.Kind.IMAGE):
        raise ApplicationError("This original has no page images.", code=ErrorCode.NOT_FOUND)
    sizes = document_page_sizes(document=document)
    if not 1 <= page <= len(sizes):
        raise ApplicationError("No such page.", code=ErrorCode.NOT_FOUND)
    path = _cache_dir(document) / f"p{page}-w{width}.png"
    if path.exists():
        return path
    if document.kind == Document.Kind.PDF:
        pdf = _open_pdf(document)
        try:
            pdf_page = pdf[page - 1]
            image = pdf_page.render(scale=width / pdf_page.get_width()).to_pil()
        finally:
            pdf.close()
    else:
        image = _open_image(document)
        image = image.resize((width, max(1, round(image.height * width / image.width))))
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    _write_atomically(path, buf.getvalue())
    return path


def document_xml_text(*, document: Document, limit: int = 200_000) -> str:
    """An XML original pretty-printed for reading (parsed safely, never executed)."""
    from lxml import etree

    from apinvoices.extraction.einvoice import parse_xml_safely

    with document.file.open("rb") as fh:
        data = fh.read()
    try:
        root = parse_xml_safely(data)
    except Exception:  # unreadable XML is still shown, as text
        return data[:limit].decode("utf-8", "replace")
    return etree.tostring(root, pretty_print=True, encoding="unicode")[:limit]
