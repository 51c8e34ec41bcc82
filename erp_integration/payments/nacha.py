"""NACHA (ACH) credit files for paying US vendors.

Our own writer: the PyPI NACHA packages are abandoned. ``build_nacha`` guarantees:
- every record is exactly 94 ASCII characters; the file is blocked by 10 and padded with
  all-'9' records;
- batch and file control records carry the right entry/addenda counts, entry hash (sum of the
  8-digit receiving DFI ids, last 10 digits) and credit/debit totals in cents;
- every routing number passes the ABA check digit (weights 3, 7, 1);
- a field that is not printable ASCII or does not fit its width raises ``PaymentFileError``
  naming the record and field; nothing is silently truncated or transliterated.

Only credits are written (service class 220: we pay vendors). Banks that want a balanced file
(an offsetting debit to our own account) are not supported yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from erp_integration.payments import PaymentFileError

RECORD_SIZE = 94
BLOCKING_FACTOR = 10
MAX_AMOUNT_CENTS = 9_999_999_999  # ten digits in the entry's amount field
SERVICE_CLASS_CREDITS_ONLY = "220"
TRANSACTION_CODES = {"checking": "22", "savings": "32"}  # automated deposit (credit)


def aba_check_digit(first_eight: str) -> int:
    """The ninth digit of an ABA routing number for its first eight digits."""
    weights = (3, 7, 1, 3, 7, 1, 3, 7)
    total = sum(int(d) * w for d, w in zip(first_eight, weights, strict=True))
    return (10 - total % 10) % 10


def is_valid_routing_number(value: str) -> bool:
    return (len(value) == 9 and value.isascii() and value.isdigit()
            and aba_check_digit(value[:8]) == int(value[8]))


@dataclass(frozen=True)
class NachaOriginator:
    """Us, and the bank (ODFI) that sends our file into the ACH network."""

    odfi_routing_number: str  # our bank's 9-digit routing number
    bank_name: str  # Immediate Destination Name, ≤ 23
    company_name: str  # ≤ 16, shown on the vendor's statement
    company_id: str  # ≤ 10, as assigned by the bank (often "1" + EIN)
    immediate_origin: str = ""  # 10 characters; defaults to company_id
    immediate_origin_name: str = ""  # ≤ 23; defaults to company_name


@dataclass(frozen=True)
class NachaEntry:
    routing_number: str  # the vendor's bank, 9 digits with check digit
    account_number: str  # ≤ 17
    amount: Decimal  # USD
    receiver_name: str  # ≤ 22
    receiver_id: str = ""  # ≤ 15, e.g. our vendor number
    account_type: Literal["checking", "savings"] = "checking"
    addenda: str = ""  # ≤ 80: remittance, e.g. invoice numbers


@dataclass(frozen=True)
class NachaBatch:
    effective_date: date
    entries: tuple[NachaEntry, ...]
    sec_code: Literal["CCD", "PPD"] = "CCD"  # CCD: to a business, PPD: to a person
    entry_description: str = "VENDOR PAY"  # ≤ 10, shown on the vendor's statement
    discretionary_data: str = ""  # ≤ 20


@dataclass(frozen=True)
class NachaFile:
    originator: NachaOriginator
    batches: tuple[NachaBatch, ...]
    created_at: datetime
    file_id_modifier: str = "A"  # A–Z/0–9: distinguishes files sent on the same day
    reference_code: str = ""  # ≤ 8
    line_ending: str = field(default="\n")


def _alpha(value: str, width: int, *, what: str) -> str:
    if not value.isascii() or not value.isprintable():
        raise PaymentFileError(f"{what}: {value!r} must be printable ASCII")
    if len(value) > width:
        raise PaymentFileError(f"{what}: {value!r} is longer than {width} characters")
    return value.upper().ljust(width)


def _numeric(value: int | str, width: int, *, what: str) -> str:
    text = str(value)
    if not (text.isascii() and text.isdigit()):
        raise PaymentFileError(f"{what}: {value!r} must be digits")
    if len(text) > width:
        raise PaymentFileError(f"{what}: {value!r} does not fit {width} digits")
    return text.zfill(width)


def _routing(value: str, *, what: str) -> str:
    if not is_valid_routing_number(value):
        raise PaymentFileError(f"{what}: {value!r} is not a valid ABA routing number "
                               f"(9 digits, check digit per weights 3-7-1)")
    return value


def _cents(amount: Decimal, *, what: str) -> int:
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise PaymentFileError(f"{what}: amount {amount} has more than two decimals")
    if not 0 < cents <= MAX_AMOUNT_CENTS:
        raise PaymentFileError(f"{what}: amount {amount} must be between 0.01 and "
                               f"{Decimal(MAX_AMOUNT_CENTS) / 100}")
    return int(cents)


def _record(*fields: str) -> str:
    record = "".join(fields)
    assert len(record) == RECORD_SIZE, (len(record), record)  # a bug here, not bad input
    return record


def build_nacha(file: NachaFile) -> bytes:
    """The ACH file for ``file``; see the module docstring for what is guaranteed."""
    origin = file.originator
    odfi = _routing(origin.odfi_routing_number, what="originator ODFI routing number")
    if not file.batches:
        raise PaymentFileError("an ACH file needs at least one batch")
    immediate_origin = origin.immediate_origin or origin.company_id
    records = [_record(
        "1", "01",
        " " + odfi,
        # Right-justified: a 9-digit routing number as origin becomes " 021000021".
        _alpha(immediate_origin, 10, what="file header immediate origin").strip().rjust(10),
        file.created_at.strftime("%y%m%d"),
        file.created_at.strftime("%H%M"),
        _alpha(file.file_id_modifier, 1, what="file id modifier"),
        "094", "10", "1",
        _alpha(origin.bank_name, 23, what="immediate destination name"),
        _alpha(origin.immediate_origin_name or origin.company_name, 23,
               what="immediate origin name"),
        _alpha(file.reference_code, 8, what="reference code"),
    )]
    file_entries = file_hash = file_credit = 0
    for batch_no, batch in enumerate(file.batches, start=1):
        where = f"batch {batch_no}"
        if batch.sec_code not in ("CCD", "PPD"):
            raise PaymentFileError(f"{where}: SEC code {batch.sec_code!r} is not CCD or PPD")
        if not batch.entries:
            raise PaymentFileError(f"{where}: has no entries")
        company_id = _alpha(origin.company_id, 10, what="company identification")
        records.append(_record(
            "5", SERVICE_CLASS_CREDITS_ONLY,
            _alpha(origin.company_name, 16, what="company name"),
            _alpha(batch.discretionary_data, 20, what=f"{where} discretionary data"),
            company_id, batch.sec_code,
            _alpha(batch.entry_description, 10, what=f"{where} entry description"),
            batch.effective_date.strftime("%y%m%d"),  # descriptive date
            batch.effective_date.strftime("%y%m%d"),
            "   ",  # settlement date: filled in by the ACH operator
            "1", odfi[:8], _numeric(batch_no, 7, what="batch number"),
        ))
        count = entry_hash = credit = 0
        for seq, entry in enumerate(batch.entries, start=1):
            what = f"{where} entry {seq} ({entry.receiver_name})"
            routing = _routing(entry.routing_number, what=f"{what} routing number")
            if entry.account_type not in TRANSACTION_CODES:
                raise PaymentFileError(f"{what}: account type {entry.account_type!r}")
            if not entry.account_number.strip():
                raise PaymentFileError(f"{what}: account number is empty")
            cents = _cents(entry.amount, what=what)
            trace = odfi[:8] + _numeric(file_entries + seq, 7, what="trace sequence")
            records.append(_record(
                "6", TRANSACTION_CODES[entry.account_type], routing[:8], routing[8],
                _alpha(entry.account_number, 17, what=f"{what} account number"),
                _numeric(cents, 10, what=f"{what} amount"),
                _alpha(entry.receiver_id, 15, what=f"{what} receiver id"),
                _alpha(entry.receiver_name, 22, what=f"{what} receiver name"),
                "  ", "1" if entry.addenda else "0", trace,
            ))
            count += 1
            entry_hash += int(routing[:8])
            credit += cents
            if entry.addenda:
                records.append(_record(
                    "7", "05", _alpha(entry.addenda, 80, what=f"{what} addenda"),
                    "0001", trace[-7:],
                ))
                count += 1
        records.append(_record(
            "8", SERVICE_CLASS_CREDITS_ONLY,
            _numeric(count, 6, what=f"{where} entry/addenda count"),
            _numeric(entry_hash % 10**10, 10, what="entry hash"),
            _numeric(0, 12, what="debit total"),
            _numeric(credit, 12, what=f"{where} credit total"),
            company_id, " " * 19, " " * 6, odfi[:8],
            _numeric(batch_no, 7, what="batch number"),
        ))
        file_entries += len(batch.entries)
        file_hash += entry_hash
        file_credit += credit
    entry_and_addenda = sum(1 for r in records if r[0] in "67")
    lines = len(records) + 1
    blocks = -(-lines // BLOCKING_FACTOR)
    records.append(_record(
        "9", _numeric(len(file.batches), 6, what="batch count"),
        _numeric(blocks, 6, what="block count"),
        _numeric(entry_and_addenda, 8, what="entry/addenda count"),
        _numeric(file_hash % 10**10, 10, what="file entry hash"),
        _numeric(0, 12, what="file debit total"),
        _numeric(file_credit, 12, what="file credit total"),
        " " * 39,
    ))
    records.extend(["9" * RECORD_SIZE] * (blocks * BLOCKING_FACTOR - len(records)))
    return (file.line_ending.join(records) + file.line_ending).encode("ascii")


@dataclass(frozen=True)
class NachaSummary:
    batches: int
    entries: int  # entry detail records
    addenda: int
    total_credit_cents: int
    total_debit_cents: int
    entry_hash: int
    blocks: int


def verify_nacha(data: bytes) -> NachaSummary:
    """Re-read an ACH file and check its structure and every control total against the records.

    Independent of ``build_nacha`` (it recomputes from the detail records), so it can check a file
    just before upload. Raises ``PaymentFileError`` naming the first broken rule.
    """
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as err:
        raise PaymentFileError(f"ACH file is not ASCII (byte {err.start})") from err
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if len(line) != RECORD_SIZE:
            raise PaymentFileError(f"line {number} has {len(line)} characters, not {RECORD_SIZE}")
    if not lines or len(lines) % BLOCKING_FACTOR:
        raise PaymentFileError(f"{len(lines)} lines is not a multiple of {BLOCKING_FACTOR}")
    if lines[0][0] != "1":
        raise PaymentFileError("the first record is not a file header (1)")
    body = [line for line in lines if line != "9" * RECORD_SIZE]
    if body[-1][0] != "9":
        raise PaymentFileError("the last record before padding is not a file control (9)")
    if any(line != "9" * RECORD_SIZE for line in lines[len(body):]):
        raise PaymentFileError("records follow the padding")

    batches = entries = addenda = credit = debit = file_hash = 0
    open_batch: dict[str, int] | None = None
    for number, line in enumerate(body[1:-1], start=2):
        kind = line[0]
        if kind == "5":
            if open_batch is not None:
                raise PaymentFileError(f"line {number}: batch header inside an open batch")
            open_batch = {"count": 0, "hash": 0, "credit": 0, "debit": 0}
            batches += 1
        elif kind in "67" and open_batch is None:
            raise PaymentFileError(f"line {number}: record {kind} outside a batch")
        elif kind == "6":
            routing = line[3:12]
            if not is_valid_routing_number(routing):
                raise PaymentFileError(f"line {number}: routing number {routing} fails its "
                                       f"check digit")
            amount = int(line[29:39])
            if line[1:3] in ("22", "32", "23", "33"):
                open_batch["credit"] += amount
            else:
                open_batch["debit"] += amount
            open_batch["count"] += 1
            open_batch["hash"] += int(line[3:11])
            entries += 1
        elif kind == "7":
            open_batch["count"] += 1
            addenda += 1
        elif kind == "8":
            if open_batch is None:
                raise PaymentFileError(f"line {number}: batch control without a batch")
            expected = (open_batch["count"], open_batch["hash"] % 10**10, open_batch["debit"],
                        open_batch["credit"])
            found = (int(line[4:10]), int(line[10:20]), int(line[20:32]), int(line[32:44]))
            if found != expected:
                raise PaymentFileError(f"line {number}: batch control says count/hash/debit/"
                                       f"credit {found}, the records give {expected}")
            file_hash += open_batch["hash"]
            credit += open_batch["credit"]
            debit += open_batch["debit"]
            open_batch = None
        else:
            raise PaymentFileError(f"line {number}: unexpected record type {kind!r}")
    if open_batch is not None:
        raise PaymentFileError("the last batch has no batch control (8)")
    control = body[-1]
    expected = (batches, len(lines) // BLOCKING_FACTOR, entries + addenda, file_hash % 10**10,
                debit, credit)
    found = (int(control[1:7]), int(control[7:13]), int(control[13:21]), int(control[21:31]),
             int(control[31:43]), int(control[43:55]))
    if found != expected:
        raise PaymentFileError(f"file control says batches/blocks/entries/hash/debit/credit "
                               f"{found}, the records give {expected}")
    return NachaSummary(batches=batches, entries=entries, addenda=addenda,
                        total_credit_cents=credit, total_debit_cents=debit,
                        entry_hash=file_hash % 10**10, blocks=len(lines) // BLOCKING_FACTOR)
