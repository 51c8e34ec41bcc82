"""ERP posting throughput: TrytonBackend vs a raw JSON-RPC create-and-post loop.

    .venv/bin/python bench/erp_posting.py            # 1000 invoices each way
    .venv/bin/python bench/erp_posting.py --n 200 --json out.json

Each side gets a fresh Tryton server (a copy of the cached template, see tests/servers/tryton.py)
and posts the same N supplier invoices (2 lines, 19 % and 7 % tax, 20 vendors in rotation), one at
a time; the sides take turns invoice by invoice, so a change of machine load hits both alike. The
raw loop is the floor: one ``create`` and one ``post`` per invoice with every id resolved up
front. The backend adds what exactly-once costs: the lookup by key, vendor lookup, and the
re-check before post. The ratio backend/raw is the figure to watch.

Besides wall-clock rates it prints CPU time per invoice, of this process and of each trytond
(from /proc), and the rate that CPU alone would allow: the figure that holds on an idle machine
when the box is shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from erp_integration.backends.base import ErpInvoice, ErpInvoiceLine, ErpVendor  # noqa: E402
from erp_integration.backends.jsonrpc import TrytonClient, TrytonUserError  # noqa: E402
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


def _server_cpu_seconds(pid: int) -> float:
    """User + system CPU of the trytond process (and its reaped children) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime/stime/cutime/cstime are fields 14-17.
    ticks = sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Side:
    """One way of posting, with its own server, timed per invoice."""

    name: str
    server: TrytonServer
    post: Callable[[ErpInvoice], None]
    latencies: list[float] = field(default_factory=list)
    client_cpu: float = 0.0
    server_cpu: float = 0.0

    def run_one(self, payload: ErpInvoice) -> None:
        cpu0, server0, t0 = time.process_time(), _server_cpu_seconds(self.server.process.pid), time.monotonic()
        self.post(payload)
        self.latencies.append(time.monotonic() - t0)
        self.client_cpu += time.process_time() - cpu0
        self.server_cpu += _server_cpu_seconds(self.server.process.pid) - server0

    def summary(self) -> dict:
        ordered = sorted(self.latencies)
        wall = sum(ordered)
        n = len(ordered)
        return {
            "name": self.name,
            "n": n,
            "seconds": round(wall, 2),
            "per_second": round(n / wall, 3),
            "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[max(int(n * 0.95) - 1, 0)] * 1000, 1),
            "client_cpu_ms_per_invoice": round(self.client_cpu / n * 1000, 1),
            "server_cpu_ms_per_invoice": round(self.server_cpu / n * 1000, 1),
            # What the rate would be if nothing else ran: CPU-bound on one core.
            "cpu_bound_per_second": round(n / (self.client_cpu + self.server_cpu), 3),
        }


def backend_side(server: TrytonServer) -> Side:
    instance = server.instance
    backend = TrytonBackend(
        url=instance.url, database=instance.database, user=instance.user,
        password=instance.password,
    )

    def post(payload: ErpInvoice) -> None:
        result = backend.post_invoice(payload)
        assert not result.already_existed, result

    return Side("TrytonBackend.post_invoice", server, post)


def raw_side(server: TrytonServer, data: list[ErpInvoice]) -> Side:
    instance = server.instance
    ids = instance.ids
    client = TrytonClient(url=instance.url, database=instance.database, user=instance.user,
                          password=instance.password)
    client.context = {"company": ids.company}
    client.login()
    parties = {}
    for payload in data:  # vendors resolved up front: not part of the timed loop
        name = payload.vendor.name
        if name not in parties:
            party, = client.create(
                "party.party", [{"name": name, "addresses": [("create", [{}])]}]
            )
            address = client.read("party.party", [party], ["addresses"])[0]["addresses"][0]
            parties[name] = (party, address)
    taxes = {Decimal("19"): ids.tax_19, Decimal("7"): ids.tax_7}

    def post(payload: ErpInvoice) -> None:
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
        try:
            client.model("account.invoice", "post", [invoice])
        except TrytonUserError:
            # Seen once in 1000 under load ~14: trytond re-runs a post whose SQLite lock wait
            # timed out although the first run committed, and the re-run refuses ("can not call
            # post"). The raw floor counts the invoice if it is posted; our backend's re-check
            # handles the same case by design.
            state = client.read("account.invoice", [invoice], ["state"])[0]["state"]
            if state != "posted":
                raise


    return Side("raw JSON-RPC create+post", server, post)


