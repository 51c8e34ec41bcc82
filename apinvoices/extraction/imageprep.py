"""Phone photos before Tesseract: find the sheet on the desk and undo the perspective.

A phone photo shows the page lying on a desk, seen at an angle (a quadrilateral, not a
rectangle), smaller than a 300-dpi scan, lit unevenly. ``find_page`` finds the sheet,
``rectify`` maps its four corners back to a rectangle at PHOTO_DPI (one resampling for both).
``find_page`` gives up (``None``) when it is unsure, and a scan whose page fills the frame is
left as it is.

A photo's page is then divided by an estimate of its own paper brightness
(``flatten_lighting``), so that a dim corner prints as dark text on white like a lit one, and
turned upright by its ink (``lines_run_vertically``, ``ascender_ratio``).

Tried and measured, not kept or not for scans (bench/README.md, "Phone photos: finding the
sheet"): a mild unsharp mask gained nothing on photos and cost 4 fields on scans; lighting
normalisation cost 3 fields on scans, so it runs on photos only.

numpy is not a dependency of this project, so the 8x8 perspective system is solved in plain
Python (microseconds) and pixel work stays inside Pillow's C code.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageMath, ImageOps, ImageStat

Point = tuple[float, float]

# Page detection runs on a copy whose long side is this many pixels: ~5x smaller than a phone
# photo, so a text line is a couple of pixels and closes over, while the page edge stays
# within a pixel (~5 px at full size, under one character's width).
DETECT_SIZE = 400
# A detected page must cover this share of the photo; more means the page fills the frame
# (a scan, or a photo cropped by the user): nothing to cut away.
MIN_PAGE_SHARE = 0.2
MAX_PAGE_SHARE = 0.92
# The light region must fill its fitted quadrilateral this well, else it is not one sheet
# (a second sheet, a white keyboard beside it, a torn corner).
MIN_QUAD_FILL = 0.93
# Corner angles of a page seen at the angles a person photographs a sheet on a desk.
MIN_CORNER_DEGREES = 60.0
# Rows or columns this close to a side's ends belong to the neighbouring sides' corners.
EDGE_TRIM = 0.15
# Tesseract reads best at ~300 dpi (x-height of 10-pt text ~20 px); scans below 250 dpi are
# scaled up to it, by at most 3x (beyond that the pixels hold no more detail than they had).
TARGET_DPI = 300.0
UPSCALE_BELOW_DPI = 250.0
MAX_UPSCALE = 3.0
# A photographed sheet is read at 200 dpi, whatever it was taken at (the generated photos'
# sheets measure ~150-230 dpi; a photo inside a PDF is rendered at 300). Seeds 7 and 13, 51
# photo pages (bench/README.md, "Phone photos at 200 dpi"): 474/503 fields right at 200 dpi,
# 471 at each photo's own resolution; on seed 7, 210/252 enlarged to 300 dpi (the old way)
# against 221 at its own, for 1.3x the CPU. 200 rather than the photo's own resolution
# mended character slips on the smaller sheets (B read as 8, a last digit lost), and halves
# the pixels of the 300-dpi renderings of PDF photos.
PHOTO_DPI = 200.0


@dataclass(frozen=True)
class PageWarp:
    """How a rectified page maps back to the photo it was cut from.

    ``coeffs`` map a pixel of the rectified page to a pixel of the photo (Pillow's PERSPECTIVE
    convention); the dpi values turn points into pixels and back, so that a word's box on the
    rectified page can be drawn on the photo as stored.
    """

    coeffs: tuple[float, ...]
    page_dpi: float
    photo_dpi: float

    def to_photo(self, x: float, y: float) -> Point:
        """A point (in PDF points) on the rectified page -> the same point on the photo."""
        a, b, c, d, e, f, g, h = self.coeffs
        px, py = x * self.page_dpi / 72.0, y * self.page_dpi / 72.0
        w = g * px + h * py + 1.0
        u, v = (a * px + b * py + c) / w, (d * px + e * py + f) / w
        return u * 72.0 / self.photo_dpi, v * 72.0 / self.photo_dpi


def photo_scale(dpi: float) -> float:
    """How much to enlarge (above 1) or shrink a sheet photographed at ``dpi`` so that
    Tesseract reads it at PHOTO_DPI; never enlarged more than MAX_UPSCALE."""
    return min(PHOTO_DPI / dpi, MAX_UPSCALE)


def upscale_factor(dpi: float) -> float:
    """How much to enlarge a page at ``dpi`` so that Tesseract sees ~300 dpi (1.0: leave it)."""
    if dpi >= UPSCALE_BELOW_DPI:
        return 1.0
    return min(TARGET_DPI / dpi, MAX_UPSCALE)


# --- finding the page ------------------------------------------------------------------------


def _otsu(histogram: list[int]) -> int:
    total = sum(histogram)
    weighted_total = sum(i * n for i, n in enumerate(histogram))
    best, best_t = -1.0, 128
    count = weighted = 0
    for t, n in enumerate(histogram):
        count += n
        weighted += t * n
        if count == 0 or count == total:
            continue
        mean_low = weighted / count
        mean_high = (weighted_total - weighted) / (total - count)
        between = count * (total - count) * (mean_low - mean_high) ** 2
        if between > best:
            best, best_t = between, t
    return best_t


def _light_region(small: Image.Image) -> Image.Image | None:
    """The light connected region around the centre of ``small``, as a 0/255 mask."""
    # Closing (max, then min) fills text and table rules, so the page is one light blob.
    closed = small.filter(ImageFilter.MaxFilter(5)).filter(ImageFilter.MinFilter(5))
    threshold = _otsu(closed.histogram())
    w, h = closed.size
    lut = bytes(255 if v > threshold else 0 for v in range(256))
    data = closed.tobytes().translate(lut)
    # Connected runs of light pixels, row by row (ImageDraw.floodfill is pure Python per
    # pixel: ~1 s on this size; runs are a few per row).
    runs = [
        [(m.start(), m.end()) for m in _LIGHT_RUN.finditer(data, y * w, (y + 1) * w)]
        for y in range(h)
    ]
    runs = [[(a - y * w, b - y * w) for a, b in row] for y, row in enumerate(runs)]
    # The page is what the photographer aimed at: start from the run nearest the centre.
    start = None
    for dy in range(0, h // 4):
        for y in (h // 2 - dy, h // 2 + dy):
            for a, b in runs[y]:
                if a <= w // 2 < b or (start is None and b - a > w // 4):
                    start = (y, a, b)
                    break
            if start:
                break
        if start:
            break
    if start is None:
        return None
    seen = {start}
    stack = [start]
    while stack:
        y, a, b = stack.pop()
        for ny in (y - 1, y + 1):
            if 0 <= ny < h:
                for na, nb in runs[ny]:
                    if na < b and a < nb and (ny, na, nb) not in seen:
                        seen.add((ny, na, nb))
                        stack.append((ny, na, nb))
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    for y, a, b in seen:
        draw.line(((a, y), (b - 1, y)), fill=255)
    return mask


_LIGHT_RUN = re.compile(rb"\xff+")


def _fit_line(points: list[Point]) -> tuple[float, float] | None:
    """Least-squares ``b = slope * a + offset`` through (a, b) points, refitted once without
    the points far off the first line (a tab of desk, a finger over the edge)."""
    for _ in range(2):
        n = len(points)
        if n < 5:
            return None
        mean_a = sum(p[0] for p in points) / n
        mean_b = sum(p[1] for p in points) / n
        var = sum((p[0] - mean_a) ** 2 for p in points)
        if var == 0:
            return None
        slope = sum((p[0] - mean_a) * (p[1] - mean_b) for p in points) / var
        offset = mean_b - slope * mean_a
        residuals = sorted(abs(p[1] - (slope * p[0] + offset)) for p in points)
        limit = max(1.5, 3 * residuals[n // 2])
        points = [p for p in points if abs(p[1] - (slope * p[0] + offset)) <= limit]
    return slope, offset


def _extents(mask: Image.Image, *, rows: bool) -> list[tuple[int, int, int]]:
    """(index, first, last) lit pixel of every row (or column) of ``mask`` that has one."""
    w, h = mask.size
    out = []
    for i in range(h if rows else w):
        box = mask.crop((0, i, w, i + 1) if rows else (i, 0, i + 1, h)).getbbox()
        if box:
            first, last = (box[0], box[2] - 1) if rows else (box[1], box[3] - 1)
            out.append((i, first, last))
    return out


def _corner_angle(prev: Point, at: Point, nxt: Point) -> float:
    ax, ay = prev[0] - at[0], prev[1] - at[1]
    bx, by = nxt[0] - at[0], nxt[1] - at[1]
    norm = math.hypot(ax, ay) * math.hypot(bx, by)
    if norm == 0:
        return 0.0
    return math.degrees(math.acos(max(-1.0, min(1.0, (ax * bx + ay * by) / norm))))


def _quad_area(quad: list[Point]) -> float:
    return abs(
        sum(
            quad[i][0] * quad[(i + 1) % 4][1] - quad[(i + 1) % 4][0] * quad[i][1]
            for i in range(4)
        )
    ) / 2


def find_page(image: Image.Image) -> list[Point] | None:
    """Corners of the sheet of paper in a photo (top-left, top-right, bottom-right,
    bottom-left, in pixels of ``image``), or ``None`` when no sheet stands out from its
    background or the sheet fills the frame.

    Each side is a straight line fitted to the edge of the light region around the centre,
    away from the corners; the corners are where the lines meet, so a rounded, dog-eared or
    shadowed corner does not move them. In a colour photo "light" means, in turn: unlike the
    desk's colour (so that a coloured band printed across the sheet's edge, a dark red
    letterhead, counts as sheet), bright in any channel, bright in grey.
    """
    factor = DETECT_SIZE / max(image.size)
    if factor >= 1:
        return None
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    if image.mode == "RGB":
        small = image.resize(size, Image.BOX)
        red, green, blue = small.split()
        brightest = ImageChops.lighter(red, ImageChops.lighter(green, blue))
        candidates = [_unlike_desk(small), brightest, small.convert("L")]
    else:
        candidates = [image.convert("L").resize(size, Image.BOX)]
    for small in candidates:
        quad = _find_quad(small)
        if quad is not None:
            return [(x * image.width / size[0], y * image.height / size[1]) for x, y in quad]
    return None


# A desk whose colour is this saturated (0-255) is told from the sheet by its hue, which does
# not change under uneven light; a greyish desk only by brightness.
MIN_DESK_SATURATION = 60
DESK_HUE_TOLERANCE = 14  # of 256 hue steps
COLOURFUL_ABOVE_DESK = 60


def _unlike_desk(small: Image.Image) -> Image.Image:
    """255 where ``small`` does not have the desk's colour (the colour of the frame's border),
    0 where it does. A printed band across the sheet's edge (a dark red letterhead) is thereby
    sheet, whatever its brightness. A greyish desk has no telling hue: there the brightness
    is returned, with colourful pixels set to white."""
    hue, saturation, value = small.convert("HSV").split()
    w, h = small.size
    ring = [(0, 0, w, 4), (0, h - 4, w, h), (0, 0, 4, h), (w - 4, 0, w, h)]
    hue_counts, sat_counts = [0] * 256, [0] * 256
    for box in ring:
        for counts, channel in ((hue_counts, hue), (sat_counts, saturation)):
            for level, n in enumerate(channel.crop(box).histogram()):
                counts[level] += n
    desk_sat = _median(sat_counts)
    if desk_sat < MIN_DESK_SATURATION:
        # A grey desk: colourful print (a blue letterhead) counts as sheet, like light paper.
        colourful = saturation.point(lambda v: 255 if v >= desk_sat + COLOURFUL_ABOVE_DESK else 0)
        return ImageChops.lighter(value, colourful)
    desk_hue = max(range(256), key=lambda v: sum(hue_counts[(v + d) % 256] for d in range(-2, 3)))

    def near_desk_hue(v: int) -> int:
        return 255 if min((v - desk_hue) % 256, (desk_hue - v) % 256) <= DESK_HUE_TOLERANCE else 0

    hue_like = hue.point(near_desk_hue)
    sat_like = saturation.point(lambda v: 255 if v >= desk_sat // 2 else 0)
    return ImageOps.invert(ImageChops.multiply(hue_like, sat_like))


def _median(counts: list[int]) -> int:
    half, seen = sum(counts) / 2, 0
    for value, n in enumerate(counts):
        seen += n
        if seen >= half:
            return value
    return 0


def _find_quad(small: Image.Image) -> list[Point] | None:
    mask = _light_region(small)
    if mask is None:
        return None
    w, h = mask.size
    lit = mask.histogram()[255]
    if not MIN_PAGE_SHARE <= lit / (w * h) <= MAX_PAGE_SHARE:
        return None
    rows = _extents(mask, rows=True)
    cols = _extents(mask, rows=False)
    if len(rows) < 10 or len(cols) < 10:
        return None
    # A region running into two or more sides of the frame is a page filling the picture (a
    # scan with a dark band across it), not a sheet lying on something darker.
    touching = [
        sum(first == 0 for _, first, _ in rows),
        sum(last == w - 1 for _, _, last in rows),
        sum(first == 0 for _, first, _ in cols),
        sum(last == h - 1 for _, _, last in cols),
    ]
    if sum(t > 0.05 * n for t, n in zip(touching, (h, h, w, w), strict=True)) >= 2:
        return None

    def middle(extents):
        lo, hi = extents[0][0], extents[-1][0]
        cut = (hi - lo) * EDGE_TRIM
        return [e for e in extents if lo + cut <= e[0] <= hi - cut]

    mid_rows, mid_cols = middle(rows), middle(cols)
    # Sides as x = f(y) (left, right) and y = f(x) (top, bottom).
    left = _fit_line([(y, first) for y, first, _ in mid_rows])
    right = _fit_line([(y, last + 1) for y, _, last in mid_rows])
    top = _fit_line([(x, first) for x, first, _ in mid_cols])
    bottom = _fit_line([(x, last + 1) for x, _, last in mid_cols])
    if None in (left, right, top, bottom):
        return None

    def meet(side: tuple[float, float], across: tuple[float, float]) -> Point | None:
        # side: x = s*y + o; across: y = t*x + p
        (s, o), (t, p) = side, across
        det = 1 - s * t
        if abs(det) < 1e-9:
            return None
        x = (s * p + o) / det
        return x, t * x + p

    corners = [meet(left, top), meet(right, top), meet(right, bottom), meet(left, bottom)]
    if None in corners:
        return None
    for i in range(4):
        angle = _corner_angle(corners[i - 1], corners[i], corners[(i + 1) % 4])
        if not MIN_CORNER_DEGREES <= angle <= 180 - MIN_CORNER_DEGREES:
            return None
    if lit / max(_quad_area(corners), 1.0) < MIN_QUAD_FILL:
        return None
    return corners


# --- rectifying ------------------------------------------------------------------------------


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gauss-Jordan elimination with partial pivoting (the system is 8x8)."""
    n = len(vector)
    rows = [list(row) + [vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        if abs(rows[pivot][col]) < 1e-12:
            raise ValueError("singular perspective system")
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(n):
            if r != col:
                f = rows[r][col] / rows[col][col]
                if f:
                    for k in range(col, n + 1):
                        rows[r][k] -= f * rows[col][k]
    return [rows[i][n] / rows[i][i] for i in range(n)]


def perspective_coeffs(target: list[Point], source: list[Point]) -> tuple[float, ...]:
    """Pillow PERSPECTIVE coefficients that send each ``target`` point (output pixel) to its
    ``source`` point (input pixel)."""
    matrix, vector = [], []
    for (x, y), (u, v) in zip(target, source, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        vector += [u, v]
    return tuple(_solve(matrix, vector))


def rectify(
    image: Image.Image, quad: list[Point], *, scale: float = 1.0
) -> tuple[Image.Image, tuple[float, ...]]:
    """The page inside ``quad`` as an upright rectangle, enlarged by ``scale``, and the
    coefficients mapping its pixels back to ``image``.

    The rectangle keeps the longer of each pair of opposite sides, so the side nearest the
    camera (seen largest) sets the resolution and no text is squeezed.
    """
    tl, tr, br, bl = quad
    width = max(math.dist(tl, tr), math.dist(bl, br)) * scale
    height = max(math.dist(tl, bl), math.dist(tr, br)) * scale
    size = (max(1, round(width)), max(1, round(height)))
    target = [(0.0, 0.0), (size[0], 0.0), (size[0], size[1]), (0.0, size[1])]
    coeffs = perspective_coeffs(target, quad)
    out = image.transform(
        size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC, fillcolor=255
    )
    return out, coeffs


# --- lighting --------------------------------------------------------------------------------

# The paper's brightness is estimated at 1/8 size, where a max filter of 9 pixels spans
# ~70 px at full size: wider than a line of text or a table rule, so text is not taken for
# shade; large dark areas (logos, header bars) are partly, which only makes them lighter.
BACKGROUND_REDUCE = 8
BACKGROUND_MAX_FILTER = 9


def flatten_lighting(gray: Image.Image) -> Image.Image:
    """``gray`` divided by its paper brightness: shadows and a dim corner come out white,
    text keeps its contrast to the paper around it."""
    factor = min(BACKGROUND_REDUCE, max(1, min(gray.size) // 150))
    small = gray.reduce(factor) if factor > 1 else gray
    background = small.filter(ImageFilter.MaxFilter(BACKGROUND_MAX_FILTER))
    background = background.filter(ImageFilter.GaussianBlur(BACKGROUND_MAX_FILTER))
    background = background.resize(gray.size, Image.Resampling.BILINEAR)
    flat = ImageMath.lambda_eval(
        lambda env: env["convert"](
            env["min"](env["float"](env["g"]) * 255.0 / env["max"](env["b"], 1), 255.0), "L"
        ),
        g=gray,
        b=background,
    )
    return flat


# --- which way up ----------------------------------------------------------------------------

# Strips the page is cut into before its rows are summed: narrow enough that a text line left
# skewed by ~0.5 deg drifts only a pixel or two across one, and that the lines of side-by-side
# columns (address blocks, a totals box) are not summed with each other's baselines.
UPRIGHT_STRIPS = 16
# A row of a strip is part of a text line when this much of it (0-255 mean) is ink.
LINE_ROW_INK = 3
# Text lines taller than this many pixels are logos or shaded boxes, not print.
MAX_LINE_ROWS = 200
SOLID_ROW_INK = 230


def ascender_ratio(gray: Image.Image) -> float:
    """Ink above the lower-case band of the text lines / ink below it, over the whole page.

    Latin print has many more strokes above its x-height (capitals, digits, b d f h k l t)
    than below its baseline (g j p q y), so an upright page measures well above 1 and the same
    page upside down its inverse: on the generated photos of seeds 7 and 13 (45 upright pages,
    8 turned sheets), upright 1.6-6.7, upside down 0.16-0.64. ``gray`` should be lit evenly
    (``flatten_lighting``) and deskewed; a page without text lines measures 1.0.
    """
    ink = ImageOps.invert(ImageOps.autocontrast(gray, cutoff=1)).point(
        lambda v: 255 if v > 128 else 0
    )
    w, h = ink.size
    above = below = 0
    for k in range(UPRIGHT_STRIPS):
        strip = ink.crop((k * w // UPRIGHT_STRIPS, 0, (k + 1) * w // UPRIGHT_STRIPS, h))
        profile = strip.resize((1, h), Image.Resampling.BOX).tobytes()
        y = 0
        while y < h:
            if profile[y] < LINE_ROW_INK:
                y += 1
                continue
            start = y
            while y < h and profile[y] >= LINE_ROW_INK:
                y += 1
            line = profile[start:y]
            # A row inked across the whole strip is a rule, a box's edge or a filled band,
            # whose shading or edges say nothing about which way is up.
            if not 6 <= len(line) <= MAX_LINE_ROWS or max(line) >= SOLID_ROW_INK:
                continue
            # The lower-case band is where a line is darkest: every letter has ink there.
            half = max(line) / 2
            core = [i for i, v in enumerate(line) if v >= half]
            above += sum(line[: core[0]])
            below += sum(line[core[-1] + 1 :])
    if not above and not below:
        return 1.0
    return above / max(below, 1)


def lines_run_vertically(gray: Image.Image) -> bool:
    """Whether the text lines of ``gray`` run top to bottom (a page turned 90 degrees): its
    columns' ink profile is then peakier than its rows'."""
    small = ImageOps.invert(gray.reduce(max(1, min(gray.size) // 400)))
    rows = small.resize((1, small.height), Image.Resampling.BOX)
    cols = small.resize((small.width, 1), Image.Resampling.BOX)
    return ImageStat.Stat(cols).var[0] > ImageStat.Stat(rows).var[0]


__all__ = [
    "PageWarp",
    "ascender_ratio",
    "find_page",
    "flatten_lighting",
    "lines_run_vertically",
    "perspective_coeffs",
    "photo_scale",
    "rectify",
    "upscale_factor",
]

