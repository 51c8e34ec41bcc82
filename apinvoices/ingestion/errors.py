"""Why an arrival was refused: a stable code for machines, a message that says what to do."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class RefusalCode(StrEnum):
    EMPTY_FILE = "empty_file"
    TOO_LARGE = "too_large"
    UNSUPPORTED_TYPE = "unsupported_type"
    EXECUTABLE = "executable"
    ARCHIVE = "archive"
    HTML = "html"
    EMAIL_NOT_HERE = "email_not_here"
    CORRUPT_PDF = "corrupt_pdf"
    TOO_MANY_PAGES = "too_many_pages"
    CORRUPT_IMAGE = "corrupt_image"
    IMAGE_BOMB = "image_bomb"
    UNSAFE_XML = "unsafe_xml"
    MALFORMED_XML = "malformed_xml"
    NOT_AN_INVOICE_XML = "not_an_invoice_xml"
    BAD_FILENAME = "bad_filename"


# One sentence on what is wrong, one on what to do. Placeholders are filled from ``params``.
MESSAGES: dict[RefusalCode, str] = {
    RefusalCode.EMPTY_FILE: _("The file is empty (0 bytes). Save the invoice again and re-send it."),
    RefusalCode.TOO_LARGE: _(
        "The file is larger than the limit of {limit_mb} MB. Send a smaller scan (e.g. 300 dpi, "
        "grey scale) or split the document."
    ),
    RefusalCode.UNSUPPORTED_TYPE: _(
        "This is not a file type we accept (PDF, PNG, JPEG, TIFF or UBL/CII e-invoice XML). "
        "Export the invoice as PDF and send that."
    ),
    RefusalCode.EXECUTABLE: _(
        "The file is a program, not a document, whatever its name says. It was not stored; "
        "ask the sender for the invoice as PDF."
    ),
    RefusalCode.ARCHIVE: _(
        "Archives (ZIP and similar) are not opened. Unpack it and send the invoices one by one."
    ),
    RefusalCode.HTML: _(
        "This is a web page, not an invoice document. Save or print the invoice as PDF and send that."
    ),
    RefusalCode.EMAIL_NOT_HERE: _(
        "This is an e-mail message. Forward it to the AP mailbox, or save its attachment and "
        "upload that."
    ),
    RefusalCode.CORRUPT_PDF: _(
        "The PDF is damaged or incomplete and cannot be opened. Ask the sender for a new copy."
    ),
    RefusalCode.TOO_MANY_PAGES: _(
        "The PDF has {pages} pages; the limit is {limit}. Split it into one file per invoice."
    ),
    RefusalCode.CORRUPT_IMAGE: _(
        "The image is damaged and cannot be read. Scan or photograph the invoice again."
    ),
    RefusalCode.IMAGE_BOMB: _(
        "The image claims {pixels} pixels, more than the limit of {limit} (it could exhaust "
        "memory). Scan it again at 300 dpi."
    ),
    RefusalCode.UNSAFE_XML: _(
        "The XML declares a DTD or entities, which e-invoices never need and attacks use. Ask "
        "the sender for a plain UBL or CII file."
    ),
    RefusalCode.MALFORMED_XML: _(
        "The XML is not well-formed and cannot be read. Ask the sender for a valid e-invoice."
    ),
    RefusalCode.NOT_AN_INVOICE_XML: _(
        "The XML is not a UBL or UN/CEFACT CII invoice (its root is {root}). Send the e-invoice "
        "XML or the PDF instead."
    ),
    RefusalCode.BAD_FILENAME: _(
        "The file name contains path parts, NUL or control characters. Rename the file (letters, "
        "digits, dots and dashes) and send it again."
    ),
}


def refusal_message(code: RefusalCode, **params) -> str:
    return str(MESSAGES[code]).format(**params)
