"""Where a span of a PDF document's text sits on its pages: one box per line of the span.

The converter records a box per character (``Document.layout``); a person wants a highlight per
line, so consecutive characters on the same page and line are merged.

>>> import numpy as np
>>> from rag.types import Document, PageLayout, PageRange
>>> boxes = np.array([[10, 10, 20, 22], [20, 10, 30, 22], [np.nan] * 4, [10, 30, 20, 42]], np.float32)
>>> d = Document("a.pdf", "ab\\ncd"[:4], format="pdf", pages=(PageRange(0, 4, 1),),
...              layout=PageLayout(((595.0, 842.0),), boxes))
>>> [(b.page, b.x0, b.y0, b.x1, b.y1) for b in boxes_of(d, 0, 4)]
[(1, 10.0, 10.0, 30.0, 22.0), (1, 10.0, 30.0, 20.0, 42.0)]
"""

from __future__ import annotations

import math

from rag.types import Box, Document

#: Two characters are on one line when their vertical extents overlap by this share of the smaller.
_SAME_LINE = 0.5


def boxes_of(doc: Document, start: int, end: int) -> tuple[Box, ...]:
    """The boxes of ``doc.text[start:end]``, merged per line, in text order.

    Args:
        doc: a document with a layout (else the result is empty).
        start: span start (offset into ``doc.text``).
        end: span end.

    Returns:
        Boxes in PDF points, top-left origin; empty when the document has no layout.
    """
    layout = doc.layout
    if layout is None:
        return ()
    out: list[list[float]] = []
    pages: list[int] = []
    for i in range(max(0, start), min(end, len(layout.boxes))):
        x0, y0, x1, y1 = (float(v) for v in layout.boxes[i])
        if math.isnan(x0) or x1 <= x0 and y1 <= y0:
            continue
        page = doc.page_at(i) or 1
        if out and pages[-1] == page and _same_line(out[-1], y0, y1):
            last = out[-1]
            last[0], last[1], last[2], last[3] = min(last[0], x0), min(last[1], y0), max(last[2], x1), max(last[3], y1)
        else:
            out.append([x0, y0, x1, y1])
            pages.append(page)
    return tuple(Box(p, round(b[0], 2), round(b[1], 2), round(b[2], 2), round(b[3], 2)) for p, b in zip(pages, out))


def _same_line(box: list[float], y0: float, y1: float) -> bool:
    overlap = min(box[3], y1) - max(box[1], y0)
    return overlap >= _SAME_LINE * max(1e-6, min(box[3] - box[1], y1 - y0))
