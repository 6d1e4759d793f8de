"""People's own files end to end, with the real model and reader: a PDF (with an embedded CJK font),
a Word document and a GBK web page are indexed beside the article, asked, and every answer and
citation is checked against the stored text and its page. The CLI's add / list / text / remove too.
"""

from __future__ import annotations

import json
import shutil

import pytest

from rag.cli.commands import main
from rag.config import Settings
from rag.library import Library, Upload
from rag.pipeline import QASystem
from tests.docfactory import (have_cjk_font, make_docx, make_html, make_pdf, make_pdf_without_tounicode,
                              make_scanned_pdf)
from tests.helpers import ARTICLE, article_corpus

pytestmark = pytest.mark.skipif(not have_cjk_font(), reason="fonts-wqy-microhei is not installed")

PDF_PAGES = [
    "第一章 总则\n为推动人工智能产业高质量发展，本市制定本办法。本办法适用于在本市注册的人工智能企业。",
    "第二章 资金支持\n市财政每年安排专项资金3亿元，用于支持大模型研发和算力建设。对认定的重点项目，"
    "给予最高500万元的一次性奖励。",
    "第三章 附则\n本办法由市科学技术局负责解释，自2025年1月1日起施行。",
]
DOCX_BLOCKS = [
    ("h", 1, "关于开展2025年度创新奖评选的通知"),
    "各区科技部门：为表彰在科技创新方面作出突出贡献的单位，现开展创新奖评选工作。",
    ("h", 2, "申报时间"),
    "申报截止时间为2025年8月15日，逾期不予受理。",
    ("h", 2, "名额分配"),
    ("table", [["地区", "名额"], ["浦东新区", "12个"], ["徐汇区", "6个"]]),
]
HTML_BODY = ("<nav>首页 | 新闻 | 联系我们</nav><h1>数据中心建设公告</h1>"
             "<p>新建的绿色数据中心位于临港片区，总投资约45亿元。</p>"
             "<script>var x = '不应被索引的脚本文字';</script>"
             "<h2>运营单位</h2><p>数据中心由星河算力公司负责运营。</p><footer>版权所有</footer>")


@pytest.fixture(scope="module")
def qa(tmp_path_factory, embedder):
    base = tmp_path_factory.mktemp("own")
    corpus = article_corpus(base)
    (corpus / "政策.pdf").write_bytes(make_pdf(PDF_PAGES))
    (corpus / "通知.docx").write_bytes(make_docx(DOCX_BLOCKS))
    (corpus / "公告.html").write_bytes(make_html(HTML_BODY, encoding="gbk"))
    (corpus / "乱码.pdf").write_bytes(make_pdf_without_tounicode(["本页没有字符映射表，抽取出来会是乱码。"] * 2))
    # OCR off: with the extra installed, OCR would read the garbled pages correctly (tests/e2e/test_ocr.py).
    settings = Settings.from_env().with_overrides({"ingest.ocr": "off"})
    system = QASystem(corpus, base / "index", settings, encoder=embedder)
    system.ensure_index()
    return system


def check(qa: QASystem, ans) -> None:
    """Offsets are sacred: every citation and the answer are the stored text at their offsets."""
    for c in ans.citations:
        doc = qa.document(c.doc)
        assert doc.text[c.start:c.end] == c.text
        assert c.page == doc.page_at(c.start)
    if ans.answer is not None:
        s = ans.answer_span
        doc = qa.document(s.doc)
        assert doc.text[s.start:s.end] == ans.answer
        assert s.page == doc.page_at(s.start)


@pytest.mark.parametrize("question,gold,doc,page", [
    ("市财政每年安排多少专项资金?", "3亿元", "政策.pdf", 2),
    ("重点项目最高给予多少一次性奖励?", "500万元", "政策.pdf", 2),
    ("本办法由哪个部门负责解释?", "市科学技术局", "政策.pdf", 3),
    ("创新奖申报截止时间是什么时候?", "2025年8月15日", "通知.docx", None),
    ("绿色数据中心总投资约多少?", "45亿元", "公告.html", None),
    ("数据中心由哪家公司负责运营?", "星河算力公司", "公告.html", None),
    ("湖北人工智能产业规模到2025年超过多少?", "1500亿元", "article.txt", None),
])
def test_answers_from_each_format_with_page_and_offsets(qa, question, gold, doc, page):
    ans = qa.ask(question)
    check(qa, ans)
    assert ans.answer is not None and gold in ans.answer, ans.answer
    assert ans.answer_span.doc == doc and ans.answer_span.page == page
    if page is not None:
        assert ans.answer_span.boxes and {b.page for b in ans.answer_span.boxes} == {page}
        assert ans.to_json()["answer_span"]["boxes"][0]["page"] == page
    else:
        assert ans.answer_span.boxes == ()


