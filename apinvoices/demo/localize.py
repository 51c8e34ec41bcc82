"""How each language prints amounts, dates and invoice labels.

Shared by the renderers and by tests that look for the printed value of a field (e.g. the
localized total) in a rendered document.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from apinvoices.demo.specs import base_language
from apinvoices.money import currency_exponent

# (thousands separator, decimal separator)
_SEPARATORS: dict[str, tuple[str, str]] = {
    "en_US": (",", "."),
    "en_GB": (",", "."),
    "de": (".", ","),
    "fr": (" ", ","),
    "nl": (".", ","),
    "es": (".", ","),
    "it": (".", ","),
}
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}

MONTHS: dict[str, tuple[str, ...]] = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre"),
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
    "it": ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
           "settembre", "ottobre", "novembre", "dicembre"),
}


def separators(language: str, currency: str) -> tuple[str, str]:
    # Swiss German writes 1'234.50 for francs; the rest of German-speaking Europe 1.234,50.
    if currency == "CHF" and base_language(language) == "de":
        return ("'", ".")
    return _SEPARATORS[language]


def format_number(
    value: Decimal, language: str, currency: str = "EUR", decimals: int | None = None
) -> str:
    """``1234.5`` -> ``1.234,50`` (de), ``1,234.50`` (en), ``1 234,50`` (fr), ``1'234.50`` (CHF)."""
    if decimals is None:
        decimals = currency_exponent(currency)
    thousands, point = separators(language, currency)
    value = Decimal(value)
    sign = "-" if value < 0 else ""
    text = f"{abs(value):,.{decimals}f}"
    text = text.replace(",", "\x00").replace(".", point).replace("\x00", thousands)
    return sign + text


def format_quantity(value: Decimal, language: str, currency: str = "EUR") -> str:
    """Quantities print without trailing zeros: 3, 7,5 (de), 7.5 (en and Swiss German)."""
    normal = Decimal(value).normalize()
    decimals = max(0, -normal.as_tuple().exponent)
    return format_number(Decimal(value), language, currency, decimals=decimals)


def format_money(value: Decimal, language: str, currency: str, style: str = "symbol") -> str:
    """An amount with its currency the way the language writes it.

    style: ``symbol`` (``1.234,56 €``, ``$1,234.56``), ``code`` (``EUR 1.234,56``) or ``none``.
    """
    number = format_number(value, language, currency)
    if style == "none":
        return number
    if style == "code" or currency == "CHF":
        return f"{currency} {number}"
    symbol = _SYMBOLS.get(currency, currency)
    lang = base_language(language)
    if lang == "en":
        if number.startswith("-"):
            return f"-{symbol}{number[1:]}"
        return f"{symbol}{number}"
    if lang in ("nl", "it"):
        return f"{symbol} {number}"
    return f"{number} {symbol}"


def format_date(value: date, language: str, style: str = "numeric") -> str:
    """``numeric`` (03.04.2025 de, 03/04/2025 UK, 04/03/2025 US, 03-04-2025 nl), ``long``
    (3. April 2025, April 3, 2025, 3 avril 2025, 3 de abril de 2025) or ``iso`` (2025-04-03)."""
    if style == "iso":
        return value.isoformat()
    lang = base_language(language)
    d, m, y = value.day, value.month, value.year
    if style == "long":
        month = MONTHS[lang][m - 1]
        if language == "en_US":
            return f"{month} {d}, {y}"
        if lang == "de":
            return f"{d}. {month} {y}"
        if lang == "es":
            return f"{d} de {month} de {y}"
        return f"{d} {month} {y}"
    if language == "en_US":
        return f"{m:02d}/{d:02d}/{y}"
    if lang == "de":
        return f"{d:02d}.{m:02d}.{y}"
    if lang == "nl":
        return f"{d:02d}-{m:02d}-{y}"
    return f"{d:02d}/{m:02d}/{y}"


def format_rate(rate: Decimal, language: str, currency: str = "EUR") -> str:
    normal = Decimal(rate).normalize()
    text = format_number(rate, language, currency, decimals=max(0, -normal.as_tuple().exponent))
    return f"{text}%" if language in ("en_US", "en_GB", "nl", "it") else f"{text} %"


