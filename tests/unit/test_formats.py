"""The format converters on real files made by tests/docfactory.py: text, pages, headings, layout, refusals."""

from __future__ import annotations

import sys
import time
import types

import numpy as np
import pytest

from rag.config import IngestSettings
from rag.errors import DocumentError
from rag.ingest.formats import converter
from rag.ingest.formats.detect import check_name, detect, sniff
from rag.ingest.formats.quality import page_problem
from rag.text.sentences import split_sentences
from tests.docfactory import (NO_FONT, have_cjk_font, make_docx, make_encrypted_pdf, make_epub, make_html, make_pdf,
                              make_pdf_without_tounicode, make_scanned_pdf, make_zip_bomb_docx)

OFF = IngestSettings(ocr="off")
needs_font = pytest.mark.skipif(not have_cjk_font(), reason=NO_FONT)

RULE = "为了规范数据安全管理工作，保障数据安全，促进数据开发利用，保护个人、组织的合法权益，维护国家主权、安全和发展利益，制定本办法。"
SCOPE = "本办法适用于上海市行政区域内的数据处理活动及其安全监管工作，法律、行政法规另有规定的，从其规定。"
ENGLISH = "This paragraph is written in English so that it wraps over more than one line of the page at this size."


def convert(fmt: str, data: bytes, doc: str, settings: IngestSettings = OFF):
    d = converter(fmt)(data, doc, settings)
    assert d.format == fmt and d.source_sha256 and len(d.source_sha256) == 64
    return d


def sentences(text: str) -> list[str]:
    return [text[s.start:s.end] for s in split_sentences(text)]


# --- detect ---------------------------------------------------------------------------------------------


@needs_font
def test_detect_by_content_and_refuse_lying_names():
    pdf, docx = make_pdf(["一页。"]), make_docx(["一段。"])
    assert detect(pdf, "x") == "pdf" and detect(docx, "x") == "docx" and detect(make_epub([("章", "<p>文</p>")]), "x") == "epub"
    assert sniff(make_html("<p>页</p>"), "page") == "html"
    assert sniff("纯文本。".encode(), "notes") == "text"
    with pytest.raises(DocumentError, match=r"^report\.pdf: the content is a Word document \(DOCX\), not a PDF; rename it to \.docx$"):
        sniff(docx, "report.pdf")
    with pytest.raises(DocumentError, match="report.docx: the content is a PDF"):
        sniff(pdf, "report.docx")
    check_name("text", "page.html")                       # a .html holding plain text is read as text
    assert sniff(make_html("<p>页</p>", encoding="utf-8"), "markup.txt") == "text"   # a .txt is read as written


def test_detect_refuses_archives_legacy_office_and_binary():
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", "x")
    with pytest.raises(DocumentError, match=r"^x\.zip: a ZIP archive, not a supported document"):
        detect(buf.getvalue(), "x.zip")
    with pytest.raises(DocumentError, match=r"old\.doc: a legacy Office file .*save it as \.docx"):
        detect(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "old.doc")
    with pytest.raises(DocumentError, match="binary"):
        detect(bytes(range(256)) * 4, "blob.bin")


# --- plain text -------------------------------------------------------------------------------------------


def test_plain_text_kept_exactly_and_empty_refused():
    d = convert("text", "标题\r\n正文。".encode("gbk"), "a.txt")
    assert d.text == "标题\r\n正文。" and d.encoding == "gb18030"
    with pytest.raises(DocumentError, match=r"^x\.txt: empty document$"):
        convert("text", b"  \n\t", "x.txt")


# --- quality ----------------------------------------------------------------------------------------------


def test_page_problem_on_real_and_scrambled_text(article_text):
    assert page_problem(article_text[:400]) is None
    assert page_problem(" \n\f ") == "no text layer"
    rng = np.random.default_rng(0)
    scrambled = "".join(chr(int(c)) for c in rng.integers(0x4E00, 0x9FFF, 300))
    assert page_problem(scrambled) == "garbled"
    assert page_problem("(cid:12)(cid:15)(cid:3) 正文" * 5) == "garbled"
    assert page_problem("\ue000\ue001\ue002 abc") == "garbled"


# --- PDF ----------------------------------------------------------------------------------------------------


