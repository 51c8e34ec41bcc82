"""What a file is, decided by its content (never by its name or a sender's Content-Type).

``sniff`` looks at the first bytes; ``inspect`` then opens the file with the library for its
type, under limits, without decoding more than it must: PDFs are parsed (page count,
encryption), images only have their header read (pixel count) and their structure verified,
XML is parsed with defusedxml (no DTD, no entities, no network).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import IO

from apinvoices.ingestion.errors import RefusalCode

logger = logging.getLogger(__name__)

# How much of the file sniffing looks at. PDF allows junk before "%PDF-" within the first 1 KiB.
HEAD_BYTES = 8192
PDF_MARKER_WINDOW = 1024

UBL_NAMESPACES = {
    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
}
CII_ROOTS = {
    "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}CrossIndustryInvoice",
    # ZUGFeRD 1.0
    "{urn:ferd:CrossIndustryDocument:invoice:1p0}CrossIndustryDocument",
}

_HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9-]{0,76}:[ \t]?[^\r\n]*\r?$")
_MAIL_HEADERS = (b"from:", b"date:", b"message-id:", b"mime-version:", b"received:", b"subject:")


@dataclass(frozen=True)
class Sniffed:
    """The type a file's first bytes show. ``kind`` is a ``Document.Kind`` value."""

    kind: str
    content_type: str


@dataclass(frozen=True)
class Inspection:
    """What opening the file found. ``refusal`` set means: do not accept it."""

    page_count: int | None = None
    is_encrypted: bool = False
    refusal: RefusalCode | None = None
    params: dict | None = None
    xml_syntax: str = ""


class SniffRefusal(Exception):
    def __init__(self, code: RefusalCode, **params):
        super().__init__(code)
        self.code = code
        self.params = params


def _looks_like_mail(head: bytes) -> bool:
    lines = head.split(b"\n", 40)[:-1] or [head]
    header_lines = 0
    known = 0
    for line in lines:
        if line in (b"", b"\r"):
            break
        if line[:1] in (b" ", b"\t"):
            continue  # folded continuation of the previous header
        if not _HEADER_LINE.match(line):
            return False
        header_lines += 1
        if line.lower().startswith(_MAIL_HEADERS):
            known += 1
    return header_lines >= 2 and known >= 2


def sniff(head: bytes, *, allow_email: bool) -> Sniffed:
    """The type of a file from its first bytes. Raises ``SniffRefusal`` for anything we do not
    accept, with the most specific code we can give (executable, archive, HTML, e-mail, ...)."""
    if not head:
        raise SniffRefusal(RefusalCode.EMPTY_FILE)
    if b"%PDF-" in head[:PDF_MARKER_WINDOW]:
        return Sniffed("pdf", "application/pdf")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "image/png")
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "image/jpeg")
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return Sniffed("image", "image/tiff")
    if head.startswith((b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"#!")):
        raise SniffRefusal(RefusalCode.EXECUTABLE)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")):
        raise SniffRefusal(RefusalCode.ARCHIVE)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    lowered = text[:512].lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered[:256]:
        raise SniffRefusal(RefusalCode.HTML)
    if text.startswith(b"<"):
        return Sniffed("xml", "application/xml")
    if _looks_like_mail(head):
        if allow_email:
            return Sniffed("email", "message/rfc822")
        raise SniffRefusal(RefusalCode.EMAIL_NOT_HERE)
    raise SniffRefusal(RefusalCode.UNSUPPORTED_TYPE)


def inspect(fh: IO[bytes], sniffed: Sniffed, *, max_pages: int, max_pixels: int) -> Inspection:
    """Open the file with the library for its type and check it against the limits.

    Reads from ``fh`` (seeked to 0 first); never modifies it.
    """
    fh.seek(0)
    if sniffed.kind == "pdf":
        return _inspect_pdf(fh, max_pages=max_pages)
    if sniffed.kind == "image":
        return _inspect_image(fh, max_pixels=max_pixels, max_pages=max_pages)
    if sniffed.kind == "xml":
        return _inspect_xml(fh)
    return Inspection()


