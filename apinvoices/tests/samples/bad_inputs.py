"""Hostile and broken inputs, each paired with the refusal code ingestion must give it.

Everything is generated (deterministically) rather than committed, so large or dangerous
files never sit in the repository. Reuse from any test::

    from apinvoices.tests.samples.bad_inputs import BAD_SAMPLES, good_pdf, write_bad_samples

``write_bad_samples(folder)`` writes them as files (``make_bad_samples.py`` does the same from
the command line). The 200 MB upload is a stream (``HugeStream``), never a file on disk.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from apinvoices.ingestion.errors import RefusalCode


def good_pdf(seed: int | str, *, pages: int = 1, text: str = "") -> bytes:
    """A small, valid, distinct invoice-like PDF (a text layer with the seed in it)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=1)
    for page in range(pages):
        pdf.setFont("Helvetica", 12)
        pdf.drawString(72, 770, f"INVOICE {seed}")
        pdf.drawString(72, 750, text or f"Test supplier {seed}, page {page + 1}")
        pdf.drawString(72, 730, "Total due: 100.00 EUR")
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def encrypted_pdf(seed: int | str, *, password: str) -> bytes:
    """A valid PDF that needs ``password`` to open (AES-128)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(good_pdf(f"enc-{seed}"))))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def good_png(seed: int, *, size: tuple[int, int] = (400, 300)) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).text((10, 10), f"INVOICE {seed}", fill="black")
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 40_000, height: int = 40_000) -> bytes:
    """A few hundred bytes whose header claims ``width`` x ``height`` RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096, 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def many_pages_pdf(pages: int = 5000) -> bytes:
    """A valid PDF of ``pages`` pages that all reference one page object (a few KB per 1000)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b"3 0 R " * pages + b"] /Count " + str(pages).encode() + b" >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length 0 >>\nstream\n\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


XXE_XML = b"""<?xml version="1.0"?>
<!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><Note>&xxe;</Note></Invoice>
"""

BILLION_LAUGHS_XML = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
"""

ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(2000)
PE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(50) + b"This program cannot be run in DOS mode." + bytes(500)


def _random_bytes() -> bytes:
    data = random.Random(20240607).randbytes(4096)
    # Never let chance produce a magic number we accept.
    return b"\x13\x37" + data


@dataclass(frozen=True)
class BadSample:
    slug: str
    filename: str
    make: Callable[[], bytes]
    code: RefusalCode


BAD_SAMPLES: tuple[BadSample, ...] = (
    BadSample("empty", "empty.pdf", lambda: b"", RefusalCode.EMPTY_FILE),
    BadSample("random", "random.pdf", _random_bytes, RefusalCode.UNSUPPORTED_TYPE),
    BadSample("truncated", "truncated.pdf", lambda: good_pdf("truncated")[:700], RefusalCode.CORRUPT_PDF),
    BadSample("many_pages", "5000-pages.pdf", many_pages_pdf, RefusalCode.TOO_MANY_PAGES),
    BadSample("png_bomb", "bomb.png", png_bomb, RefusalCode.IMAGE_BOMB),
    BadSample("xxe", "xxe.xml", lambda: XXE_XML, RefusalCode.UNSAFE_XML),
    BadSample("billion_laughs", "laughs.xml", lambda: BILLION_LAUGHS_XML, RefusalCode.UNSAFE_XML),
    BadSample("elf", "invoice.pdf", lambda: ELF_BYTES, RefusalCode.EXECUTABLE),
    BadSample("pe", "invoice2.pdf", lambda: PE_BYTES, RefusalCode.EXECUTABLE),
    BadSample("zip", "invoices.zip", lambda: b"PK\x03\x04" + bytes(100), RefusalCode.ARCHIVE),
    BadSample("html", "invoice.html", lambda: b"<!DOCTYPE html><html><body>Invoice</body></html>", RefusalCode.HTML),
    BadSample("other_xml", "feed.xml", lambda: b"<?xml version='1.0'?><rss><channel/></rss>", RefusalCode.NOT_AN_INVOICE_XML),
    BadSample("broken_xml", "broken.xml", lambda: b"<Invoice><ID>1</Invoice>", RefusalCode.MALFORMED_XML),
    BadSample("dotdot_name", "../../etc/invoice.pdf", lambda: good_pdf("dotdot"), RefusalCode.BAD_FILENAME),
    BadSample("nul_name", "invoice.pdf\x00.exe", lambda: good_pdf("nul"), RefusalCode.BAD_FILENAME),
    BadSample("control_name", "in\x1bvoice.pdf", lambda: good_pdf("ctrl"), RefusalCode.BAD_FILENAME),
)

# The names above that a file system can hold (no NUL, no "..", no slash).
FILESYSTEM_SAFE = tuple(s for s in BAD_SAMPLES if "\x00" not in s.filename and "/" not in s.filename)


class HugeStream(io.RawIOBase):
    """A readable stream of ``size`` bytes produced on demand; counts what was read."""

    def __init__(self, size: int, *, head: bytes = b"%PDF-1.4\n", fill: bytes = b"0" * 65536):
        self.size = size
        self.head = head
        self.fill = fill
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        want = min(len(buffer), self.size - self.position)
        if want <= 0:
            return 0
        chunk = (self.head + self.fill) if self.position == 0 else self.fill
        while len(chunk) < want:
            chunk += self.fill
        buffer[:want] = chunk[:want]
        self.position += want
        return want


def lying_mail(*, pdf: bytes, sender: str = "billing@supplier.test", subject: str = "Invoice") -> bytes:
    """A mail whose attachments lie: a real PDF sent as ``application/octet-stream`` named
    ``scan.dat``, and a Windows executable sent as ``application/pdf`` named ``invoice.pdf``."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "ap@example.test"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<lying-{abs(hash(pdf)) % 10**9}@supplier.test>"
    msg.set_content("Please find our invoice attached.")
    msg.add_attachment(pdf, maintype="application", subtype="octet-stream", filename="scan.dat")
    msg.add_attachment(PE_BYTES, maintype="application", subtype="pdf", filename="invoice.pdf")
    return msg.as_bytes()


def write_bad_samples(folder: Path) -> dict[str, Path]:
    """Write every file-system-safe bad sample into ``folder``; returns slug -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for sample in FILESYSTEM_SAFE:
        path = folder / sample.filename
        path.write_bytes(sample.make())
        paths[sample.slug] = path
    return paths
