"""factory_boy factories for the AP domain (one per model that tests build often)."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from stdnum.iso7064 import mod_11_10

from apinvoices.models import (
    Channel,
    Document,
    Invoice,
    InvoiceLine,
    PurchaseOrder,
    PurchaseOrderLine,
    Vendor,
    VendorBankAccount,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))


def _german_vat_id(n: int) -> str:
    """A checksum-valid German VAT ID (ISO 7064 mod 11,10), unique per ``n``."""
    body = str(10_000_000 + n)
    return f"DE{body}{mod_11_10.calc_check_digit(body)}"


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor

    name = factory.Sequence(lambda n: f"Vendor {n} GmbH")
    tax_id = factory.Sequence(lambda n: _german_vat_id(n))
    country = "DE"
    default_currency = "EUR"


class VendorBankAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VendorBankAccount

    vendor = factory.SubFactory(VendorFactory)
    iban = "DE89370400440532013000"
    bic = "COBADEFFXXX"
    currency = "EUR"


def _pdf_bytes(n: int) -> bytes:
    # A minimal distinct PDF per document, so each has its own hash.
    return b"%PDF-1.4\n% test document " + str(n).encode() + b"\n%%EOF\n"


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document
        exclude = ("content",)

    content = factory.Sequence(_pdf_bytes)
    sha256 = factory.LazyAttribute(lambda d: hashlib.sha256(d.content).hexdigest())
    size = factory.LazyAttribute(lambda d: len(d.content))
    file = factory.LazyAttribute(lambda d: ContentFile(d.content, name="original.pdf"))
    kind = Document.Kind.PDF
    content_type = "application/pdf"
    original_filename = factory.Sequence(lambda n: f"invoice-{n}.pdf")
    channel = Channel.UPLOAD


def _last_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice

    document = factory.SubFactory(DocumentFactory)
    vendor = factory.SubFactory(VendorFactory)
    vendor_name = factory.LazyAttribute(lambda i: i.vendor.name if i.vendor else "")
    invoice_number = factory.Sequence(lambda n: f"INV-{n:05d}")
    invoice_number_normalized = factory.LazyAttribute(lambda i: i.invoice_number.replace("-", ""))
    # A weekday, so the weekend warning does not fire by accident.
    issue_date = factory.LazyFunction(lambda: _last_weekday(date.today() - timedelta(days=5)))
    due_date = factory.LazyFunction(lambda: date.today() + timedelta(days=25))
    currency = "EUR"
    net_amount = Decimal("100.00")
    tax_amount = Decimal("19.00")
    total_amount = Decimal("119.00")


class InvoiceLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvoiceLine

    invoice = factory.SubFactory(InvoiceFactory)
    position = factory.Sequence(lambda n: n + 1)
    description = "Consulting services"
    quantity = Decimal("1")
    unit_price = Decimal("100.00")
    amount = Decimal("100.00")
    tax_rate = Decimal("19")


class PurchaseOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PurchaseOrder

    number = factory.Sequence(lambda n: f"PO-{n:05d}")
    vendor = factory.SubFactory(VendorFactory)
    currency = "EUR"
    order_date = factory.LazyFunction(lambda: date.today() - timedelta(days=30))


class PurchaseOrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PurchaseOrderLine

    purchase_order = factory.SubFactory(PurchaseOrderFactory)
    line_no = factory.Sequence(lambda n: n + 1)
    description = "Office chairs"
    quantity = Decimal("10")
    unit_price = Decimal("100.00")
