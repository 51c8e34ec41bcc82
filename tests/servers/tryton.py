"""A real Tryton server (trytond on SQLite) for tests and benchmarks.

Two stages, because building the database is slow (~20-60 s) and starting from a copy is fast:

1. ``ensure_template()`` builds a template SQLite database ONCE per (trytond versions, module set,
   setup script) and caches it under ``${XDG_CACHE_HOME:-~/.cache}/ap-workbench/tryton/<key>/``.
   A lock file serialises the build so pytest-xdist workers never build twice at once; a worker
   that waited finds the finished template and uses it. The template is fully checkpointed
   (``PRAGMA wal_checkpoint(TRUNCATE)``) so a plain file copy is a consistent database.
2. ``TrytonServer`` copies the template into a fresh temporary folder and runs
   ``trytond -c CONF -d DB`` on a free 127.0.0.1 port (``TRYTOND_WEB__LISTEN`` in the
   environment: a ``[web] listen`` in the file would win over it). It is ready when
   ``common.server.version`` answers.

The template holds: a company "AP Workbench GmbH" (EUR), the admin user's password and company,
the English minimal chart of accounts, fiscal years 2023-2028 with monthly periods and invoice
sequences, the default expense journal, supplier taxes 19 % and 7 %, a company IBAN and a SEPA
payment journal (pain.001.001.03 / pain.008.001.02).

Manual use (also used by ``bench/erp_posting.py``)::

    .venv/bin/python -m tests.servers.tryton build   # build (or reuse) the template, print timing
    .venv/bin/python -m tests.servers.tryton serve   # run a server from a fresh copy until Ctrl-C
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import importlib.metadata
import inspect
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import requests

# Bump when the setup below changes what the template contains (the file hash is in the key
# too; the number makes a deliberate rebuild visible in review).
SETUP_VERSION = 1
MODULES = ("account_invoice", "account_payment_sepa")
DATABASE = "apworkbench"
ADMIN_USER = "admin"
# Tryton checks password length and entropy; this one passes the defaults.
ADMIN_PASSWORD = "ap-Workbench-tryton-7319"
COMPANY_NAME = "AP Workbench GmbH"
COMPANY_IBAN = "DE89370400440532013000"
FISCAL_YEARS = tuple(range(2023, 2029))
START_TIMEOUT = 60.0
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class TrytonIds:
    """Ids of the records the setup script created (the same in every copy of the template)."""

    company: int
    company_party: int
    currency: int
    payable_account: int
    expense_account: int
    tax_account: int
    expense_journal: int
    tax_19: int
    tax_7: int
    payment_journal: int


@dataclass(frozen=True)
class TrytonInstance:
    """A running server: what a client needs to talk to it."""

    url: str  # base URL, e.g. http://127.0.0.1:40123
    database: str
    user: str
    password: str
    ids: TrytonIds
    pid: int

    @property
    def company_id(self) -> int:
        return self.ids.company


def _bin(name: str) -> str:
    """The trytond console scripts of the interpreter running us (the project's venv)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def _versions() -> dict[str, str]:
    names = ["trytond"] + [f"trytond_{m}" for m in MODULES]
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        dist_name = (dist.metadata["Name"] or "").lower().replace("-", "_")
        if dist_name == "trytond" or dist_name.startswith("trytond_"):
            found[dist_name] = dist.version
    missing = [n for n in names if n not in found]
    if missing:
        raise RuntimeError(f"Tryton packages missing (pip install -r requirements-dev.txt): {missing}")
    return dict(sorted(found.items()))


def _setup_source() -> str:
    """The code that decides what the template contains (not the server runner or the CLI)."""
    parts = [_write_config, _build, _setup, _setup_accounting]
    constants = [DATABASE, ADMIN_USER, ADMIN_PASSWORD, COMPANY_NAME, COMPANY_IBAN, FISCAL_YEARS]
    return "\n".join(inspect.getsource(part) for part in parts) + repr(constants)


def template_key() -> str:
    material = json.dumps(
        {
            "versions": _versions(),
            "modules": MODULES,
            "setup_version": SETUP_VERSION,
            "setup_source": hashlib.sha256(_setup_source().encode()).hexdigest(),
            "python": sys.version_info[:2],
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ap-workbench" / "tryton"


def _write_config(folder: Path) -> Path:
    conf = folder / "trytond.conf"
    conf.write_text(
        "[database]\n"
        "uri = sqlite://\n"
        f"path = {folder}\n"
        # Concurrent writers on SQLite get "database is locked"; let trytond retry them.
        "retry = 10\n"
        "[session]\n"
        # Hash cost of the login is paid once per session; keep the default algorithm.
        "max_attempt = 50\n"
        "[password]\n"
        "entropy = 0\n"
    )
    return conf


def _checkpoint(db_file: Path) -> None:
    with contextlib.closing(sqlite3.connect(db_file)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")


@dataclass(frozen=True)
class Template:
    folder: Path
    ids: TrytonIds

    @property
    def db_file(self) -> Path:
        return self.folder / f"{DATABASE}.sqlite"


def ensure_template(*, log=None) -> Template:
    """Return the cached template, building it first if needed (serialised by a file lock)."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    key = template_key()
    final = root / key
    with open(root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (final / "ids.json").exists():
            building = Path(tempfile.mkdtemp(prefix=f"{key}.build-", dir=root))
            try:
                _build(building, log=log)
                building.chmod(0o755)  # mkdtemp made it 0700; other users may share the cache
                if final.exists():
                    shutil.rmtree(final)
                os.replace(building, final)
            finally:
                shutil.rmtree(building, ignore_errors=True)
    ids = TrytonIds(**json.loads((final / "ids.json").read_text()))
    return Template(folder=final, ids=ids)


def _run(cmd: list[str], *, env: dict[str, str], log_file: Path) -> None:
    with open(log_file, "ab") as out:
        proc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
    if proc.returncode:
        tail = log_file.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({proc.returncode}):\n{tail}")


def _build(folder: Path, *, log=None) -> None:
    conf = _write_config(folder)
    db_file = folder / f"{DATABASE}.sqlite"
    db_file.touch()  # the SQLite backend refuses to initialise a file that does not exist
    passfile = folder / "passfile"
    passfile.write_text(ADMIN_PASSWORD + "\n")
    env = {**os.environ, "TRYTONPASSFILE": str(passfile)}
    log_file = folder / "build.log"
    started = time.monotonic()
    _run(
        [_bin("trytond-admin"), "-c", str(conf), "-d", DATABASE, "--email", "admin@example.com",
         "-u", *MODULES, "--activate-dependencies"],
        env=env, log_file=log_file,
    )
    if log:
        log(f"trytond-admin: {time.monotonic() - started:.1f} s")
    started = time.monotonic()
    _run(
        [sys.executable, "-m", "tests.servers.tryton", "_setup", "--config", str(conf),
         "--out", str(folder / "ids.json.tmp")],
        env=env, log_file=log_file,
    )
    if log:
        log(f"setup script: {time.monotonic() - started:.1f} s")
    passfile.unlink()
    _checkpoint(db_file)
    (folder / "ids.json.tmp").rename(folder / "ids.json")


def _setup(config_path: str, out: str) -> None:
    """Create company, chart, fiscal years, taxes and journals through trytond's Python API.

    Runs in its own process (trytond keeps global state per process) as the root user (0).
    """
    import datetime as dt
    from decimal import Decimal

    from trytond import config

    config.update_etc(config_path)
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    Pool.start()
    pool = Pool(DATABASE)
    pool.init()
    with Transaction().start(DATABASE, 0) as transaction:
        Currency = pool.get("currency.currency")
        Party = pool.get("party.party")
        Company = pool.get("company.company")
        User = pool.get("res.user")
        ModelData = pool.get("ir.model.data")

        eur, = Currency.create([{
            "name": "Euro", "code": "EUR", "symbol": "€", "rounding": Decimal("0.01"),
            "digits": 2,
        }])
        company_party, = Party.create([{"name": COMPANY_NAME}])
        company, = Company.create([{
            "party": company_party.id, "currency": eur.id, "timezone": "Europe/Berlin",
        }])
        admin, = User.search([("login", "=", ADMIN_USER)])
        User.write([admin], {"companies": [("add", [company.id])], "company": company.id})
        transaction.commit()

    from trytond.transaction import TransactionError

    extras: dict = {}
    while True:
        with Transaction().start(
                DATABASE, 0, context={"company": company.id}, **extras) as transaction:
            try:
                ids = _setup_accounting(pool, company_id=company.id)
            except TransactionError as err:
                # Singletons (account configuration) ask for a table lock the way the RPC
                # dispatcher grants it: roll back and start again with the lock requested.
                transaction.rollback()
                err.fix(extras)
                continue
            ids.update(company=company.id, company_party=company_party.id, currency=eur.id)
            transaction.commit()
            break
    Path(out).write_text(json.dumps(ids, indent=2))


def _setup_accounting(pool, *, company_id: int) -> dict[str, int]:
    import datetime as dt
    from decimal import Decimal

    ModelData = pool.get("ir.model.data")
    Company = pool.get("company.company")
    AccountTemplate = pool.get("account.account.template")
    Account = pool.get("account.account")
    CreateChart = pool.get("account.create_chart", type="wizard")
    FiscalYear = pool.get("account.fiscalyear")
    SequenceStrict = pool.get("ir.sequence.strict")
    SequenceType = pool.get("ir.sequence.type")
    Tax = pool.get("account.tax")
    Journal = pool.get("account.journal")
    Bank = pool.get("bank")
    BankAccount = pool.get("bank.account")
    Party = pool.get("party.party")
    PaymentJournal = pool.get("account.payment.journal")

    company = Company(company_id)

    # The create_chart wizard, driven step by step as the client would.
    template = AccountTemplate(ModelData.get_id("account", "account_template_root_en"))
    session_id, _, _ = CreateChart.create()
    wizard = CreateChart(session_id)
    wizard.account.account_template = template
    wizard.account.company = company
    wizard.transition_create_account()

    def account(code: str):
        found, = Account.search([("code", "=", code), ("company", "=", company_id)])
        return found

    payable = account("2.1.1")  # Trade Payables
    receivable = account("1.2.1")
    expense = account("5.1.3")  # Services
    tax_account = account("6.3.4")
    revenue_accounts = Account.search([("type.revenue", "=", True)], limit=1)
    wizard.properties.company = company
    wizard.properties.account_payable = payable
    wizard.properties.account_receivable = receivable
    if hasattr(wizard.properties, "category_account_expense"):
        wizard.properties.category_account_expense = expense
    if hasattr(wizard.properties, "category_account_revenue") and revenue_accounts:
        wizard.properties.category_account_revenue = revenue_accounts[0]
    wizard.transition_create_properties()

    move_type = SequenceType(ModelData.get_id("account", "sequence_type_account_move"))
    invoice_type = SequenceType(ModelData.get_id("account_invoice", "sequence_type_account_invoice"))
    for year in FISCAL_YEARS:
        move_seq, = SequenceStrict.create([{
            "name": f"Moves {year}", "sequence_type": move_type.id, "company": company_id,
        }])
        strict = {}
        for kind in ("in_invoice", "in_credit_note", "out_invoice", "out_credit_note"):
            prefix = {"in_invoice": "SI", "in_credit_note": "SC", "out_invoice": "CI",
                      "out_credit_note": "CC"}[kind]
            seq, = SequenceStrict.create([{
                "name": f"{kind} {year}", "sequence_type": invoice_type.id,
                "company": company_id, "prefix": f"{prefix}{year}-", "padding": 5,
            }])
            strict[f"{kind}_sequence"] = seq.id
        fiscalyear, = FiscalYear.create([{
            "name": str(year), "start_date": dt.date(year, 1, 1),
            "end_date": dt.date(year, 12, 31), "company": company_id,
            "move_sequence": move_seq.id,
            "invoice_sequences": [("create", [{"company": company_id, **strict}])],
        }])
        FiscalYear.create_period([fiscalyear])

    taxes = {}
    for rate in ("19", "7"):
        tax, = Tax.create([{
            "name": f"Input VAT {rate} %", "description": f"Input VAT {rate} %",
            "type": "percentage", "rate": Decimal(rate) / 100, "company": company_id,
            "invoice_account": tax_account.id, "credit_note_account": tax_account.id,
        }])
        taxes[rate] = tax.id

    expense_journal = Journal(ModelData.get_id("account", "journal_expense"))

    bank_party, = Party.create([{"name": "Commerzbank Test"}])
    bank, = Bank.create([{"party": bank_party.id, "bic": "COBADEFFXXX"}])
    bank_account, = BankAccount.create([{
        "bank": bank.id, "owners": [("add", [company.party.id])], "currency": company.currency.id,
        "numbers": [("create", [{"type": "iban", "number": COMPANY_IBAN}])],
    }])
    payment_journal, = PaymentJournal.create([{
        "name": "SEPA EUR", "currency": company.currency.id, "company": company_id,
        "process_method": "sepa", "sepa_bank_account_number": bank_account.numbers[0].id,
        "sepa_payable_flavor": "pain.001.001.03", "sepa_receivable_flavor": "pain.008.001.02",
    }])
    return {
        "payable_account": payable.id,
        "expense_account": expense.id,
        "tax_account": tax_account.id,
        "expense_journal": expense_journal.id,
        "tax_19": taxes["19"],
        "tax_7": taxes["7"],
        "payment_journal": payment_journal.id,
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TrytonServer:
    """One trytond process on a private copy of the template. Use as a context manager."""

    def __init__(self, template: Template | None = None):
        self.template = template or ensure_template()
        self.folder: Path | None = None
        self.process: subprocess.Popen | None = None
        self.instance: TrytonInstance | None = None

    def start(self) -> TrytonInstance:
        self.folder = Path(tempfile.mkdtemp(prefix="ap-tryton-"))
        shutil.copyfile(self.template.db_file, self.folder / self.template.db_file.name)
        conf = _write_config(self.folder)
        last_error: Exception | None = None
        for _attempt in range(3):  # the free port may be taken between probe and bind
            port = free_port()
            env = {**os.environ, "TRYTOND_WEB__LISTEN": f"127.0.0.1:{port}"}
            env.pop("TRYTOND_CONFIG", None)
            self._log = open(self.folder / "server.log", "ab")
            self.process = subprocess.Popen(
                [_bin("trytond"), "-c", str(conf), "-d", DATABASE],
                env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
            )
            url = f"http://127.0.0.1:{port}"
            try:
                self._wait_ready(url)
            except RuntimeError as err:
                last_error = err
                self._terminate()
                continue
            self.instance = TrytonInstance(
                url=url, database=DATABASE, user=ADMIN_USER, password=ADMIN_PASSWORD,
                ids=self.template.ids, pid=self.process.pid,
            )
            return self.instance
        raise RuntimeError(f"trytond did not start: {last_error}")

    def _wait_ready(self, url: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        body = {"id": 0, "method": "common.server.version", "params": []}
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"exited with {self.process.returncode}: {self.log_tail()}")
            try:
                resp = requests.post(f"{url}/rpc/", json=body, timeout=2)
                if resp.ok and "result" in resp.json():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"not ready after {START_TIMEOUT} s: {self.log_tail()}")

    @property
    def db_file(self) -> Path:
        """The live SQLite file (tests may read it directly, e.g. to time a SIGSTOP)."""
        return self.folder / f"{DATABASE}.sqlite"

    def log_tail(self, chars: int = 3000) -> str:
        if self.folder is None:
            return ""
        log = self.folder / "server.log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else ""

    def pause(self) -> None:
        """SIGSTOP the server: requests then hang until ``resume`` (for timeout tests)."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def _terminate(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
        self.process = None

    def stop(self) -> None:
        self._terminate()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> TrytonInstance:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.servers.tryton")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build the template database (or reuse the cached one)")
    sub.add_parser("serve", help="serve a fresh copy of the template until interrupted")
    setup = sub.add_parser("_setup", help=argparse.SUPPRESS)
    setup.add_argument("--config", required=True)
    setup.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    def log(msg: str) -> None:
        sys.stderr.write(msg + "\n")

    if args.command == "_setup":
        _setup(args.config, args.out)
        return 0
    started = time.monotonic()
    template = ensure_template(log=log)
    log(f"template {template.folder} ready in {time.monotonic() - started:.1f} s")
    if args.command == "build":
        return 0
    server = TrytonServer(template)
    started = time.monotonic()
    instance = server.start()
    log(f"server started in {time.monotonic() - started:.2f} s")
    sys.stdout.write(json.dumps({**asdict(instance), "ids": asdict(instance.ids)}) + "\n")
    sys.stdout.flush()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
