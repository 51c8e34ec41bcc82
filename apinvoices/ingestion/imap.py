"""Invoices by e-mail: poll one IMAP folder, import each message exactly once, move it away.

Exactly-once keys (see docs/decisions/0002-ingestion-exactly-once.md):

1. ``InboundMail`` (account, folder, UIDVALIDITY, UID) is unique in the database. All the work
   for one message (the .eml Document, its attachments, the InboundMail row) is one
   transaction; of two pollers working the same message, the second one's insert fails and its
   whole transaction rolls back. A row that exists but was not ``moved`` (crash between our
   commit and the IMAP MOVE) is only moved on the next poll, never imported again.
2. Message-ID: the same message delivered twice, or seen again after a UIDVALIDITY reset
   (a lost index restarts UIDs at 1), is recorded under its new key and moved, not imported.
3. The attachment's sha256 (``Document.sha256`` unique): the same invoice in another mail, or
   by another channel, is a ``Duplicate`` with a receipt. The .eml is never hashed for dedup
   purposes across deliveries (delivery headers differ), only stored.

Messages are fetched with ``UID FETCH (BODY.PEEK[])``: the bytes exactly as the server has
them, without setting \\Seen. Types are decided by content, whatever Content-Type says.
"""

from __future__ import annotations

import email
import email.errors
import email.header
import imaplib
import logging
import re
import ssl
import time
from dataclasses import dataclass, field
from email import policy
from email.utils import parseaddr, parsedate_to_datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from apinvoices.ingestion.service import Accepted, Duplicate, Refused, describe_result, document_ingest
from apinvoices.models import Channel, InboundMail

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# Base64 makes attachments ~4/3 larger on the wire; a message bigger than this cannot carry an
# attachment we would accept alongside anything else worth reading.
WIRE_OVERHEAD = 1.4


def max_message_bytes() -> int:
    """The largest whole message we read: an attachment at the upload limit, base64-encoded,
    plus room for the text and headers."""
    return int(settings.AP_MAX_UPLOAD_BYTES * WIRE_OVERHEAD) + 1024 * 1024


class ImapConfigError(Exception):
    pass


