"""A scanned PDF page read by the real OCR extra through the PDF converter (skipped without the extra)."""

from __future__ import annotations

import numpy as np

from rag.config import IngestSettings
from rag.ingest.formats.pdf import convert
from tests.docfactory import NO_FONT, have_cjk_font, make_scanned_pdf
from tests.helpers import skip_unless_ci

SENTENCE = "为了规范数据安全管理工作，保障数据安全，促进数据开发利用，保护个人、组织的合法权益。"


def test_scanned_page_read_by_ocr():
    if not have_cjk_font():
        skip_unless_ci(NO_FONT)
    from rag.ingest.formats import ocr

    if not ocr.available():
        skip_unless_ci("the OCR extra is not installed: pip install -e '.[ocr]'")
    d = convert(make_scanned_pdf([SENTENCE]), "scan.pdf", IngestSettings(ocr="auto"))
    assert d.warnings == () and [p.page for p in d.pages] == [1]
    assert sum(a == b for a, b in zip(d.text, SENTENCE)) >= 0.9 * len(SENTENCE)
    boxes = d.layout.boxes
    assert boxes.shape == (len(d.text), 4) and not np.isnan(boxes[0]).any()
    w, h = d.layout.sizes[0]
    assert 0 <= boxes[0][0] < boxes[0][2] <= w and 0 <= boxes[0][1] < boxes[0][3] <= h
