"""The documents panel's and viewer's HTML, the page/link/image of source cards, and the status
of each document error (no model, no server).

The routes themselves, with the real model: ``tests/e2e/test_documents_api.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from rag.library import FileStatus as Status
from rag.types import Answer, Box, Citation, Document, PageRange, Span

EVIL = '<img src=x onerror="alert(1)">'


@dataclass(frozen=True)
class Job:
    id: str
    files: tuple[Status, ...]
    finished: bool = False


@dataclass(frozen=True)
class Info:
    doc: str
    format: str = "pdf"
    pages: int = 3
    chunks: int = 4
    chars: int = 100
    size: int = 1000
    added_at: str = "2026-11-30T22:05:20"
    warnings: tuple[str, ...] = ()


def _inert(html: str) -> None:
    low = html.lower()
    for bad in ("<img src=x", "<script", "onerror=\"", "javascript:"):
        assert bad not in low, bad


def test_progress_names_each_state_and_escapes_names():
    from ui.documents import render_progress

    job = Job("j1", (Status("a.pdf", state="converting"), Status("b.pdf", state="embedding", done=3, total=8),
                     Status(EVIL + ".pdf", state="failed", message=f"{EVIL}.pdf: encrypted\nPDF"),
                     Status("c.pdf", "a.pdf", "duplicate", message="c.pdf: the same content is already indexed"),
                     Status("d.txt", "d.txt", "done", 2, 2)))
    html = render_progress(job)
    _inert(html)
    for words in ("转换中", "嵌入 3/8", '<progress max="8" value="3">', "失败: ", "encrypted PDF", "重复: ", "完成",
                  "期间仍可提问"):
        assert words in html
    assert "已完成" in render_progress(Job("j2", job.files, finished=True))
    assert "rag-empty" in render_progress(None)


def test_document_list_shows_pages_chunks_and_date_escaped():
    from ui.documents import render_library

    html = render_library([Info("报告/a b.pdf"), Info(EVIL + ".txt", "text", 0, 2, warnings=(EVIL,))])
    _inert(html)
    assert "报告/a b.pdf" in html and 'href="/view/%E6%8A%A5%E5%91%8A/a%20b.pdf"' in html
    assert "<td>3</td><td>4</td><td>2026-11-30 22:05</td>" in html and "<td>–</td>" in html
    assert "共 2 篇" in html and "还没有文档" in render_library([])


@pytest.mark.parametrize("message, status", [
    ("a.pdf: the content is plain text, not a PDF; rename it to .txt", 415),
    ("b.bin: not a supported document (binary content, not text, PDF, DOCX, HTML or EPUB)", 415),
    ("c.doc: a legacy Office file (.doc/.xls/.ppt) is not supported; save it as .docx", 415),
    ("d.pdf: encrypted (password-protected) PDF; remove the password and add it again", 422),
    ("e.pdf: not a readable PDF (damaged?)", 422),
    ("f.docx: a damaged ZIP archive (not a readable DOCX or EPUB)", 422),
    ("g.docx: refused — its contents would inflate to 300 MB (a zip bomb?)", 422),
    ("h.txt: empty document", 422),
    ("i.pdf: 61.0 MB is over the 50 MB limit for one file (ingest.max_file_mb)", 413),
    ("3 files is over the limit of 2 per upload (ingest.max_files)", 413),
    ("j.pdf: the same content is already indexed as a.pdf", 409),
])
def test_error_status_of_each_document_error(message, status):
    from ui.documents import error_status

    assert error_status(message) == status


def test_an_error_that_says_its_kind_is_trusted():
    from ui.documents import error_status

    class Kinded(Exception):
        kind = "duplicate"

    assert error_status(Kinded("whatever limit")) == 409


def _pdf_answer() -> Answer:
    text = "第一页。\f第二页讲的是水果。青海省盛产的水果是枸杞。"
    s = text.index("枸杞")
    cit = Citation(rank=1, doc="报告/水果.pdf", chunk_id="c#1", heading=None, start=5, end=len(text),
                   text=text[5:], score=0.9, page=2)
    other = Citation(rank=2, doc="b.txt", chunk_id="b#0", heading=None, start=0, end=3, text="别的。", score=0.1)
    return Answer(question="水果?", answer="枸杞", confidence=0.9, citations=(cit, other),
                  answer_span=Span(cit.doc, s, s + 2, page=2, boxes=(Box(2, 10, 20, 30, 34),)))


def test_source_cards_carry_page_viewer_link_and_the_answer_page_image():
    from ui.render import render_sources

    html = render_sources(_pdf_answer())
    hit, other = html.split('id="rag-src-2"')
    assert "第 2 页" in hit and "查看原文" in hit
    assert 'href="/view/%E6%8A%A5%E5%91%8A/%E6%B0%B4%E6%9E%9C.pdf?start&#61;5' in hit
    assert 'target="_blank"' in hit and 'rel="noopener"' in hit
    assert '<img src="/api/documents/%E6%8A%A5%E5%91%8A/%E6%B0%B4%E6%9E%9C.pdf/pages/2.png?start&#61;' in hit
    assert "crop&#61;1" in hit
    assert "页" not in other and "<img" not in other and "查看原文" in other


def test_viewer_marks_the_passage_and_answer_and_shows_page_images():
    from ui.documents import render_viewer

    text = f"第一页 {EVIL}。\f第二页讲的是水果。青海省盛产的水果是枸杞。"
    doc = Document("水果.pdf", text, format="pdf",
                   pages=(PageRange(0, text.index("\f"), 1), PageRange(text.index("\f") + 1, len(text), 2)))
    s = text.index("枸杞")
    page = render_viewer(doc, text.index("第二页"), len(text), s, s + 2)
    _inert(page)
    assert "<mark>枸杞</mark>" in page and 'id="cited"' in page
    assert '<span class="page-label" id="page-1">第 1 页</span>' in page and "第 2 页" in page
    assert 'src="/api/documents/%E6%B0%B4%E6%9E%9C.pdf/pages/2.png?start=' in page
    assert "/pages/1.png" not in page                       # only the pages of the passage
    assert "<script" not in page and "http" not in page
    plain = render_viewer(Document("a.txt", EVIL), 0, 3, 5, 99)     # out-of-range offsets are clamped
    _inert(plain)
    assert "<img" not in plain and "<mark>" in plain


def test_crop_band_keeps_the_rows_around_the_boxes():
    import io

    from PIL import Image

    from ui.documents import crop_band

    buf = io.BytesIO()
    Image.new("RGB", (150, 300), "white").save(buf, format="PNG")
    band = Image.open(io.BytesIO(crop_band(buf.getvalue(), [Box(1, 10, 100, 50, 110)], 1.0, margin=20)))
    assert band.size == (150, 51)
    assert crop_band(buf.getvalue(), [], 1.0) == buf.getvalue()
