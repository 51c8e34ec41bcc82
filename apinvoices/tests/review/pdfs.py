"""An invoice layout the generic text reader gets wrong: the number is labelled "Ref. doc."."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas


def odd_layout_pdf(*, number: str, order: str = "4711", day: str = "12.03.2024") -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont("Helvetica-Bold", 16)
    c.drawString(50, 800, "Quirky Supplies GmbH")
    c.setFont("Helvetica", 10)
    c.drawString(50, 785, "Hauptstr. 1, 10115 Berlin  USt-IdNr. DE136695976")
    c.drawString(50, 740, "Rechnung")
    c.drawString(50, 720, f"Order {order} Ref. doc. {number}")
    c.drawString(50, 705, f"Datum: {day}")
    c.drawString(50, 600, "Pos  Beschreibung            Betrag")
    c.drawString(50, 585, "1    Beratung                 100,00")
    c.drawString(50, 540, "Summe netto EUR 100,00")
    c.drawString(50, 525, "MwSt 19 % EUR 19,00")
    c.drawString(50, 510, "Gesamtbetrag EUR 119,00")
    c.drawString(50, 480, "IBAN DE89 3704 0044 0532 0130 00")
    c.showPage()
    c.save()
    return buf.getvalue()
