"""Write a corpus of generated invoices with a ground-truth CSV.

    .venv/bin/python -m apinvoices.demo.corpus OUTDIR --count 120 --seed 7

Document ``i`` is built from its own ``random.Random(f"{seed}:{i}")``, so a corpus is the
same whatever ``--jobs`` is, and document ``i`` does not change when ``--count`` grows.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from apinvoices.demo.render_pdf import render_pdf
from apinvoices.demo.render_scan import (
    image_to_jpeg,
    images_to_pdf,
    images_to_tiff,
    render_scan,
    to_bitonal,
)
from apinvoices.demo.render_xml import render_cii, render_facturx_pdf, render_ubl
from apinvoices.demo.specs import LAYOUTS, InvoiceSpec, random_spec

KINDS: tuple[str, ...] = ("pdf", "scan", "photo", "ubl", "cii", "facturx")
ALL_KINDS: tuple[str, ...] = (*KINDS, "fax")
EINVOICE_KINDS = frozenset({"ubl", "cii", "facturx"})

GROUND_TRUTH_COLUMNS: tuple[str, ...] = (
    "file", "kind", "language", "layout", "vendor_name", "vendor_tax_id", "vendor_iban",
    "invoice_number", "issue_date", "due_date", "currency", "net_amount", "tax_amount",
    "total_amount", "po_number",
    # Beyond the header fields: what the document is, how long, and the trap value.
    "document_type", "pages", "amount_due",
)


@dataclass(frozen=True)
class RenderedDocument:
    content: bytes
    extension: str  # without the dot
    pages: int


def render_document(
    spec: InvoiceSpec, kind: str, rng: random.Random, *, dpi: int = 300
) -> RenderedDocument:
    """The bytes of one document of ``kind``; image kinds draw their artefacts from ``rng``.

    ``dpi`` is the scanner resolution (photos are 150-200 dpi, faxes 204 x 98 regardless)."""
    if kind == "ubl":
        return RenderedDocument(render_ubl(spec), "xml", 0)
    if kind == "cii":
        return RenderedDocument(render_cii(spec), "xml", 0)
    pdf = render_pdf(spec)
    pages = _page_count(pdf)
    if kind == "pdf":
        return RenderedDocument(pdf, "pdf", pages)
    if kind == "facturx":
        return RenderedDocument(render_facturx_pdf(spec, pdf_bytes=pdf), "pdf", pages)
    if kind == "scan":
        images = render_scan(pdf, dpi=dpi, quality="scan", rng=rng)
        # Office scanners mostly send JPEG-in-PDF; some a bitonal G4 TIFF or a single JPEG.
        roll = rng.random()
        if roll < 0.2:
            threshold = rng.randint(150, 185)
            bitonal = [to_bitonal(image, threshold=threshold) for image in images]
            return RenderedDocument(images_to_tiff(bitonal, dpi=dpi), "tiff", pages)
        if roll < 0.35 and pages == 1:
            return RenderedDocument(image_to_jpeg(images[0], quality=rng.randint(60, 85)),
                                    "jpg", 1)
        return RenderedDocument(images_to_pdf(images, dpi=dpi, quality=rng.randint(55, 80)),
                                "pdf", pages)
    if kind == "photo":
        images = render_scan(pdf, dpi=max(dpi, 150), quality="photo", rng=rng)
        if pages == 1:
            return RenderedDocument(image_to_jpeg(images[0], quality=90), "jpg", 1)
        return RenderedDocument(images_to_pdf(images, dpi=170), "pdf", pages)
    if kind == "fax":
        images = render_scan(pdf, quality="fax", rng=rng)
        return RenderedDocument(images_to_tiff(images, dpi=204), "tiff", pages)
    raise ValueError(f"unknown kind {kind!r}; expected one of {ALL_KINDS}")


_FILE_WORDS = {
    "de": ("Rechnung", "Gutschrift"), "fr": ("Facture", "Avoir"), "nl": ("Factuur", "Creditnota"),
    "es": ("Factura", "Abono"), "it": ("Fattura", "Nota_di_credito"),
    "en_GB": ("Invoice", "Credit_Note"), "en_US": ("Invoice", "Credit_Memo"),
}


def document_filename(
    spec: InvoiceSpec, kind: str, extension: str, rng: random.Random
) -> str:
    """A name like the ones originals arrive with: ``Rechnung_R25-0042.pdf`` from a vendor's
    system, ``Scan_2025-03-04_091532.pdf`` from a copier, ``IMG_20250304_091532.jpg`` from a
    phone (timestamps drawn from ``rng``, a few days after the issue date)."""
    when = f"{rng.randint(8, 17):02d}{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}"
    day = spec.issue_date.toordinal() + rng.randint(1, 6)
    received = type(spec.issue_date).fromordinal(day)
    if kind == "photo":
        return f"IMG_{received:%Y%m%d}_{when}.{extension}"
    if kind in ("scan", "fax"):
        prefix = "Scan" if kind == "scan" else "FAX"
        return f"{prefix}_{received:%Y-%m-%d}_{when}.{extension}"
    word = _FILE_WORDS[spec.language][1 if spec.is_credit_note else 0]
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in spec.number)
    if kind in ("ubl", "cii"):
        return f"{word}_{safe}_{kind}.{extension}"
    return f"{word}_{safe}.{extension}"


def _page_count(pdf: bytes) -> int:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return len(doc)
    finally:
        doc.close()


def ground_truth_row(spec: InvoiceSpec, *, file: str, kind: str, pages: int) -> dict[str, str]:
    """One CSV row: ISO dates, plain decimal strings, compact upper-case IDs."""
    v = spec.vendor
    return {
        "file": file,
        "kind": kind,
        "language": spec.language,
        "layout": "" if kind in EINVOICE_KINDS - {"facturx"} else spec.layout,
        "vendor_name": v.name,
        "vendor_tax_id": v.tax_id.upper().replace(" ", ""),
        "vendor_iban": v.iban.upper().replace(" ", ""),
        "invoice_number": spec.number,
        "issue_date": spec.issue_date.isoformat(),
        "due_date": spec.due_date.isoformat() if spec.due_date else "",
        "currency": spec.currency,
        "net_amount": str(spec.net_amount),
        "tax_amount": str(spec.tax_amount),
        "total_amount": str(spec.total_amount),
        "po_number": spec.po_number,
        "document_type": spec.document_type,
        "pages": str(pages),
        "amount_due": str(spec.amount_due),
    }


def _one(args: tuple[Path, int, int, tuple[str, ...], int]) -> dict[str, str]:
    outdir, seed, index, kinds, dpi = args
    rng = random.Random(f"{seed}:{index}")
    kind = kinds[index % len(kinds)]
    # Cycle layouts per kind so that every layout shows up early in a small corpus.
    layout = LAYOUTS[(index // len(kinds)) % len(LAYOUTS)]
    spec = random_spec(rng, layout=layout, einvoice=kind in EINVOICE_KINDS)
    doc = render_document(spec, kind, rng, dpi=dpi)
    name = f"{index:04d}_{kind}.{doc.extension}"
    (outdir / name).write_bytes(doc.content)
    return ground_truth_row(spec, file=name, kind=kind, pages=doc.pages)


def generate(
    outdir: Path | str,
    *,
    count: int,
    seed: int,
    kinds: tuple[str, ...] = KINDS,
    jobs: int = 1,
    dpi: int = 300,
) -> list[dict[str, str]]:
    """Write ``count`` documents (kinds in rotation) and ``ground_truth.csv`` into ``outdir``.

    Returns the ground-truth rows in file order. Overwrites files of the same name.
    """
    unknown = set(kinds) - set(ALL_KINDS)
    if unknown:
        raise ValueError(f"unknown kinds {sorted(unknown)}; expected some of {ALL_KINDS}")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    work = [(outdir, seed, i, tuple(kinds), dpi) for i in range(count)]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            rows = list(pool.map(_one, work, chunksize=4))
    else:
        rows = [_one(item) for item in work]
    with open(outdir / "ground_truth.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=GROUND_TRUTH_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--count", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--kinds", default=",".join(KINDS),
                        help=f"comma-separated, from {','.join(ALL_KINDS)}")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    args = parser.parse_args(argv)
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    started = time.monotonic()
    rows = generate(args.outdir, count=args.count, seed=args.seed, kinds=kinds, jobs=args.jobs)
    elapsed = time.monotonic() - started
    sys.stderr.write(f"{len(rows)} documents in {args.outdir} in {elapsed:.1f} s\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
