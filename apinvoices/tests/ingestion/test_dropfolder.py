"""Drop folder scans on a real file system, the commands, and the schedules."""

from __future__ import annotations

import os
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from apinvoices.ingestion.dropfolder import free_path, scan_dropfolder
from apinvoices.models import Document, DocumentReceipt, Invoice
from apinvoices.tests.samples.bad_inputs import FILESYSTEM_SAFE, good_pdf

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ingest_only")]


def files_under(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and ".ap-state" not in p.parts)


def test_a_file_is_picked_up_only_once_stable_then_moved_to_processed(tmp_path):
    drop = tmp_path / "drop"
    (drop / "scanner-2").mkdir(parents=True)
    path = drop / "scanner-2" / "inv.pdf"
    path.write_bytes(good_pdf("drop")[:500])

    first = scan_dropfolder(drop, stable_seconds=5, now=1000)
    assert first.waiting == ["scanner-2/inv.pdf"] and not first.picked_up

    path.write_bytes(good_pdf("drop"))  # still being written: size changes
    os.utime(path, ns=(1_000_000_000_000, 1_000_000_000_000))
    assert not scan_dropfolder(drop, stable_seconds=5, now=1010).picked_up
    assert not scan_dropfolder(drop, stable_seconds=5, now=1012).picked_up  # stable for 2 s only

    done = scan_dropfolder(drop, stable_seconds=5, now=1016)
    (rel, result, moved), = done.picked_up
    assert result.outcome == "accepted"
    today = timezone.localdate().isoformat()
    assert moved == drop / "processed" / today / "scanner-2" / "inv.pdf"
    assert moved.read_bytes() == good_pdf("drop")
    assert Document.objects.get().source_ref == "scanner-2/inv.pdf"
    assert files_under(drop) == [f"processed/{today}/scanner-2/inv.pdf"]


def test_refused_files_go_to_rejected_with_a_reason_and_good_ones_pass(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    for sample in FILESYSTEM_SAFE:
        (drop / sample.filename).write_bytes(sample.make())
    (drop / "good.pdf").write_bytes(good_pdf("good-in-batch"))
    (drop / ".partial-upload.pdf").write_bytes(b"%PDF-")  # a copy tool's temp file: ignored

    scan_dropfolder(drop, stable_seconds=0, now=1)
    report = scan_dropfolder(drop, stable_seconds=0, now=2)

    by_name = {rel: result for rel, result, _ in report.picked_up}
    assert by_name["good.pdf"].outcome == "accepted"
    today = timezone.localdate().isoformat()
    for sample in FILESYSTEM_SAFE:
        result = by_name[sample.filename]
        assert result.outcome == "refused" and result.code == sample.code, sample.slug
        reason = drop / "rejected" / today / (sample.filename + ".reason.txt")
        assert reason.read_text().startswith(f"{sample.code}\n")
    assert (drop / ".partial-upload.pdf").exists()
    assert Document.objects.count() == 1


def test_name_clashes_in_processed_get_a_suffix_and_duplicates_get_receipts(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    for n in range(3):
        (drop / "scan.pdf").write_bytes(good_pdf("same"))
        scan_dropfolder(drop, stable_seconds=0, now=10 * n)
        scan_dropfolder(drop, stable_seconds=0, now=10 * n + 1)
    today = timezone.localdate().isoformat()
    assert files_under(drop) == [f"processed/{today}/scan-1.pdf", f"processed/{today}/scan-2.pdf", f"processed/{today}/scan.pdf"]
    assert Document.objects.count() == 1 and Invoice.objects.count() == 1
    assert list(DocumentReceipt.objects.values_list("is_duplicate", flat=True)) == [False, True, True]


def test_free_path(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"x")
    (tmp_path / "a-1.pdf").write_bytes(b"x")
    assert free_path(tmp_path / "a.pdf") == tmp_path / "a-2.pdf"
    assert free_path(tmp_path / "b.pdf") == tmp_path / "b.pdf"


def test_a_concurrent_scan_of_the_same_folder_skips(tmp_path):
    import fcntl

    drop = tmp_path / "drop"
    (drop / ".ap-state").mkdir(parents=True)
    with open(drop / ".ap-state" / "lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert scan_dropfolder(drop, stable_seconds=0).busy is True


def test_a_scan_out_of_time_leaves_stable_files_for_the_next_scan(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    for n in range(3):
        (drop / f"inv-{n}.pdf").write_bytes(good_pdf(f"batch {n}"))
    assert len(scan_dropfolder(drop, stable_seconds=5, now=1000).waiting) == 3

    # A scan whose time is up before it starts a file: nothing is half-done, nothing forgotten.
    late = scan_dropfolder(drop, stable_seconds=5, now=1010, budget_seconds=0)
    assert sorted(late.deferred) == ["inv-0.pdf", "inv-1.pdf", "inv-2.pdf"]
    assert not late.picked_up and not late.waiting and not Document.objects.exists()

    # The next scan takes them at once: they stay stable, no second stable period.
    done = scan_dropfolder(drop, stable_seconds=5, now=1011)
    assert len(done.picked_up) == 3 and not done.deferred
    assert Document.objects.count() == 3


def test_ingest_command_prints_one_line_per_file(tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.pdf").write_bytes(good_pdf("cmd-a"))
    (folder / "sub" / "b.pdf").write_bytes(good_pdf("cmd-a"))
    (folder / "sub" / "c.pdf").write_bytes(b"")
    out, err = StringIO(), StringIO()
    call_command("ingest", str(folder), stdout=out, stderr=err)
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["accepted", "duplicate", "refused"]
    assert "empty_file" in lines[2]
    assert "1 accepted, 1 duplicate, 1 refused" in err.getvalue()


def test_scan_dropfolder_command(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "x.pdf").write_bytes(good_pdf("cmd-scan"))
    out = StringIO()
    call_command("scan_dropfolder", str(drop), "--stable-seconds", "0", stdout=out)
    assert out.getvalue().startswith("waiting x.pdf")
    out = StringIO()
    call_command("scan_dropfolder", str(drop), "--stable-seconds", "0", stdout=out)
    assert out.getvalue().startswith("accepted x.pdf -> document")


def test_setup_schedules_is_idempotent():
    from django_q.models import Schedule

    call_command("setup_schedules", stdout=StringIO())
    first = sorted(Schedule.objects.values_list("name", "func"))
    call_command("setup_schedules", stdout=StringIO())
    assert sorted(Schedule.objects.values_list("name", "func")) == first
    assert {
        ("ap-poll-mailbox", "apinvoices.ingestion.tasks.poll_mailbox_task"),
        ("ap-scan-dropfolder", "apinvoices.ingestion.tasks.scan_dropfolder_task"),
        ("erp-retry-due-postings", "erp_integration.tasks.retry_due_postings"),
    } <= set(first)


def test_scheduled_tasks_are_no_ops_when_unconfigured(settings):
    from apinvoices.ingestion.tasks import poll_mailbox_task, scan_dropfolder_task

    settings.AP_IMAP_HOST = ""
    settings.AP_DROP_FOLDER = ""
    assert poll_mailbox_task() == "no mailbox configured"
    assert scan_dropfolder_task() == "no drop folder configured"