@needs_font
def test_pdf_text_pages_and_layout():
    data = make_pdf([["第一章总则", RULE, ENGLISH], ["第二章数据分类", SCOPE]])
    d = convert("pdf", data, "a.pdf")
    assert d.text.startswith("第一章总则\n" + RULE + "\n")     # wrapped CJK lines joined without a space
    assert "more than one line of the page" in d.text           # wrapped Latin lines joined with one space
    assert [p.page for p in d.pages] == [1, 2]
    assert RULE in d.text[d.pages[0].start:d.pages[0].end]
    assert SCOPE in d.text[d.pages[1].start:d.pages[1].end]
    assert d.text[d.pages[0].end:d.pages[1].start] == "\n\f\n"  # the first page ends a sentence
    assert d.page_at(d.text.index(SCOPE)) == 2
    assert RULE in sentences(d.text) and SCOPE in sentences(d.text)
    boxes = d.layout.boxes
    assert boxes.shape == (len(d.text), 4) and boxes.dtype == np.float32
    on_page = ~np.isnan(boxes[:, 0])
    assert all(on_page[i] for i, ch in enumerate(d.text) if not ch.isspace())   # every printed character has its box
    assert np.isnan(boxes[[i for i, ch in enumerate(d.text) if ch in "\n\f"]]).all()
    w, h = d.layout.sizes[0]
    real = boxes[on_page]
    assert (real[:, 0] >= 0).all() and (real[:, 2] <= w).all() and (real[:, 1] >= 0).all() and (real[:, 3] <= h).all()
    assert (real[:, 0] < real[:, 2]).all() and (real[:, 1] < real[:, 3]).all()
    first = boxes[0]                         # "第" at the top left: top-left origin, y grows downwards
    assert first[0] < 60 and first[1] < 60


@needs_font
def test_pdf_sentence_across_a_page_break_is_whole():
    body = "".join(f"第{n}项数据处理活动应当依照法律法规的规定进行登记和备案。" for n in range(1, 80))
    d = convert("pdf", make_pdf([[body, "下一段。"]]), "long.pdf")
    assert len(d.pages) == 2 and "\f" not in d.text
    assert d.pages[0].end == d.pages[1].start
    crossing = [s for s in split_sentences(d.text) if s.start < d.pages[0].end < s.end]
    assert len(crossing) == 1
    sentence = d.text[crossing[0].start:crossing[0].end]
    assert sentence in body and sentence.startswith("第") and sentence.endswith("。")


@needs_font
def test_pdf_running_page_numbers_dropped():
    d = convert("pdf", make_pdf([[RULE, "- 1 -"], [SCOPE, "第 2 页"]]), "n.pdf")
    assert "- 1 -" not in d.text and "第 2 页" not in d.text
    assert d.text == RULE + "\n\f\n" + SCOPE


@needs_font
def test_pdf_without_tounicode_pages_are_flagged_not_indexed():
    data = make_pdf_without_tounicode([[RULE, SCOPE], [SCOPE]])
    with pytest.raises(DocumentError, match=r"^bad\.pdf: no usable text on any of its 2 pages"):
        convert("pdf", data, "bad.pdf")
    # a document with one good page: the good page is the text, the garbled one a warning
    good = make_pdf([RULE])
    mixed = _merge_pdfs(good, data)
    d = convert("pdf", mixed, "mixed.pdf")
    assert d.text == RULE and [p.page for p in d.pages] == [1]
    assert len(d.warnings) == 2
    assert d.warnings[0].startswith("mixed.pdf 第 2 页: garbled") and "left out" in d.warnings[0]


def _merge_pdfs(*datas: bytes) -> bytes:
    import io

    import pypdfium2 as pdfium

    out = pdfium.PdfDocument.new()
    for data in datas:
        out.import_pages(pdfium.PdfDocument(data))
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue()


@needs_font
def test_pdf_scanned_page_warns_with_file_and_page():
    data = _merge_pdfs(make_pdf([RULE]), make_scanned_pdf(["扫描页面上的文字。"]))
    d = convert("pdf", data, "report.pdf")
    assert d.text == RULE
    assert d.warnings == ("report.pdf 第 2 页: no text layer (scanned?) — left out; "
                          "install the OCR extra: pip install -e '.[ocr]' and set ingest.ocr=auto",)
    with pytest.raises(DocumentError, match=r"^scan\.pdf: no text layer on any of its 1 page \(a scan\?\)"):
        convert("pdf", make_scanned_pdf(["扫描。"]), "scan.pdf")


