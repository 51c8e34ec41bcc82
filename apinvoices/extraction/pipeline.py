"""The extraction entry point: bytes in, one ``ExtractedInvoice`` out.

Order (DESIGN.md, "Extraction order"): a standalone e-invoice XML, or the e-invoice XML embedded
in a PDF (Factur-X / ZUGFeRD / XRechnung), is authoritative; otherwise the PDF text layer;
otherwise OCR of the rendered pages. Images always go to OCR. The file type is decided by the
content (magic bytes), never by the file name.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from typing import Literal

from apinvoices.extraction.einvoice import (
    CONFORMANCE_FINDING,
    SCHEMA_FINDING,
    looks_like_xml,
    parse_einvoice,
)
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
# XMP packets are a few KiB; more is not metadata worth scanning with regular expressions.
MAX_XMP_BYTES = 1024 * 1024

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
    relationship: str | None = None  # the file specification's /AFRelationship, e.g. "Alternative"


@dataclass
class PdfPackage:
    """What a Factur-X / ZUGFeRD PDF says about its embedded invoice, outside the XML."""

    attachments: list[EmbeddedXml] = field(default_factory=list)
    page_count: int = 0
    xmp_file_name: str | None = None  # fx:DocumentFileName
    xmp_level: str | None = None  # fx:ConformanceLevel, e.g. "EN 16931"
    pdfa_conformance: str | None = None  # pdfaid:conformance, "A", "B" or "U"
    has_structure: bool = False  # a StructTreeRoot with content (PDF/A level A needs it)


# XMP ConformanceLevel (Factur-X / ZUGFeRD 2 and 1) per profile read from the XML's BT-24.
_XMP_LEVELS = {
    "minimum": {"MINIMUM"},
    "basicwl": {"BASIC WL"},
    "basic": {"BASIC"},
    "en16931": {"EN 16931", "COMFORT"},
    "comfort": {"COMFORT", "EN 16931"},
    "extended": {"EXTENDED"},
    "xrechnung": {"XRECHNUNG", "EN 16931"},
}
_VALID_RELATIONSHIPS = ("Data", "Source", "Alternative")
# Prefix of packaging omissions, reported as warnings while the XML is still read.
PACKAGING_FINDING = "invalid e-invoice (packaging):"


def _xmp_value(xmp: str, name: str) -> str | None:
    # XMP writes a simple property either as an element or as an attribute of rdf:Description.
    match = re.search(rf"<(?:\w+:)?{name}>\s*([^<]*?)\s*</", xmp) or re.search(
        rf'\b\w+:{name}\s*=\s*"([^"]*)"', xmp
    )
    return match.group(1).strip() if match else None


def _read_package(reader) -> PdfPackage:
    """Attachments with their relationships, and the XMP/PDF/A facts, from a pypdf reader."""
    package = PdfPackage(page_count=len(reader.pages))
    root = reader.trailer["/Root"]
    relationships: dict[str, str] = {}
    for spec in root.get("/AF") or []:
        spec = spec.get_object()
        name = str(spec.get("/UF") or spec.get("/F") or "")
        if "/AFRelationship" in spec:
            relationships[name] = str(spec["/AFRelationship"]).lstrip("/")
    for attachment in reader.attachment_list:
        name = attachment.name or ""
        if not name.lower().endswith(".xml"):
            continue
        content = attachment.content
        if content and len(content) <= MAX_ATTACHMENT_BYTES:
            package.attachments.append(
                EmbeddedXml(name=name, data=content, relationship=relationships.get(name))
            )
    metadata = root.get("/Metadata")
    if metadata is not None:
        xmp = metadata.get_object().get_data()[:MAX_XMP_BYTES].decode("utf-8", "replace")
        package.xmp_file_name = _xmp_value(xmp, "DocumentFileName")
        package.xmp_level = _xmp_value(xmp, "ConformanceLevel")
        package.pdfa_conformance = _xmp_value(xmp, "conformance")
    tree = root.get("/StructTreeRoot")
    package.has_structure = tree is not None and "/K" in tree.get_object()
    return package


def embedded_xml_files(
    data: bytes, *, password: str | None = None
) -> tuple[list[EmbeddedXml], int]:
    """Return the PDF's XML attachments (e-invoice names first, then PDF order) and its page
    count. An unreadable or locked PDF yields ``([], 0)``: the text step reports why."""
    package = read_pdf_package(data, password=password)
    return package.attachments, package.page_count


def read_pdf_package(data: bytes, *, password: str | None = None) -> PdfPackage:
    """The PDF's XML attachments (e-invoice names first, then PDF order), page count and the
    XMP / PDF/A facts that say how the e-invoice is packaged. An unreadable or locked PDF
    yields an empty package: the text step reports why.

    The attachments are listed with pypdf (what the factur-x package does internally) rather
    than through ``facturx.get_facturx_xml_from_pdf``, because that function parses each
    attachment with lxml's default parser (entities expanded) and silently drops a broken
    one, where we want to refuse hostile XML and report a broken e-invoice to the clerk.
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(password or ""):
            return PdfPackage()
        package = _read_package(reader)
    # pypdf caps every decompressed stream (75 MB by default) and raises LimitReachedError, a
    # PyPdfError, so a compressed bomb in an attachment ends here rather than in memory.
    except (
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        NotImplementedError,
        RecursionError,
    ) as err:
        logger.info("Cannot list PDF attachments: %s", err)
        return PdfPackage()
    found = package.attachments
    preferred = [a for a in found if a.name.lower() in EINVOICE_ATTACHMENT_NAMES]
    others = [a for a in found if a.name.lower() not in EINVOICE_ATTACHMENT_NAMES]
    package.attachments = preferred + others
    return package


