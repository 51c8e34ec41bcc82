"""File names from outside: kept only as a label, never used as a path."""

from __future__ import annotations

import re
import unicodedata

MAX_FILENAME_LENGTH = 200
DEFAULT_FILENAME = "document"

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class BadFilename(ValueError):
    pass


def sanitize_filename(name: str) -> str:
    """The base name to show for an arrival.

    Refuses (``BadFilename``) names carrying NUL, control characters or ``..`` path parts, which
    no honest client sends (a browser sends the base name only). Strips directories that an old
    client may send (``C:\\scans\\inv.pdf``), normalises Unicode to NFC and caps the length,
    keeping the extension. An empty name becomes ``document``.
    """
    if _CONTROL.search(name):
        raise BadFilename(name)
    parts = re.split(r"[\\/]", name)
    if any(part == ".." for part in parts):
        raise BadFilename(name)
    base = unicodedata.normalize("NFC", parts[-1]).strip().lstrip(".")
    if not base:
        return DEFAULT_FILENAME
    if len(base) > MAX_FILENAME_LENGTH:
        stem, dot, ext = base.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            base = stem[: MAX_FILENAME_LENGTH - len(ext) - 1] + "." + ext
        else:
            base = base[:MAX_FILENAME_LENGTH]
    return base