def _inspect_pdf(fh: IO[bytes], *, max_pages: int) -> Inspection:
    from pypdf import PdfReader

    pypdf_logger = logging.getLogger("pypdf")
    level = pypdf_logger.level
    pypdf_logger.setLevel(logging.ERROR)  # broken uploads are expected; we report them ourselves
    try:
        reader = PdfReader(fh, strict=False)
        encrypted = False
        if reader.is_encrypted:
            # Owner-password-only PDFs (print/copy restrictions) open with the empty password:
            # they are readable and need nothing from a clerk.
            encrypted = not reader.decrypt("")
        if encrypted:
            # The page tree of an encrypted file cannot be read without the password; the
            # extraction step counts pages once a clerk supplied it.
            return Inspection(is_encrypted=True)
        declared = reader.trailer["/Root"]["/Pages"].get("/Count", 0)
        if isinstance(declared, int) and declared > max_pages:
            return Inspection(
                refusal=RefusalCode.TOO_MANY_PAGES, params={"pages": declared, "limit": max_pages}
            )
        pages = len(reader.pages)
    except Exception as err:  # pypdf raises many types for broken files; all mean "corrupt"
        logger.info("PDF refused as corrupt: %s: %s", type(err).__name__, err)
        return Inspection(refusal=RefusalCode.CORRUPT_PDF)
    finally:
        pypdf_logger.setLevel(level)
    if pages == 0:
        return Inspection(refusal=RefusalCode.CORRUPT_PDF)
    if pages > max_pages:
        return Inspection(refusal=RefusalCode.TOO_MANY_PAGES, params={"pages": pages, "limit": max_pages})
    return Inspection(page_count=pages)


def _inspect_image(fh: IO[bytes], *, max_pixels: int, max_pages: int) -> Inspection:
    from PIL import Image, UnidentifiedImageError

    try:
        # open() reads only the header: the pixel count is known before anything is decoded.
        with Image.open(fh) as img:
            width, height = img.size
            if width * height > max_pixels:
                return Inspection(
                    refusal=RefusalCode.IMAGE_BOMB,
                    params={"pixels": f"{width * height:,}", "limit": f"{max_pixels:,}"},
                )
            frames = getattr(img, "n_frames", 1)
            if frames > max_pages:
                return Inspection(
                    refusal=RefusalCode.TOO_MANY_PAGES, params={"pages": frames, "limit": max_pages}
                )
            img.verify()  # structure and checksums, without decoding the pixels
    except Image.DecompressionBombError:
        return Inspection(refusal=RefusalCode.IMAGE_BOMB, params={"pixels": "too many", "limit": f"{max_pixels:,}"})
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        logger.info("image refused as corrupt: %s", err)
        return Inspection(refusal=RefusalCode.CORRUPT_IMAGE)
    return Inspection(page_count=frames)


def _inspect_xml(fh: IO[bytes]) -> Inspection:
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    root_tag = None
    try:
        for event, elem in iterparse(fh, events=("start", "end"), forbid_dtd=True):
            if root_tag is None and event == "start":
                root_tag = elem.tag
            elif event == "end":
                elem.clear()  # keeps memory flat on big files; we only need well-formedness
    except DefusedXmlException:
        return Inspection(refusal=RefusalCode.UNSAFE_XML)
    except ParseError:
        return Inspection(refusal=RefusalCode.MALFORMED_XML)
    namespace = root_tag[1:].split("}", 1)[0] if root_tag and root_tag.startswith("{") else ""
    if namespace in UBL_NAMESPACES:
        return Inspection(xml_syntax="ubl", page_count=None)
    if root_tag in CII_ROOTS:
        return Inspection(xml_syntax="cii", page_count=None)
    return Inspection(refusal=RefusalCode.NOT_AN_INVOICE_XML, params={"root": root_tag or "?"})