def _profile(guideline: str | None) -> str | None:
    """"minimum", "basicwl", "basic", "en16931", "comfort", "extended" or "xrechnung"."""
    if not guideline or guideline.startswith("urn:ferd:"):
        # ZUGFeRD 1.0 and its release candidate paired XMP levels and URNs loosely (a
        # "BASIC" XMP over an "rc:comfort" XML passes the validators); compared for 2.x only.
        return None
    tail = guideline.rsplit(":", 1)[-1].lower()
    if "xrechnung" in guideline.lower():
        return "xrechnung"
    for name in ("minimum", "basicwl", "basic", "comfort", "extended"):
        if tail.startswith(name):
            return name
    if guideline.startswith("urn:cen.eu:en16931:2017"):
        return "en16931"
    return None


def packaging_findings(
    package: PdfPackage, attachment: EmbeddedXml
) -> tuple[list[str], list[str]]:
    """Factur-X / ZUGFeRD packaging rules for the attachment that was read as the invoice:
    its name, its /AFRelationship, the XMP metadata that must announce it (file name and
    profile), and the structure tree that PDF/A level A promises.

    Returns ``(contradictions, omissions)``. A contradiction (the XMP announces another file
    or profile, an AFRelationship that is not allowed, a PDF/A-A claim without structure)
    makes the PDF say two things about its invoice: the XML is then not authoritative. An
    omission (no XMP announcement, no /AF entry, an unusual attachment name) is what sloppy
    generators produce around a correct XML: reported, the XML still read. Each message is an
    "invalid e-invoice ..." string naming the attachment."""
    from lxml import etree

    from apinvoices.extraction.einvoice import guideline_id, parse_xml_safely

    name = attachment.name
    findings: list[str] = []
    omissions: list[str] = []
    if package.xmp_file_name is None and name.lower() not in EINVOICE_ATTACHMENT_NAMES:
        # Not a hybrid (Factur-X / ZUGFeRD) invoice at all, just a PDF with an XML invoice
        # attached (Odoo attaches its UBL that way): the packaging rules do not apply.
        return findings, omissions
    if name.lower() not in EINVOICE_ATTACHMENT_NAMES:
        omissions.append(
            f"{PACKAGING_FINDING} {name}: the invoice XML must be attached as factur-x.xml, "
            "zugferd-invoice.xml (ZUGFeRD 2.0), ZUGFeRD-invoice.xml (1.0) or xrechnung.xml"
        )
    if attachment.relationship is None:
        omissions.append(
            f"{PACKAGING_FINDING} {name}: the attachment is not listed in the document's /AF "
            "array with an AFRelationship (PDF/A-3)"
        )
    elif attachment.relationship not in _VALID_RELATIONSHIPS:
        findings.append(
            f"invalid e-invoice: {name}: AFRelationship is {attachment.relationship}, not "
            "Data, Source or Alternative"
        )
    if package.xmp_file_name is None:
        omissions.append(
            f"{PACKAGING_FINDING} {name}: the PDF's XMP metadata does not announce an embedded "
            "invoice (no DocumentFileName)"
        )
    elif package.xmp_file_name.lower() != name.lower() and not any(
        a.name.lower() == package.xmp_file_name.lower() for a in package.attachments
    ):
        # A PDF may carry a second invoice XML (a ZUGFeRD 1.0 copy beside factur-x.xml); only
        # an announced file that is missing altogether breaks the packaging.
        findings.append(
            f"invalid e-invoice: {name}: the XMP metadata names {package.xmp_file_name!r} as "
            "the invoice file"
        )
    try:
        profile = _profile(guideline_id(parse_xml_safely(attachment.data)))
    except (ExtractionError, etree.LxmlError):
        profile = None
    level = (package.xmp_level or "").upper()
    expected = _XMP_LEVELS.get(profile or "")
    if level and expected and level not in expected:
        findings.append(
            f"invalid e-invoice: {name}: the XMP ConformanceLevel {package.xmp_level!r} does "
            f"not match the XML's profile ({profile})"
        )
    if (package.pdfa_conformance or "").upper() == "A" and not package.has_structure:
        findings.append(
            f"invalid e-invoice: {name}: the PDF claims PDF/A level A (accessible) but has no "
            "logical structure (empty StructTreeRoot)"
        )
    return findings, omissions