@dataclass(frozen=True)
class MailboxConfig:
    host: str
    port: int
    security: str  # tls | starttls | plain
    user: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    failed_folder: str = "Failed"
    timeout: int = 60

    @property
    def account(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    @classmethod
    def from_settings(cls) -> MailboxConfig | None:
        if not settings.AP_IMAP_HOST:
            return None
        return cls(
            host=settings.AP_IMAP_HOST,
            port=settings.AP_IMAP_PORT,
            security=settings.AP_IMAP_SECURITY,
            user=settings.AP_IMAP_USER,
            password=settings.AP_IMAP_PASSWORD,
            folder=settings.AP_IMAP_FOLDER,
            processed_folder=settings.AP_IMAP_PROCESSED_FOLDER,
            failed_folder=settings.AP_IMAP_FAILED_FOLDER,
            timeout=settings.AP_IMAP_TIMEOUT_SECONDS,
        )


def imap_connect(config: MailboxConfig) -> imaplib.IMAP4:
    """Log in. ``plain`` (no TLS at all) is refused unless the server is on this machine."""
    if config.security == "tls":
        conn = imaplib.IMAP4_SSL(config.host, config.port, ssl_context=ssl.create_default_context(), timeout=config.timeout)
    elif config.security == "starttls":
        conn = imaplib.IMAP4(config.host, config.port, timeout=config.timeout)
        conn.starttls(ssl_context=ssl.create_default_context())
    elif config.security == "plain":
        if config.host not in LOOPBACK_HOSTS:
            raise ImapConfigError(
                f"IMAP without TLS is only allowed to 127.0.0.1/localhost, not {config.host!r}: "
                "set AP_IMAP_SECURITY=tls or starttls."
            )
        conn = imaplib.IMAP4(config.host, config.port, timeout=config.timeout)
    else:
        raise ImapConfigError(f"AP_IMAP_SECURITY must be tls, starttls or plain, not {config.security!r}")
    conn.login(config.user, config.password)
    # imaplib keeps the pre-login capability list; ask again so MOVE/UIDPLUS are seen.
    typ, data = conn.capability()
    if typ == "OK" and data and data[0]:
        conn.capabilities = tuple(data[0].decode().upper().split())
    return conn


@dataclass
class MessageOutcome:
    uid: int
    status: str  # imported | no_invoice | failed | already_seen | lost_race | moved_only
    lines: list[str] = field(default_factory=list)
    inbound_id: int | None = None


@dataclass
class PollReport:
    account: str
    uidvalidity: int | None = None
    messages: list[MessageOutcome] = field(default_factory=list)
    # Messages left in the folder for the next poll because the batch ran out of time.
    deferred: int = 0


def _decode_header(value) -> str:
    return str(value or "").replace("\r", " ").replace("\n", " ").strip()


def _decode_words(value: str) -> str:
    """RFC 2047 encoded words (``=?utf-8?q?Rechnung_M=C3=A4rz.pdf?=``) as text."""
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (LookupError, UnicodeDecodeError, email.errors.HeaderParseError, ValueError):
        return value


def _ensure_folder(conn: imaplib.IMAP4, name: str) -> None:
    typ, _ = conn.create(name)  # "NO [ALREADYEXISTS]" is fine
    if typ == "OK":
        conn.subscribe(name)


def _move(conn: imaplib.IMAP4, uid: int, folder: str) -> bool:
    if "MOVE" in conn.capabilities:
        typ, _ = conn.uid("MOVE", str(uid), folder)
        return typ == "OK"
    typ, _ = conn.uid("COPY", str(uid), folder)
    if typ != "OK":
        return False
    conn.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)")
    if "UIDPLUS" in conn.capabilities:
        conn.uid("EXPUNGE", str(uid))
    else:
        conn.expunge()
    return True


_FETCH_UID = re.compile(rb"UID (\d+)")
_FETCH_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def _sizes(conn: imaplib.IMAP4) -> dict[int, int]:
    typ, data = conn.uid("FETCH", "1:*", "(UID RFC822.SIZE)")
    sizes = {}
    for item in data or []:
        line = item[0] if isinstance(item, tuple) else item
        if not line:
            continue
        uid, size = _FETCH_UID.search(line), _FETCH_SIZE.search(line)
        if uid and size:
            sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _fetch_raw(conn: imaplib.IMAP4, uid: int) -> bytes | None:
    typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
    if typ != "OK":
        return None
    for item in data or []:
        if isinstance(item, tuple) and _FETCH_UID.search(item[0]) and int(_FETCH_UID.search(item[0]).group(1)) == uid:
            return item[1]
    return None


def _attachments(msg):
    """(filename, bytes, note) for every part that could be a document; ``note`` set = skip."""
    min_image = settings.AP_MAIL_MIN_IMAGE_BYTES
    for part in msg.walk():
        if part.is_multipart():
            continue
        filename = _decode_words(part.get_filename() or "")
        disposition = part.get_content_disposition()
        ctype = part.get_content_type()
        if not filename and disposition != "attachment" and ctype in ("text/plain", "text/html"):
            continue  # the message body
        if ctype == "message/rfc822":
            continue  # walk() descends into forwarded messages itself
        payload = part.get_payload(decode=True)
        if payload is None:
            continue
        name = filename or f"attachment.{part.get_content_subtype()}"
        is_image = payload[:4] in (b"\x89PNG", b"GIF8") or payload[:3] == b"\xff\xd8\xff"
        if is_image and (
            len(payload) < min_image or (disposition == "inline" and part.get("Content-ID"))
        ):
            yield name, payload, "skipped: small or inline image (logo or signature)"
            continue
        yield name, payload, ""