def check_exactly_once(server: TrytonServer, n: int) -> None:
    """One posted supplier invoice per payload, counted on the server."""
    instance = server.instance
    reader = TrytonClient(url=instance.url, database=instance.database, user=instance.user,
                          password=instance.password)
    reader.context = {"company": instance.company_id}
    posted = reader.search("account.invoice", [("type", "=", "in"), ("state", "=", "posted")])
    assert len(posted) == n, (len(posted), n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="invoices per side (default 1000)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--progress", type=int, default=0, help="report every N invoices on stderr")
    parser.add_argument("--budget-minutes", type=float, default=0,
                        help="stop after this long and report the invoices done so far (0: no limit)")
    args = parser.parse_args(argv)

    started = time.monotonic()
    template = ensure_template()
    template_seconds = time.monotonic() - started
    data = payloads(args.n)
    load_before = os.getloadavg()
    raw_server, our_server = TrytonServer(template), TrytonServer(template)
    try:
        raw_server.start()
        our_server.start()
        raw, ours = raw_side(raw_server, data), backend_side(our_server)
        # Interleaved, one invoice each way in turn: a change of machine load while the bench
        # runs then hits both sides alike instead of skewing the ratio.
        deadline = time.monotonic() + args.budget_minutes * 60 if args.budget_minutes else None
        done = 0
        for i, payload in enumerate(data):
            raw.run_one(payload)
            ours.run_one(payload)
            done = i + 1
            if args.progress and done % args.progress == 0:
                r, o = raw.summary(), ours.summary()
                sys.stderr.write(
                    f"{done}/{len(data)} load {os.getloadavg()[0]:.1f} raw {r['per_second']:.3f}/s "
                    f"backend {o['per_second']:.3f}/s ratio {o['per_second'] / r['per_second']:.2f} "
                    f"CPU-bound raw {r['cpu_bound_per_second']:.2f}/s backend "
                    f"{o['cpu_bound_per_second']:.2f}/s\n")
            if deadline is not None and time.monotonic() > deadline:
                sys.stderr.write(f"time budget spent after {done} of {len(data)} invoices\n")
                break
        check_exactly_once(raw_server, done)
        check_exactly_once(our_server, done)
    finally:
        raw_server.stop()
        our_server.stop()
    load_after = os.getloadavg()
    rows = [raw.summary(), ours.summary()]
    ratio = round(rows[1]["per_second"] / rows[0]["per_second"], 3)
    cpu_ratio = round(rows[1]["cpu_bound_per_second"] / rows[0]["cpu_bound_per_second"], 3)
    for row in rows:
        print(f"{row['name']:<28} {row['n']:>5} invoices {row['seconds']:>8.1f} s "
              f"{row['per_second']:>6.2f}/s  p50 {row['p50_ms']:>6.1f} ms  p95 {row['p95_ms']:>6.1f} ms"
              f"  CPU/invoice client {row['client_cpu_ms_per_invoice']:>5.1f} ms"
              f" server {row['server_cpu_ms_per_invoice']:>6.1f} ms"
              f"  (CPU-bound {row['cpu_bound_per_second']:.2f}/s)")
    print(f"backend / raw throughput: {ratio:.2f} wall, {cpu_ratio:.2f} CPU-bound; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
          f"(template ready in {template_seconds:.1f} s)")
    if args.json:
        args.json.write_text(json.dumps(
            {"raw": rows[0], "backend": rows[1], "ratio": ratio, "cpu_ratio": cpu_ratio,
             "load_before": load_before, "load_after": load_after,
             "template_seconds": template_seconds},
            indent=2,
        ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
