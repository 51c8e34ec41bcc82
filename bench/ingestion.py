"""Ingestion throughput: the drop folder and IMAP (a real Dovecot), against a raw hash+copy loop.

    .venv/bin/python bench/ingestion.py [--files 2000] [--mails 500]

Runs in a fresh temp folder (its own SQLite database, media and Dovecot); extraction is off,
so this measures ingestion alone: sniffing, PDF parsing, hashing, storing, the database rows.
Prints documents per second per channel, the ratio to a loop that only hashes and copies the
same bytes, and the peak RSS of this process (which does all the work; Dovecot is separate).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def raw_loop(blobs: list[bytes], target: Path) -> float:
    """Seconds to sha256 each blob and write it to its own file: the floor for any ingest."""
    target.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for blob in blobs:
        digest = hashlib.sha256(blob).hexdigest()
        with open(target / digest, "wb") as fh:
            fh.write(blob)
            fh.flush()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--mails", type=int, default=500)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ap-bench-ingest-"))
    os.environ["AP_VAR_DIR"] = str(work / "var")
    os.environ["AP_EXTRACT_ON_INGEST"] = "false"
    os.environ["AP_LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from apinvoices.ingestion.dropfolder import scan_dropfolder
    from apinvoices.ingestion.imap import MailboxConfig, poll_mailbox
    from apinvoices.models import Document, InboundMail
    from apinvoices.tests.samples.bad_inputs import good_pdf
    from tests.servers.dovecot import Dovecot

    call_command("migrate", verbosity=0)
    print(f"work folder: {work}")

    # --- Drop folder ------------------------------------------------------------------------
    pdfs = [good_pdf(f"bench-folder-{n}", text=f"Bench supplier {n} " + "x" * (n % 400)) for n in range(args.files)]
    drop = work / "drop"
    for n, blob in enumerate(pdfs):
        sub = drop / f"scanner-{n % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"scan-{n:05d}.pdf").write_bytes(blob)
    scan_dropfolder(drop, stable_seconds=0)  # first sight: remembers sizes and mtimes
    started = time.perf_counter()
    report = scan_dropfolder(drop, stable_seconds=0)
    folder_seconds = time.perf_counter() - started
    accepted = sum(1 for _, r, _ in report.picked_up if r.outcome == "accepted")
    assert accepted == args.files, (accepted, report.errors[:3])
    folder_raw = raw_loop(pdfs, work / "raw-folder")
    folder_rss = peak_rss_mb()

    # --- IMAP ---------------------------------------------------------------------------------
    dovecot = Dovecot().start()  # its own temp folder, reachable for the mail user
    try:
        user = dovecot.new_user()
        mails, attachments = [], []
        for n in range(args.mails):
            pdf = good_pdf(f"bench-mail-{n}", text=f"Mail supplier {n} " + "y" * (n % 400))
            msg = EmailMessage()
            msg["From"] = f"billing{n % 50}@supplier.test"
            msg["To"] = "ap@example.test"
            msg["Subject"] = f"Invoice {n}"
            msg["Message-ID"] = f"<bench-{n}@supplier.test>"
            msg.set_content("Please find our invoice attached.")
            msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"invoice-{n}.pdf")
            raw = msg.as_bytes()
            mails.append(raw)
            attachments.append(pdf)
        delivered = time.perf_counter()
        for raw in mails:
            dovecot.deliver(user, raw)
        deliver_seconds = time.perf_counter() - delivered
        config = MailboxConfig(host="127.0.0.1", port=dovecot.imap_port, security="plain", user=user, password="secret")
        docs_before = Document.objects.count()
        started = time.perf_counter()
        poll = poll_mailbox(config)
        mail_seconds = time.perf_counter() - started
        imported = InboundMail.objects.filter(status=InboundMail.Status.IMPORTED).count()
        assert imported == args.mails, (imported, [m.lines for m in poll.messages[:3]])
        mail_docs = Document.objects.count() - docs_before  # .eml + attachment per mail
        mail_raw = raw_loop(mails + attachments, work / "raw-mail")
    finally:
        dovecot.cleanup()
    mail_rss = peak_rss_mb()

    mean_pdf = sum(map(len, pdfs)) / len(pdfs)
    print(f"drop folder: {args.files} files (mean {mean_pdf / 1024:.1f} KiB) in {folder_seconds:.2f} s = "
          f"{args.files / folder_seconds:.0f} documents/s; raw hash+copy {folder_raw:.2f} s = "
          f"{args.files / folder_raw:.0f}/s; ratio {folder_seconds / folder_raw:.1f}x; peak RSS {folder_rss:.0f} MB")
    print(f"imap: {args.mails} mails ({mail_docs} documents: .eml + PDF) polled in {mail_seconds:.2f} s = "
          f"{args.mails / mail_seconds:.0f} mails/s, {mail_docs / mail_seconds:.0f} documents/s; raw hash+copy "
          f"{mail_raw:.2f} s; ratio {mail_seconds / mail_raw:.1f}x; peak RSS {mail_rss:.0f} MB "
          f"(LMTP delivery beforehand: {deliver_seconds:.1f} s, not counted)")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
