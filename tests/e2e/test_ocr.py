"""The real recognizer (the ``ocr`` extra) on scanned pages of known Chinese text.

Skipped, with the reason, when the extra is not installed. The page is drawn as
scripts/bench_ocr.py draws it (docs/ocr.md has the full-page figures); only a band of a few
lines is read, because recognising a full page takes tens of seconds on a 2-core machine.
"""

from __future__ import annotations

import pytest

from rag.config import IngestSettings
from tests.docfactory import NO_FONT, have_cjk_font, make_scanned_pdf
from rag.ingest.formats import ocr
from tests.helpers import ARTICLE, load_script, skip_unless_ci

#: Measured 0.99 on these lines (NFKC, clean 150 dpi scan); the floor leaves room for a
#: different CPU's float rounding, not for lost lines.
ACCURACY_FLOOR = 0.95


@pytest.fixture(scope="module")
def bench():
    # CI installs the extra (scripts/test.sh): there a missing or broken recognizer fails.
    if not have_cjk_font():
        skip_unless_ci(NO_FONT)
    if not ocr.available():
        skip_unless_ci("the OCR extra is not installed or its models do not load: pip install -e '.[ocr]'")
    return load_script("bench_ocr")


def test_scanned_lines_read_back_with_boxes_in_points(bench):
    import pypdfium2

    text = ARTICLE.read_text(encoding="utf-8")[:120]
    image, reference = bench.render_text_page(text, 150)
    lines_drawn = reference.count("\n")
    band = image.crop((0, 0, image.width, round((72 + 18 * (lines_drawn + 2)) * 150 / 72)))   # margin + lines
    pdf = pypdfium2.PdfDocument(bench.image_pdf([band], 150))
    lines = ocr.read_page(pdf[0])
    width, height = pdf[0].get_size()
    pdf.close()

    read = "\n".join(t for t, _ in lines)
    assert bench.char_accuracy(reference, read, nfkc=True) >= ACCURACY_FLOOR, read
    assert len(lines) >= lines_drawn
    tops = [box[1] for _, box in lines]
    assert tops == sorted(tops)                                       # reading order: top to bottom
    for _, (x0, y0, x1, y1) in lines:
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height      # points, inside the page
    x0, y0, _, y1 = lines[0][1]
    assert abs(x0 - 72) < 6 and abs(y0 - 72) < 8 and 8 < y1 - y0 < 20    # 12 pt text at the 1-inch margin


def test_scanned_pdf_pages_map_to_their_text(bench):
    """Two scanned pages through the PDF converter: each page's text lands in its page range."""
    from rag.ingest.formats.pdf import convert

    first, second = "第一页：数据安全管理办法。", "第二页：人工智能产业发展。"
    d = convert(make_scanned_pdf([first, second]), "scan.pdf", IngestSettings(ocr="on"))
    assert d.warnings == ()
    assert [p.page for p in d.pages] == [1, 2]
    for page_range, expected in zip(d.pages, (first, second)):
        got = d.text[page_range.start:page_range.end]
        assert bench.char_accuracy(expected, got, nfkc=True) >= 0.8, got