@needs_font
def test_pdf_ocr_required_but_missing(monkeypatch):
    import rag.ingest.formats as formats

    monkeypatch.setitem(sys.modules, "rag.ingest.formats.ocr", None)     # the module cannot be imported
    monkeypatch.delattr(formats, "ocr", raising=False)
    with pytest.raises(DocumentError, match=r"scan\.pdf 第 1 页: no text layer .*OCR is required"):
        convert("pdf", make_scanned_pdf(["扫描。"]), "scan.pdf", IngestSettings(ocr="on"))


@needs_font
def test_pdf_scanned_page_read_by_ocr(monkeypatch):
    fake = types.ModuleType("rag.ingest.formats.ocr")
    fake.available = lambda: True
    fake.read_page = lambda page: [("扫描页面上的第一行文字", (72.0, 100.0, 372.0, 115.0)), ("第二行。", (72.0, 120.0, 132.0, 135.0))]
    monkeypatch.setitem(sys.modules, "rag.ingest.formats.ocr", fake)
    monkeypatch.setattr("rag.ingest.formats.ocr", fake, raising=False)   # `from package import ocr` reads the attribute
    d = convert("pdf", make_scanned_pdf(["扫描页面上的第一行文字第二行。"]), "scan.pdf", IngestSettings(ocr="auto"))
    # the first line runs to the right margin, so the second continues its paragraph
    assert d.text == "扫描页面上的第一行文字第二行。" and d.warnings == ()
    assert d.layout.boxes.shape == (len(d.text), 4)
    assert d.layout.boxes[0].tolist() == pytest.approx([72.0, 100.0, 72.0 + 300 / 11, 115.0])


