from __future__ import annotations

import pytest

from apinvoices.extraction.identifiers import (
    compact_iban,
    compact_tax_id,
    iban_from_ocr,
    is_valid_bic,
    is_valid_iban,
    is_valid_tax_id,
    normalize_bic,
    normalize_iban,
    normalize_tax_id,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("DE88 2008 0000 0970 3757 00", "DE88200800000970375700"),
        ("iban: nl57 rabo 0107 3075 10", "NL57RABO0107307510"),
        ("IBAN DE08-7009-0100-1234-5678-90", "DE08700901001234567890"),
        ("GB33BUKB20201555555555", "GB33BUKB20201555555555"),
    ],
)
def test_normalize_iban_returns_compact_upper_case(raw, expected):
    assert normalize_iban(raw) == expected
    assert is_valid_iban(raw)


@pytest.mark.parametrize(
    "raw",
    ["DE88 2008 0000 0970 3757 01", "XX", "", None, "NL57RABO0107307511", "1234567891234", "IBAN"],
)
def test_normalize_iban_rejects_bad_check_digits_and_garbage(raw):
    assert normalize_iban(raw) is None
    assert not is_valid_iban(raw)


def test_compact_iban_keeps_an_invalid_value_for_a_check_to_flag():
    assert compact_iban(" nl57 rabo 0107 3075 11 ") == "NL57RABO0107307511"
    assert compact_iban("   ") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("COBADEFFXXX", "COBADEFFXXX"), ("deut de ff", "DEUTDEFF"), ("BIC: RABONL2U", "RABONL2U")],
)
def test_normalize_bic(raw, expected):
    assert normalize_bic(raw) == expected
    assert is_valid_bic(raw)


@pytest.mark.parametrize("raw", ["DEUT", "12345678", None, "DEUTDEFF5"])
def test_normalize_bic_rejects_malformed(raw):
    assert normalize_bic(raw) is None


@pytest.mark.parametrize(
    ("raw", "hint", "expected"),
    [
        ("DE136695976", None, "DE136695976"),
        ("NL8200.98.395.B.01", None, "NL820098395B01"),
        ("VAT: FR40303265045", None, "FR40303265045"),
        ("fr 40 303 265 045", None, "FR40303265045"),
        ("136695976", "de", "DE136695976"),
        ("NO 974 760 673 MVA", None, "NO974760673MVA"),
        ("GB980780684", None, "GB980780684"),
        ("CHE-116.281.710 MWST", None, "CHE116281710MWST"),
        ("12-3456789", None, "123456789"),
        ("12-3456789", "us", "123456789"),
        ("12/345/67890", "de", "1234567890"),
    ],
)
def test_normalize_tax_id_validates_vat_ein_and_national_numbers(raw, hint, expected):
    assert normalize_tax_id(raw, hint) == expected
    assert is_valid_tax_id(raw, hint)


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        ("DE136695977", None),
        ("DE 123 456 789", None),
        ("xx", None),
        ("", None),
        (None, "de"),
        ("NO123456789MVA", None),
        ("12345", "us"),
    ],
)
def test_normalize_tax_id_rejects_bad_checksums(raw, hint):
    assert normalize_tax_id(raw, hint) is None
    assert not is_valid_tax_id(raw, hint)


def test_compact_tax_id_keeps_slashes_of_national_numbers():
    assert compact_tax_id("DE/12/345/67890") == "DE/12/345/67890"
    assert compact_tax_id(" de 123.456-789 ") == "DE123456789"


def test_an_ocr_read_iban_is_read_by_the_kind_each_position_holds():
    # Check digits and the German BBAN are digits only; the Dutch bank code is letters.
    assert iban_from_ocr("DEO4 2004 0000 0418 2736 00") == "DE04200400000418273600"
    assert iban_from_ocr("NL91 ABNA 0417 1643 OD") == "NL91ABNA0417164300"
    assert iban_from_ocr("it58 PO30 6909 6061 0000 0063 912") == (
        "IT58P0306909606100000063912"
    )


def test_an_ocr_read_iban_that_fails_the_checksum_after_reading_stays_unread():
    assert iban_from_ocr("DEO4 2004 0000 0418 2736 01") is None
    assert iban_from_ocr("DEO4 2004 0000 0418 2736") is None  # too short for DE
    # In a position that may hold a letter or a digit nothing is swapped: "O" stays "O".
    assert iban_from_ocr("IT58 P030 6909 6061 0000 OO63 912") is None
