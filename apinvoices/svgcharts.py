"""Horizontal bar charts as plain SVG geometry for templates: no JavaScript, no CDN.

The template draws what this returns; every number is computed here so the template only
places rectangles and (auto-escaped) labels.
"""

from __future__ import annotations

from collections.abc import Sequence

LABEL_WIDTH = 170
BAR_AREA = 300
VALUE_WIDTH = 50
ROW_HEIGHT = 22
BAR_HEIGHT = 14


def bar_chart(*, rows: Sequence[tuple[str, int]], title: str) -> dict:
    """``rows`` of (label, count) -> ``{"title", "width", "height", "bars": [...]}``.

    Each bar has ``label``, ``value``, ``y`` (row top), ``text_y`` (baseline) and ``width``
    (proportional to the largest value; at least 1 px for a non-zero value).
    """
    top = max((value for _label, value in rows), default=0)
    bars = []
    for i, (label, value) in enumerate(rows):
        width = 0 if not top else max(1, round(BAR_AREA * value / top)) if value else 0
        y = i * ROW_HEIGHT
        bars.append({"label": str(label), "value": value, "y": y + (ROW_HEIGHT - BAR_HEIGHT) // 2,
                     "text_y": y + ROW_HEIGHT // 2 + 4, "width": width})
    return {
        "title": str(title),
        "width": LABEL_WIDTH + BAR_AREA + VALUE_WIDTH,
        "height": max(ROW_HEIGHT, ROW_HEIGHT * len(rows)),
        "label_width": LABEL_WIDTH,
        "bar_x": LABEL_WIDTH,
        "bar_height": BAR_HEIGHT,
        "bars": bars,
    }
