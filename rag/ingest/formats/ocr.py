"""OCR of scanned PDF pages: the optional ``ocr`` extra (RapidOCR, PP-OCRv4 Chinese models).

A page without a usable text layer is rendered with pypdfium2 and read by
`rapidocr-onnxruntime <https://github.com/RapidAI/RapidOCR>`_ (Apache-2.0), whose detection,
direction and recognition models ship inside the wheel: nothing is downloaded at run time.

The PDF converter uses it as::

    if ocr.available():
        lines = ocr.read_page(page)     # [(text, (x0, y0, x1, y1)), ...] in points

Each line comes with its box in PDF points, origin at the page's *top*-left (y grows downwards),
like :class:`rag.types.Box`; lines are in reading order (top to bottom, then left to right) and
are never joined here, so the caller decides how lines become text.

Without the extra :func:`available` is False (logged once, never raised), and the converter
leaves scanned pages out with a warning. Install: ``pip install -e '.[ocr]'`` (docs/ocr.md).

The only global state is the cached engine (:func:`_engine`); rapidocr and pypdfium2 are
imported lazily so that importing this module costs nothing.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import TYPE_CHECKING, Any

from rag.errors import ModelLoadError

if TYPE_CHECKING:  # type hints only: the extra may be missing
    import pypdfium2
    from PIL import Image

log = logging.getLogger(__name__)

#: (x0, y0, x1, y1), top-left origin: points for :func:`read_page`, pixels for :func:`read_image`.
BoxTuple = tuple[float, float, float, float]
Line = tuple[str, BoxTuple]

#: Render resolution for :func:`read_page`: 200 dpi (points are 1/72 inch). rapidocr shrinks
#: any image whose long side passes 2000 px (about 170 dpi for A4) before it detects and crops
#: lines, so rendering an A4 page finer only costs time; 150 dpi scans read well (docs/ocr.md).
DEFAULT_SCALE = 200 / 72

#: Longest rendered side, in pixels: a poster-sized page at DEFAULT_SCALE would otherwise need
#: hundreds of MB for one bitmap.
MAX_SIDE_PX = 4000

#: Lines whose vertical extents overlap by more than this share of the shorter one are on one
#: row (read left to right); a detector's boxes of one row differ by a few pixels in y.
_SAME_ROW_OVERLAP = 0.5


@functools.cache
def _engine() -> Any | None:
    """The recognizer, loaded once; None when the extra is missing or its models do not load."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:  # the extra is not installed, or cv2 misses libGL (Debian libgl1)
        log.info("OCR unavailable (install the ocr extra: pip install -e '.[ocr]'): %s", exc)
        return None
    started = time.perf_counter()
    try:
        engine = RapidOCR()
    # Any failure (a broken onnxruntime, a truncated model file) must read as "no OCR", not
    # stop a whole ingest: the converter then leaves scanned pages out with a warning.
    except Exception as exc:  # noqa: BLE001
        log.warning("OCR models failed to load, scanned pages will be left out: %s", exc)
        return None
    log.info("OCR engine loaded in %.1f s (rapidocr-onnxruntime, PP-OCRv4)", time.perf_counter() - started)
    return engine


def available() -> bool:
    """Whether OCR can run: the ``ocr`` extra is installed and its models load (cached).

    Never raises; the reason it is unavailable is logged.
    """
    return _engine() is not None


def read_image(image: Image.Image) -> list[Line]:
    """Read the text lines of an image.

    Args:
        image: a PIL image of a page (any mode; converted to RGB).

    Returns:
        ``(text, (x0, y0, x1, y1))`` per line, boxes in pixels with the top-left origin, in
        reading order (:func:`reading_order`). Empty for an image without text.

    Raises:
        ModelLoadError: the ``ocr`` extra is not installed or its models do not load.
    """
    engine = _engine()
    if engine is None:
        raise ModelLoadError("OCR is not available: install the ocr extra (pip install -e '.[ocr]')")
    import numpy as np

    # An ndarray in BGR order, as rapidocr's cv2 pipeline expects: RGB → BGR by reversing channels.
    pixels = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    # No direction classifier: on long Chinese lines it takes upright text for upside down
    # and the flipped line reads as nothing (whole lines lost in the benchmark). pdfium has
    # already applied the page's /Rotate; only a page scanned upside down is read wrong.
    result, _elapsed = engine(pixels, use_cls=False)
    lines: list[Line] = []
    for quad, text, _score in result or ():
        text = text.strip()
        if not text:
            continue
        xs = [float(point[0]) for point in quad]
        ys = [float(point[1]) for point in quad]
        lines.append((text, (min(xs), min(ys), max(xs), max(ys))))
    return reading_order(lines)


def read_page(page: pypdfium2.PdfPage, scale: float = DEFAULT_SCALE) -> list[Line]:
    """Render a PDF page and read its text lines.

    Args:
        page: a pypdfium2 page (as displayed: its crop box and /Rotate applied by pdfium).
        scale: pixels per point of the rendering (``dpi / 72``); lowered for a page so large
            that its longer side would pass :data:`MAX_SIDE_PX`.

    Returns:
        ``(text, (x0, y0, x1, y1))`` per line, boxes in PDF points from the page's top-left
        corner, in reading order.

    Raises:
        ModelLoadError: the ``ocr`` extra is not installed or its models do not load.
    """
    width, height = page.get_size()
    scale = min(scale, MAX_SIDE_PX / max(width, height, 1.0))
    started = time.perf_counter()
    image = page.render(scale=scale).to_pil()
    lines = read_image(image)
    log.debug("OCR of a %.0f×%.0f pt page at %.0f dpi: %d lines in %.2f s",
              width, height, scale * 72, len(lines), time.perf_counter() - started)
    # The bitmap's pixel (0, 0) is the page's top-left corner, so points are pixels / scale.
    return [(text, (x0 / scale, y0 / scale, x1 / scale, y1 / scale)) for text, (x0, y0, x1, y1) in lines]


def reading_order(lines: list[Line]) -> list[Line]:
    """Lines sorted top to bottom, and left to right within a row.

    A row is a run of lines whose vertical extents overlap (by more than half the shorter
    height), so boxes of one printed line that differ by a pixel or two in y keep their
    left-to-right order.

    >>> reading_order([("b", (50, 11, 90, 30)), ("c", (0, 40, 90, 60)), ("a", (0, 10, 40, 31))])
    [('a', (0, 10, 40, 31)), ('b', (50, 11, 90, 30)), ('c', (0, 40, 90, 60))]
    """
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda item: (item[1][1], item[1][0])):
        _, (_, y0, _, y1) = line
        if rows:
            top = min(box[1] for _, box in rows[-1])
            bottom = max(box[3] for _, box in rows[-1])
            overlap = min(bottom, y1) - max(top, y0)
            if overlap > _SAME_ROW_OVERLAP * min(bottom - top, y1 - y0):
                rows[-1].append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda item: item[1][0])]


__all__ = ["DEFAULT_SCALE", "MAX_SIDE_PX", "BoxTuple", "Line", "available", "read_image", "read_page", "reading_order"]