def _rejects(result: ExtractedInvoice) -> list[str]:
    """Findings that make an e-invoice not authoritative (schema warnings are not among them:
    several invoices the EN 16931 validators accept fail the profile XSD)."""
    return [e for e in result.errors if e.startswith(CONFORMANCE_FINDING)]


def extract_embedded_einvoice(
    data: bytes, *, password: str | None = None
) -> tuple[ExtractedInvoice | None, list[str]]:
    """Read the e-invoice embedded in a PDF.

    Returns ``(result, findings)``: ``result`` is the first attachment that parses as an
    invoice and breaks no EN 16931 / Factur-X conformance rule checked here (in the XML or in
    its packaging), preferring one that is also valid against its schema (a PDF that carries
    both a ZUGFeRD 1.0 and a broken Factur-X XML yields the valid one); ``findings`` holds the
    "invalid e-invoice: …" messages of every e-invoice attachment that was rejected. When
    every attachment is rejected ``result`` is None, so that the caller reads the text layer
    and reports the findings. XML attachments of other kinds (additional logistics data and
    the like) are ignored.
    """
    package = read_pdf_package(data, password=password)
    findings: list[str] = []
    parsed: list[ExtractedInvoice] = []
    for attachment in package.attachments:
        is_einvoice_name = attachment.name.lower() in EINVOICE_ATTACHMENT_NAMES
        try:
            result = parse_einvoice(attachment.data, kind="facturx")
        except ExtractionError as err:
            if err.code == ExtractionErrorCode.NOT_AN_INVOICE and not is_einvoice_name:
                continue
            findings.append(f"invalid e-invoice: {attachment.name}: {err.message}")
            continue
        contradictions, omissions = packaging_findings(package, attachment)
        rejects = [
            f"invalid e-invoice: {attachment.name}: {e.removeprefix(CONFORMANCE_FINDING).strip()}"
            for e in _rejects(result)
        ] + contradictions
        if rejects:
            findings.extend(rejects)
            findings.extend(
                f"{w} [{attachment.name}]" for w in result.warnings if w.startswith(SCHEMA_FINDING)
            )
            continue
        result.page_count = package.page_count
        result.warnings[:0] = [f"read from the embedded {attachment.name}", *omissions]
        parsed.append(result)
    if not parsed:
        return None, findings
    schema_valid = [r for r in parsed if not any(w.startswith(SCHEMA_FINDING) for w in r.warnings)]
    chosen = (schema_valid or parsed)[0]
    chosen.errors[:0] = findings
    # The schema findings of an attachment that lost to a valid one still concern the sender.
    for other in parsed:
        if other is not chosen:
            source = other.warnings[0].removeprefix("read from the embedded ")
            chosen.warnings.extend(
                f"{w} [{source}]" for w in other.warnings if w.startswith(SCHEMA_FINDING)
            )
    return chosen, findings


@dataclass
class Document:
    """What every step sees: the bytes, their sniffed type, and findings so far."""

    data: bytes
    file_type: FileType
    filename: str = ""
    password: str | None = None
    findings: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.filename or {"pdf": "This PDF", "image": "This image"}.get(
            self.file_type, "This file"
        )