def _import_message(config: MailboxConfig, uidvalidity: int, uid: int, raw: bytes) -> MessageOutcome:
    """All database work for one message, in one transaction (see the module docstring)."""
    msg = email.message_from_bytes(raw, policy=policy.compat32)
    message_id = _decode_header(msg.get("Message-ID"))[:998]
    sender = parseaddr(_decode_header(msg.get("From")))[1][:255] or _decode_header(msg.get("From"))[:255]
    subject = _decode_header(_decode_words(str(msg.get("Subject", ""))))[:998]
    try:
        sent_at = parsedate_to_datetime(msg["Date"]) if msg.get("Date") else None
        if sent_at is not None and sent_at.tzinfo is None:
            sent_at = None
    except (TypeError, ValueError):
        sent_at = None
    key = {"account": config.account, "folder": config.folder, "uidvalidity": uidvalidity, "uid": uid}
    common = {**key, "message_id": message_id, "sender": sender, "subject": subject, "sent_at": sent_at}
    source_ref = f"imap:{config.account}/{config.folder};UIDVALIDITY={uidvalidity}/;UID={uid}"
    outcome = MessageOutcome(uid=uid, status="")

    with transaction.atomic():
        earlier = None
        if message_id:
            earlier = (
                InboundMail.objects.filter(account=config.account, message_id=message_id)
                .exclude(status=InboundMail.Status.FAILED)
                .order_by("pk")
                .first()
            )
        if earlier is not None:
            row = InboundMail.objects.create(
                **common,
                status=earlier.status,
                eml=earlier.eml,
                reason=f"Same Message-ID as mail #{earlier.pk} (already imported); not imported again.",
            )
            outcome.status = "already_seen"
            outcome.inbound_id = row.pk
            outcome.lines.append(f"already seen uid {uid}: same Message-ID as mail #{earlier.pk}")
            return outcome

        eml_result = document_ingest(
            data=raw,
            filename=f"mail-{uidvalidity}-{uid}.eml",
            channel=Channel.EMAIL,
            source_ref=source_ref,
            sender=sender,
            subject=subject,
            message_id=message_id,
            max_bytes=max_message_bytes(),
        )
        if isinstance(eml_result, Refused):
            row = InboundMail.objects.create(
                **common, status=InboundMail.Status.FAILED, reason=f"The message itself: {eml_result.message}"
            )
            outcome.status = "failed"
            outcome.inbound_id = row.pk
            outcome.lines.append(describe_result(eml_result, label=f"uid {uid} message"))
            return outcome
        eml_doc = eml_result.document if isinstance(eml_result, Accepted) else eml_result.of

        notes, invoices = [], 0
        for name, payload, skip in _attachments(msg):
            if skip:
                notes.append(f"{name}: {skip}")
                outcome.lines.append(f"skipped uid {uid} {name}: {skip}")
                continue
            result = document_ingest(
                data=payload,
                filename=name,
                channel=Channel.EMAIL,
                source_ref=source_ref,
                sender=sender,
                subject=subject,
                message_id=message_id,
                parent=eml_doc,
            )
            outcome.lines.append(describe_result(result, label=f"uid {uid} {name!r}"))
            if isinstance(result, (Accepted, Duplicate)):
                invoices += 1
                if isinstance(result, Duplicate):
                    notes.append(f"{name}: duplicate of document {result.of.pk}")
            else:
                notes.append(f"{name}: refused ({result.code}) {result.message}")
        status = InboundMail.Status.IMPORTED if invoices else InboundMail.Status.NO_INVOICE
        if not invoices and not notes:
            notes.append("The message has no attachment.")
        row = InboundMail.objects.create(**common, status=status, eml=eml_doc, reason="\n".join(notes))
        outcome.status = status
        outcome.inbound_id = row.pk
    return outcome