# Label alternatives: index 0 is the most common wording; layouts pick a variant so that the
# same language shows up with several wordings across the corpus.
LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "de": {
        "rate": ("Satz",),
        "tax_amount": ("Steuer",),
        "invoice": ("Rechnung",),
        "credit_note": ("Gutschrift", "Rechnungskorrektur"),
        "invoice_number": ("Rechnungsnummer", "Rechnungs-Nr.", "Rechnung Nr."),
        "credit_note_number": ("Gutschriftsnummer", "Gutschrift-Nr."),
        "issue_date": ("Rechnungsdatum", "Datum"),
        "due_date": ("Fälligkeitsdatum", "Fällig am", "Zahlbar bis"),
        "delivery_date": ("Lieferdatum", "Leistungsdatum"),
        "customer_number": ("Kundennummer", "Kunden-Nr."),
        "po_number": ("Ihre Bestellung", "Bestellnummer", "Ihre Bestell-Nr."),
        "original_invoice": ("Bezug: Rechnung",),
        "bill_to": ("Rechnungsempfänger", "Rechnungsadresse"),
        "pos": ("Pos.",),
        "description": ("Bezeichnung", "Artikel / Leistung", "Beschreibung"),
        "qty": ("Menge", "Anz."),
        "unit": ("Einheit", "ME"),
        "unit_price": ("Einzelpreis", "E-Preis"),
        "amount": ("Gesamtpreis", "Betrag", "Gesamt"),
        "net_total": ("Nettobetrag", "Summe netto", "Zwischensumme"),
        "vat": ("USt.", "MwSt.", "Umsatzsteuer"),
        "total": ("Gesamtbetrag", "Rechnungsbetrag", "Summe brutto"),
        "amount_paid": ("abzüglich Anzahlung",),
        "previous_balance": ("Saldovortrag",),
        "amount_due": ("Zahlbetrag", "Offener Betrag"),
        "payment_terms": ("Zahlungsbedingungen",),
        "bank": ("Bankverbindung",),
        "vat_id": ("USt-IdNr.", "USt-ID"),
        "buyer_vat_id": ("Ihre USt-IdNr.",),
        "phone": ("Tel.",),
        "email": ("E-Mail",),
        "page": ("Seite {n} von {m}",),
        "carried": ("Übertrag",),
        "tax_base": ("Netto",),
        "continued": ("Fortsetzung",),
    },
    "fr": {
        "rate": ("Taux",),
        "tax_amount": ("Montant TVA",),
        "invoice": ("Facture",),
        "credit_note": ("Avoir",),
        "invoice_number": ("Facture n°", "N° de facture", "Numéro de facture"),
        "credit_note_number": ("Avoir n°",),
        "issue_date": ("Date de facture", "Date d'émission", "Date"),
        "due_date": ("Date d'échéance", "Échéance"),
        "delivery_date": ("Date de livraison", "Date de prestation"),
        "customer_number": ("N° client", "Code client"),
        "po_number": ("Votre commande", "N° de commande", "Réf. commande"),
        "original_invoice": ("Facture d'origine",),
        "bill_to": ("Facturé à", "Client", "Adresse de facturation"),
        "pos": ("N°",),
        "description": ("Désignation", "Description"),
        "qty": ("Qté", "Quantité"),
        "unit": ("Unité",),
        "unit_price": ("Prix unitaire HT", "P.U. HT"),
        "amount": ("Montant HT", "Total HT"),
        "net_total": ("Total HT", "Montant HT"),
        "vat": ("TVA",),
        "total": ("Total TTC", "Montant TTC", "Net à payer"),
        "amount_paid": ("Acompte versé",),
        "previous_balance": ("Solde précédent",),
        "amount_due": ("Reste à payer", "Net à payer"),
        "payment_terms": ("Conditions de paiement", "Règlement"),
        "bank": ("Coordonnées bancaires", "RIB"),
        "vat_id": ("N° TVA intracommunautaire", "TVA intracom."),
        "buyer_vat_id": ("N° TVA client",),
        "phone": ("Tél.",),
        "email": ("E-mail",),
        "page": ("Page {n} / {m}",),
        "carried": ("Report",),
        "tax_base": ("Base HT",),
        "continued": ("suite",),
    },
    "nl": {
        "rate": ("Tarief",),
        "tax_amount": ("Btw-bedrag",),
        "invoice": ("Factuur",),
        "credit_note": ("Creditnota", "Creditfactuur"),
        "invoice_number": ("Factuurnummer", "Factuurnr."),
        "credit_note_number": ("Creditnotanummer",),
        "issue_date": ("Factuurdatum", "Datum"),
        "due_date": ("Vervaldatum", "Uiterste betaaldatum"),
        "delivery_date": ("Leverdatum",),
        "customer_number": ("Klantnummer", "Debiteurnr."),
        "po_number": ("Uw ordernummer", "Inkoopordernummer", "Uw referentie"),
        "original_invoice": ("Originele factuur",),
        "bill_to": ("Factuuradres", "Aan"),
        "pos": ("Nr.",),
        "description": ("Omschrijving",),
        "qty": ("Aantal",),
        "unit": ("Eenheid",),
        "unit_price": ("Prijs", "Stukprijs"),
        "amount": ("Bedrag", "Totaal"),
        "net_total": ("Subtotaal", "Totaal excl. btw"),
        "vat": ("BTW", "btw"),
        "total": ("Totaal", "Totaal incl. btw", "Te betalen"),
        "amount_paid": ("Reeds betaald",),
        "previous_balance": ("Vorig saldo",),
        "amount_due": ("Openstaand bedrag", "Te betalen"),
        "payment_terms": ("Betalingsvoorwaarden",),
        "bank": ("Bankgegevens", "Rekeningnummer"),
        "vat_id": ("Btw-nummer", "BTW-nr."),
        "buyer_vat_id": ("Uw btw-nummer",),
        "phone": ("Tel.",),
        "email": ("E-mail",),
        "page": ("Pagina {n} van {m}",),
        "carried": ("Transport",),
        "tax_base": ("Grondslag",),
        "continued": ("vervolg",),
    },
    "es": {
        "rate": ("Tipo",),
        "tax_amount": ("Cuota IVA",),
        "invoice": ("Factura",),
        "credit_note": ("Factura rectificativa", "Abono"),
        "invoice_number": ("Nº de factura", "Factura nº", "Número de factura"),
        "credit_note_number": ("Nº de factura rectificativa",),
        "issue_date": ("Fecha de factura", "Fecha de emisión", "Fecha"),
        "due_date": ("Fecha de vencimiento", "Vencimiento"),
        "delivery_date": ("Fecha de entrega",),
        "customer_number": ("Nº de cliente", "Código cliente"),
        "po_number": ("Su pedido", "Nº de pedido", "Ref. pedido"),
        "original_invoice": ("Factura rectificada",),
        "bill_to": ("Facturar a", "Cliente", "Datos del cliente"),
        "pos": ("Lín.",),
        "description": ("Descripción", "Concepto"),
        "qty": ("Cant.", "Unidades"),
        "unit": ("Ud.",),
        "unit_price": ("Precio unit.", "Precio"),
        "amount": ("Importe",),
        "net_total": ("Base imponible", "Subtotal"),
        "vat": ("IVA",),
        "total": ("Importe total", "Total factura", "Total"),
        "amount_paid": ("Anticipo recibido",),
        "previous_balance": ("Saldo anterior",),
        "amount_due": ("Importe a pagar", "Total a pagar"),
        "payment_terms": ("Condiciones de pago", "Forma de pago"),
        "bank": ("Datos bancarios", "Transferencia a"),
        "vat_id": ("NIF", "CIF"),
        "buyer_vat_id": ("NIF cliente",),
        "phone": ("Tel.",),
        "email": ("Email",),
        "page": ("Página {n} de {m}",),
        "carried": ("Suma y sigue",),
        "tax_base": ("Base",),
        "continued": ("continuación",),
    },
    "it": {
        "rate": ("Aliquota",),
        "tax_amount": ("Imposta",),
        "invoice": ("Fattura",),
        "credit_note": ("Nota di credito",),
        "invoice_number": ("Fattura n.", "Numero fattura", "N. fattura"),
        "credit_note_number": ("Nota di credito n.",),
        "issue_date": ("Data fattura", "Data documento", "Data"),
        "due_date": ("Scadenza", "Data scadenza"),
        "delivery_date": ("Data consegna",),
        "customer_number": ("Codice cliente", "Cod. cliente"),
        "po_number": ("Vs. ordine", "Rif. ordine", "Ordine n."),
        "original_invoice": ("Rif. fattura",),
        "bill_to": ("Spett.le", "Intestatario", "Cliente"),
        "pos": ("Pos.",),
        "description": ("Descrizione",),
        "qty": ("Q.tà", "Quantità"),
        "unit": ("U.M.",),
        "unit_price": ("Prezzo unit.", "Prezzo"),
        "amount": ("Importo",),
        "net_total": ("Imponibile", "Totale imponibile"),
        "vat": ("IVA",),
        "total": ("Totale", "Totale fattura", "Totale documento"),
        "amount_paid": ("Acconto ricevuto",),
        "previous_balance": ("Saldo precedente",),
        "amount_due": ("Netto a pagare", "Totale da pagare"),
        "payment_terms": ("Condizioni di pagamento", "Pagamento"),
        "bank": ("Coordinate bancarie", "Bonifico bancario"),
        "vat_id": ("P.IVA", "Partita IVA"),
        "buyer_vat_id": ("P.IVA cliente",),
        "phone": ("Tel.",),
        "email": ("E-mail",),
        "page": ("Pagina {n} di {m}",),
        "carried": ("Riporto",),
        "tax_base": ("Imponibile",),
        "continued": ("segue",),
    },
    "en_GB": {
        "rate": ("Rate",),
        "tax_amount": ("VAT amount",),
        "invoice": ("Invoice", "Tax Invoice"),
        "credit_note": ("Credit Note",),
        "invoice_number": ("Invoice No.", "Invoice Number", "Invoice Ref."),
        "credit_note_number": ("Credit Note No.",),
        "issue_date": ("Invoice Date", "Date", "Tax Point"),
        "due_date": ("Due Date", "Payment Due"),
        "delivery_date": ("Delivery Date", "Supply Date"),
        "customer_number": ("Account No.", "Customer No."),
        "po_number": ("Your Order No.", "PO Number", "Customer Ref."),
        "original_invoice": ("Original invoice",),
        "bill_to": ("Invoice To", "Bill To", "Customer"),
        "pos": ("#",),
        "description": ("Description", "Item"),
        "qty": ("Qty", "Quantity"),
        "unit": ("Unit",),
        "unit_price": ("Unit Price", "Rate"),
        "amount": ("Amount", "Net"),
        "net_total": ("Subtotal", "Net Total", "Total net"),
        "vat": ("VAT",),
        "total": ("Total", "Invoice Total", "Total (inc. VAT)"),
        "amount_paid": ("Less: payment received",),
        "previous_balance": ("Previous balance",),
        "amount_due": ("Balance Due", "Amount Due"),
        "payment_terms": ("Payment Terms", "Terms"),
        "bank": ("Bank Details", "Payment details"),
        "vat_id": ("VAT Reg. No.", "VAT No."),
        "buyer_vat_id": ("Customer VAT No.",),
        "phone": ("Tel",),
        "email": ("Email",),
        "page": ("Page {n} of {m}",),
        "carried": ("Carried forward",),
        "tax_base": ("Net",),
        "continued": ("continued",),
    },
    "en_US": {
        "rate": ("Rate",),
        "tax_amount": ("Tax amount",),
        "invoice": ("Invoice",),
        "credit_note": ("Credit Memo",),
        "invoice_number": ("Invoice #", "Invoice No.", "Invoice Number"),
        "credit_note_number": ("Credit Memo #",),
        "issue_date": ("Invoice Date", "Date"),
        "due_date": ("Due Date", "Payment Due"),
        "delivery_date": ("Ship Date", "Service Date"),
        "customer_number": ("Customer ID", "Account #"),
        "po_number": ("P.O. Number", "PO #"),
        "original_invoice": ("Original Invoice #",),
        "bill_to": ("Bill To", "Sold To"),
        "pos": ("#",),
        "description": ("Description", "Item"),
        "qty": ("Qty", "Quantity"),
        "unit": ("Unit",),
        "unit_price": ("Rate", "Unit Price"),
        "amount": ("Amount", "Line Total"),
        "net_total": ("Subtotal",),
        "vat": ("Sales Tax",),
        "total": ("Total", "Invoice Total"),
        "amount_paid": ("Payments/Credits",),
        "previous_balance": ("Previous Balance",),
        "amount_due": ("Amount Due", "Balance Due"),
        "payment_terms": ("Terms", "Payment Terms"),
        "bank": ("Remit payment to", "ACH / Wire"),
        "vat_id": ("Federal Tax ID", "EIN"),
        "buyer_vat_id": ("Customer Tax ID",),
        "phone": ("Phone",),
        "email": ("Email",),
        "page": ("Page {n} of {m}",),
        "carried": ("Continued",),
        "tax_base": ("Taxable",),
        "continued": ("continued",),
    },
}


def label(language: str, key: str, variant: int = 0) -> str:
    options = LABELS[language][key]
    return options[variant % len(options)]
