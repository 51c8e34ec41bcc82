"""The truth behind a generated invoice: parties, lines, taxes and totals.

Every renderer (PDF, scan, UBL, CII, Factur-X) draws from one ``InvoiceSpec``, so the ground
truth of a document is the spec it was rendered from. ``random_spec`` is deterministic for a
given ``random.Random`` state: the same seed gives the same invoice, field for field.

Guarantees of a spec built here:
- money is ``Decimal`` rounded to the currency's minor unit; ``net_amount`` is the sum of line
  nets, each tax subtotal is its base times its rate rounded half-up (EN 16931 rule BR-CO-17),
  ``total_amount == net_amount + tax_amount``;
- VAT IDs, IBANs, US EINs and ABA routing numbers pass their checksums (python-stdnum,
  schwifty);
- amounts are positive also for credit notes; ``document_type`` says which it is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from schwifty import IBAN
from stdnum import luhn
from stdnum.ch import uid as ch_uid
from stdnum.es import cif as es_cif
from stdnum.gb import vat as gb_vat
from stdnum.iso7064 import mod_11_10
from stdnum.nl import bsn as nl_bsn
from stdnum.us import rtn as us_rtn

from apinvoices.money import quantize_amount

LANGUAGES: tuple[str, ...] = ("en_US", "en_GB", "de", "fr", "nl", "es", "it")
CURRENCIES: tuple[str, ...] = ("EUR", "USD", "GBP", "CHF")
LAYOUTS: tuple[str, ...] = (
    "classic",
    "modern",
    "centered",
    "statement",
    "sidebar",
    "typewriter",
    "banded",
    "grid",
)
DATE_STYLES: tuple[str, ...] = ("numeric", "long", "iso")

# --- identifiers with valid check digits --------------------------------------------------


def de_vat(base8: str) -> str:
    return f"DE{base8}{mod_11_10.calc_check_digit(base8)}"


def fr_vat(siren8: str) -> str:
    siren = siren8 + luhn.calc_check_digit(siren8)
    key = (12 + 3 * (int(siren) % 97)) % 97
    return f"FR{key:02d}{siren}"


def nl_vat(base8: str) -> str:
    for last in "0123456789":
        if nl_bsn.checksum(base8 + last) == 0:
            return f"NL{base8}{last}B01"
    raise ValueError(f"no BSN check digit completes {base8}")


def es_vat(base7: str, letter: str = "B") -> str:
    # Company CIFs starting with A/B end in a digit: the first of the two candidates.
    return f"ES{letter}{base7}{es_cif.calc_check_digits(letter + base7)[0]}"


def it_vat(base10: str) -> str:
    return f"IT{base10}{luhn.calc_check_digit(base10)}"


def gb_vat_id(base7: str) -> str:
    for tail in range(100):
        candidate = f"{base7}{tail:02d}"
        if gb_vat.is_valid(candidate):
            return f"GB{candidate}"
    raise ValueError(f"no check digits complete {base7}")


def ch_vat(base8: str) -> str:
    check = ch_uid.calc_check_digit(base8)
    if len(check) != 1:
        raise ValueError(f"{base8} has no valid UID check digit")
    return f"CHE{base8}{check}MWST"


def us_routing(base8: str) -> str:
    return base8 + us_rtn.calc_check_digit(base8)


def make_iban(country: str, bank_code: str, account: str, branch: str = "") -> tuple[str, str]:
    """(compact IBAN, BIC) with valid check digits; the BIC from schwifty's bank registry."""
    iban = IBAN.generate(country, bank_code=bank_code, account_code=account, branch_code=branch)
    bic = str(iban.bic) if iban.bic else ""
    return str(iban.compact), bic


def format_vat_id(vat_id: str) -> str:
    """The way the ID is commonly printed in its country (still parseable by stdnum)."""
    cc, rest = vat_id[:2], vat_id[2:]
    if cc == "DE":
        return f"DE {rest[:3]} {rest[3:6]} {rest[6:]}"
    if cc == "FR":
        return f"FR {rest[:2]} {rest[2:5]} {rest[5:8]} {rest[8:]}"
    if cc == "GB":
        return f"GB {rest[:3]} {rest[3:7]} {rest[7:]}"
    if vat_id.startswith("CHE"):
        d = vat_id[3:12]
        return f"CHE-{d[:3]}.{d[3:6]}.{d[6:]} MWST"
    return vat_id


def format_ein(ein: str) -> str:
    return f"{ein[:2]}-{ein[2:]}"


