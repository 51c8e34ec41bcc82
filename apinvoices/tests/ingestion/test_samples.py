"""The committed bad-input files are exactly what the generator makes (no drift)."""

from pathlib import Path

from apinvoices.tests.samples.bad_inputs import FILESYSTEM_SAFE

COMMITTED = Path(__file__).resolve().parent.parent / "samples" / "bad"


def test_committed_bad_samples_match_the_generator():
    for sample in FILESYSTEM_SAFE:
        assert (COMMITTED / sample.filename).read_bytes() == sample.make(), sample.filename
