"""Turn a clean invoice PDF into what arrives from a scanner, a phone camera or a fax.

Pages are rendered with pypdfium2 and degraded with Pillow only. Every random choice,
including the pixel noise, comes from the ``random.Random`` passed in, so the same rng state
gives the same images (Pillow's own ``effect_noise`` is seeded by C ``rand`` and is avoided).

Qualities:
- ``scan``: greyscale at ``dpi``, slight rotation (±2°), offset, blur, gaussian noise, dust
  specks, contrast/brightness shift.
- ``photo``: colour at ~150–200 dpi, the page lying on a desk seen at an angle (perspective
  warp), uneven lighting, colour cast, JPEG compression, sometimes turned 90°.
- ``fax``: 1-bit at fax resolution (204 x 98 dpi, stretched back), a sender header line.
"""

from __future__ import annotations

import io
import math
import random
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

QUALITIES = ("scan", "photo", "fax")
_MONO_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")


def render_pages(pdf_bytes: bytes, *, dpi: float) -> list[Image.Image]:
    """Clean RGB renders of every page at ``dpi``."""
    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        pages = []
        for page in pdf:
            bitmap = page.render(scale=dpi / 72)
            pages.append(bitmap.to_pil().convert("RGB"))
            page.close()
        return pages
    finally:
        pdf.close()


def render_scan(
    pdf_bytes: bytes, *, dpi: int = 300, quality: str = "scan", rng: random.Random
) -> list[Image.Image]:
    """One degraded image per page. Deterministic for a given rng state."""
    if quality not in QUALITIES:
        raise ValueError(f"quality must be one of {QUALITIES}, not {quality!r}")
    if quality == "photo":
        photo_dpi = min(dpi, rng.randint(150, 200))
        turn = rng.random() < 0.2
        return [_photo(page, rng, turn=turn) for page in render_pages(pdf_bytes, dpi=photo_dpi)]
    if quality == "fax":
        pages = render_pages(pdf_bytes, dpi=204)
        header = _fax_header(rng)
        return [_fax(page, rng, header, n, len(pages)) for n, page in enumerate(pages, start=1)]
    # A document feeder skews every page of one document in much the same way.
    angle = rng.uniform(-2.0, 2.0)
    pages = render_pages(pdf_bytes, dpi=dpi)
    return [_scan(page, rng, angle + rng.uniform(-0.3, 0.3)) for page in pages]


# --- noise --------------------------------------------------------------------------------


def _gauss_lut(sigma: float) -> list[int]:
    """Maps uniform bytes to N(128, sigma) through the inverse normal CDF."""
    lut = []
    for i in range(256):
        p = (i + 0.5) / 256
        lut.append(max(0, min(255, round(128 + sigma * _inv_norm(p)))))
    return lut


def _inv_norm(p: float) -> float:
    # Acklam's rational approximation; accurate to ~1e-9, plenty for pixel noise.
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
         1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
         6.680131188771972e01, -1.328068155288572e01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
         -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
         3.754408661907416e00)
    if p < 0.02425:
        q = math.sqrt(-2 * math.log(p))
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    if p > 1 - 0.02425:
        return -_inv_norm(1 - p)
    q = p - 0.5
    r = q * q
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (
        ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)


def _noise(size: tuple[int, int], sigma: float, rng: random.Random) -> Image.Image:
    w, h = size
    uniform = Image.frombytes("L", size, rng.randbytes(w * h))
    return uniform.point(_gauss_lut(sigma))


def _add_noise(img: Image.Image, sigma: float, rng: random.Random) -> Image.Image:
    noise = _noise(img.size, sigma, rng)
    if img.mode == "RGB":
        noise = Image.merge("RGB", (noise, noise, noise))
    return ImageChops.add(img, noise, scale=1.0, offset=-128)


def _specks(img: Image.Image, rng: random.Random, count: int, max_r: int):
    draw = ImageDraw.Draw(img)
    w, h = img.size
    for _ in range(count):
        x, y, r = rng.randrange(w), rng.randrange(h), rng.randint(1, max_r)
        shade = rng.randint(0, 90)
        fill = shade if img.mode in ("L", "1") else (shade, shade, shade)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)


# --- qualities ----------------------------------------------------------------------------


