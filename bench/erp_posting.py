"""ERP posting throughput: TrytonBackend vs a raw JSON-RPC create-and-post loop.

    .venv/bin/python bench/erp_posting.py            # 1000 invoices each way
    .venv/bin/python bench/erp_posting.py --n 200 --json out.json

Each side gets a fresh Tryton server (a copy of the cached template, see tests/servers/tryton.py)
and posts the same N supplier invoices (2 lines, 19 % and 7 % tax, 20 vendors in rotation), one at
a time. The raw loop is the floor: one ``create`` and one ``post`` per invoice with every id
resolved up front. The backend adds what exactly-once costs: the lookup by key, vendor lookup,
and the re-check before post. The ratio backend/raw is the figure to watch.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from erp_integration.backends.base import ErpInvoice, ErpInvoiceLine, ErpVendor  # noqa: E402
from erp_integration.backends.jsonrpc import TrytonClient  # noqa: E402
from erp_integration.backends.tryton import TrytonBackend  # noqa: E402
from tests.servers.tryton import TrytonServer, ensure_template  # noqa: E402

VENDORS = 20


def payloads(n: int) -> list[ErpInvoice]:
    result = []
    for i in range(n):
        qty = Decimal(1 + i % 5)
        price = Decimal("10.00") + Decimal(i % 97)
        books = Decimal("12.50")
        net = qty * price + books
        tax = (qty * price * Decimal("0.19")).quantize(Decimal("0.01")) + (
            books * Decimal("0.07")).quantize(Decimal("0.01"))
        result.append(ErpInvoice(
            idempotency_key=f"bench-{i:06d}",
            vendor=ErpVendor(name=f"Bench Vendor {i % VENDORS:02d}"),
            invoice_number=f"B-{i:06d}",
            issue_date=dt.date(2025, 1 + i % 12, 1 + i % 28),
            due_date=None,
            currency="EUR",
            net_amount=net, tax_amount=tax, total_amount=net + tax,
            lines=(
                ErpInvoiceLine("Services", qty, price, qty * price, Decimal("19")),
                ErpInvoiceLine("Books", Decimal(1), books, books, Decimal("7")),
            ),
        ))
    return result


def summary(name: str, latencies: list[float], wall: float) -> dict:
    ordered = sorted(latencies)
    return {
        "name": name,
        "n": len(latencies),
        "seconds": round(wall, 2),
        "per_second": round(len(latencies) / wall, 2),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
    }


def run_backend(template, data: list[ErpInvoice]) -> dict:
    with TrytonServer(template) as server:
        backend = TrytonBackend(
            url=server.url, database=server.database, user=server.user, password=server.password,
        )
        latencies = []
        started = time.monotonic()
        for payload in data:
            t0 = time.monotonic()
            result = backend.post_invoice(payload)
            latencies.append(time.monotonic() - t0)
            assert not result.already_existed, result
        wall = time.monotonic() - started
        # Exactly once, checked on the server: one posted invoice per payload.
        reader = TrytonClient(url=server.url, database=server.database, user=server.user,
                              password=server.password)
        reader.context = {"company": server.company_id}
        posted = reader.search("account.invoice", [("type", "=", "in"), ("state", "=", "posted")])
        assert len(posted) == len(data), (len(posted), len(data))
    return summary("TrytonBackend.post_invoice", latencies, wall)


def run_raw(template, data: list[ErpInvoice]) -> dict:
    with TrytonServer(template) as server:
        ids = server.ids
        client = TrytonClient(url=server.url, database=server.database, user=server.user,
                              password=server.password)
        client.context = {"company": ids.company}
        client.login()
        parties = {}
        for payload in data:  # vendors resolved up front: not part of the timed loop
            name = payload.vendor.name
            if name not in parties:
                party, = client.create("party.party", [{"name": name, "addresses": [("create", [{}])]}])
                address = client.read("party.party", [party], ["addresses"])[0]["addresses"][0]
                parties[name] = (party, address)
        taxes = {Decimal("19"): ids.tax_19, Decimal("7"): ids.tax_7}
        latencies = []
        started = time.monotonic()
        for payload in data:
            t0 = time.monotonic()
            party, address = parties[payload.vendor.name]
            invoice, = client.create("account.invoice", [{
                "type": "in", "company": ids.company, "currency": ids.currency,
                "journal": ids.expense_journal, "account": ids.payable_account,
                "party": party, "invoice_address": address, "invoice_date": payload.issue_date,
                "reference": payload.invoice_number, "description": payload.idempotency_key,
                "lines": [("create", [{
                    "type": "line", "company": ids.company, "currency": ids.currency,
                    "account": ids.expense_account, "description": line.description,
                    "quantity": float(line.quantity), "unit_price": line.unit_price,
                    "taxes": [("add", [taxes[line.tax_rate]])],
                } for line in payload.lines])],
            }])
            client.model("account.invoice", "post", [invoice])
            latencies.append(time.monotonic() - t0)
        wall = time.monotonic() - started
    return summary("raw JSON-RPC create+post", latencies, wall)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="invoices per side (default 1000)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    started = time.monotonic()
    template = ensure_template()
    template_seconds = time.monotonic() - started
    data = payloads(args.n)
    raw = run_raw(template, data)
    ours = run_backend(template, data)
    ratio = round(ours["per_second"] / raw["per_second"], 3)
    for row in (raw, ours):
        print(f"{row['name']:<30} {row['n']:>6} invoices  {row['seconds']:>8.1f} s  "
              f"{row['per_second']:>7.2f}/s  p50 {row['p50_ms']:>7.1f} ms  p95 {row['p95_ms']:>7.1f} ms")
    print(f"backend / raw throughput: {ratio:.2f}  (template ready in {template_seconds:.1f} s)")
    if args.json:
        args.json.write_text(json.dumps(
            {"raw": raw, "backend": ours, "ratio": ratio, "template_seconds": template_seconds},
            indent=2,
        ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
