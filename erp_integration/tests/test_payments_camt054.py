"""camt.054 notifications parse into per-transaction entries; hostile XML is refused."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from erp_integration.payments import PaymentFileError
from erp_integration.payments.camt054 import parse_camt054, payment_outcomes

# A debit notification as a German bank sends it the day after executing our pain.001 run: one
# batch-booked entry (two transfers) and one single booking that was later returned.
CAMT_054_001_02 = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"
          xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr>
      <MsgId>052C2026040200001</MsgId>
      <CreDtTm>2026-04-02T06:12:44+02:00</CreDtTm>
    </GrpHdr>
    <Ntfctn>
      <Id>052C2026040200001-1</Id>
      <CreDtTm>2026-04-02T06:12:44+02:00</CreDtTm>
      <Acct>
        <Id><IBAN>DE89370400440532013000</IBAN></Id>
        <Ccy>EUR</Ccy>
        <Svcr><FinInstnId><BIC>COBADEFFXXX</BIC></FinInstnId></Svcr>
      </Acct>
      <Ntry>
        <Amt Ccy="EUR">1146.97</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-04-01</Dt></BookgDt>
        <ValDt><Dt>2026-04-01</Dt></ValDt>
        <AcctSvcrRef>2026040100123456</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <Btch><NbOfTxs>2</NbOfTxs></Btch>
          <TxDtls>
            <Refs>
              <MsgId>20260331120000-a1b2c3d4e5f6</MsgId>
              <PmtInfId>APWorkbenchGmbH-0a1b2c3d4e5f</PmtInfId>
              <EndToEndId>AP-2026-00001</EndToEndId>
            </Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">146.97</Amt></TxAmt></AmtDtls>
            <RltdPties>
              <Cdtr><Nm>Buro Muller GmbH</Nm></Cdtr>
              <CdtrAcct><Id><IBAN>FR1420041010050500013M02606</IBAN></Id></CdtrAcct>
            </RltdPties>
            <RmtInf><Ustrd>INV-2026-001</Ustrd></RmtInf>
          </TxDtls>
          <TxDtls>
            <Refs>
              <PmtInfId>APWorkbenchGmbH-0a1b2c3d4e5f</PmtInfId>
              <EndToEndId>AP-2026-00002</EndToEndId>
            </Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">1000.00</Amt></TxAmt></AmtDtls>
            <RltdPties><Cdtr><Nm>Papier AG</Nm></Cdtr></RltdPties>
            <RmtInf><Ustrd>INV-77</Ustrd><Ustrd>INV-78</Ustrd></RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">250.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <RvslInd>true</RvslInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-04-03</Dt></BookgDt>
        <ValDt><DtTm>2026-04-03T00:00:00+02:00</DtTm></ValDt>
        <AcctSvcrRef>2026040300999</AcctSvcrRef>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>AP-2026-00003</EndToEndId></Refs>
            <RmtInf><Ustrd>RETURN AC04 CLOSED ACCOUNT</Ustrd></RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">4.90</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-04-01</Dt></BookgDt>
      </Ntry>
    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>
"""

CAMT_054_001_08 = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr><MsgId>N-1</MsgId><CreDtTm>2026-04-02T06:00:00</CreDtTm></GrpHdr>
    <Ntfctn>
      <Id>N-1-1</Id>
      <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
      <Ntry>
        <Amt Ccy="EUR">99.99</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts><Cd>PDNG</Cd></Sts>
        <BookgDt><DtTm>2026-04-02T09:30:00+02:00</DtTm></BookgDt>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>AP-2026-00004</EndToEndId></Refs>
            <Amt Ccy="EUR">99.99</Amt>
            <CdtDbtInd>DBIT</CdtDbtInd>
            <RltdPties><Cdtr><Pty><Nm>Toner Direct</Nm></Pty></Cdtr></RltdPties>
          </TxDtls>
        </NtryDtls>
      </Ntry>
    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>
"""


def test_batch_booking_yields_one_entry_per_transfer():
    entries = parse_camt054(CAMT_054_001_02)

    assert [e.end_to_end_id for e in entries] == ["AP-2026-00001", "AP-2026-00002",
                                                  "AP-2026-00003", ""]
    first, second, _returned, _fee = entries
    assert first.amount == Decimal("146.97") and first.currency == "EUR"
    assert isinstance(first.amount, Decimal)
    assert first.booking_date == date(2026, 4, 1) and first.value_date == date(2026, 4, 1)
    assert (first.status, first.credit_debit, first.reversal) == ("BOOK", "DBIT", False)
    assert first.creditor_name == "Buro Muller GmbH" and first.remittance == "INV-2026-001"
    assert first.payment_info_id == "APWorkbenchGmbH-0a1b2c3d4e5f"
    assert first.account_iban == "DE89370400440532013000"
    assert first.account_servicer_ref == "2026040100123456"
    assert second.amount == Decimal("1000.00") and second.remittance == "INV-77 INV-78"
    assert sum(e.amount for e in entries[:2]) == Decimal("1146.97")


def test_single_transaction_takes_the_entry_amount_and_reversal_is_flagged():
    returned = parse_camt054(CAMT_054_001_02)[2]
    assert returned.amount == Decimal("250.00") and returned.credit_debit == "CRDT"
    assert returned.reversal and returned.value_date == date(2026, 4, 3)
    fee = parse_camt054(CAMT_054_001_02)[3]
    assert fee.amount == Decimal("4.90") and fee.end_to_end_id == ""


def test_newer_version_with_status_code_and_datetime_booking():
    (entry,) = parse_camt054(CAMT_054_001_08)
    assert entry.status == "PDNG" and entry.booking_date == date(2026, 4, 2)
    assert entry.end_to_end_id == "AP-2026-00004" and entry.amount == Decimal("99.99")
    assert entry.creditor_name == "Toner Direct"


def test_entity_expansion_and_external_entities_are_refused():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">&lol2;</Document>')
    with pytest.raises(PaymentFileError, match="not safe"):
        parse_camt054(bomb)
    xxe = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">&x;</Document>')
    with pytest.raises(PaymentFileError, match="not safe"):
        parse_camt054(xxe)


def test_other_documents_are_refused():
    with pytest.raises(PaymentFileError, match="not a camt.054"):
        parse_camt054(b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>')
    with pytest.raises(PaymentFileError, match="well-formed"):
        parse_camt054(b"<Document>")
    with pytest.raises(PaymentFileError, match="is not a number"):
        parse_camt054(CAMT_054_001_08.replace(b">99.99</Amt>\n        <CdtDbtInd>",
                                              b">9x.99</Amt>\n        <CdtDbtInd>"))


def test_outcomes_say_which_transfers_were_paid_returned_or_pending():
    entries = parse_camt054(CAMT_054_001_02) + parse_camt054(CAMT_054_001_08)
    assert payment_outcomes(entries) == {
        "AP-2026-00001": "paid", "AP-2026-00002": "paid",
        "AP-2026-00003": "returned", "AP-2026-00004": "pending"}


def test_a_return_wins_over_an_earlier_or_later_debit():
    entries = parse_camt054(CAMT_054_001_02)
    paid_then_returned = [entries[0], dataclasses.replace(
        entries[2], end_to_end_id="AP-2026-00001", reversal=False, credit_debit="CRDT")]
    assert payment_outcomes(paid_then_returned) == {"AP-2026-00001": "returned"}
    assert payment_outcomes(paid_then_returned[::-1]) == {"AP-2026-00001": "returned"}