def test_table_rows_are_indexed_and_cited_in_body_order(qa):
    # The reader was trained on prose and may take a neighbouring row's figure from a table
    # (docs/formats.md, "Tables"); the row itself must be found and cited with its offsets.
    ans = qa.ask("浦东新区有几个名额?")
    check(qa, ans)
    text = qa.document("通知.docx").text
    assert text.index("名额分配") < text.index("浦东新区\t12个") < text.index("徐汇区\t6个")
    assert any("浦东新区\t12个" in c.text for c in ans.citations[:2])


def test_headings_of_word_and_web_pages_reach_the_citations(qa):
    ans = qa.ask("创新奖申报截止时间是什么时候?")
    assert "申报时间" in (ans.citations[0].heading or "")
    html = qa.document("公告.html")
    assert "脚本" not in html.text and "首页" not in html.text and "版权所有" not in html.text
    assert any("数据中心建设公告" in h.path for h in html.headings)


def test_pdf_without_tounicode_is_flagged_not_indexed(qa):
    assert "乱码.pdf" not in qa.index.manifest.documents
    assert all(c.doc != "乱码.pdf" for c in qa.index.chunks)


def test_scanned_pdf_without_ocr_warns_with_file_and_page(tmp_path, embedder, caplog):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("上海印发的《措施》提出给予最高10%的租用补贴。", encoding="utf-8")
    lib = Library(QASystem(corpus, tmp_path / "i", Settings.from_env().with_overrides({"ingest.ocr": "off"}),
                           encoder=embedder))
    [s] = lib.add([Upload("扫描件.pdf", make_scanned_pdf(["这是一页扫描的文字。"]))])
    assert s.state == "failed" and "扫描件.pdf" in s.message
    assert [d.doc for d in lib.list()] == ["a.txt"]


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_add_list_text_remove(tmp_path, capsys, monkeypatch):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(ARTICLE, corpus / "article.txt")
    pdf = tmp_path / "政策.pdf"
    pdf.write_bytes(make_pdf(PDF_PAGES))
    lying = tmp_path / "假的.pdf"
    lying.write_bytes(make_docx(["正文。"]))
    where = ["--corpus", str(corpus), "--index", str(index)]
    code, out, err = run(["add", str(pdf), str(lying), *where], capsys)
    assert code == 2
    assert "added: 政策.pdf" in out and "假的.pdf" in out and "not a PDF" in out
    code, out, _ = run(["list", "--json", *where], capsys)
    listed = {d["doc"]: d for d in json.loads(out)}
    assert code == 0 and listed["政策.pdf"]["pages"] == 3 and set(listed) == {"article.txt", "政策.pdf"}
    code, out, _ = run(["text", "政策.pdf", *where], capsys)
    assert code == 0 and "专项资金3亿元" in out
    code, out, _ = run(["ask", "市财政每年安排多少专项资金?", "--json", *where], capsys)
    ans = json.loads(out)
    assert "3亿元" in ans["answer"] and ans["answer_span"]["page"] == 2
    code, text_json, _ = run(["text", "政策.pdf", "--json", *where], capsys)
    text = json.loads(text_json)["text"]
    s = ans["answer_span"]
    assert text[s["start"]:s["end"]] == ans["answer"]
    code, out, _ = run(["ask", "市财政每年安排多少专项资金?", *where], capsys)
    assert "第 2 页" in out
    code, out, _ = run(["remove", "政策.pdf", *where], capsys)
    assert code == 0 and "removed: 政策.pdf" in out and not (corpus / "政策.pdf").exists()
    code, _, err = run(["text", "政策.pdf", *where], capsys)
    assert code == 2 and "no document" in err and len(err.strip().splitlines()) == 1
