"""Invoice fields from scans and photos: Tesseract OCR with word confidences.

Pages are prepared one at a time (PDF pages rendered by pdfium at 300 dpi, TIFF frames, single
images): orientation (EXIF, then Tesseract OSD), deskew, cleaning; then read in runs of up to
BATCH_PAGES pages by one ``tesseract`` process (``pytesseract.image_to_data`` on a list file),
since each process first spends ~0.25 CPU-s per language loading its models. Words are
converted to PDF points from the top-left corner and go through the same field logic as the
text layer (``layout.extract_invoice``); OCR word confidence lowers the confidence of every
field read from those words.

Tesseract runs with ``OMP_THREAD_LIMIT=1``: its OpenMP threads make one page slower, not
faster, on small machines (measured: 80 vs 11 pages/min on 2 cores, see NOTES.md); throughput
comes from running several worker processes instead.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import tempfile
import threading
import warnings
import weakref
from dataclasses import dataclass

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import pypdfium2
import pytesseract
from PIL import (
    Image,
    ImageChops,
    ImageFilter,
    ImageOps,
    ImageSequence,
    ImageStat,
    UnidentifiedImageError,
)

from apinvoices.extraction import imageprep
from apinvoices.extraction.errors import ExtractionError, ExtractionErrorCode
from apinvoices.extraction.layout import Page, Word, extract_invoice
from apinvoices.extraction.pdftext import check_page_limit, count_pdf_pages
from apinvoices.extraction.types import BBox, ExtractedInvoice

logger = logging.getLogger(__name__)

RENDER_DPI = 300
# Pages read by one tesseract process (each process loads its models first: ~0.25 CPU-s per
# language); that many prepared pages wait on disk, ~9 MB each at 300 dpi.
BATCH_PAGES = 8
# The main read's page segmentation mode (see ``ocr_words``). Seed 7, 16 scans and 16 photos:
# psm 6 read 238 of 248 key fields and psm 4 239, against 245 with psm 11, for up to 6 % less CPU.
READ_PSM = 11
DEFAULT_LANGUAGES = "eng+deu+fra+nld+spa+ita"
DEFAULT_MAX_IMAGE_PIXELS = 80_000_000
# A page narrower than this (after EXIF rotation) cannot hold legible 10-pt text.
MIN_PAGE_PIXELS = 600
# How much edge energy a page loses when blurred once more, at 1240 px wide (150 dpi for A4):
# a sharp rendered page measures ~8, a 2-px Gaussian blur at 300 dpi ~2.8 (still read well),
# a 3-px blur ~1.3 and a 4-px blur ~1.05 (Tesseract reads little or nothing).
MIN_SHARPNESS = 1.5
# Share of a page crop's pixels that are isolated dark specks (see ``speck_share``): 0 on every
# clean rendered FX page, generated scan and photo of seeds 7 and 13 (grain, anti-aliased
# strokes and 1-px table rules never qualify); 0.016 / 0.058 / 0.17 % with 5,000 / 20,000 /
# 60,000 single-pixel specks on an A4 page at 300 dpi, after deskew.
SPECK_THRESHOLD = 0.00004
# A speck is darker than SPECK_DARK with all eight neighbours lighter than SPECK_PAPER (grey
# levels after autocontrast); the deskew's bilinear rotation spreads a speck into neighbours of
# ~200, so SPECK_PAPER stays below that.
SPECK_DARK = 128
SPECK_PAPER = 160
# Without any DPI information a photo or scan is assumed to show an A4/Letter page width.
ASSUMED_PAGE_WIDTH_INCHES = 8.27
MAX_DESKEW_DEGREES = 5.0


# Settings a pool worker was given by its parent (a forked worker may not see Django's
# settings as the parent had them, e.g. pytest-django's ``settings`` fixture overrides).
_settings_override: dict[str, object] = {}


def _setting(name: str, default):
    """Settings are read at call time so tests and deployments can change them."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    if _settings_override.get(name) is not None:
        return _settings_override[name]
    try:
        return getattr(settings, name, default)
    except ImproperlyConfigured:  # a script outside Django
        return default


def _languages() -> str:
    return _setting("AP_OCR_LANGUAGES", DEFAULT_LANGUAGES) or DEFAULT_LANGUAGES


def _unavailable(err: Exception) -> ExtractionError:
    return ExtractionError(
        ExtractionErrorCode.OCR_UNAVAILABLE,
        "Text recognition (Tesseract) is not installed or lacks a language pack; ask an "
        "administrator.",
        detail=str(err),
    )


# --- Image preparation ---------------------------------------------------------------------


def _edge_variance(image: Image.Image) -> float:
    return ImageStat.Stat(image.filter(ImageFilter.FIND_EDGES)).var[0]


def sharpness(image: Image.Image) -> float:
    """Ratio of edge energy before and after an extra blur, at a fixed scale.

    A ratio rather than an absolute edge energy, so that a page with little text is not
    mistaken for a blurred one; ~1.0 means the image is already as blurred as the probe.
    """
    gray = image.convert("L")
    short = min(gray.size)
    if short > 1240:
        factor = 1240 / short
        gray = gray.resize(
            (max(1, round(gray.width * factor)), max(1, round(gray.height * factor))),
            Image.BILINEAR,
        )
    before = _edge_variance(gray)
    after = _edge_variance(gray.filter(ImageFilter.GaussianBlur(1.5)))
    return before / max(after, 1e-6)


