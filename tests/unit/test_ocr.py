"""The OCR module without its extra: ``available()`` never raises, and a fake engine's pixel boxes
become points in reading order (the real recognizer: tests/e2e/test_ocr.py)."""

from __future__ import annotations

import sys
import types

import pytest

from rag.errors import ModelLoadError
from rag.ingest.formats import ocr


@pytest.fixture
def fresh_engine():
    """An empty engine cache before the test and after it, so a faked import does not stick."""
    ocr._engine.cache_clear()
    yield
    ocr._engine.cache_clear()


def test_available_is_false_without_the_extra(monkeypatch, fresh_engine, caplog):
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)   # `import` raises ImportError
    with caplog.at_level("INFO", logger=ocr.__name__):
        assert ocr.available() is False
    assert "pip install -e '.[ocr]'" in caplog.text
    with pytest.raises(ModelLoadError, match=r"\[ocr\]"):
        ocr.read_image(object())


def test_available_is_false_when_the_models_do_not_load(monkeypatch, fresh_engine):
    def broken() -> None:
        raise RuntimeError("ONNXRuntimeError: INVALID_PROTOBUF")

    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", types.SimpleNamespace(RapidOCR=broken))
    assert ocr.available() is False


def test_read_page_boxes_in_points_in_reading_order(monkeypatch):
    """A fake recognizer answers in pixels, out of order; read_page gives points, top to bottom."""
    pypdfium2 = pytest.importorskip("pypdfium2")
    seen = {}

    def engine(pixels, use_cls):
        seen["shape"] = pixels.shape
        quad = lambda x0, y0, x1, y1: [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]   # noqa: E731
        return [(quad(400, 203, 600, 240), "右", 0.9), (quad(200, 600, 900, 640), "下", 0.9),
                (quad(200, 200, 380, 238), "左", 0.9), (quad(10, 10, 20, 20), "  ", 0.9)], [0.0]

    monkeypatch.setattr(ocr, "_engine", lambda: engine)
    pdf = pypdfium2.PdfDocument.new()
    page = pdf.new_page(595, 842)
    lines = ocr.read_page(page, scale=2.0)
    assert seen["shape"] == (1684, 1190, 3)
    assert [t for t, _ in lines] == ["左", "右", "下"]                 # the blank line is dropped
    assert lines[0][1] == (100.0, 100.0, 190.0, 119.0)                # pixels / scale, top-left origin
    pdf.close()


def test_a_poster_page_is_rendered_smaller(monkeypatch):
    pypdfium2 = pytest.importorskip("pypdfium2")
    seen = {}

    def engine(pixels, use_cls):
        seen["shape"] = pixels.shape
        return None, None                                            # rapidocr's answer for no text

    monkeypatch.setattr(ocr, "_engine", lambda: engine)
    pdf = pypdfium2.PdfDocument.new()
    assert ocr.read_page(pdf.new_page(2384, 3370)) == []             # A0 at 200 dpi would be 6600 px high
    assert max(seen["shape"]) <= ocr.MAX_SIDE_PX
    pdf.close()
