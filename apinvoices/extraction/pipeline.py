"""The extraction entry point: bytes in, one ``ExtractedInvoice`` out.

Order (DESIGN.md, "Extraction order"): a standalone e-invoice XML, or the e-invoice XML embedded
in a PDF (Factur-X / ZUGFeRD / XRechnung), is authoritative; otherwise the PDF text layer;
otherwise OCR of the rendered pages. Images always go to OCR. The file type is decided by the
content (magic bytes), never by the file name.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Literal

from apinvoices.extraction.einvoice import looks_like_xml, parse_einvoice
from apinvoices.extraction.errors import ExtractionError, ExtractionErrorCode
from apinvoices.extraction.types import ExtractedInvoice

logger = logging.getLogger(__name__)

FileType = Literal["xml", "pdf", "image"]
FORCE_CHOICES = ("xml", "pdf_text", "ocr")

# Attachment names that the Factur-X, ZUGFeRD 1/2 and XRechnung specifications prescribe,
# compared case-insensitively. Other XML attachments are tried after these.
EINVOICE_ATTACHMENT_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")
# A PDF may carry large attachments that are not invoices; reading more is pointless.
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024

_IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"II*\x00",  # TIFF little-endian
    b"MM\x00*",  # TIFF big-endian
)


def sniff_type(data: bytes) -> FileType:
    """Return the kind of document by its first bytes; raise UNSUPPORTED_TYPE otherwise."""
    # The PDF header may follow a little junk (the spec tolerates it within the first KiB).
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(_IMAGE_MAGIC):
        return "image"
    if looks_like_xml(data):
        return "xml"
    raise ExtractionError(
        ExtractionErrorCode.UNSUPPORTED_TYPE,
        "This file is neither a PDF, an image (PNG, JPEG, TIFF) nor e-invoice XML.",
    )


def _max_pages() -> int:
    from django.conf import settings

    return int(getattr(settings, "AP_MAX_PDF_PAGES", 500))


@dataclass
class EmbeddedXml:
    name: str
    data: bytes


def embedded_xml_files(data: bytes, *, password: str | None = None) -> tuple[list[EmbeddedXml], int]:
    """Return the PDF's XML attachments (e-invoice names first, then PDF order) and its page
    count. An unreadable or locked PDF yields ``([], 0)``: the text step reports why.

    The attachments are listed with pypdf (what the factur-x package does internally) rather
    than through ``facturx.get_facturx_xml_from_pdf``, because that function parses each
    attachment with lxml's default parser (entities expanded) and silently drops a broken
    one, where we want to refuse hostile XML and report a broken e-invoice to the clerk.
    """
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(password or ""):
            return [], 0
        page_count = len(reader.pages)
        attachments = reader.attachment_list
        found = []
        for attachment in attachments:
            name = attachment.name or ""
            if not name.lower().endswith(".xml"):
                continue
            content = attachment.content
            if content and len(content) <= MAX_ATTACHMENT_BYTES:
                found.append(EmbeddedXml(name=name, data=content))
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, NotImplementedError) as err:
        logger.info("Cannot list PDF attachments: %s", err)
        return [], 0
    preferred = [a for a in found if a.name.lower() in EINVOICE_ATTACHMENT_NAMES]
    others = [a for a in found if a.name.lower() not in EINVOICE_ATTACHMENT_NAMES]
    return preferred + others, page_count


def extract_embedded_einvoice(
    data: bytes, *, password: str | None = None
) -> tuple[ExtractedInvoice | None, list[str]]:
    """Read the e-invoice embedded in a PDF.

    Returns ``(result, findings)``: ``result`` is the first attachment that parses as an
    invoice, preferring one that is also valid against its schema (a PDF that carries both a
    ZUGFeRD 1.0 and a broken Factur-X XML yields the valid one); ``findings`` holds one
    "invalid e-invoice: …" message per e-invoice attachment that could not be read. XML
    attachments of other kinds (additional logistics data and the like) are ignored.
    """
    attachments, page_count = embedded_xml_files(data, password=password)
    findings: list[str] = []
    parsed: list[ExtractedInvoice] = []
    for attachment in attachments:
        try:
            result = parse_einvoice(attachment.data, kind="facturx")
        except ExtractionError as err:
            is_einvoice_name = attachment.name.lower() in EINVOICE_ATTACHMENT_NAMES
            if err.code == ExtractionErrorCode.NOT_AN_INVOICE and not is_einvoice_name:
                continue
            findings.append(f"invalid e-invoice: {attachment.name}: {err.message}")
            continue
        result.page_count = page_count
        result.warnings.insert(0, f"read from the embedded {attachment.name}")
        parsed.append(result)
    if not parsed:
        return None, findings
    schema_valid = [r for r in parsed if not any("schema" in w for w in r.warnings)]
    chosen = (schema_valid or parsed)[0]
    chosen.errors[:0] = findings
    return chosen, findings


def extract_document(
    data: bytes,
    *,
    filename: str = "",
    password: str | None = None,
    force: str | None = None,
    use_llm: bool = False,
) -> ExtractedInvoice:
    """Extract the header fields, lines and taxes of one document.

    ``force`` restricts extraction to one path ("xml", "pdf_text" or "ocr"), e.g. to measure
    the text layer of a Factur-X PDF while ignoring its XML. ``filename`` is only used in
    messages. ``use_llm`` lets the optional LLM fill gaps (never overriding XML values); an
    LLM failure is recorded in ``warnings`` and never loses the extraction.

    Guarantees: a returned result always has ``kind`` set; findings about a broken embedded
    e-invoice are in ``errors`` while extraction continues with the text layer or OCR.
    Raises ``ExtractionError`` when the document cannot be read at all (unsupported type,
    broken or non-invoice XML, encrypted or corrupt PDF, too many pages, unreadable image).
    """
    if force is not None and force not in FORCE_CHOICES:
        raise ValueError(f"force must be one of {FORCE_CHOICES}, not {force!r}")
    file_type = sniff_type(data)
    if file_type == "xml":
        if force not in (None, "xml"):
            raise ExtractionError(
                ExtractionErrorCode.UNSUPPORTED_TYPE,
                f"{filename or 'This file'} is XML; it has no text layer or image to read.",
            )
        result = parse_einvoice(data)
    elif file_type == "pdf":
        result = _extract_pdf(data, filename=filename, password=password, force=force)
    else:
        if force not in (None, "ocr"):
            raise ExtractionError(
                ExtractionErrorCode.UNSUPPORTED_TYPE,
                f"{filename or 'This file'} is an image; only OCR can read it.",
            )
        from apinvoices.extraction.ocr import extract_image_ocr

        result = extract_image_ocr(data)
    if use_llm:
        from apinvoices.extraction.llm import llm_enabled, llm_fill

        if llm_enabled():
            result = llm_fill(result)
    return result


def _extract_pdf(
    data: bytes, *, filename: str, password: str | None, force: str | None
) -> ExtractedInvoice:
    findings: list[str] = []
    if force in (None, "xml"):
        result, findings = extract_embedded_einvoice(data, password=password)
        if result is not None:
            return result
        if force == "xml":
            if findings:
                raise ExtractionError(ExtractionErrorCode.INVALID_EINVOICE, "; ".join(findings))
            raise ExtractionError(
                ExtractionErrorCode.NOT_AN_INVOICE,
                f"{filename or 'This PDF'} carries no e-invoice XML.",
            )
    max_pages = _max_pages()
    if force in (None, "pdf_text"):
        from apinvoices.extraction.pdftext import extract_pdf_text

        result = extract_pdf_text(data, password=password, max_pages=max_pages)
        if result is None and force == "pdf_text":
            result = ExtractedInvoice(
                kind="pdf_text", errors=["The PDF has no usable text layer (a scan?)."]
            )
        if result is not None:
            result.errors[:0] = findings
            return result
    from apinvoices.extraction.ocr import extract_pdf_ocr

    result = extract_pdf_ocr(data, password=password, max_pages=max_pages)
    result.errors[:0] = findings
    return result