def check_quality(image: Image.Image) -> None:
    """Raise IMAGE_TOO_POOR for pages too small or too blurred for reliable OCR."""
    if min(image.size) < MIN_PAGE_PIXELS:
        raise ExtractionError(
            ExtractionErrorCode.IMAGE_TOO_POOR,
            f"The image is too small to read ({image.width}×{image.height} pixels). Please scan "
            "the invoice at 300 dpi or take a sharper, closer photo.",
            width=image.width,
            height=image.height,
        )
    measured = sharpness(image)
    if measured < MIN_SHARPNESS:
        raise ExtractionError(
            ExtractionErrorCode.IMAGE_TOO_POOR,
            "The image is too blurred to read. Please scan the invoice again or take a sharper "
            "photo in good light.",
            sharpness=round(measured, 1),
        )


def _projection_score(image: Image.Image) -> float:
    # Each row's mean darkness; text lines aligned with the rows give peaky, high-variance
    # profiles, a skewed page smears them.
    profile = image.resize((1, image.height), Image.BOX)
    return ImageStat.Stat(profile).var[0]


def skew_angle(image: Image.Image) -> float:
    """Small skew in degrees (counter-clockwise positive), found by projection profiles.

    Coarse search in 1-degree steps on a ~300-pixel copy, then 0.5/0.25/0.1-degree steps on a
    ~600-pixel copy: 18 small rotations instead of 26 at the finer size (~0.2 s less a page).
    """
    gray = image.convert("L")

    def inverted_at(target: int) -> Image.Image:
        factor = max(1, min(gray.size) // target)
        small = gray.reduce(factor) if factor > 1 else gray
        return ImageOps.invert(ImageOps.autocontrast(small))

    def scorer(inverted: Image.Image):
        def score(angle: float) -> float:
            rotated = inverted.rotate(angle, resample=Image.BILINEAR, expand=False, fillcolor=0)
            return _projection_score(rotated)

        return score

    coarse = scorer(inverted_at(300))
    best = max(range(-5, 6), key=coarse)
    fine = scorer(inverted_at(600))
    best = max((best + a for a in (-0.5, 0, 0.5)), key=fine)
    best = max((best + a for a in (-0.25, 0, 0.25)), key=fine)
    best = max((best + a for a in (-0.1, 0, 0.1)), key=fine)
    return best if abs(best) <= MAX_DESKEW_DEGREES else 0.0


def orientation(image: Image.Image) -> int:
    """Clockwise rotation (0/90/180/270) Tesseract OSD says the page needs; 0 when unsure.

    OSD fails on sparse pages ("Too few characters"); that is not an error, the page is then
    read as it is.
    """
    tesserocr = _tesserocr()
    if tesserocr is not None:
        api = _api(tesserocr, "osd", int(tesserocr.PSM.OSD_ONLY))
        api.SetVariable("min_characters_to_try", "10")
        api.SetImage(image)
        found = api.DetectOrientationScript()
        api.Clear()
        if not found or found.get("orient_conf", 0) < 1.5:
            return 0
        # tesserocr reports how the page is turned (counter-clockwise); OSD's "Rotate" (what
        # the CLI prints and callers expect) is the clockwise turn that undoes it.
        return (360 - int(found["orient_deg"])) % 360
    try:
        osd = pytesseract.image_to_osd(image, config="--psm 0 -c min_characters_to_try=10")
    except pytesseract.TesseractNotFoundError as err:
        raise _unavailable(err) from err
    except pytesseract.TesseractError as err:
        logger.debug("OSD failed, page read as is: %s", err)
        return 0
    rotate = re.search(r"Rotate:\s*(\d+)", osd)
    conf = re.search(r"Orientation confidence:\s*([\d.]+)", osd)
    if not rotate or not conf or float(conf.group(1)) < 1.5:
        return 0
    return int(rotate.group(1)) % 360


def rotate_upright(image: Image.Image, clockwise: int) -> Image.Image:
    # OSD's "Rotate" is clockwise; PIL rotates counter-clockwise.
    return image.rotate(-clockwise, expand=True, fillcolor=255) if clockwise else image


_DARK_LUT = [255 if v < SPECK_DARK else 0 for v in range(256)]
_INKED_LUT = [0 if v > SPECK_PAPER else 1 for v in range(256)]
_ALONE_LUT = [255] + [0] * 255
_NEIGHBOURS = ImageFilter.Kernel((3, 3), (1, 1, 1, 1, 0, 1, 1, 1, 1), scale=1)


def speck_share(image: Image.Image) -> float:
    """Share of the pixels of a central crop (at most 800 x 800) of a grey page that are
    isolated dark specks: darker than SPECK_DARK, with all eight neighbours on paper.

    A 3x3 median filter removes exactly such pixels. Stroke edges, thin rules and the grain of
    a scanner are not counted (they have inked neighbours, or are not dark), so clean pages
    measure 0 where the share of pixels a median changes is 0.06-0.28 %.
    """
    w, h = image.size
    crop = image.crop((w // 4, h // 4, w // 4 + min(800, w // 2), h // 4 + min(800, h // 2)))
    if crop.mode != "L":
        crop = crop.convert("L")
    dark = crop.point(_DARK_LUT)
    alone = crop.point(_INKED_LUT).filter(_NEIGHBOURS).point(_ALONE_LUT)
    specks = ImageChops.darker(dark, alone).histogram()[255]
    return specks / max(crop.width * crop.height, 1)


def is_bitonal(image: Image.Image) -> bool:
    """A black-and-white scan (a G4 TIFF, or a PDF page holding one): two grey levels only."""
    if image.mode == "1":
        return True
    if image.mode != "L":
        return False
    return sum(1 for count in image.histogram() if count) <= 2


def is_noisy(image: Image.Image, *, bitonal: bool = False) -> bool:
    """Whether a 3x3 median filter (~0.2 CPU-s a 300-dpi page) should clean ``image``.

    Yes for a page scanned in black and white (``bitonal``): smoothing its stair-stepped edges
    read one more field on the seed-7 G4 TIFFs; yes when isolated dark specks (``speck_share``)
    cover more than SPECK_THRESHOLD of it. No for clean rendered pages (no field changed on 19
    FX pages) and for grey scans and photos, whose grain is not specks: on the grey scans the
    filter was a coin toss (seed 13: two fields more without it, seed 53: one fewer).
    """
    return bitonal or speck_share(image) > SPECK_THRESHOLD


@dataclass(frozen=True)
class Prepared:
    """A page ready for Tesseract.

    ``image`` is grayscale at ``dpi``, upright after a clockwise turn of ``turn`` degrees;
    ``frame`` is the size in points of the page before that turn. ``warp`` maps points of that
    frame back to the photo when the page was cut out of one (``None`` for a page that filled
    its image, whose frame is then the image's own).
    """

    image: Image.Image
    turn: int
    dpi: float
    frame: tuple[float, float]
    warp: imageprep.PageWarp | None = None


# Switch off to measure what cutting the sheet out of photos is worth (bench/README.md).
FIND_PAGE = True
# Photos: turn a landscape sheet by where its text lines run and which way its ascenders
# point (``imageprep.ascender_ratio``), not by Tesseract OSD. Off: OSD, as before.
PHOTO_TURN_BY_INK = True
# An upright-shaped photo is turned over when its ascender ratio is below this.
UPSIDE_DOWN_BELOW = 0.6
# Photos: a sheet whose perspective was undone has its edges, and so its printed lines, square
# with the image; the projection search found 0 degrees on 43 of the 45 photos of seeds 7 and 13
# (0.15 and 0.25 on the others) for ~0.12 CPU-s a page. On: search anyway, as scans do.
DESKEW_PHOTOS = False


def prepare(image: Image.Image, *, dpi: float) -> Prepared:
    """The page Tesseract reads best from ``image`` (a scan or photo at ``dpi``).

    A sheet photographed on a desk is cut out and its perspective undone, at 200 dpi
    (``imageprep.PHOTO_DPI``), its lighting flattened, turned upright by its ink when it lies
    sideways (or, upside down, when its ascenders say so clearly); undoing the perspective has
    squared it already (``DESKEW_PHOTOS``). A page that fills its image (a scan) is turned
    upright by OSD if landscape, deskewed, and scaled up
    when below ~250 dpi. Either is then contrast-stretched and denoised when speckled;
    portrait pages are checked by OSD again only if they read badly (``_finish_page``).
    """
    gray = image.convert("L")
    warp = None
    quad = imageprep.find_page(image) if FIND_PAGE else None
    if quad is not None:
        tl, tr, br, bl = quad
        short = min(
            max(math.dist(tl, tr), math.dist(bl, br)), max(math.dist(tl, bl), math.dist(tr, br))
        )
        # The sheet's own width sets the resolution, not the photo's (which includes the desk).
        page_dpi = max(short / ASSUMED_PAGE_WIDTH_INCHES, 50.0)
        scale = imageprep.photo_scale(page_dpi)
        gray, coeffs = imageprep.rectify(gray, quad, scale=scale)
        warp = imageprep.PageWarp(coeffs=coeffs, page_dpi=page_dpi * scale, photo_dpi=dpi)
        dpi = page_dpi * scale
    frame = (gray.width * 72.0 / dpi, gray.height * 72.0 / dpi)
    turn = 0
    landscape = gray.width > gray.height * 1.15
    if warp is not None and PHOTO_TURN_BY_INK:
        # Photos only: on the seed-7 photos 154 -> 216 of 252 fields; on scans (even light
        # already) it cost 3 of 251. Before the turn, which is judged on evenly lit ink.
        gray = imageprep.flatten_lighting(gray)
        if landscape and imageprep.lines_run_vertically(gray):
            # A sheet photographed turned; whether by 90 or 270 is settled below. (Tesseract
            # OSD was unsure on such sheets, 0.3-1.2 confidence, and often wrong.)
            turn = 90
            gray = rotate_upright(gray, turn)
    elif landscape:
        turn = orientation(gray)
        gray = rotate_upright(gray, turn)
    angle = skew_angle(gray) if warp is None or DESKEW_PHOTOS else 0.0
    if abs(angle) >= 0.2:
        # Same canvas, rotated about its centre: word boxes stay within a few points of where
        # the clerk sees them on the original page.
        # Bilinear: at 300 dpi Tesseract reads it as well as bicubic, at half the cost.
        gray = gray.rotate(angle, resample=Image.BILINEAR, expand=False, fillcolor=255)
    if warp is not None and not PHOTO_TURN_BY_INK:
        gray = imageprep.flatten_lighting(gray)  # where it ran before the ink turn
    elif warp is not None:
        # A turned sheet is upside down after the 90-degree turn when its ascenders point
        # down; an unturned one only on strong evidence (upright pages measured >= 1.6).
        if imageprep.ascender_ratio(gray) < (1.0 if turn else UPSIDE_DOWN_BELOW):
            turn = (turn + 180) % 360
            gray = gray.transpose(Image.Transpose.ROTATE_180)
    gray = ImageOps.autocontrast(gray, cutoff=1)
    if is_noisy(gray, bitonal=is_bitonal(image)):
        gray = gray.filter(ImageFilter.MedianFilter(3))
    if warp is None:
        factor = imageprep.upscale_factor(dpi)
        if factor > 1:
            gray = gray.resize(
                (round(gray.width * factor), round(gray.height * factor)), Image.LANCZOS
            )
            dpi *= factor
    return Prepared(image=gray, turn=turn, dpi=dpi, frame=frame, warp=warp)


# --- OCR -----------------------------------------------------------------------------------


# --- Engines ---------------------------------------------------------------------------------
#
# tesserocr drives libtesseract in this process: the model is loaded once per worker and the
# page goes over as raw pixels. pytesseract (the fallback when tesserocr is not installed)
# starts a tesseract process per page, writes and decodes a PNG, and reloads the model each
# time: measured at about twice the CPU time per page (bench/README.md).

_TESSDATA_CANDIDATES = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)
# Loaded tesserocr APIs per (languages, psm), newest last; each holds its models (~20-40 MB).
_MAX_APIS = 3
_apis: dict[tuple[str, int], object] = {}


def _tessdata_dir() -> str | None:
    configured = _setting("AP_TESSDATA_DIR", None) or os.environ.get("TESSDATA_PREFIX")
    if configured:
        return str(configured)
    for candidate in _TESSDATA_CANDIDATES:
        if os.path.isfile(os.path.join(candidate, "eng.traineddata")):
            return candidate
    return None


def _tesserocr():
    if _setting("AP_OCR_ENGINE", "auto") == "cli":
        return None
    try:
        import tesserocr
    except ImportError:
        return None
    return tesserocr


def _api(tesserocr, languages: str, psm: int):
    key = (languages, psm)
    api = _apis.pop(key, None)
    if api is None:
        try:
            api = tesserocr.PyTessBaseAPI(path=_tessdata_dir() or "", lang=languages, psm=psm)
        except RuntimeError as err:
            raise _unavailable(err) from err
        while len(_apis) >= _MAX_APIS:
            _apis.pop(next(iter(_apis))).End()
    _apis[key] = api  # most recently used last
    return api


def tesseract_data(image: Image.Image, *, languages: str, psm: int = 11) -> list[tuple]:
    """(text, confidence 0-100, left, top, width, height) of every word Tesseract reads."""
    tesserocr = _tesserocr()
    if tesserocr is None:
        return _tesseract_data_cli(image, languages=languages, psm=psm)
    api = _api(tesserocr, languages, psm)
    api.SetImage(image)
    api.Recognize()
    level = tesserocr.RIL.WORD
    words = []
    iterator = api.GetIterator()
    if iterator is not None:
        for item in tesserocr.iterate_level(iterator, level):
            box = item.BoundingBox(level)
            text = item.GetUTF8Text(level)
            if box is None or not text:
                continue
            left, top, right, bottom = box
            words.append((text, item.Confidence(level), left, top, right - left, bottom - top))
    api.Clear()
    return words


def tesseract_pages(paths: list[str], *, languages: str, psm: int = 11) -> list[list[tuple]]:
    """The words of each page image file in ``paths`` (as :func:`tesseract_data`), in order.

    Guarantee: one ``tesseract`` process reads all of them. Each process pays for loading its
    models before it reads anything: ~0.25 CPU-s per language with Debian's 5.3 (measured on a
    blank page; most of it builds the universal ambiguity table). Through tesserocr the models
    stay loaded anyway.
    """
    if not paths:
        return []
    tesserocr = _tesserocr()
    if tesserocr is not None:
        found = []
        for path in paths:
            with Image.open(path) as image:
                found.append(tesseract_data(image, languages=languages, psm=psm))
        return found
    if len(paths) == 1:
        return [_tesseract_data_cli(paths[0], languages=languages, psm=psm)]
    # Tesseract reads a text file that names one image per line as a multi-page document and
    # numbers the pages of its TSV from 1 in that order.
    listing = os.path.join(os.path.dirname(paths[0]), f"pages-{os.getpid()}.txt")
    with open(listing, "w", encoding="utf-8") as handle:
        handle.write("".join(f"{path}\n" for path in paths))
    try:
        data = _image_to_data(listing, languages=languages, psm=psm)
    finally:
        os.remove(listing)
    found = [[] for _ in paths]
    for number, *word in zip(
        data["page_num"],
        data["text"],
        data["conf"],
        data["left"],
        data["top"],
        data["width"],
        data["height"],
    ):
        if 1 <= int(number) <= len(paths):
            found[int(number) - 1].append(tuple(word))
    return found


def _tesseract_data_cli(image: Image.Image | str, *, languages: str, psm: int) -> list[tuple]:
    if isinstance(image, Image.Image) and image.mode in ("L", "RGB", "1"):
        # pytesseract writes the image it is given as a PNG unless told its format: PNM is
        # written and decoded without compression (PNG: ~0.1 CPU-s a 300-dpi page to write).
        image.format = "PPM"
    data = _image_to_data(image, languages=languages, psm=psm)
    return list(
        zip(data["text"], data["conf"], data["left"], data["top"], data["width"], data["height"])
    )


def _image_to_data(image: Image.Image | str, *, languages: str, psm: int) -> dict:
    try:
        return pytesseract.image_to_data(
            image,
            lang=languages,
            config=f"--psm {psm}",
            output_type=pytesseract.Output.DICT,
        )
    except pytesseract.TesseractNotFoundError as err:
        raise _unavailable(err) from err
    except pytesseract.TesseractError as err:
        if "language" in str(err).lower() or "traineddata" in str(err).lower():
            raise _unavailable(err) from err
        raise


# --- Language ---------------------------------------------------------------------------------
#
# Every extra language model costs Tesseract time on every word (six languages: 1.6-2.8x the
# CPU of one). A page is therefore read once, small, in English, to vote for its language by
# the invoice words it prints; then in full with that language alone. Latin-script invoices
# print their English loan words (IBAN, Total, Service) legibly in any of these models.

# Per language: short function words that must match exactly, and invoice word stems that
# count when a word contains them (compounds: "Rechnungsnummer", "Factuurdatum"). Accents are
# dropped first, since the English probe reads "fällig" as "fallig".
_LANGUAGE_WORDS = {
    "eng": (
        "the and of to for from no due date total invoice bill tax vat amount balance terms "
        "qty price ltd inc",
        "invoice payment amount number customer description quantity order shipping address "
        "subtotal account",
    ),
    "deu": (
        "und der die das fur fiir vom von bis nr mit zum zur bei ust mwst",
        "rechnung nummer datum steuer betrag gesamt zahlung zahlbar liefer kunde anschrift "
        "bestell menge preis summe netto brutto gmbh strasse konto leistung umsatz",
    ),
    "fra": (
        "le la les du des et au aux ht ttc tva sarl sas",
        "facture montant echeance paiement commande client quantite prix avoir reglement "
        "numero adresse livraison remise",
    ),
    "nld": (
        "het een van en te voor btw bv",
        "factuur bedrag totaal vervaldatum betaling bestelling klant aantal prijs "
        "omschrijving rekening adres levering",
    ),
    "spa": (
        "el la los las del de y iva sl",
        "factura fecha importe vencimiento pago pedido cliente cantidad precio imponible "
        "numero direccion cuenta",
    ),
    "ita": (
        "il lo la gli del della di e iva srl",
        "fattura importo totale scadenza pagamento ordine cliente quantita prezzo imponibile "
        "numero indirizzo partita codice fiscale",
    ),
}
_VOTES = {
    lang: (frozenset(exact.split()), tuple(stems.split()))
    for lang, (exact, stems) in _LANGUAGE_WORDS.items()
}
# A language wins with at least this many words and half as many again as the runner-up
# (shared words such as "numero" or "total" count for each language that has them).
MIN_LANGUAGE_VOTES = 3


def _plain(text: str) -> str:
    import unicodedata

    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in folded if ch.isalnum() and not unicodedata.combining(ch))


def vote_language(texts: list[str], allowed: list[str]) -> str | None:
    """The language in ``allowed`` whose invoice vocabulary the words match most, or None
    when no language has MIN_LANGUAGE_VOTES words or the runner-up is close."""
    counts = {lang: 0 for lang in allowed if lang in _VOTES}
    for text in texts:
        word = _plain(text)
        if not word or word.isdigit():
            continue
        for lang in counts:
            exact, stems = _VOTES[lang]
            if word in exact or (len(word) >= 4 and any(stem in word for stem in stems)):
                counts[lang] += 1
    ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)
    if not ranked or ranked[0][1] < MIN_LANGUAGE_VOTES:
        return None
    if len(ranked) > 1 and ranked[0][1] < 1.5 * ranked[1][1]:
        return None
    return ranked[0][0]


