"""Why extraction of one document failed, with a stable code for tests and the UI."""

from __future__ import annotations

from enum import StrEnum


class ExtractionErrorCode(StrEnum):
    ENCRYPTED_PDF = "encrypted_pdf"  # a password is needed
    WRONG_PASSWORD = "wrong_password"
    CORRUPT_PDF = "corrupt_pdf"
    TOO_MANY_PAGES = "too_many_pages"
    UNREADABLE_IMAGE = "unreadable_image"  # cannot be decoded, or a decompression bomb
    IMAGE_TOO_POOR = "image_too_poor"  # too small or too blurred to read: ask for a better scan
    INVALID_EINVOICE = "invalid_einvoice"  # XML that claims to be an e-invoice but is broken
    NOT_AN_INVOICE = "not_an_invoice"  # well-formed XML of some other kind
    UNSUPPORTED_TYPE = "unsupported_type"
    OCR_UNAVAILABLE = "ocr_unavailable"  # tesseract binary or language missing


class ExtractionError(Exception):
    """Raised when a document cannot be read at all.

    ``message`` is shown to a clerk: it says what went wrong and what to do.
    """

    def __init__(self, code: ExtractionErrorCode, message: str, **extra):
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra

    def __reduce__(self):
        # Raised in an OCR pool worker, it crosses back to the parent pickled.
        return (_rebuild, (self.code, self.message, self.extra))


def _rebuild(code: ExtractionErrorCode, message: str, extra: dict) -> ExtractionError:
    return ExtractionError(code, message, **extra)
