"""NACHA ACH writer: record layout, counts, hashes, totals, blocking and refusals."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal

import pytest

from erp_integration.payments import PaymentFileError
from erp_integration.payments.nacha import (
    NachaBatch,
    NachaEntry,
    NachaFile,
    NachaOriginator,
    aba_check_digit,
    build_nacha,
    is_valid_routing_number,
    verify_nacha,
)

ORIGINATOR = NachaOriginator(odfi_routing_number="021000021", bank_name="JPMORGAN CHASE",
                             company_name="ACME CORP", company_id="1234567890")


def entry(i: int, amount: str, *, routing: str = "026009593", addenda: str = "",
          **changes) -> NachaEntry:
    base = NachaEntry(routing_number=routing, account_number=f"00012345{i:04d}",
                      amount=Decimal(amount), receiver_name=f"Vendor {i} LLC",
                      receiver_id=f"V{i:05d}", addenda=addenda)
    return dataclasses.replace(base, **changes)


def ach_file(*batches: NachaBatch) -> NachaFile:
    return NachaFile(originator=ORIGINATOR, batches=batches,
                     created_at=datetime(2026, 3, 2, 14, 5))


def lines_of(data: bytes) -> list[str]:
    assert data.endswith(b"\n")
    return data.decode("ascii").split("\n")[:-1]


@pytest.mark.parametrize("routing", ["021000021", "026009593", "011000015", "091000019",
                                     "122105278"])
def test_known_routing_numbers_pass_the_check_digit(routing):
    assert is_valid_routing_number(routing)
    assert aba_check_digit(routing[:8]) == int(routing[8])


@pytest.mark.parametrize("routing", ["021000022", "02100002", "0210000211", "02100002A", ""])
def test_wrong_routing_numbers_fail(routing):
    assert not is_valid_routing_number(routing)


def test_records_are_94_chars_blocked_by_10_and_padded_with_nines():
    batch = NachaBatch(effective_date=date(2026, 3, 4), entries=(
        entry(1, "1500.00", addenda="INV-1001 INV-1002"), entry(2, "0.01")))
    lines = lines_of(build_nacha(ach_file(batch)))

    assert all(len(line) == 94 for line in lines)
    # header, batch header, 2 entries, 1 addenda, batch control, file control = 7 -> 10
    assert len(lines) == 10
    assert [line[0] for line in lines[:7]] == list("1567689")
    assert lines[7:] == ["9" * 94] * 3


def test_header_fields_sit_at_their_positions():
    batch = NachaBatch(effective_date=date(2026, 3, 4), entries=(entry(1, "1500.00"),),
                       entry_description="VENDOR PAY")
    header, batch_header, detail = lines_of(build_nacha(ach_file(batch)))[:3]

    assert header[:3] == "101" and header[3:13] == " 021000021" and header[13:23] == "1234567890"
    assert header[23:29] == "260302" and header[29:33] == "1405" and header[33] == "A"
    assert header[34:40] == "094101"
    assert header[40:63] == "JPMORGAN CHASE".ljust(23) and header[63:86] == "ACME CORP".ljust(23)
    assert batch_header[1:4] == "220" and batch_header[4:20] == "ACME CORP".ljust(16)
    assert batch_header[40:50] == "1234567890" and batch_header[50:53] == "CCD"
    assert batch_header[53:63] == "VENDOR PAY" and batch_header[69:75] == "260304"
    assert batch_header[78] == "1" and batch_header[79:87] == "02100002"
    assert batch_header[87:94] == "0000001"
    assert detail[1:3] == "22" and detail[3:11] == "02600959" and detail[11] == "3"
    assert detail[12:29] == "000123450001".ljust(17) and detail[29:39] == "0000150000"
    assert detail[39:54] == "V00001".ljust(15) and detail[54:76] == "VENDOR 1 LLC".ljust(22)
    assert detail[78] == "0" and detail[79:94] == "021000020000001"


def test_addenda_links_to_its_entry_by_trace_sequence():
    batch = NachaBatch(effective_date=date(2026, 3, 4), entries=(
        entry(1, "10.00"), entry(2, "20.00", addenda="RMR*IV*INV-7*20.00\\")))
    lines = lines_of(build_nacha(ach_file(batch)))
    detail, addenda = lines[3], lines[4]
    assert detail[78] == "1"
    assert addenda[:3] == "705" and addenda[3:83] == "RMR*IV*INV-7*20.00\\".ljust(80)
    assert addenda[83:87] == "0001" and addenda[87:94] == detail[-7:] == "0000002"


def test_controls_carry_counts_hash_and_totals_across_batches():
    first = NachaBatch(effective_date=date(2026, 3, 4), entries=(
        entry(1, "100.25", routing="021000021", addenda="INV-1"),
        entry(2, "200.50", routing="091000019", account_type="savings")))
    second = NachaBatch(effective_date=date(2026, 3, 5), sec_code="PPD", entries=(
        entry(3, "0.99", routing="122105278"),))
    lines = lines_of(build_nacha(ach_file(first, second)))
    controls = [line for line in lines if line[0] == "8"]
    file_control = next(line for line in lines if line[0] == "9" and line != "9" * 94)

    assert controls[0][4:10] == "000003"  # two entries + one addenda
    assert controls[0][10:20] == str(2100002 + 9100001).zfill(10)
    assert controls[0][20:32] == "0" * 12 and controls[0][32:44] == "000000030075"
    assert controls[0][87:94] == "0000001"
    assert controls[1][4:10] == "000001" and controls[1][32:44] == "000000000099"
    assert controls[1][10:20] == "0012210527"
    assert file_control[1:7] == "000002"  # batches
    assert file_control[7:13] == str(len(lines) // 10).zfill(6)  # blocks
    assert file_control[13:21] == "00000004"
    assert file_control[21:31] == str(2100002 + 9100001 + 12210527).zfill(10)
    assert file_control[43:55] == "000000030174"
    traces = [line[79:94] for line in lines if line[0] == "6"]
    assert traces == ["021000020000001", "021000020000002", "021000020000003"]
    assert [line[1:3] for line in lines if line[0] == "6"] == ["22", "32", "22"]


def test_entry_hash_keeps_only_the_last_ten_digits():
    routing = "99999999" + str(aba_check_digit("99999999"))
    batch = NachaBatch(effective_date=date(2026, 3, 4),
                       entries=tuple(entry(i, "1.00", routing=routing) for i in range(200)))
    lines = lines_of(build_nacha(ach_file(batch)))
    control = next(line for line in lines if line[0] == "8")
    assert 200 * 99999999 == 19_999_999_800
    assert control[10:20] == "9999999800"
    assert len(lines) % 10 == 0 and len(lines) == 210  # 204 records + 6 padding


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"receiver_name": "Müller Bürobedarf"}, "printable ASCII"),
    ({"receiver_name": "A Very Long Vendor Name Incorporated"}, "longer than 22"),
    ({"account_number": "1" * 18}, "longer than 17"),
    ({"addenda": "x" * 81}, "longer than 80"),
    ({"routing_number": "021000022"}, "not a valid ABA routing number"),
    ({"amount": Decimal("1.001")}, "more than two decimals"),
    ({"amount": Decimal("0.00")}, "between 0.01"),
    ({"amount": Decimal("100000000.00")}, "between 0.01"),
    ({"receiver_name": "Tab\tCo"}, "printable ASCII"),
])
def test_bad_fields_are_refused_clearly(changes, fragment):
    batch = NachaBatch(effective_date=date(2026, 3, 4),
                       entries=(entry(1, "1.00"), dataclasses.replace(entry(2, "2.00"), **changes)))
    with pytest.raises(PaymentFileError) as excinfo:
        build_nacha(ach_file(batch))
    assert fragment in str(excinfo.value) and "batch 1 entry 2" in str(excinfo.value)


def test_bad_originator_and_batch_are_refused():
    batch = NachaBatch(effective_date=date(2026, 3, 4), entries=(entry(1, "1.00"),))
    with pytest.raises(PaymentFileError, match="ODFI routing"):
        build_nacha(dataclasses.replace(ach_file(batch), originator=dataclasses.replace(
            ORIGINATOR, odfi_routing_number="123456789")))
    with pytest.raises(PaymentFileError, match="company name"):
        build_nacha(dataclasses.replace(ach_file(batch), originator=dataclasses.replace(
            ORIGINATOR, company_name="ACME CORPORATION INC")))
    with pytest.raises(PaymentFileError, match="SEC code"):
        build_nacha(ach_file(dataclasses.replace(batch, sec_code="WEB")))
    with pytest.raises(PaymentFileError, match="no entries"):
        build_nacha(ach_file(dataclasses.replace(batch, entries=())))


def test_crlf_line_endings_when_the_bank_wants_them():
    batch = NachaBatch(effective_date=date(2026, 3, 4), entries=(entry(1, "1.00"),))
    data = build_nacha(dataclasses.replace(ach_file(batch), line_ending="\r\n"))
    lines = data.split(b"\r\n")[:-1]
    assert len(lines) == 10 and all(len(line) == 94 for line in lines)


def test_verify_accepts_a_built_file_and_reports_its_totals():
    first = NachaBatch(effective_date=date(2026, 3, 4), entries=(
        entry(1, "100.25", addenda="INV-1"), entry(2, "200.50")))
    second = NachaBatch(effective_date=date(2026, 3, 5), entries=(entry(3, "0.99"),))
    summary = verify_nacha(build_nacha(ach_file(first, second)))
    assert (summary.batches, summary.entries, summary.addenda) == (2, 3, 1)
    assert summary.total_credit_cents == 30174 and summary.total_debit_cents == 0
    assert summary.entry_hash == 3 * 2600959 and summary.blocks == 1


@pytest.mark.parametrize(("tamper", "fragment"), [
    (lambda ls: ls[:3] + [ls[3][:29] + "0000150001" + ls[3][39:]] + ls[4:], "batch control"),
    (lambda ls: ls[:-1], "not a multiple of 10"),
    (lambda ls: ls[:2] + [ls[2] + " "] + ls[3:], "95 characters"),
    (lambda ls: ls[:2] + [ls[2][:11] + "4" + ls[2][12:]] + ls[3:], "check digit"),
])
def test_verify_catches_tampering(tamper, fragment):
    batch = NachaBatch(effective_date=date(2026, 3, 4),
                       entries=(entry(1, "1500.00"), entry(2, "2.00")))
    lines = lines_of(build_nacha(ach_file(batch)))
    tampered = ("\n".join(tamper(lines)) + "\n").encode("ascii")
    with pytest.raises(PaymentFileError, match=fragment):
        verify_nacha(tampered)


def test_nine_digit_immediate_origin_is_right_justified():
    batch = NachaBatch(effective_date=date(2026, 3, 4), entries=(entry(1, "1.00"),))
    origin = dataclasses.replace(ORIGINATOR, immediate_origin="021000021")
    header = lines_of(build_nacha(dataclasses.replace(ach_file(batch), originator=origin)))[0]
    assert header[13:23] == " 021000021"
