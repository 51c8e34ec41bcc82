"""FileExportBackend on a real folder, and the backend registry."""

from __future__ import annotations

import csv
import datetime as dt
import json
import threading
from decimal import Decimal

import pytest

from erp_integration.backends import get_backend
from erp_integration.backends.base import (
    ErpError,
    ErpErrorCode,
    ErpInvoice,
    ErpInvoiceLine,
    ErpVendor,
    PaymentStatus,
)
from erp_integration.backends.fileexport import FileExportBackend, csv_safe, file_stem
from erp_integration.backends.tryton import TrytonBackend


def payload(key: str = "post-42-1", **overrides) -> ErpInvoice:
    values = dict(
        idempotency_key=key,
        vendor=ErpVendor(name="Müller & Söhne GmbH", tax_id="DE136695976",
                         iban="DE89370400440532013000"),
        invoice_number="RE-2025-0042",
        issue_date=dt.date(2025, 3, 14),
        due_date=dt.date(2025, 4, 13),
        currency="EUR",
        net_amount=Decimal("100.10"),
        tax_amount=Decimal("19.02"),
        total_amount=Decimal("119.12"),
        lines=(ErpInvoiceLine("Beratung", Decimal("1"), Decimal("100.10"), Decimal("100.10"),
                              Decimal("19")),),
        description="March consulting",
    )
    values.update(overrides)
    return ErpInvoice(**values)


def read_csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_post_writes_one_json_and_one_csv_row(tmp_path):
    result = FileExportBackend(directory=tmp_path).post_invoice(payload())

    assert result.already_existed is False
    assert result.erp_id == "post-42-1" and result.erp_number == "RE-2025-0042"
    document = json.loads((tmp_path / "post-42-1.json").read_text(encoding="utf-8"))
    assert document["total_amount"] == "119.12"  # a decimal string, never a float
    assert document["issue_date"] == "2025-03-14"
    assert document["lines"][0]["unit_price"] == "100.10"
    rows = read_csv(tmp_path / "post-42-1.csv")
    assert len(rows) == 1
    assert rows[0]["vendor_name"] == "Müller & Söhne GmbH"
    assert rows[0]["total_amount"] == "119.12"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["post-42-1.csv", "post-42-1.json"]


def test_second_post_with_the_same_key_returns_already_existed(tmp_path):
    backend = FileExportBackend(directory=tmp_path)
    first = backend.post_invoice(payload())

    again = backend.post_invoice(payload(total_amount=Decimal("999.00")))

    assert again.already_existed is True and again.erp_id == first.erp_id
    stored = json.loads((tmp_path / "post-42-1.json").read_text(encoding="utf-8"))
    assert stored["total_amount"] == "119.12"
    assert backend.find_invoice(payload()) == again


def test_find_invoice_is_none_before_posting(tmp_path):
    assert FileExportBackend(directory=tmp_path).find_invoice(payload()) is None


def test_concurrent_posts_of_one_key_create_it_once(tmp_path):
    results = []
    barrier = threading.Barrier(8)

    def post():
        barrier.wait()
        results.append(FileExportBackend(directory=tmp_path).post_invoice(payload()))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r.already_existed for r in results) == [False] + [True] * 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["post-42-1.csv", "post-42-1.json"]


def test_csv_cells_cannot_run_formulas(tmp_path):
    hostile = payload(
        vendor=ErpVendor(name="=HYPERLINK(\"http://x\",\"pay\")", tax_id="+49123"),
        invoice_number="-2+3", description="@SUM(A1)", po_number="\tPO-1",
        total_amount=Decimal("-119.12"), is_credit_note=True,
    )
    FileExportBackend(directory=tmp_path).post_invoice(hostile)

    row = read_csv(tmp_path / "post-42-1.csv")[0]

    assert row["vendor_name"] == "'=HYPERLINK(\"http://x\",\"pay\")"
    assert row["vendor_tax_id"] == "'+49123"
    assert row["invoice_number"] == "'-2+3"
    assert row["description"] == "'@SUM(A1)"
    assert row["po_number"] == "'\tPO-1"
    assert row["total_amount"] == "-119.12"  # our own Decimal, a number, not text
    assert row["is_credit_note"] == "1"


@pytest.mark.parametrize("value,expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\rx", "'\rx"),
    ("ACME", "ACME"), ("", ""), ("a=b", "a=b"),
])
def test_csv_safe(value, expected):
    assert csv_safe(value) == expected


def test_unsafe_keys_become_hashed_file_names(tmp_path):
    key = "../../etc/passwd"
    result = FileExportBackend(directory=tmp_path).post_invoice(payload(key=key))

    assert result.erp_id == file_stem(key) and len(result.erp_id) == 64
    assert {p.parent for p in tmp_path.iterdir()} == {tmp_path}


def test_no_temporary_files_are_left_behind(tmp_path):
    backend = FileExportBackend(directory=tmp_path)
    for n in range(5):
        backend.post_invoice(payload(key=f"k-{n}"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_file_backend_defaults_to_settings_folder(settings, tmp_path):
    settings.AP_ERP_EXPORT_DIR = tmp_path / "exports"
    result = FileExportBackend().post_invoice(payload())
    assert (tmp_path / "exports" / f"{result.erp_id}.json").exists()
    assert FileExportBackend().payment_status(result.erp_id) == PaymentStatus.UNKNOWN


def test_get_backend_follows_settings(settings, tmp_path):
    settings.AP_ERP_EXPORT_DIR = tmp_path
    settings.AP_ERP_BACKEND = "file"
    assert isinstance(get_backend(), FileExportBackend)
    settings.TRYTON_URL = "http://127.0.0.1:1"
    settings.TRYTON_DATABASE = "db"
    settings.TRYTON_USER = "admin"
    backend = get_backend("tryton")
    assert isinstance(backend, TrytonBackend)
    assert backend.client.url == "http://127.0.0.1:1" and backend.client.database == "db"


def test_get_backend_rejects_unknown_names():
    with pytest.raises(ErpError) as caught:
        get_backend("sap")
    assert caught.value.code == ErpErrorCode.NOT_CONFIGURED


def test_tryton_backend_without_settings_is_not_configured(settings):
    settings.TRYTON_URL = ""
    with pytest.raises(ErpError) as caught:
        TrytonBackend()
    assert caught.value.code == ErpErrorCode.NOT_CONFIGURED