def _scan(page: Image.Image, rng: random.Random, angle: float) -> Image.Image:
    img = page.convert("L")
    size = img.size
    img = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=250,
                     translate=(rng.randint(-12, 12), rng.randint(-12, 12)))
    img = ImageEnhance.Contrast(img).enhance(rng.uniform(0.75, 1.15))
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.93, 1.05))
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))
    img = _add_noise(img, rng.uniform(3, 9), rng)
    _specks(img, rng, rng.randint(40, 250), 3)
    if rng.random() < 0.3:
        # A dark streak down the page from dirt on the scanner glass.
        x = rng.randrange(size[0])
        ImageDraw.Draw(img).line((x, 0, x + rng.randint(-4, 4), size[1]),
                                 fill=rng.randint(120, 190), width=rng.randint(1, 3))
    return img


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting for the 8x8 perspective system."""
    n = len(vector)
    m = [row[:] + [vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                for k in range(col, n + 1):
                    m[r][k] -= f * m[col][k]
    return [m[i][n] / m[i][i] for i in range(n)]


def _perspective_coeffs(dst: list[tuple[float, float]], src: list[tuple[float, float]]):
    """Coefficients for Image.transform(PERSPECTIVE): output point -> input point."""
    matrix, vector = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        vector += [u, v]
    return _solve(matrix, vector)


def _photo(page: Image.Image, rng: random.Random, *, turn: bool) -> Image.Image:
    w, h = page.size
    margin_x, margin_y = int(w * rng.uniform(0.06, 0.14)), int(h * rng.uniform(0.05, 0.1))
    out_w, out_h = w + 2 * margin_x, h + 2 * margin_y
    desk = tuple(rng.randint(60, 150) for _ in range(3))
    # Where the page corners land in the photo: a quadrilateral, not a rectangle.
    jitter = lambda s: rng.uniform(-s, s)  # noqa: E731
    jx, jy = w * 0.05, h * 0.04
    corners = [
        (margin_x + jitter(jx), margin_y + jitter(jy)),
        (margin_x + w + jitter(jx), margin_y + jitter(jy)),
        (margin_x + w + jitter(jx), margin_y + h + jitter(jy)),
        (margin_x + jitter(jx), margin_y + h + jitter(jy)),
    ]
    coeffs = _perspective_coeffs(corners, [(0, 0), (w, 0), (w, h), (0, h)])
    mask = Image.new("L", page.size, 255).transform(
        (out_w, out_h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR)
    warped = page.transform((out_w, out_h), Image.Transform.PERSPECTIVE, coeffs,
                            Image.Resampling.BICUBIC)
    img = Image.new("RGB", (out_w, out_h), desk)
    img.paste(warped, (0, 0), mask)

    # Uneven light: a smooth field through random corner/edge brightnesses plus a vignette.
    lo = rng.randint(150, 205)
    field = Image.new("L", (3, 3))
    field.putdata([rng.randint(lo, 255) for _ in range(9)])
    field = field.resize(img.size, Image.Resampling.BICUBIC)
    vignette = ImageOps.invert(Image.radial_gradient("L")).resize(img.size)
    vignette = vignette.point(lambda v: 170 + v * 85 // 255)
    light = ImageChops.multiply(field, vignette).point(lambda v: min(255, v * 255 // 200))
    tint = (255, rng.randint(235, 252), rng.randint(205, 245)) if rng.random() < 0.7 else (
        rng.randint(225, 245), rng.randint(235, 250), 255)
    lit = ImageChops.multiply(img, Image.merge("RGB", (light, light, light)))
    img = ImageChops.multiply(lit, Image.new("RGB", img.size, tint))
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.1)))
    img = _add_noise(img, rng.uniform(4, 9), rng)
    if turn:
        img = img.rotate(rng.choice((90, 270)), expand=True)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=rng.randint(50, 80))
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _fax_header(rng: random.Random) -> str:
    number = f"+49 {rng.randint(30, 89)} {rng.randint(1000, 9999)} {rng.randint(100, 999)}"
    return f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.2025 {rng.randint(7, 18):02d}:" \
           f"{rng.randint(0, 59):02d}  FROM: {number}"


def _fax(page: Image.Image, rng: random.Random, header: str, n: int, total: int) -> Image.Image:
    # Standard fax resolution is 204 x 98 dpi: halve the vertical resolution, then stretch back.
    w, h = page.size
    img = page.convert("L").resize((w, h // 2), Image.Resampling.BILINEAR).resize(
        (w, h), Image.Resampling.NEAREST)
    img = img.rotate(rng.uniform(-1.0, 1.0), fillcolor=255, resample=Image.Resampling.BILINEAR)
    img = _add_noise(img, rng.uniform(10, 25), rng)
    threshold = rng.randint(150, 190)
    img = img.point(lambda v: 255 if v > threshold else 0)
    draw = ImageDraw.Draw(img)
    if _MONO_FONT.exists():
        font = ImageFont.truetype(str(_MONO_FONT), 22)
    else:
        font = ImageFont.load_default()
    draw.rectangle((0, 0, w, 30), fill=255)
    draw.text((20, 4), f"{header}    P.{n:03d}/{total:03d}", fill=0, font=font)
    _specks(img, rng, rng.randint(100, 400), 2)
    return img.convert("1", dither=Image.Dither.NONE)


# --- containers ---------------------------------------------------------------------------


def image_to_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=False)
    return buf.getvalue()


def image_to_jpeg(image: Image.Image, *, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB" if image.mode not in ("L", "RGB") else image.mode).save(
        buf, "JPEG", quality=quality)
    return buf.getvalue()


def images_to_tiff(images: list[Image.Image], *, dpi: int = 300) -> bytes:
    """A multi-page TIFF (CCITT G4 for 1-bit fax pages, Deflate otherwise)."""
    buf = io.BytesIO()
    compression = "group4" if all(i.mode == "1" for i in images) else "tiff_deflate"
    images[0].save(buf, "TIFF", save_all=True, append_images=images[1:],
                   compression=compression, dpi=(dpi, dpi))
    return buf.getvalue()


def images_to_pdf(images: list[Image.Image], *, dpi: int = 300, quality: int = 75) -> bytes:
    """An image-only PDF (no text layer), one page per image, sized by ``dpi``.

    Greyscale and colour pages are JPEG-compressed at ``quality`` (what scanners do), 1-bit
    pages CCITT G4."""
    buf = io.BytesIO()
    pages = [i.convert("RGB") if i.mode not in ("L", "RGB", "1") else i for i in images]
    # Pillow hands 1-bit pages to its TIFF G4 encoder, which rejects a JPEG quality.
    extra = {} if all(p.mode == "1" for p in pages) else {"quality": quality}
    pages[0].save(buf, "PDF", save_all=True, append_images=pages[1:], resolution=float(dpi),
                  **extra)
    return buf.getvalue()


def to_bitonal(image: Image.Image, *, threshold: int = 170) -> Image.Image:
    """A scanner's black-and-white mode: a hard threshold, no dithering."""
    return image.convert("L").point(lambda v: 255 if v > threshold else 0).convert(
        "1", dither=Image.Dither.NONE)
