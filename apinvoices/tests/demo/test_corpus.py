"""The corpus command writes documents and a ground-truth CSV that match each other."""

from __future__ import annotations

import csv
import io
import random
from decimal import Decimal

import facturx
import pdfplumber
from PIL import Image

from apinvoices.demo import specs
from apinvoices.demo.corpus import GROUND_TRUTH_COLUMNS, document_filename, generate, main


def _rows(path):
    with open(path / "ground_truth.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == GROUND_TRUTH_COLUMNS
        return list(reader)


def test_generate_writes_each_kind_with_matching_ground_truth(tmp_path):
    rows = generate(tmp_path, count=6, seed=7, dpi=100)
    assert [r["kind"] for r in rows] == ["pdf", "scan", "photo", "ubl", "cii", "facturx"]
    assert _rows(tmp_path) == rows
    for row in rows:
        data = (tmp_path / row["file"]).read_bytes()
        assert Decimal(row["total_amount"]) == Decimal(row["net_amount"]) + Decimal(
            row["tax_amount"])
        assert row["vendor_tax_id"] == row["vendor_tax_id"].upper().replace(" ", "")
        if row["kind"] in ("ubl", "cii"):
            assert row["invoice_number"].encode() in data
            assert f">{row['total_amount']}<".encode() in data
        elif row["kind"] == "pdf":
            with pdfplumber.open(io.BytesIO(data)) as pdf:
                assert row["invoice_number"] in pdf.pages[0].extract_text()
        elif row["kind"] == "facturx":
            _, xml = facturx.get_facturx_xml_from_pdf(data)
            assert row["vendor_iban"].encode() in xml
        elif row["file"].endswith((".jpg", ".png", ".tiff")):
            Image.open(io.BytesIO(data)).verify()
        else:
            assert data.startswith(b"%PDF")


def test_cli_is_reproducible_and_stable_under_a_larger_count(tmp_path):
    kinds = "pdf,ubl,cii"
    assert main([str(tmp_path / "a"), "--count", "4", "--seed", "3", "--kinds", kinds]) == 0
    assert main([str(tmp_path / "b"), "--count", "6", "--seed", "3", "--kinds", kinds]) == 0
    a = (tmp_path / "a" / "ground_truth.csv").read_text().splitlines()
    b = (tmp_path / "b" / "ground_truth.csv").read_text().splitlines()
    assert b[: len(a)] == a
    assert (tmp_path / "a" / "0001_ubl.xml").read_bytes() == (
        tmp_path / "b" / "0001_ubl.xml").read_bytes()


def test_document_filenames_look_like_real_arrivals():
    vendor = specs.VENDOR_PROFILES["Nordlicht Bürobedarf GmbH"].party
    spec = specs.random_spec(random.Random(1), vendor=vendor, language="de",
                             document_type="invoice")
    rng = random.Random(2)
    assert document_filename(spec, "pdf", "pdf", rng) == f"Rechnung_{spec.number}.pdf"
    photo = document_filename(spec, "photo", "jpg", rng)
    assert photo.startswith("IMG_2025") and photo.endswith(".jpg")
    assert document_filename(spec, "scan", "pdf", rng).startswith("Scan_2025-")