class Step:
    """One way of reading a document.

    A step MUST set ``name`` (a ``force`` value) and ``file_types``. ``run`` MUST return an
    ``ExtractedInvoice`` when it could read the document, or None to let the next step try;
    it MAY append clerk-readable findings to ``document.findings`` and MAY raise
    ``ExtractionError`` when the document cannot be read at all. When the step was forced
    (``forced=True``) there is no next step, so it SHOULD raise or return a result that says
    why it found nothing.
    """

    name: str
    file_types: tuple[FileType, ...]

    def run(self, document: Document, *, forced: bool) -> ExtractedInvoice | None:
        raise NotImplementedError


class XmlStep(Step):
    name, file_types = "xml", ("xml",)

    def run(self, document: Document, *, forced: bool) -> ExtractedInvoice | None:
        return parse_einvoice(document.data)


class EmbeddedXmlStep(Step):
    name, file_types = "xml", ("pdf",)

    def run(self, document: Document, *, forced: bool) -> ExtractedInvoice | None:
        result, findings = extract_embedded_einvoice(document.data, password=document.password)
        if result is not None:
            return result
        document.findings.extend(findings)
        if forced:
            if findings:
                raise ExtractionError(ExtractionErrorCode.INVALID_EINVOICE, "; ".join(findings))
            raise ExtractionError(
                ExtractionErrorCode.NOT_AN_INVOICE, f"{document.label} carries no e-invoice XML."
            )
        return None


class TextLayerStep(Step):
    name, file_types = "pdf_text", ("pdf",)

    def run(self, document: Document, *, forced: bool) -> ExtractedInvoice | None:
        from apinvoices.extraction.pdftext import extract_pdf_text

        result = extract_pdf_text(document.data, password=document.password, max_pages=_max_pages())
        if result is None and forced:
            result = ExtractedInvoice(
                kind="pdf_text", errors=["The PDF has no usable text layer (a scan?)."]
            )
        return result


class PdfOcrStep(Step):
    name, file_types = "ocr", ("pdf",)

    def run(self, document: Document, *, forced: bool) -> ExtractedInvoice | None:
        from apinvoices.extraction.ocr import extract_pdf_ocr

        return extract_pdf_ocr(document.data, password=document.password, max_pages=_max_pages())


class ImageOcrStep(Step):
    name, file_types = "ocr", ("image",)

    def run(self, document: Document, *, forced: bool) -> ExtractedInvoice | None:
        from apinvoices.extraction.ocr import extract_image_ocr

        return extract_image_ocr(document.data)


# The extraction order of DESIGN.md: e-invoice XML is authoritative, then text layer, then OCR.
STEPS: tuple[Step, ...] = (
    XmlStep(),
    EmbeddedXmlStep(),
    TextLayerStep(),
    PdfOcrStep(),
    ImageOcrStep(),
)


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
    e-invoice are at the start of ``errors`` while extraction continues with the text layer
    or OCR. Raises ``ExtractionError`` when the document cannot be read at all (unsupported
    type, broken or non-invoice XML, encrypted or corrupt PDF, too many pages, unreadable
    image) or when ``force`` names a path that does not apply to this type of file.
    """
    if force is not None and force not in FORCE_CHOICES:
        raise ValueError(f"force must be one of {FORCE_CHOICES}, not {force!r}")
    document = Document(data=data, file_type=sniff_type(data), filename=filename, password=password)
    steps = [s for s in STEPS if document.file_type in s.file_types and force in (None, s.name)]
    if not steps:
        raise ExtractionError(
            ExtractionErrorCode.UNSUPPORTED_TYPE,
            f"{document.label} is {'XML' if document.file_type == 'xml' else 'an image'}; "
            f"the {force} path cannot read it.",
        )
    result = None
    for step in steps:
        result = step.run(document, forced=force is not None)
        if result is not None:
            break
    if result is None:  # only reachable if the last step broke its contract
        raise ExtractionError(
            ExtractionErrorCode.UNSUPPORTED_TYPE, f"{document.label}: no step could read it."
        )
    result.errors[:0] = [f for f in document.findings if f not in result.errors]
    if use_llm:
        from apinvoices.extraction.llm import llm_enabled, llm_fill

        if llm_enabled():
            result = llm_fill(result)
    return result
