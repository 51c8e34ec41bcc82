"""Write the bad-input fixture set into a folder: ``python -m apinvoices.tests.samples.make_bad_samples DIR``.

The files are generated from ``bad_inputs.py`` (deterministic), so nothing large or hostile has
to be committed. Tests call ``write_bad_samples`` into a temp folder instead.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from apinvoices.tests.samples.bad_inputs import FILESYSTEM_SAFE, write_bad_samples

    target = Path(argv[1] if len(argv) > 1 else Path(__file__).with_name("bad"))
    paths = write_bad_samples(target)
    codes = {s.slug: s.code for s in FILESYSTEM_SAFE}
    for slug, path in sorted(paths.items()):
        sys.stdout.write(f"{path.name}\t{path.stat().st_size}\t{codes[slug]}\n")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    raise SystemExit(main(sys.argv))
