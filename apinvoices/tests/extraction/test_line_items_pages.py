"""Line items read from generated text PDFs: long tables over several pages, footers left out.

Each layout renders 40 lines, which runs over a page break with a "carried forward" sum, a
repeated or missing header and the vendor's footer (registry, phone and bank numbers) between
the rows; every amount must come back in order and nothing else.
"""

from __future__ import annotations

import random

import pytest

from apinvoices.demo.corpus import render_document
from apinvoices.demo.specs import LANGUAGES, LAYOUTS, random_spec
from apinvoices.extraction.pipeline import extract_document


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_forty_line_table_over_pages_comes_back_row_for_row(layout):
    rng = random.Random(f"lines-{layout}")
    for language in rng.sample(LANGUAGES, 2):
        spec = random_spec(rng, language=language, layout=layout, line_count=40)
        result = extract_document(render_document(spec, "pdf", rng).content, filename=f"{layout}.pdf")

        got = [abs(line.amount) for line in result.lines]
        assert got == [abs(line.net_amount) for line in spec.lines], (layout, language)
        for extracted, expected in zip(result.lines, spec.lines):
            first_line = extracted.description.split("\n")[0].strip()
            assert expected.description.startswith(first_line) and first_line, (layout, language, first_line)