# The vote reads bands of the page's top, at about 100 dpi: the title and header labels it
# needs are there and still legible. Seed 7 (51 first pages, FX and generated scans and photos):
# the top half at half resolution voted right on 47 (4 unsure) for 0.75 CPU-s a document; the
# top third at a third 47 (4 unsure, other pages) for 0.44; the top half at a third 48 for 0.57.
# Reading the second band only when the first leaves the vote unsure keeps the cheap read for
# most pages and the larger crop for the rest. An unsure vote costs far more than a band: the
# page is then read with every configured language.
VOTE_BANDS = ((0.0, 1 / 3), (1 / 3, 1 / 2))
VOTE_WIDTH = 800


def detect_language(image: Image.Image) -> str | None:
    """The page's language among ``AP_OCR_LANGUAGES``, from a fast English read of its top
    (VOTE_BANDS, reduced to about VOTE_WIDTH pixels wide); None when unsure.

    Guarantee: one ``tesseract`` read of the top third; a second, of the rest of the top half,
    only when the first leaves the vote unsure. Words of both bands vote together.
    """
    allowed = _languages().split("+")
    if len(allowed) == 1:
        return allowed[0]
    probe_language = "eng" if "eng" in allowed else allowed[0]
    factor = max(1, image.width // VOTE_WIDTH)
    texts: list[str] = []
    for start, end in VOTE_BANDS:
        top, bottom = round(image.height * start), max(1, round(image.height * end))
        if bottom <= top:
            continue
        band = image.crop((0, top, image.width, bottom))
        if factor > 1:
            band = band.reduce(factor)
        texts += [w[0] for w in tesseract_data(band, languages=probe_language) if float(w[1]) >= 50]
        found = vote_language(texts, allowed)
        if found:
            return found
    return None


def _read_languages(found: str | None) -> str:
    """What the main read uses: the voted language alone, or every configured language when
    the vote was unsure (slow but never worse). English beside the voted language was dropped:
    on seeds 7 and 13 (64 scans and photos) it read the same key fields for 12-14 % more CPU;
    what it had mended on the FX pages is now ``_mend_misreads``'s."""
    return found or _languages()


# German and the other non-English models read the VAT category "(S)" of EN 16931 tax tables
# as "($)": on all 10 FX pages that print it (English reads "(S)"), which made a German invoice
# look like one in dollars. Only an English read keeps "($)", as in "Amount ($)".
_DOLLAR_CATEGORY = "($)"


def _mend_misreads(text: str, languages: str) -> str:
    if _DOLLAR_CATEGORY in text and "eng" not in languages.split("+"):
        return text.replace(_DOLLAR_CATEGORY, "(S)")
    return text


def ocr_words(
    image: Image.Image, *, page: int, dpi: float, languages: str | None = None
) -> list[Word]:
    """Words on one prepared page with positions in PDF points and confidences in 0..1."""
    # Sparse-text mode (psm 11): invoices are forms, and the automatic layout mode (3) drops
    # whole amount columns next to table rules; lines are rebuilt from positions.
    languages = languages or _languages()
    data = tesseract_data(image, languages=languages, psm=READ_PSM)
    return _words(data, page=page, dpi=dpi, languages=languages)


def _words(data: list[tuple], *, page: int, dpi: float, languages: str) -> list[Word]:
    scale = 72.0 / dpi
    words = []
    for text, conf, left, top, width, height in data:
        text = _mend_misreads((text or "").strip(), languages)
        conf = float(conf)
        if not text or conf < 0:
            continue
        words.append(
            Word(
                text=text,
                x0=int(left) * scale,
                top=int(top) * scale,
                x1=(int(left) + int(width)) * scale,
                bottom=(int(top) + int(height)) * scale,
                page=page,
                conf=max(0.0, min(conf / 100.0, 1.0)),
            )
        )
    return words


@dataclass(frozen=True)
class _Turn:
    """How an upright page relates to the original image: turned ``clockwise`` degrees from a
    frame of ``width`` x ``height`` points, which is the original image itself, or the sheet cut
    out of a photo when ``warp`` is set (it maps that frame's points to the photo's)."""

    clockwise: int
    width: float
    height: float
    warp: imageprep.PageWarp | None = None

    def to_original(self, box: BBox) -> BBox:
        w, h = self.width, self.height
        corners = [(box.x0, box.top), (box.x1, box.top), (box.x1, box.bottom), (box.x0, box.bottom)]
        if self.clockwise == 90:
            mapped = [(v, h - u) for u, v in corners]
        elif self.clockwise == 180:
            mapped = [(w - u, h - v) for u, v in corners]
        elif self.clockwise == 270:
            mapped = [(w - v, u) for u, v in corners]
        else:
            mapped = corners
        if self.warp is not None:
            mapped = [self.warp.to_photo(x, y) for x, y in mapped]
        elif not self.clockwise:
            return box
        xs, ys = [x for x, _ in mapped], [y for _, y in mapped]
        return BBox(min(xs), min(ys), max(xs), max(ys))


@dataclass(frozen=True)
class _QueuedPage:
    """A page made ready for Tesseract and written to ``path`` (so that no page image stays
    in memory while it waits for its batch)."""

    number: int
    path: str
    dpi: float
    turn: int  # clockwise turn ``prepare`` applied
    frame: tuple[float, float]  # the page before that turn, in points (see ``Prepared``)
    warp: imageprep.PageWarp | None  # maps the frame back to the photo it was cut out of
    languages: str
    probed: bool  # ``languages`` was voted on this page (not known from an earlier one)


def _prepare_page(
    image: Image.Image, *, number: int, dpi: float, language: str | None, directory: str
) -> tuple[_QueuedPage, str | None]:
    """Prepare one page, vote for its language unless the document's ``language`` is known,
    and write it to ``directory``. Returns the page and the language found on it (None when
    unsure)."""
    ready = prepare(image, dpi=dpi)
    prepared, turn, dpi = ready.image, ready.turn, ready.dpi
    found = language or detect_language(prepared)
    path = os.path.join(directory, f"page-{number:05d}.pgm")
    # Uncompressed: a PNG costs ~0.1 CPU-s a page to write and Tesseract again to decode.
    prepared.save(path, format="PPM")
    languages = _read_languages(found)
    queued = _QueuedPage(
        number, path, dpi, turn, ready.frame, ready.warp, languages, probed=not language
    )
    return queued, found


class _PageReader:
    """Reads prepared pages in batches of up to ``batch`` pages, one ``tesseract`` process a
    batch (see :func:`tesseract_pages` for why), keeping only the words.

    Guarantees: pages come back in the order they were added, each with how it was turned; a
    batch holds pages of one language set; a page's file is removed once it is read.
    """

    def __init__(self, batch: int):
        self.batch = max(1, batch)
        self.pages: list[tuple[Page, _Turn]] = []
        self._pending: list[_QueuedPage] = []

    def add(self, page: _QueuedPage) -> None:
        if self._pending and (
            len(self._pending) >= self.batch or page.languages != self._pending[0].languages
        ):
            self.flush()
        self._pending.append(page)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            data = tesseract_pages(
                [p.path for p in pending], languages=pending[0].languages, psm=READ_PSM
            )
            for prepared, found in zip(pending, data):
                words = _words(
                    found, page=prepared.number, dpi=prepared.dpi, languages=prepared.languages
                )
                self.pages.append(_finish_page(prepared, words))
        finally:
            for prepared in pending:
                if os.path.exists(prepared.path):
                    os.remove(prepared.path)


def _finish_page(prepared: _QueuedPage, words: list[Word]) -> tuple[Page, _Turn]:
    number, dpi, turn, languages = prepared.number, prepared.dpi, prepared.turn, prepared.languages
    with Image.open(prepared.path) as stored:
        size = stored.size
        if _reads_badly(words):
            # Perhaps upside down or sideways: ask OSD, and read again only if it says so.
            image = stored.convert("L")
            rotate = orientation(image)
            if rotate:
                turned = rotate_upright(image, rotate)
                if prepared.probed:
                    found = detect_language(turned)
                    languages = _read_languages(found)
                retry = ocr_words(turned, page=number, dpi=dpi, languages=languages)
                if _mean_conf(retry) > _mean_conf(words):
                    words, size, turn = retry, turned.size, (turn + rotate) % 360
    scale = 72.0 / dpi
    page = Page(number=number, width=size[0] * scale, height=size[1] * scale, words=words)
    return page, _Turn(turn, *prepared.frame, warp=prepared.warp)


def _mean_conf(words: list[Word]) -> float:
    return sum(w.conf for w in words) / len(words) if words else 0.0


def _reads_badly(words: list[Word]) -> bool:
    good = [w for w in words if w.conf >= 0.8 and len(w.text) >= 3]
    return len(good) < 15 or _mean_conf(words) < 0.6


def _finish(pages: list[Page], turns: dict[int, _Turn]) -> ExtractedInvoice:
    words = [w for p in pages for w in p.words]
    readable = [w for w in words if w.conf >= 0.6 and re.search(r"\w{2}", w.text)]
    if len(readable) < 5:
        raise ExtractionError(
            ExtractionErrorCode.IMAGE_TOO_POOR,
            "No readable text was found. Please scan the invoice again at 300 dpi, or take a "
            "sharper photo in good light.",
            words=len(words),
        )
    result = extract_invoice(pages, source="ocr", kind="ocr")
    # Boxes go back to the frame of the page as stored, which is what the review screen shows.
    for value in result.fields.values():
        turn = turns.get(value.page or 0)
        if value.bbox is not None and turn is not None:
            value.bbox = turn.to_original(value.bbox)
    mean = sum(w.conf for w in words) / len(words)
    if mean < 0.7:
        result.warnings.append(f"low OCR confidence ({mean:.0%}): check every field")
    return result


class RenderMeter:
    """Counts rendered page images that are still alive (by weak reference), and the most
    that were alive at once since ``reset``: the evidence that pages are streamed, one
    rendered page per process at a time, whatever the length of the PDF."""

    def __init__(self):
        self._lock = threading.Lock()
        self.alive = 0
        self.peak = 0

    def reset(self) -> None:
        with self._lock:
            self.peak = self.alive

    def track(self, image: Image.Image) -> Image.Image:
        with self._lock:
            self.alive += 1
            self.peak = max(self.peak, self.alive)
        weakref.finalize(image, self._release)
        return image

    def _release(self) -> None:
        with self._lock:
            self.alive -= 1


RENDER_METER = RenderMeter()


def _render(data: bytes, password: str | None, index: int) -> Image.Image:
    # A fresh pdfium document per page: pdfium caches decoded page images per document, so
    # one document kept open over a long scan grows ~0.5 MB a page (measured); reopening
    # costs a millisecond and keeps the memory flat.
    document = pypdfium2.PdfDocument(data, password=password)
    try:
        pdf_page = document[index]
        try:
            bitmap = pdf_page.render(scale=RENDER_DPI / 72)
            try:
                # convert() copies, so the image does not keep pdfium's buffer alive
                return RENDER_METER.track(bitmap.to_pil().convert("L"))
            finally:
                bitmap.close()
        finally:
            pdf_page.close()
    finally:
        document.close()


def _prepare_pdf_page(
    data: bytes, password: str | None, index: int, language: str | None, directory: str
) -> tuple[_QueuedPage, str | None]:
    image = _render(data, password, index)
    try:
        return _prepare_page(
            image, number=index + 1, dpi=RENDER_DPI, language=language, directory=directory
        )
    finally:
        del image


def _read_pdf_pages(
    data: bytes,
    password: str | None,
    indices: list[int],
    language: str | None,
    directory: str,
    first: _QueuedPage | None = None,
) -> list[tuple[Page, _Turn]]:
    """Render, prepare and read the pages at ``indices`` (after ``first``, already prepared),
    one rendered page in memory at a time, in batches of BATCH_PAGES."""
    reader = _PageReader(BATCH_PAGES)
    if first is not None:
        reader.add(first)
    for index in indices:
        prepared, found = _prepare_pdf_page(data, password, index, language, directory)
        language = language or found
        reader.add(prepared)
    reader.flush()
    return reader.pages


def _workers(pages: int) -> int:
    """Processes to read a PDF's pages with: ``AP_OCR_WORKERS`` (default: the CPU count, at
    most 2, since Tesseract runs single-threaded with OMP_THREAD_LIMIT=1), never more than
    the pages, and 1 inside a daemonic process (a django-q2 worker may not have children)."""
    import multiprocessing

    configured = _setting("AP_OCR_WORKERS", None)
    wanted = int(configured) if configured else min(2, os.cpu_count() or 1)
    if multiprocessing.current_process().daemon:
        return 1
    return max(1, min(wanted, pages))


def _chunks(count: int, workers: int) -> list[list[int]]:
    """Page indices split into runs for the pool: one run when the document fits in one
    (BATCH_PAGES), since a second process loads the models again (~0.5 CPU-s, more than it
    saves in time on a short document: FX set, 3-page documents, 1.63 against 1.43 CPU-s a
    page); else as even as ``workers`` allow, at most BATCH_PAGES a run."""
    if count <= BATCH_PAGES:
        return [list(range(count))]
    size = min(BATCH_PAGES, -(-count // max(1, workers)))
    return [list(range(start, min(start + size, count))) for start in range(0, count, size)]


# What a pool worker reads from; set in the parent before the pool forks, so that the PDF bytes
# are shared copy-on-write instead of being pickled into every task.
_worker_pdf: tuple[bytes, str | None, dict, str] | None = None


def _worker_init() -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"
    # Engines loaded in the parent are not the child's to use: load its own on first need.
    _apis.clear()
    _settings_override.update(_worker_pdf[2])


def _worker_read(
    indices: list[int], language: str | None, first: _QueuedPage | None
) -> list[tuple[Page, _Turn]]:
    data, password, _, directory = _worker_pdf
    return _read_pdf_pages(data, password, indices, language, directory, first)


def extract_pdf_ocr(
    data: bytes, *, password: str | None = None, max_pages: int | None = None
) -> ExtractedInvoice:
    """OCR every page of a PDF, rendered at RENDER_DPI.

    Guarantees: each process holds one rendered page at a time (``RENDER_METER``); prepared
    pages wait for their batch on disk, at most BATCH_PAGES per process; the first page sets
    the document's language; runs of pages (``_chunks``) are read by ``_workers`` processes in
    parallel, one ``tesseract`` process per run (the page order of the result is the PDF's).

    Raises :class:`ExtractionError`: ``ENCRYPTED_PDF``, ``WRONG_PASSWORD``, ``CORRUPT_PDF``,
    ``TOO_MANY_PAGES`` (before any page is rendered), ``IMAGE_TOO_POOR`` (nothing readable),
    ``OCR_UNAVAILABLE``.
    """
    count = count_pdf_pages(data, password=password)
    check_page_limit(count, max_pages)
    with tempfile.TemporaryDirectory(prefix="ap-ocr-") as directory:
        first, language = _prepare_pdf_page(data, password, 0, None, directory)
        chunks = _chunks(count, _workers(count))
        if len(chunks) <= 1 or _workers(count) <= 1:
            read = _read_pdf_pages(data, password, range(1, count), language, directory, first)
        else:
            read = _read_in_pool(data, password, chunks, language, first, directory)
    return _finish([page for page, _ in read], {page.number: turn for page, turn in read})


def _read_in_pool(data, password, chunks, language, first, directory):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _worker_pdf
    overrides = {
        name: _setting(name, None)
        for name in ("AP_OCR_LANGUAGES", "AP_TESSDATA_DIR", "AP_OCR_ENGINE")
    }
    _worker_pdf = (data, password, overrides, directory)
    # The first page is prepared already (it voted for the language): it opens the first run.
    runs = [[i for i in chunk if i != first.number - 1] for chunk in chunks]
    firsts = [first] + [None] * (len(chunks) - 1)
    try:
        # fork: the children start in a millisecond with the PDF bytes already in memory; they
        # only render and OCR (no database, no threads of their own).
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(
            max_workers=min(len(chunks), _workers(sum(map(len, chunks)))),
            mp_context=context,
            initializer=_worker_init,
        ) as pool:
            return [
                read
                for run in pool.map(_worker_read, runs, [language] * len(runs), firsts)
                for read in run
            ]
    finally:
        _worker_pdf = None


def _max_pixels() -> int:
    return int(
        _setting("AP_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS) or DEFAULT_MAX_IMAGE_PIXELS
    )


def _bomb(width: int, height: int, limit: int) -> ExtractionError:
    return ExtractionError(
        ExtractionErrorCode.UNREADABLE_IMAGE,
        f"The image is too large to process safely ({width}×{height} pixels; the limit is "
        f"{limit:,} pixels). Please scan at 300 dpi.",
        width=width,
        height=height,
        limit=limit,
    )


def extract_image_ocr(data: bytes, *, max_pages: int | None = None) -> ExtractedInvoice:
    """OCR a PNG, JPEG or TIFF (every frame of a multi-page TIFF).

    Raises :class:`ExtractionError`: ``UNREADABLE_IMAGE`` (not an image, truncated, or more
    pixels than ``AP_MAX_IMAGE_PIXELS`` — checked from the header before decoding),
    ``TOO_MANY_PAGES``, ``IMAGE_TOO_POOR`` (too small or blurred), ``OCR_UNAVAILABLE``.
    """
    limit = _max_pixels()
    Image.MAX_IMAGE_PIXELS = limit
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        size = re.findall(r"\d+", str(err))
        raise ExtractionError(
            ExtractionErrorCode.UNREADABLE_IMAGE,
            "The image is too large to process safely. Please scan at 300 dpi.",
            detail=str(err),
            pixels=size[0] if size else None,
            limit=limit,
        ) from err
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise ExtractionError(
            ExtractionErrorCode.UNREADABLE_IMAGE,
            "This file is not a readable image (PNG, JPEG or TIFF).",
        ) from err
    if width * height > limit:
        raise _bomb(width, height, limit)
    frames = getattr(image, "n_frames", 1)
    check_page_limit(frames, max_pages)
    poor: list[tuple[int, ExtractionError]] = []
    language: str | None = None
    reader = _PageReader(BATCH_PAGES)
    workdir = tempfile.TemporaryDirectory(prefix="ap-ocr-")
    directory = workdir.name
    try:
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            if frame.size[0] * frame.size[1] > limit:
                raise _bomb(frame.size[0], frame.size[1], limit)
            try:
                page_image = ImageOps.exif_transpose(frame.copy()) if number == 1 else frame.copy()
                page_image.load()
            except (OSError, ValueError, SyntaxError) as err:
                raise ExtractionError(
                    ExtractionErrorCode.UNREADABLE_IMAGE,
                    "The image is damaged or incomplete and cannot be read.",
                ) from err
            try:
                check_quality(page_image)
            except ExtractionError as err:
                # One blank or poor page (a back side, a separator) does not sink a
                # multi-page scan; a single poor page does.
                if frames == 1:
                    raise
                poor.append((number, err))
                continue
            prepared, found = _prepare_page(
                page_image,
                number=number,
                dpi=_dpi(page_image),
                language=language,
                directory=directory,
            )
            del page_image
            language = language or found
            reader.add(prepared)
        reader.flush()
    finally:
        image.close()
        workdir.cleanup()
    if not reader.pages:
        raise poor[0][1]
    result = _finish(
        [page for page, _ in reader.pages], {page.number: turn for page, turn in reader.pages}
    )
    result.page_count = frames
    result.warnings += [f"page {number} not read: {err.message}" for number, err in poor]
    return result


def _dpi(image: Image.Image) -> float:
    dpi = image.info.get("dpi")
    if dpi:
        try:
            value = float(dpi[0])
        except (TypeError, ValueError, IndexError):
            value = 0.0
        # Many writers store 72 or 96 as a placeholder; trust only plausible scanner values.
        if 100 <= value <= 1200:
            return value
    short_side = min(image.size)
    return max(short_side / ASSUMED_PAGE_WIDTH_INCHES, 50.0)
