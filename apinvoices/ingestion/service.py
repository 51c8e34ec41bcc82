"""The one way an original enters the system, whatever the channel (upload, mail, folder, CLI).

Guarantees of :func:`document_ingest`:

- Nothing is read past ``AP_MAX_UPLOAD_BYTES`` (+1): the input is streamed into a spooled temp
  file while it is hashed, and refused as ``too_large`` as soon as it passes the limit.
- The type is decided by content (``sniff``), then the file is opened under limits (``inspect``).
- The original is stored once per distinct content, under its content-addressed name, through
  Django's default storage; an existing file is never overwritten or modified.
- One ``Document`` per sha256. The unique constraint decides races (two arrivals of the same
  bytes at once): the loser's ``IntegrityError`` turns into a ``Duplicate``.
- Every arrival that is not refused gets a ``DocumentReceipt``, the first and every repeat.
- A new invoice document gets its ``Invoice`` (state ``received``) and a ``received`` event in
  the same transaction as the ``Document``; extraction is queued only after that commit.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
from dataclasses import dataclass
from typing import IO, Union

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction

from apinvoices.ingestion.errors import RefusalCode, refusal_message
from apinvoices.ingestion.filenames import BadFilename, sanitize_filename
from apinvoices.ingestion.sniff import HEAD_BYTES, SniffRefusal, inspect, sniff
from apinvoices.models import Channel, Document, DocumentReceipt, Invoice, InvoiceEvent, document_upload_to
from apinvoices.queueing import enqueue_with_transaction

logger = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
# Below this an arrival stays in memory while it is checked; above, it spills to a temp file.
SPOOL_IN_MEMORY_BYTES = 1024 * 1024
EXTRACT_TASK = "apinvoices.tasks.extract_invoice"


@dataclass(frozen=True)
class Accepted:
    """New content: a Document (and, unless it is an e-mail, its Invoice) was created."""

    document: Document
    invoice: Invoice | None
    receipt: DocumentReceipt
    outcome = "accepted"


@dataclass(frozen=True)
class Duplicate:
    """The same bytes arrived before: only a receipt was added, linked to the first Document."""

    of: Document
    invoice: Invoice | None
    receipt: DocumentReceipt
    outcome = "duplicate"


@dataclass(frozen=True)
class Refused:
    """Not stored. ``code`` is stable; ``message`` says what is wrong and what to do."""

    code: RefusalCode
    message: str
    outcome = "refused"


IngestResult = Union[Accepted, Duplicate, Refused]


def describe_result(result: IngestResult, *, label: str) -> str:
    """One line for the commands: ``accepted <label> -> document N, invoice M`` and so on."""
    if isinstance(result, Accepted):
        inv = f", invoice {result.invoice.pk}" if result.invoice else ""
        return f"accepted {label} -> document {result.document.pk}{inv}"
    if isinstance(result, Duplicate):
        inv = f", invoice {result.invoice.pk}" if result.invoice else ""
        return f"duplicate {label} -> of document {result.of.pk}{inv}"
    return f"refused {label}: {result.code} - {result.message}"


def _refused(code: RefusalCode, **params) -> Refused:
    return Refused(code=code, message=refusal_message(code, **params))


class _TooLarge(Exception):
    pass


def _spool(data, *, limit: int) -> tuple[IO[bytes], str, int, bytes]:
    """Copy the input into a seekable file while hashing it; stop once past ``limit``."""
    digest = hashlib.sha256()
    if isinstance(data, (bytes, bytearray, memoryview)):
        if len(data) > limit:
            raise _TooLarge
        digest.update(data)
        buf = io.BytesIO(bytes(data))
        return buf, digest.hexdigest(), len(data), bytes(data[:HEAD_BYTES])
    spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)
    size = 0
    head = b""
    try:
        while True:
            chunk = data.read(CHUNK_BYTES)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            digest.update(chunk)
            spooled.write(chunk)
    except BaseException:
        spooled.close()
        raise
    spooled.seek(0)
    return spooled, digest.hexdigest(), size, head


def queue_extraction(*, invoice_id: int) -> bool:
    """Queue the extraction task for ``invoice_id``: in the current transaction when the queue
    lives in this database, else once the transaction commits.

    The single switch for "extract on arrival" (``AP_EXTRACT_ON_INGEST``). Returns whether it
    was queued. Safe outside a transaction (then the task is queued at once).

    With the ORM broker (the embedded default) the task row commits together with the invoice
    (``apinvoices.queueing``), so a process killed between the commit and an on-commit hook
    cannot leave an invoice in ``received`` that no task will ever pick up.
    """
    if not getattr(settings, "AP_EXTRACT_ON_INGEST", True):
        return False

    task = getattr(settings, "AP_EXTRACT_TASK", EXTRACT_TASK)
    enqueue_with_transaction(task, invoice_id, task_name=f"extract-invoice-{invoice_id}", group="extract")
    return True


def _stored_name(fh: IO[bytes], *, digest: str, size: int) -> str:
    """Put the bytes in storage under their content-addressed name and return the name used.

    If a file already has that name (left by a crash between storing and committing, or by a
    concurrent arrival) and holds exactly these bytes, it is reused. Otherwise the storage
    picks a free name: an existing file is never overwritten.
    """
    field = Document._meta.get_field("file")
    storage = field.storage
    name = document_upload_to(Document(sha256=digest), "")
    if storage.exists(name):
        try:
            if storage.size(name) == size:
                check = hashlib.sha256()
                with storage.open(name, "rb") as existing:
                    for chunk in iter(lambda: existing.read(CHUNK_BYTES), b""):
                        check.update(chunk)
                if check.hexdigest() == digest:
                    return name
        except OSError:
            logger.warning("could not re-read stored original %s; storing a fresh copy", name)
    fh.seek(0)
    return storage.save(name, File(fh, name=name))


def _record_duplicate(*, document: Document, receipt_fields: dict) -> Duplicate:
    receipt = DocumentReceipt.objects.create(document=document, is_duplicate=True, **receipt_fields)
    invoice = Invoice.objects.filter(document=document).first()
    return Duplicate(of=document, invoice=invoice, receipt=receipt)


def document_ingest(
    *,
    data: bytes | IO[bytes],
    filename: str,
    channel: str,
    received_by=None,
    source_ref: str = "",
    sender: str = "",
    subject: str = "",
    message_id: str = "",
    parent: Document | None = None,
    max_bytes: int | None = None,
) -> IngestResult:
    """Check, store and register one arriving file. See the module docstring for guarantees.

    Returns ``Accepted``, ``Duplicate`` or ``Refused``; a bad file is a normal outcome, never an
    exception. An encrypted PDF (one that needs a password to open) is accepted and its invoice
    moves to ``password_needed``. Raises only for infrastructure failures (storage, database).
    ``max_bytes`` overrides ``AP_MAX_UPLOAD_BYTES`` (a whole .eml carries its attachments
    base64-encoded, a third larger than the files themselves).
    """
    try:
        clean_name = sanitize_filename(filename or "")
    except BadFilename:
        return _refused(RefusalCode.BAD_FILENAME)
    limit = max_bytes or settings.AP_MAX_UPLOAD_BYTES
    try:
        fh, digest, size, head = _spool(data, limit=limit)
    except _TooLarge:
        return _refused(RefusalCode.TOO_LARGE, limit_mb=f"{limit / 1024 / 1024:g}")
    with fh:
        if size == 0:
            return _refused(RefusalCode.EMPTY_FILE)
        receipt_fields = {
            "channel": channel,
            "received_by": received_by,
            "filename": clean_name,
            "source_ref": source_ref[:255],
            "sender": sender[:255],
            "subject": subject[:998],
            "message_id": message_id[:998],
        }
        existing = Document.objects.filter(sha256=digest).first()
        if existing is not None:
            return _record_duplicate(document=existing, receipt_fields=receipt_fields)
        try:
            sniffed = sniff(head, allow_email=channel == Channel.EMAIL)
        except SniffRefusal as refusal:
            return _refused(refusal.code, **refusal.params)
        found = inspect(
            fh, sniffed, max_pages=settings.AP_MAX_PDF_PAGES, max_pixels=settings.AP_MAX_IMAGE_PIXELS
        )
        if found.refusal is not None:
            return _refused(found.refusal, **(found.params or {}))
        name = _stored_name(fh, digest=digest, size=size)
    try:
        return _register(
            digest=digest,
            name=name,
            size=size,
            kind=sniffed.kind,
            content_type=sniffed.content_type,
            page_count=found.page_count,
            is_encrypted=found.is_encrypted,
            parent=parent,
            receipt_fields=receipt_fields,
        )
    except IntegrityError:
        # Another arrival of the same bytes committed between our look-up and our insert.
        document = Document.objects.get(sha256=digest)
        if name != document.file.name and name != document_upload_to(document, ""):
            Document._meta.get_field("file").storage.delete(name)  # our own unreferenced copy
        return _record_duplicate(document=document, receipt_fields=receipt_fields)


def _register(
    *, digest, name, size, kind, content_type, page_count, is_encrypted, parent, receipt_fields
) -> Accepted:
    channel = receipt_fields["channel"]
    actor = receipt_fields["received_by"]
    # No auditlog set_actor here: in a request AuditlogMiddleware already names the user, and a
    # nested set_actor leaks the outer context's signal receiver (django-auditlog 3.4 restores
    # the wrong context on exit).
    with transaction.atomic():
        document = Document(
            sha256=digest,
            size=size,
            kind=kind,
            content_type=content_type,
            original_filename=receipt_fields["filename"],
            channel=channel,
            source_ref=receipt_fields["source_ref"],
            received_by=actor,
            page_count=page_count,
            is_encrypted=is_encrypted,
            parent=parent,
        )
        document.file.name = name
        document.save(force_insert=True)
        receipt = DocumentReceipt.objects.create(document=document, is_duplicate=False, **receipt_fields)
        invoice = None
        if kind != Document.Kind.EMAIL:
            invoice = Invoice.objects.create(document=document)
            InvoiceEvent.objects.create(
                invoice=invoice,
                kind=InvoiceEvent.Kind.RECEIVED,
                actor=actor,
                source=f"ingest:{channel}",
                message=f"Received via {Channel(channel).label}: {receipt_fields['filename']}",
                params={
                    "channel": channel,
                    "filename": receipt_fields["filename"],
                    "sender": receipt_fields["sender"],
                    "subject": receipt_fields["subject"],
                    "message_id": receipt_fields["message_id"],
                    "sha256": digest,
                },
            )
            if is_encrypted:
                from apinvoices.states import invoice_transition

                invoice = invoice_transition(
                    invoice=invoice,
                    to=Invoice.State.PASSWORD_NEEDED,
                    actor=None,
                    source=f"ingest:{channel}",
                    reason="The PDF is protected by a password. Enter it to read the invoice.",
                )
            else:
                queue_extraction(invoice_id=invoice.pk)
    return Accepted(document=document, invoice=invoice, receipt=receipt)