def format_iban(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


# --- parties ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """A vendor or buyer as printed on an invoice. IDs are stored compact (no spaces)."""

    name: str
    street: str
    city: str
    postcode: str
    country: str  # ISO 3166-1 alpha-2
    vat_id: str = ""
    ein: str = ""  # US employer identification number, 9 digits
    iban: str = ""
    bic: str = ""
    account_number: str = ""  # US bank account
    routing_number: str = ""  # US ABA routing number
    email: str = ""
    phone: str = ""
    state: str = ""  # US state code
    website: str = ""
    registration: str = ""  # trade register line, printed in footers

    @property
    def tax_id(self) -> str:
        return self.vat_id or self.ein

    @property
    def tax_id_display(self) -> str:
        if self.vat_id:
            return format_vat_id(self.vat_id)
        return format_ein(self.ein) if self.ein else ""

    def address_lines(self) -> list[str]:
        """Postal address lines in the country's order (US: city, state ZIP)."""
        if self.country == "US":
            return [self.street, f"{self.city}, {self.state} {self.postcode}"]
        if self.country == "GB":
            return [self.street, self.city, self.postcode]
        return [self.street, f"{self.postcode} {self.city}"]


@dataclass(frozen=True)
class VendorProfile:
    """What a vendor sells and how its invoices usually look (defaults for random_spec)."""

    party: Party
    trade: str
    language: str
    currency: str
    number_format: str  # str.format with year, yy, seq
    sales_tax_rate: Decimal = Decimal("0")  # US only; 0 means the vendor charges none


def _vendor(trade, language, currency, number_format, sales_tax="0", **kw) -> VendorProfile:
    return VendorProfile(
        party=Party(**kw),
        trade=trade,
        language=language,
        currency=currency,
        number_format=number_format,
        sales_tax_rate=Decimal(sales_tax),
    )


def _bank(country, bank, account, branch=""):
    iban, bic = make_iban(country, bank, account, branch)
    return {"iban": iban, "bic": bic}


_PROFILES: tuple[VendorProfile, ...] = (
    _vendor(
        "office", "de", "EUR", "RE-{year}-{seq:05d}",
        name="Nordlicht Bürobedarf GmbH", street="Speicherstraße 14", city="Hamburg",
        postcode="20457", country="DE", vat_id=de_vat("28491736"),
        **_bank("DE", "20040000", "0418273600"),
        email="rechnung@nordlicht-buero.de", phone="+49 40 3589 2210",
        website="www.nordlicht-buero.de", registration="Amtsgericht Hamburg HRB 148213",
    ),
    _vendor(
        "it", "de", "EUR", "{year}{seq:06d}",
        name="Isarwerk IT-Systeme GmbH & Co. KG", street="Landsberger Str. 302",
        city="München", postcode="80687", country="DE", vat_id=de_vat("81357924"),
        **_bank("DE", "70040041", "6120394400"),
        email="buchhaltung@isarwerk-it.de", phone="+49 89 2154 7780",
        website="www.isarwerk-it.de", registration="Amtsgericht München HRA 109876",
    ),
    _vendor(
        "facility", "de", "EUR", "R{yy}-{seq:04d}",
        name="Rheinblick Gebäudeservice GmbH", street="Hohenzollernring 57", city="Köln",
        postcode="50672", country="DE", vat_id=de_vat("12639485"),
        **_bank("DE", "37040044", "0532013100"),
        email="info@rheinblick-service.de", phone="+49 221 9871 450",
        website="www.rheinblick-service.de", registration="Amtsgericht Köln HRB 90317",
    ),
    _vendor(
        "logistics", "de", "EUR", "FR-{seq:07d}",
        name="Elbtal Spedition Krause e.K.", street="Hafenstraße 3", city="Dresden",
        postcode="01067", country="DE", vat_id=de_vat("43917265"),
        **_bank("DE", "85040000", "0271635800"),
        email="faktura@elbtal-spedition.de", phone="+49 351 4410 23",
        website="www.elbtal-spedition.de", registration="Amtsgericht Dresden HRA 7731",
    ),
    _vendor(
        "services", "fr", "EUR", "F{year}-{seq:04d}",
        name="Atelier Marchand SARL", street="12 rue de la République", city="Lyon",
        postcode="69002", country="FR", vat_id=fr_vat("81234567"),
        **_bank("FR", "30004", "00012345678", "00828"),
        email="compta@atelier-marchand.fr", phone="+33 4 78 42 19 60",
        website="www.atelier-marchand.fr", registration="RCS Lyon B 812 345 671",
    ),
    _vendor(
        "office", "fr", "EUR", "FA-{yy}{seq:05d}",
        name="Papeterie Lefèvre & Fils SAS", street="48 boulevard Haussmann", city="Paris",
        postcode="75009", country="FR", vat_id=fr_vat("42719358"),
        **_bank("FR", "30003", "00020487133", "03620"),
        email="facturation@papeterie-lefevre.fr", phone="+33 1 42 81 37 70",
        website="www.papeterie-lefevre.fr", registration="RCS Paris B 427 193 584",
    ),
    _vendor(
        "facility", "fr", "EUR", "{year}/{seq:05d}",
        name="Côte d'Azur Nettoyage SA", street="7 avenue Jean Médecin", city="Nice",
        postcode="06000", country="FR", vat_id=fr_vat("39281746"),
        **_bank("FR", "10278", "00037641290", "07920"),
        email="factures@cda-nettoyage.fr", phone="+33 4 93 87 12 05",
        website="www.cda-nettoyage.fr", registration="RCS Nice B 392 817 469",
    ),
    _vendor(
        "it", "nl", "EUR", "INV-{year}-{seq:04d}",
        name="Van der Berg ICT Diensten B.V.", street="Keizersgracht 221", city="Amsterdam",
        postcode="1016 DV", country="NL", vat_id=nl_vat("85127463"),
        **_bank("NL", "INGB", "0671938241"),
        email="facturen@vdberg-ict.nl", phone="+31 20 624 8810",
        website="www.vdberg-ict.nl", registration="KvK 71829304",
    ),
    _vendor(
        "logistics", "nl", "EUR", "F{seq:06d}",
        name="Zeeland Transport & Logistiek B.V.", street="Havenweg 18", city="Vlissingen",
        postcode="4382 NL", country="NL", vat_id=nl_vat("61827349"),
        **_bank("NL", "RABO", "0312548967"),
        email="administratie@zeeland-tl.nl", phone="+31 118 412 900",
        website="www.zeeland-tl.nl", registration="KvK 20183746",
    ),
    _vendor(
        "office", "nl", "EUR", "{year}-{seq:05d}",
        name="Kantoorhuis De Vries", street="Oudegracht 143", city="Utrecht",
        postcode="3511 AJ", country="NL", vat_id=nl_vat("19283746"),
        **_bank("NL", "ABNA", "0417164300"),
        email="info@kantoorhuisdevries.nl", phone="+31 30 231 4455",
        website="www.kantoorhuisdevries.nl", registration="KvK 30217845",
    ),
    _vendor(
        "services", "es", "EUR", "FV-{yy}-{seq:04d}",
        name="Soluciones Iberia Consultores S.L.", street="Calle de Alcalá 155",
        city="Madrid", postcode="28009", country="ES", vat_id=es_vat("8765432"),
        **_bank("ES", "2100", "0200051332", "0418"),
        email="facturacion@iberia-consultores.es", phone="+34 914 31 72 80",
        website="www.iberia-consultores.es", registration="Reg. Merc. Madrid, T. 31.245, F. 87",
    ),
    _vendor(
        "facility", "es", "EUR", "A{year}/{seq:04d}",
        name="Limpiezas Mediterráneo S.A.", street="Avinguda Diagonal 412",
        city="Barcelona", postcode="08037", country="ES", vat_id=es_vat("6193527", "A"),
        **_bank("ES", "0049", "2710834521", "1500"),
        email="admin@limpiezas-mediterraneo.es", phone="+34 932 18 44 10",
        website="www.limpiezas-mediterraneo.es", registration="Reg. Merc. Barcelona, T. 40.112",
    ),
    _vendor(
        "it", "it", "EUR", "{seq}/{year}",
        name="Tecnoservizi Lombardi S.r.l.", street="Via Torino 61", city="Milano",
        postcode="20123", country="IT", vat_id=it_vat("0918273001"),
        **_bank("IT", "03069", "100000063912", "09606"),
        email="amministrazione@tecnoservizi-lombardi.it", phone="+39 02 8901 2245",
        website="www.tecnoservizi-lombardi.it", registration="REA MI-2071843",
    ),
    _vendor(
        "logistics", "it", "EUR", "FT{year}-{seq:05d}",
        name="Trasporti Adriatico S.p.A.", street="Via del Porto 9", city="Ancona",
        postcode="60121", country="IT", vat_id=it_vat("0274619004"),
        **_bank("IT", "02008", "000101827364", "02626"),
        email="fatture@trasporti-adriatico.it", phone="+39 071 204 118",
        website="www.trasporti-adriatico.it", registration="REA AN-158204",
    ),
    _vendor(
        "office", "en_GB", "GBP", "INV{seq:06d}",
        name="Pennine Stationery Ltd", street="42 Wellington Street", city="Leeds",
        postcode="LS1 4LT", country="GB", vat_id=gb_vat_id("2947163"),
        **_bank("GB", "NWBK", "31926819", "601613"),
        email="accounts@penninestationery.co.uk", phone="+44 113 496 0213",
        website="www.penninestationery.co.uk", registration="Registered in England No. 07419283",
    ),
    _vendor(
        "services", "en_GB", "GBP", "TC-{year}-{seq:03d}",
        name="Thames Consulting Partners LLP", street="18 Bishopsgate", city="London",
        postcode="EC2N 4BQ", country="GB", vat_id=gb_vat_id("6182734"),
        **_bank("GB", "BARC", "53184927", "200415"),
        email="billing@thamesconsulting.co.uk", phone="+44 20 7946 0381",
        website="www.thamesconsulting.co.uk", registration="LLP No. OC418273",
    ),
    _vendor(
        "it", "de", "CHF", "{year}-{seq:04d}",
        name="Alpenglühen Informatik AG", street="Bahnhofstrasse 88", city="Zürich",
        postcode="8001", country="CH", vat_id=ch_vat("49283716"),
        **_bank("CH", "00700", "011623852957"),
        email="debitoren@alpengluehen.ch", phone="+41 44 218 90 40",
        website="www.alpengluehen.ch", registration="CHE-Handelsregister Zürich",
    ),
    _vendor(
        "office", "en_US", "USD", "{seq:05d}", sales_tax="6.00",
        name="Bluegrass Office Supply Inc.", street="1200 Bardstown Road", city="Louisville",
        postcode="40204", country="US", state="KY", ein="611834927",
        account_number="4471092836", routing_number=us_routing("08300013"),
        email="ar@bluegrassoffice.com", phone="(502) 555-0147",
        website="www.bluegrassoffice.com",
    ),
    _vendor(
        "services", "en_US", "USD", "INV-{seq:06d}",
        name="Cascade Data Consulting LLC", street="901 Fifth Avenue, Suite 2300",
        city="Seattle", postcode="98164", country="US", state="WA", ein="912748163",
        account_number="000928374615", routing_number=us_routing("12500010"),
        email="billing@cascadedata.io", phone="(206) 555-0193",
        website="www.cascadedata.io",
    ),
    _vendor(
        "logistics", "en_US", "USD", "{yy}-{seq:05d}", sales_tax="8.875",
        name="Hudson Freight & Courier Corp.", street="350 West 31st Street", city="New York",
        postcode="10001", country="US", state="NY", ein="134928176",
        account_number="8391047265", routing_number=us_routing("02100002"),
        email="invoices@hudsonfreight.com", phone="(212) 555-0178",
        website="www.hudsonfreight.com",
    ),
)

DEMO_VENDORS: tuple[Party, ...] = tuple(p.party for p in _PROFILES)
VENDOR_PROFILES: dict[str, VendorProfile] = {p.party.name: p for p in _PROFILES}

# One buyer per country: the subsidiaries of the group that runs the AP workbench. An invoice
# goes to the subsidiary in the vendor's country, so the VAT charged is the domestic rate.
BUYERS: dict[str, Party] = {
    "DE": Party(
        name="Kestrel Instruments GmbH", street="Am Sandtorkai 40", city="Hamburg",
        postcode="20457", country="DE", vat_id=de_vat("31748592"),
        email="ap.de@kestrel-instruments.com",
    ),
    "FR": Party(
        name="Kestrel Instruments SAS", street="25 quai Perrache", city="Lyon",
        postcode="69002", country="FR", vat_id=fr_vat("53019284"),
        email="ap.fr@kestrel-instruments.com",
    ),
    "NL": Party(
        name="Kestrel Instruments B.V.", street="Stationsplein 45", city="Rotterdam",
        postcode="3013 AK", country="NL", vat_id=nl_vat("82736451"),
        email="ap.nl@kestrel-instruments.com",
    ),
    "ES": Party(
        name="Kestrel Instrumentos S.L.", street="Paseo de la Castellana 95", city="Madrid",
        postcode="28046", country="ES", vat_id=es_vat("2837465"),
        email="ap.es@kestrel-instruments.com",
    ),
    "IT": Party(
        name="Kestrel Strumenti S.r.l.", street="Corso Buenos Aires 23", city="Milano",
        postcode="20124", country="IT", vat_id=it_vat("0371928001"),
        email="ap.it@kestrel-instruments.com",
    ),
    "GB": Party(
        name="Kestrel Instruments Ltd", street="Unit 7, Cambridge Science Park", city="Cambridge",
        postcode="CB4 0FZ", country="GB", vat_id=gb_vat_id("4817263"),
        email="ap.uk@kestrel-instruments.com",
    ),
    "CH": Party(
        name="Kestrel Instruments AG", street="Seestrasse 120", city="Zürich",
        postcode="8002", country="CH", vat_id=ch_vat("18273645"),
        email="ap.ch@kestrel-instruments.com",
    ),
    "US": Party(
        name="Kestrel Instruments Inc.", street="75 State Street, Floor 9", city="Boston",
        postcode="02109", country="US", state="MA", ein="043918275",
        email="ap.us@kestrel-instruments.com",
    ),
}

# --- tax rules ----------------------------------------------------------------------------

STANDARD_RATE: dict[str, Decimal] = {
    "DE": Decimal("19"), "FR": Decimal("20"), "NL": Decimal("21"), "ES": Decimal("21"),
    "IT": Decimal("22"), "GB": Decimal("20"), "CH": Decimal("8.1"),
}
REDUCED_RATE: dict[str, Decimal] = {
    "DE": Decimal("7"), "FR": Decimal("5.5"), "NL": Decimal("9"), "ES": Decimal("10"),
    "IT": Decimal("10"), "CH": Decimal("2.6"),
}

# --- catalogue ----------------------------------------------------------------------------

# UN/ECE Recommendation 20 unit codes and how each language prints them.
UNIT_LABELS: dict[str, dict[str, str]] = {
    "H87": {"en": "pcs", "de": "Stk.", "fr": "pce", "nl": "st.", "es": "ud.", "it": "pz."},
    "HUR": {"en": "hrs", "de": "Std.", "fr": "h", "nl": "uur", "es": "h", "it": "ore"},
    "XBX": {"en": "box", "de": "Karton", "fr": "carton", "nl": "doos", "es": "caja", "it": "scat."},
    "XPK": {"en": "pack", "de": "Pck.", "fr": "paquet", "nl": "pak", "es": "paq.", "it": "conf."},
    "MON": {"en": "month", "de": "Monat", "fr": "mois", "nl": "maand", "es": "mes", "it": "mese"},
    "KGM": {"en": "kg", "de": "kg", "fr": "kg", "nl": "kg", "es": "kg", "it": "kg"},
    "C62": {"en": "flat", "de": "pausch.", "fr": "forfait", "nl": "vast", "es": "global",
            "it": "forf."},
}


@dataclass(frozen=True)
class CatalogItem:
    texts: dict[str, str]  # base language -> description
    unit: str
    price: tuple[str, str]  # range of unit prices
    reduced: bool = False  # reduced VAT rate where the country has one
    fractional: bool = False  # quantities like 7.5 hours


def _item(en, de, fr, nl, es, it, unit, lo, hi, reduced=False, fractional=False):
    texts = {"en": en, "de": de, "fr": fr, "nl": nl, "es": es, "it": it}
    return CatalogItem(texts, unit, (lo, hi), reduced, fractional)


CATALOG: dict[str, tuple[CatalogItem, ...]] = {
    "office": (
        _item("Copy paper A4 80 g, 500 sheets", "Kopierpapier A4 80 g, 500 Blatt",
              "Papier copieur A4 80 g, 500 feuilles", "Kopieerpapier A4 80 g, 500 vel",
              "Papel de copia A4 80 g, 500 hojas", "Carta per fotocopie A4 80 g, 500 fogli",
              "XPK", "3.90", "6.80"),
        _item("Toner cartridge black, 3,000 pages", "Tonerkartusche schwarz, 3.000 Seiten",
              "Cartouche de toner noir, 3 000 pages", "Tonercartridge zwart, 3.000 pagina's",
              "Cartucho de tóner negro, 3.000 páginas", "Cartuccia toner nero, 3.000 pagine",
              "H87", "45.00", "119.00"),
        _item("Ballpoint pens blue, box of 50", "Kugelschreiber blau, 50er-Karton",
              "Stylos à bille bleus, boîte de 50", "Balpennen blauw, doos à 50",
              "Bolígrafos azules, caja de 50", "Penne a sfera blu, scatola da 50",
              "XBX", "8.50", "24.90"),
        _item("Lever arch file 80 mm, grey", "Ordner 80 mm, grau", "Classeur à levier 80 mm, gris",
              "Ordner 80 mm, grijs", "Archivador de palanca 80 mm, gris",
              "Raccoglitore a leva 80 mm, grigio", "H87", "1.95", "4.60"),
        _item("Ergonomic office chair, black", "Ergonomischer Bürostuhl, schwarz",
              "Fauteuil de bureau ergonomique, noir", "Ergonomische bureaustoel, zwart",
              "Silla de oficina ergonómica, negra", "Sedia da ufficio ergonomica, nera",
              "H87", "189.00", "449.00"),
        _item("Coffee beans, 1 kg", "Kaffeebohnen, 1 kg", "Café en grains, 1 kg",
              "Koffiebonen, 1 kg", "Café en grano, 1 kg", "Caffè in grani, 1 kg",
              "KGM", "14.50", "27.90", reduced=True),
        _item("Sticky notes 76 x 76 mm, 12 pads", "Haftnotizen 76 x 76 mm, 12 Blöcke",
              "Notes adhésives 76 x 76 mm, 12 blocs", "Memoblokjes 76 x 76 mm, 12 blokken",
              "Notas adhesivas 76 x 76 mm, 12 blocs", "Foglietti adesivi 76 x 76 mm, 12 blocchetti",
              "XPK", "6.20", "12.40"),
    ),
    "it": (
        _item('Business laptop 14", 16 GB RAM, 512 GB SSD',
              'Business-Notebook 14", 16 GB RAM, 512 GB SSD',
              'Ordinateur portable 14", 16 Go RAM, SSD 512 Go',
              'Zakelijke laptop 14", 16 GB RAM, 512 GB SSD',
              'Portátil profesional 14", 16 GB RAM, SSD 512 GB',
              'Notebook aziendale 14", 16 GB RAM, SSD 512 GB', "H87", "899.00", "1649.00"),
        _item("USB-C docking station", "USB-C-Dockingstation", "Station d'accueil USB-C",
              "USB-C-dockingstation", "Base de conexión USB-C", "Docking station USB-C",
              "H87", "139.00", "259.00"),
        _item('Monitor 27", IPS, 2560 x 1440', 'Monitor 27", IPS, 2560 x 1440',
              'Écran 27", IPS, 2560 x 1440', 'Monitor 27", IPS, 2560 x 1440',
              'Monitor 27", IPS, 2560 x 1440', 'Monitor 27", IPS, 2560 x 1440',
              "H87", "189.00", "379.00"),
        _item("Software subscription, per user and month",
              "Software-Abonnement je Benutzer und Monat",
              "Abonnement logiciel par utilisateur et mois",
              "Software-abonnement per gebruiker per maand",
              "Suscripción de software por usuario y mes",
              "Abbonamento software per utente al mese",
              "MON", "8.00", "39.00"),
        _item("On-site installation and setup", "Installation und Einrichtung vor Ort",
              "Installation et paramétrage sur site", "Installatie en configuratie op locatie",
              "Instalación y configuración in situ", "Installazione e configurazione in sede",
              "HUR", "85.00", "145.00", fractional=True),
        _item("Network cable Cat 6, 5 m", "Netzwerkkabel Cat 6, 5 m", "Câble réseau Cat 6, 5 m",
              "Netwerkkabel Cat 6, 5 m", "Cable de red Cat 6, 5 m", "Cavo di rete Cat 6, 5 m",
              "H87", "3.90", "8.90"),
        _item("Remote support (ticket #4711)", "Fernwartung (Ticket #4711)",
              "Assistance à distance (ticket n° 4711)", "Ondersteuning op afstand (ticket #4711)",
              "Soporte remoto (ticket n.º 4711)", "Assistenza remota (ticket n. 4711)",
              "HUR", "75.00", "120.00", fractional=True),
    ),
    "services": (
        _item("Consulting services", "Beratungsleistungen", "Prestations de conseil",
              "Adviesdiensten", "Servicios de consultoría", "Servizi di consulenza",
              "HUR", "95.00", "185.00", fractional=True),
        _item("Project management", "Projektmanagement", "Gestion de projet", "Projectmanagement",
              "Gestión de proyecto", "Gestione del progetto", "HUR", "80.00", "150.00",
              fractional=True),
        _item("Workshop facilitation (1 day)", "Workshop-Moderation (1 Tag)",
              "Animation d'atelier (1 jour)", "Begeleiding workshop (1 dag)",
              "Moderación de taller (1 día)", "Conduzione workshop (1 giorno)",
              "C62", "950.00", "1800.00"),
        _item("Travel expenses, flat rate", "Reisekostenpauschale",
              "Frais de déplacement forfaitaires",
              "Reiskosten, vast bedrag", "Gastos de viaje, tarifa plana",
              "Spese di viaggio forfettarie",
              "C62", "60.00", "420.00"),
        _item("Monthly retainer", "Monatliche Pauschale", "Forfait mensuel",
              "Maandelijkse retainer",
              "Cuota mensual", "Canone mensile", "MON", "1500.00", "4200.00"),
        _item("Financial process review", "Prüfung der Finanzprozesse",
              "Revue des processus financiers",
              "Review financiële processen", "Revisión de procesos financieros",
              "Revisione dei processi finanziari", "HUR", "120.00", "210.00", fractional=True),
    ),
    "facility": (
        _item("Office cleaning, monthly fee", "Büroreinigung, Monatspauschale",
              "Nettoyage des bureaux, forfait mensuel", "Kantoorschoonmaak, maandbedrag",
              "Limpieza de oficinas, cuota mensual", "Pulizia uffici, canone mensile",
              "MON", "650.00", "2200.00"),
        _item("Window cleaning", "Glasreinigung", "Nettoyage des vitres", "Glasbewassing",
              "Limpieza de cristales", "Pulizia vetri", "HUR", "34.00", "56.00", fractional=True),
        _item("Fruit basket delivery", "Obstkorb-Lieferung", "Livraison de corbeilles de fruits",
              "Levering fruitmand", "Entrega de cesta de fruta", "Consegna cesto di frutta",
              "H87", "18.00", "36.00", reduced=True),
        _item("Waste container 1,100 l, emptying", "Abfallbehälter 1.100 l, Leerung",
              "Conteneur 1 100 l, vidage", "Afvalcontainer 1.100 l, lediging",
              "Contenedor 1.100 l, vaciado", "Cassonetto 1.100 l, svuotamento",
              "H87", "24.00", "58.00"),
        _item("HVAC maintenance", "Wartung Lüftungsanlage", "Maintenance CVC",
              "Onderhoud klimaatinstallatie", "Mantenimiento de climatización",
              "Manutenzione impianto HVAC", "HUR", "68.00", "112.00", fractional=True),
        _item("Cleaning supplies", "Reinigungsmittel", "Produits d'entretien", "Schoonmaakmiddelen",
              "Productos de limpieza", "Prodotti per la pulizia", "XPK", "12.00", "45.00"),
    ),
    "logistics": (
        _item("Pallet freight, domestic", "Palettenfracht Inland", "Fret palette, national",
              "Palletvervoer binnenland", "Transporte de palé nacional",
              "Trasporto pallet nazionale",
              "H87", "64.00", "185.00"),
        _item("Express parcel", "Expresspaket", "Colis express", "Expresspakket",
              "Paquete exprés", "Pacco espresso", "H87", "9.50", "36.00"),
        _item("Fuel surcharge", "Dieselzuschlag", "Surcharge carburant", "Brandstoftoeslag",
              "Recargo por combustible", "Supplemento carburante", "C62", "6.00", "68.00"),
        _item("Storage per pallet and month", "Lagerung je Palette und Monat",
              "Stockage par palette et mois", "Opslag per pallet per maand",
              "Almacenaje por palé y mes", "Stoccaggio per pallet al mese",
              "MON", "9.00", "18.50"),
        _item("Packaging material", "Verpackungsmaterial", "Matériel d'emballage",
              "Verpakkingsmateriaal", "Material de embalaje", "Materiale da imballaggio",
              "XPK", "19.00", "82.00"),
        _item("Waiting time at loading dock", "Standzeit an der Rampe", "Temps d'attente au quai",
              "Wachttijd bij laadperron", "Tiempo de espera en muelle",
              "Tempo di attesa alla banchina",
              "HUR", "42.00", "65.00", fractional=True),
    ),
}


def base_language(language: str) -> str:
    return language.split("_")[0]


# --- the spec -----------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceLineSpec:
    position: int
    description: str
    quantity: Decimal
    unit: str  # UN/ECE Rec 20 code, see UNIT_LABELS
    unit_price: Decimal
    tax_rate: Decimal  # percent
    net_amount: Decimal


@dataclass(frozen=True)
class TaxSubtotal:
    rate: Decimal  # percent
    base: Decimal
    amount: Decimal
    category: str = "S"  # UNCL 5305: S standard, Z zero, E exempt, O outside scope


@dataclass(frozen=True)
class InvoiceSpec:
    vendor: Party
    buyer: Party
    number: str
    issue_date: date
    due_date: date | None
    payment_terms: str
    currency: str
    lines: tuple[InvoiceLineSpec, ...]
    taxes: tuple[TaxSubtotal, ...]
    net_amount: Decimal
    tax_amount: Decimal
    total_amount: Decimal
    language: str
    layout: str
    document_type: str = "invoice"  # or "credit_note"
    po_number: str = ""
    customer_number: str = ""
    delivery_date: date | None = None
    date_style: str = "numeric"
    # Traps: amounts printed near the total that are not the invoice total.
    amount_paid: Decimal = Decimal("0")
    previous_balance: Decimal = Decimal("0")
    original_invoice_number: str = ""  # credit notes: the invoice being credited
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def amount_due(self) -> Decimal:
        return self.total_amount - self.amount_paid + self.previous_balance

    @property
    def is_credit_note(self) -> bool:
        return self.document_type == "credit_note"

    @property
    def tax_label_kind(self) -> str:
        return "sales_tax" if self.vendor.country == "US" else "vat"


def compute_taxes(
    lines: tuple[InvoiceLineSpec, ...], currency: str, *, category: str = "S"
) -> tuple[tuple[TaxSubtotal, ...], Decimal, Decimal, Decimal]:
    """Group line nets by rate; tax per group rounded once (not per line)."""
    groups: dict[Decimal, Decimal] = {}
    for line in lines:
        groups[line.tax_rate] = groups.get(line.tax_rate, Decimal("0")) + line.net_amount
    taxes = tuple(
        TaxSubtotal(
            rate=rate,
            base=base,
            amount=quantize_amount(base * rate / Decimal(100), currency),
            category=category if rate else ("Z" if category == "S" else category),
        )
        for rate, base in sorted(groups.items(), reverse=True)
    )
    net = sum((line.net_amount for line in lines), Decimal("0"))
    tax = sum((t.amount for t in taxes), Decimal("0"))
    return taxes, net, tax, net + tax


# --- random specs -------------------------------------------------------------------------

_TERMS: dict[str, tuple[str, str, str]] = {
    # language: (plain net days, with early-payment discount, due on receipt)
    "en_US": ("Net {d}", "{p}/{dd} Net {d}", "Due on receipt"),
    "en_GB": (
        "Payment within {d} days of invoice date",
        "{p}% discount if paid within {dd} days, otherwise net {d} days",
        "Payable on receipt",
    ),
    "de": (
        "Zahlbar innerhalb von {d} Tagen ohne Abzug.",
        "Zahlbar innerhalb von {dd} Tagen mit {p} % Skonto oder innerhalb von {d} Tagen netto.",
        "Zahlbar sofort nach Erhalt ohne Abzug.",
    ),
    "fr": (
        "Paiement à {d} jours date de facture.",
        "Escompte de {p} % pour paiement sous {dd} jours, sinon {d} jours net.",
        "Paiement à réception de facture.",
    ),
    "nl": (
        "Betaling binnen {d} dagen na factuurdatum.",
        "{p}% korting bij betaling binnen {dd} dagen, netto binnen {d} dagen.",
        "Direct betalen na ontvangst.",
    ),
    "es": (
        "Pago a {d} días fecha factura.",
        "Descuento del {p} % por pronto pago en {dd} días; neto a {d} días.",
        "Pago al contado a la recepción.",
    ),
    "it": (
        "Pagamento a {d} giorni data fattura.",
        "Sconto {p}% per pagamento entro {dd} giorni, netto {d} giorni.",
        "Pagamento a vista.",
    ),
}

_CREDIT_TERMS: dict[str, str] = {
    "en_US": "This credit will be applied to your account.",
    "en_GB": "This credit will be offset against your next payment.",
    "de": "Der Betrag wird mit Ihrer nächsten Zahlung verrechnet.",
    "fr": "Ce montant sera déduit de votre prochain règlement.",
    "nl": "Dit bedrag wordt verrekend met uw volgende betaling.",
    "es": "El importe se compensará en su próximo pago.",
    "it": "L'importo sarà compensato con il prossimo pagamento.",
}

_THANKS: dict[str, str] = {
    "en_US": "Thank you for your business!",
    "en_GB": "Thank you for your custom.",
    "de": "Vielen Dank für Ihren Auftrag.",
    "fr": "Nous vous remercions de votre confiance.",
    "nl": "Hartelijk dank voor uw opdracht.",
    "es": "Gracias por confiar en nosotros.",
    "it": "Grazie per averci scelto.",
}

_LATE_FEES_FR = (
    "Pénalités de retard : trois fois le taux d'intérêt légal. "
    "Indemnité forfaitaire pour frais de recouvrement : 40 €."
)

_LANGUAGE_FOR_COUNTRY = {"DE": "de", "CH": "de", "FR": "fr", "NL": "nl", "ES": "es",
                         "IT": "it", "GB": "en_GB", "US": "en_US"}
_CURRENCY_FOR_COUNTRY = {"GB": "GBP", "US": "USD", "CH": "CHF"}

DEFAULT_DATE_RANGE: tuple[date, date] = (date(2025, 1, 6), date(2025, 10, 31))


def _profile_for(vendor: Party) -> VendorProfile:
    if vendor.name in VENDOR_PROFILES:
        return VENDOR_PROFILES[vendor.name]
    return VendorProfile(
        party=vendor,
        trade="office",
        language=_LANGUAGE_FOR_COUNTRY.get(vendor.country, "en_GB"),
        currency=_CURRENCY_FOR_COUNTRY.get(vendor.country, "EUR"),
        number_format="INV-{year}-{seq:05d}",
    )


def _price(rng: random.Random, lo: str, hi: str) -> Decimal:
    cents_lo, cents_hi = int(Decimal(lo) * 100), int(Decimal(hi) * 100)
    cents = rng.randint(cents_lo, cents_hi)
    if cents > 5000 and rng.random() < 0.6:
        cents = cents // 100 * 100 - rng.choice((0, 1, 10))  # 49.99 / 49.90 / 50.00 style
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def _quantity(rng: random.Random, item: CatalogItem) -> Decimal:
    if item.fractional:
        return Decimal(rng.randint(2, 64)) / 4  # quarter hours
    if item.unit in ("MON", "C62"):
        return Decimal(rng.choice((1, 1, 1, 2, 3)))
    if Decimal(item.price[0]) > 100:
        return Decimal(rng.randint(1, 6))
    return Decimal(rng.choice((1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 24, 25, 40, 50, 100)))


def _tax_rate(profile: VendorProfile, item: CatalogItem, *, taxed: bool) -> Decimal:
    country = profile.party.country
    if country == "US":
        return profile.sales_tax_rate if taxed else Decimal("0")
    if item.reduced and country in REDUCED_RATE:
        return REDUCED_RATE[country]
    return STANDARD_RATE[country]


def random_spec(
    rng: random.Random,
    *,
    language: str | None = None,
    layout: str | None = None,
    currency: str | None = None,
    vendor: Party | None = None,
    document_type: str | None = None,
    line_count: int | None = None,
    issue_date: date | None = None,
    date_range: tuple[date, date] = DEFAULT_DATE_RANGE,
    einvoice: bool = False,
    traps: bool = True,
) -> InvoiceSpec:
    """Build one varied but plausible invoice; every choice is drawn from ``rng``.

    ``einvoice=True`` restricts the vendor to EU VAT-registered ones (what UBL/CII/Factur-X
    carry in practice). ``traps=False`` leaves out amounts paid and previous balances.
    """
    if vendor is None:
        pool = [p for p in _PROFILES if not einvoice or p.party.country not in ("US", "CH", "GB")]
        profile = rng.choice(pool)
    else:
        profile = _profile_for(vendor)
    party = profile.party
    if language is None:
        # Continental vendors sometimes invoice in English; nobody else switches language.
        switch = party.country not in ("US", "GB") and rng.random() < 0.15
        language = "en_GB" if switch else profile.language
    layout = layout or rng.choice(LAYOUTS)
    currency = currency or profile.currency
    buyer = BUYERS.get(party.country, BUYERS["DE"])
    document_type = document_type or ("credit_note" if rng.random() < 0.08 else "invoice")
    lang = base_language(language)

    if issue_date is None:
        span = (date_range[1] - date_range[0]).days
        issue_date = date_range[0] + timedelta(days=rng.randint(0, max(span, 0)))

    # Many invoices are short; a few (collective freight or supply invoices) run over pages.
    if line_count is None:
        line_count = rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 10, 12))
        if rng.random() < 0.05:
            line_count = rng.randint(24, 45)
    items = CATALOG[profile.trade]
    us_taxed = party.country == "US" and profile.sales_tax_rate > 0 and rng.random() < 0.8
    lines = []
    # Distinct items first; long invoices repeat items (e.g. one freight line per delivery).
    picks = rng.sample(items, min(line_count, len(items)))
    picks += [rng.choice(items) for _ in range(line_count - len(picks))]
    for position, item in enumerate(picks, start=1):
        quantity = _quantity(rng, item)
        unit_price = _price(rng, *item.price)
        lines.append(
            InvoiceLineSpec(
                position=position,
                description=item.texts[lang],
                quantity=quantity,
                unit=item.unit,
                unit_price=unit_price,
                tax_rate=_tax_rate(profile, item, taxed=us_taxed),
                net_amount=quantize_amount(quantity * unit_price, currency),
            )
        )
    lines_t = tuple(lines)
    category = "O" if party.country == "US" and not us_taxed else "S"
    taxes, net, tax, total = compute_taxes(lines_t, currency, category=category)

    seq = rng.randint(17, 98765)
    number = profile.number_format.format(
        year=issue_date.year, yy=f"{issue_date.year % 100:02d}", seq=seq
    )
    if document_type == "credit_note":
        prefix = {"de": "GS-", "fr": "AV-", "nl": "CN-", "es": "AB-", "it": "NC-"}.get(lang, "CN-")
        original = number
        number = prefix + number
    else:
        original = ""

    if document_type == "credit_note":
        terms, due = _CREDIT_TERMS[language], None
    else:
        days = rng.choice((14, 30, 30, 30, 45, 60)) if party.country != "US" else rng.choice(
            (15, 30, 30, 45))
        roll = rng.random()
        plain, discount, receipt = _TERMS[language]
        if roll < 0.15:
            terms = discount.format(p=2, dd=10, d=days)
        elif roll < 0.22:
            terms, days = receipt, 0
        else:
            terms = plain.format(d=days)
        due = issue_date + timedelta(days=days)

    po_number = ""
    if rng.random() < 0.6:
        po_number = rng.choice(("4500{:06d}", "PO-{:06d}", "BE{:07d}", "{:08d}")).format(
            rng.randint(1000, 999999)
        )
    customer_number = rng.choice(("K{:05d}", "{:06d}", "C-{:04d}", "10{:04d}")).format(
        rng.randint(100, 9999)
    )
    delivery_date = issue_date - timedelta(days=rng.randint(0, 12)) if rng.random() < 0.5 else None

    amount_paid = previous_balance = Decimal("0")
    if traps and document_type == "invoice":
        roll = rng.random()
        if roll < 0.08:
            amount_paid = quantize_amount(total * Decimal(rng.choice((20, 30, 50))) / 100, currency)
        elif roll < 0.14 and party.country in ("US", "GB"):
            previous_balance = _price(rng, "120.00", "2400.00")

    notes = [_THANKS[language]]
    if lang == "fr" and document_type == "invoice":
        notes.append(_LATE_FEES_FR)

    date_style = rng.choices(DATE_STYLES, weights=(7, 3, 1))[0]
    return InvoiceSpec(
        vendor=party,
        buyer=buyer,
        number=number,
        issue_date=issue_date,
        due_date=due,
        payment_terms=terms,
        currency=currency,
        lines=lines_t,
        taxes=taxes,
        net_amount=net,
        tax_amount=tax,
        total_amount=total,
        language=language,
        layout=layout,
        document_type=document_type,
        po_number=po_number,
        customer_number=customer_number,
        delivery_date=delivery_date,
        date_style=date_style,
        amount_paid=amount_paid,
        previous_balance=previous_balance,
        original_invoice_number=original,
        notes=tuple(notes),
    )


def with_layout(spec: InvoiceSpec, layout: str) -> InvoiceSpec:
    """The same invoice drawn in another layout (for per-layout tests)."""
    return replace(spec, layout=layout)