@needs_font
def test_pdf_encrypted_corrupt_and_too_long_refused():
    with pytest.raises(DocumentError, match=r"^e\.pdf: encrypted \(password-protected\) PDF; remove the password"):
        convert("pdf", make_encrypted_pdf(["秘密。"]), "e.pdf")
    data = make_pdf([RULE])
    with pytest.raises(DocumentError, match=r"^t\.pdf: not a readable PDF \(damaged\?\)$"):
        convert("pdf", data[: len(data) // 3], "t.pdf")
    with pytest.raises(DocumentError, match="more than the limit of 1"):
        convert("pdf", make_pdf([RULE, SCOPE]), "long.pdf", IngestSettings(ocr="off", max_pages=1))


@needs_font
def test_render_page():
    from rag.ingest.formats.pdf import render_page

    image = render_page(make_pdf([RULE]), 1, scale=1.0)
    assert image.size == (595, 842) or image.size == (596, 842)


# --- DOCX --------------------------------------------------------------------------------------------------


def test_docx_body_order_tables_and_headings():
    data = make_docx([("h", 1, "第一章 总则"), RULE,
                      ("table", [["项目", "数值", "备注"], ["甲", None, "合并"], ["乙", "2", "无"]]),
                      ("h", 2, "第一节 适用"), SCOPE, ("h", 1, "第二章 附则"), "本办法自公布之日起施行。"])
    d = convert("docx", data, "a.docx")
    assert d.text.split("\n") == ["第一章 总则", RULE, "项目\t数值\t备注", "甲\t合并", "乙\t2\t无",
                                  "第一节 适用", SCOPE, "第二章 附则", "本办法自公布之日起施行。"]
    paths = {h.path: d.text[h.start:h.end] for h in d.headings}
    assert paths[("第一章 总则",)].startswith("第一章 总则") and "第二章" not in paths[("第一章 总则",)]
    assert SCOPE in paths[("第一章 总则", "第一节 适用")]
    assert d.heading_at(d.text.index(SCOPE)) == ("第一章 总则", "第一节 适用")
    assert d.heading_at(d.text.index("本办法自")) == ("第二章 附则",)


def test_docx_outline_level_makes_a_heading():
    d = convert("docx", make_docx([("outline", 1, "一、总体要求"), RULE, ("outline", 2, "（一）基本原则"), SCOPE]), "o.docx")
    assert d.heading_at(d.text.index(SCOPE)) == ("一、总体要求", "（一）基本原则")


def test_docx_zip_bomb_refused_quickly():
    bomb = make_zip_bomb_docx()
    assert len(bomb) < 1_000_000
    started = time.perf_counter()
    with pytest.raises(DocumentError, match=r"^bomb\.docx: refused — its contents would inflate to \d+ MB \(a zip bomb\?\)$"):
        convert("docx", bomb, "bomb.docx")
    assert time.perf_counter() - started < 1.0


def test_docx_corrupt_and_empty_refused():
    data = make_docx([RULE])
    with pytest.raises(DocumentError, match=r"^c\.docx: not a readable"):
        convert("docx", data[: len(data) // 2], "c.docx")
    with pytest.raises(DocumentError, match=r"^e\.docx: empty document$"):
        convert("docx", make_docx([""]), "e.docx")


# --- HTML ---------------------------------------------------------------------------------------------------


def test_html_gbk_meta_charset_blocks_and_dropped_parts():
    body = ("<header>网站页眉</header><nav><a href='/'>首页</a></nav><h1>数据办法</h1>"
            "<p>第一段文字，\n  换行在中间。</p><div>块<b>内联</b>文本<br>换行后</div>"
            "<table><tr><th>项目</th><td>数值</td></tr></table><h2>附则</h2><p>尾声。</p>"
            "<script>var x = '脚本';</script><style>p {}</style><footer>版权所有</footer>")
    d = convert("html", make_html(body, encoding="gbk"), "p.html")
    assert d.encoding == "gb18030"
    assert d.text == "数据办法\n第一段文字，换行在中间。\n块内联文本\n换行后\n项目\t数值\n附则\n尾声。"
    assert d.heading_at(d.text.index("尾声")) == ("数据办法", "附则")
    assert "\n\n" not in d.text


def test_html_title_is_the_root_without_h1_and_http_equiv_charset():
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
            '<title>通知</title></head><body><h2>一、范围</h2><p>正文。</p></body></html>').encode("gbk")
    d = convert("html", page, "n.htm")
    assert d.text == "通知\n一、范围\n正文。"
    assert d.heading_at(d.text.index("正文")) == ("通知", "一、范围")


def test_html_empty_refused():
    with pytest.raises(DocumentError, match=r"^e\.html: empty document"):
        convert("html", make_html("<script>only()</script><nav>导航</nav>"), "e.html")


# --- EPUB ---------------------------------------------------------------------------------------------------


def test_epub_spine_order_and_headings():
    data = make_epub([("第一章", "<p>开头。</p><h2>第一节</h2><p>中间。</p>"), ("第二章", "<p>结尾。</p>")])
    d = convert("epub", data, "b.epub")
    assert d.text == "第一章\n开头。\n第一节\n中间。\n\n第二章\n结尾。"
    assert d.heading_at(d.text.index("中间")) == ("第一章", "第一节")
    assert d.heading_at(d.text.index("结尾")) == ("第二章",)


def test_epub_zip_bomb_refused():
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(make_epub([("章", "<p>文。</p>")]))) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info, src.read(info.filename))
        z.writestr("OEBPS/zeros.bin", bytes(5_000_000))
    with pytest.raises(DocumentError, match=r"^z\.epub: refused — one member inflates \d+ times \(a zip bomb\?\)$"):
        convert("epub", out.getvalue(), "z.epub")


MATH_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuMathTeXGyre.ttf"


def test_pdf_astral_characters_keep_one_box_each():
    """pdfium stores a character beyond U+FFFF as two UTF-16 halves; the text holds it once, with one box."""
    import os

    if not os.path.isfile(MATH_FONT):
        pytest.skip(f"{MATH_FONT} is not installed (fonts-dejavu-extra)")
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("math", fname=MATH_FONT)
    pdf.set_font("math", size=14)
    pdf.add_page()
    pdf.multi_cell(0, 8, "Let \U0001D400x = y and \U0001D401 z.")
    d = convert("pdf", bytes(pdf.output()), "m.pdf")
    assert d.text == "Let \U0001D400x = y and \U0001D401 z."
    boxes = d.layout.boxes
    assert boxes.shape == (len(d.text), 4)
    a, x = boxes[4], boxes[5]                 # 𝐀 then x, side by side
    assert not np.isnan(a).any() and a[2] == pytest.approx(x[0], abs=0.5)


def test_html_table_keeps_the_columns_of_empty_cells():
    page = ("<table><tr><th></th><th>名额</th></tr><tr><td>北京</td><td>10个</td></tr>"
            "<tr><td>上海</td><td></td><td>备注</td></tr></table>")
    d = convert("html", page.encode(), "t.html")
    assert d.text == "\t名额\n北京\t10个\n上海\t\t备注"