def poll_mailbox(
    config: MailboxConfig | None = None, *, move: bool = True, limit: int | None = None,
    budget_seconds: float | None = None,
) -> PollReport:
    """Import every message in the configured folder once, then move it to Processed/Failed.

    ``move=False`` leaves messages where they are (a dry run; tests use it to simulate a crash
    between our commit and the move). One broken message is recorded as failed and does not
    stop the batch. Safe to run concurrently with another poller of the same mailbox. After
    ``budget_seconds`` (default ``AP_INGEST_BATCH_SECONDS``) no further message is started; the
    rest stay in the folder for the next poll (``report.deferred``).
    """
    budget = settings.AP_INGEST_BATCH_SECONDS if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    config = config or MailboxConfig.from_settings()
    if config is None:
        raise ImapConfigError("No mailbox configured (AP_IMAP_HOST is empty).")
    report = PollReport(account=config.account)
    conn = imap_connect(config)
    try:
        for folder in (config.processed_folder, config.failed_folder):
            _ensure_folder(conn, folder)
        typ, _ = conn.select(config.folder)
        if typ != "OK":
            raise ImapConfigError(f"cannot open folder {config.folder!r}")
        uidvalidity = int(conn.response("UIDVALIDITY")[1][0])
        report.uidvalidity = uidvalidity
        sizes = _sizes(conn)
        uids = sorted(sizes)
        if limit is not None:
            uids = uids[:limit]
        known = {
            row.uid: row
            for row in InboundMail.objects.filter(
                account=config.account, folder=config.folder, uidvalidity=uidvalidity, uid__in=uids
            )
        }
        max_wire = max_message_bytes()
        for position, uid in enumerate(uids):
            if time.monotonic() >= deadline:
                report.deferred = len(uids) - position
                break
            row = known.get(uid)
            if row is None:
                outcome = _process_one(conn, config, uidvalidity, uid, sizes[uid], max_wire)
                if outcome is None:
                    continue
                report.messages.append(outcome)
                if outcome.status == "lost_race" or outcome.inbound_id is None:
                    continue
                row = InboundMail.objects.get(pk=outcome.inbound_id)
            else:
                outcome = MessageOutcome(uid=uid, status="moved_only", inbound_id=row.pk)
                outcome.lines.append(f"already imported uid {uid} (mail #{row.pk}); moving it")
                report.messages.append(outcome)
            if move and not row.moved:
                target = config.failed_folder if row.status == InboundMail.Status.FAILED else config.processed_folder
                # The database decides which poller moves (two MOVEs of one message from two
                # sessions can both copy it): whoever flips moved False -> True does it.
                if not InboundMail.objects.filter(pk=row.pk, moved=False).update(moved=True):
                    continue
                if not _move(conn, uid, target):
                    InboundMail.objects.filter(pk=row.pk).update(moved=False)
                    outcome.lines.append(f"could not move uid {uid} to {target}; will retry")
    finally:
        try:
            conn.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    return report


def _process_one(conn, config, uidvalidity, uid, size, max_wire) -> MessageOutcome | None:
    key = {"account": config.account, "folder": config.folder, "uidvalidity": uidvalidity, "uid": uid}
    try:
        if size > max_wire:
            row = InboundMail.objects.create(
                **key, status=InboundMail.Status.FAILED,
                reason=f"The message is {size} bytes, more than the upload limit allows.",
            )
            return MessageOutcome(uid=uid, status="failed", inbound_id=row.pk, lines=[f"failed uid {uid}: too large"])
        raw = _fetch_raw(conn, uid)
        if raw is None:
            return None  # gone (another poller moved it)
        return _import_message(config, uidvalidity, uid, raw)
    except IntegrityError:
        # Another poller committed this (account, folder, UIDVALIDITY, UID) first; it moves it.
        return MessageOutcome(uid=uid, status="lost_race", lines=[f"uid {uid}: imported by another poller"])
    except Exception as err:  # one broken message never stops the batch
        logger.exception("mail uid %s could not be imported", uid)
        try:
            row = InboundMail.objects.create(**key, status=InboundMail.Status.FAILED, reason=f"{type(err).__name__}: {err}")
        except IntegrityError:
            return MessageOutcome(uid=uid, status="lost_race")
        return MessageOutcome(uid=uid, status="failed", inbound_id=row.pk, lines=[f"failed uid {uid}: {type(err).__name__}: {err}"])
