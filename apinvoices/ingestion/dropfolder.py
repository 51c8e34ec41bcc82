"""The drop folder: scanners and shared drives put files in, we pick them up when complete.

A file is picked up only after its size and mtime were seen unchanged for
``AP_DROP_FOLDER_STABLE_SECONDS`` across two scans (a file still being copied keeps changing).
Once its Document is committed (or it was refused) it is moved, never deleted:

- accepted or duplicate  -> ``processed/<YYYY-MM-DD>/<relative path>``
- refused                -> ``rejected/<YYYY-MM-DD>/<relative path>`` + ``<name>.reason.txt``

A name already taken there gets a ``-1``, ``-2``, ... suffix.

Observations live in ``<folder>/.ap-state/observations.json``, not in the database: they are
facts about files in that folder, meaningless without it (a folder moved or re-mounted elsewhere
takes them along; a deleted folder leaves no stale rows); losing the file only delays pickup by
one stable period, and no migration is needed. ``.ap-state/lock`` (flock) makes concurrent scans
of the same folder skip instead of racing; the database's unique sha256 would still keep
Documents exactly-once if the lock were bypassed.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from apinvoices.ingestion.service import IngestResult, Refused, document_ingest
from apinvoices.models import Channel

logger = logging.getLogger(__name__)

STATE_DIR = ".ap-state"
PROCESSED = "processed"
REJECTED = "rejected"
RESERVED_TOP_LEVEL = {STATE_DIR, PROCESSED, REJECTED}


@dataclass
class ScanReport:
    """What one scan did. ``busy`` means another scan held the folder's lock."""

    picked_up: list[tuple[str, IngestResult, Path]] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    busy: bool = False
    # Stable files left for the next scan because the batch ran out of time.
    deferred: list[str] = field(default_factory=list)


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _save(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, sort_keys=True))
    os.replace(tmp, path)


def _candidates(root: Path):
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir == Path("."):
            dirnames[:] = [d for d in dirnames if d not in RESERVED_TOP_LEVEL and not d.startswith(".")]
        else:
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        dirnames.sort()
        for name in sorted(filenames):
            # Dot files are what copy tools write while a transfer runs (rsync, Samba, Finder).
            if name.startswith("."):
                continue
            yield (rel_dir / name).as_posix()


def free_path(target: Path) -> Path:
    """``target`` if free, else the first of ``stem-1.ext``, ``stem-2.ext``, ... that is."""
    if not target.exists() and not target.is_symlink():
        return target
    stem, suffix = target.stem, target.suffix
    n = 1
    while True:
        candidate = target.with_name(f"{stem}-{n}{suffix}")
        if not candidate.exists() and not candidate.is_symlink():
            return candidate
        n += 1


def _move(root: Path, rel: str, bucket: str, today: date) -> Path:
    target = free_path(root / bucket / today.isoformat() / rel)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(root / rel, target)
    return target


def scan_dropfolder(
    path: str | os.PathLike, *, stable_seconds: int | None = None, now: float | None = None,
    budget_seconds: float | None = None,
) -> ScanReport:
    """Scan ``path`` (recursively) once: remember new or changed files, ingest stable ones.

    Guarantees: a file is moved only after ``document_ingest`` returned (its Document is
    committed, or it was refused); nothing is deleted; one file that fails unexpectedly is
    logged, left in place for the next scan and does not stop the others. After
    ``budget_seconds`` (default ``AP_INGEST_BATCH_SECONDS``) no further file is started: the
    stable ones left keep their observation and are taken first thing by the next scan.
    """
    root = Path(path)
    stable = settings.AP_DROP_FOLDER_STABLE_SECONDS if stable_seconds is None else stable_seconds
    budget = settings.AP_INGEST_BATCH_SECONDS if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    state_dir = root / STATE_DIR
    state_dir.mkdir(parents=True, exist_ok=True)
    report = ScanReport()
    with open(state_dir / "lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            report.busy = True
            return report
        state_file = state_dir / "observations.json"
        seen = _load(state_file)
        current = {}
        clock = time.time() if now is None else now
        today = timezone.localdate()
        for rel in _candidates(root):
            try:
                st = os.stat(root / rel, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if not os.path.isfile(root / rel) or os.path.islink(root / rel):
                continue
            signature = [st.st_size, st.st_mtime_ns]
            before = seen.get(rel)
            if not before or before["sig"] != signature:
                current[rel] = {"sig": signature, "since": clock}
                report.waiting.append(rel)
                continue
            if clock - before["since"] < stable:
                current[rel] = before
                report.waiting.append(rel)
                continue
            if time.monotonic() >= deadline:
                current[rel] = before
                report.deferred.append(rel)
                continue
            try:
                with open(root / rel, "rb") as fh:
                    result = document_ingest(
                        data=fh, filename=Path(rel).name, channel=Channel.FOLDER, source_ref=rel
                    )
                if isinstance(result, Refused):
                    moved = _move(root, rel, REJECTED, today)
                    moved.with_name(moved.name + ".reason.txt").write_text(
                        f"{result.code}\n{result.message}\n", encoding="utf-8"
                    )
                else:
                    moved = _move(root, rel, PROCESSED, today)
                report.picked_up.append((rel, result, moved))
            except Exception as err:  # one bad file must not stop the batch
                logger.exception("drop folder: could not process %s", rel)
                report.errors.append((rel, f"{type(err).__name__}: {err}"))
                current[rel] = before
        _save(state_file, current)
    return report
