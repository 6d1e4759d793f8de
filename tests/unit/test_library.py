"""rag.library with a fake encoder: real files added, stored safely, deduplicated, removed; failures keep the index."""

from __future__ import annotations

import threading

import pytest

from rag.config import Settings
from rag.errors import DocumentError
from rag.library import Library, Upload, safe_name
from rag.pipeline import QASystem
from tests.docfactory import have_cjk_font, make_docx, make_html, make_pdf, make_zip_bomb_docx
from tests.fakes import HashEncoder

SETTINGS = Settings().with_overrides({"embed.model": "fake-hash", "reader.weights": "off"})
PAGES = ["第一章 总则\n本办法适用于全市的人工智能企业。",
         "第二章 资金\n专项资金每年安排3亿元，用于支持大模型研发。",
         "第三章 附则\n本办法由市科技局负责解释。"]
needs_font = pytest.mark.skipif(not have_cjk_font(), reason="fonts-wqy-microhei is not installed")


@pytest.fixture()
def lib(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "base.txt").write_text("上海政策\n上海印发的《措施》提出给予最高10%的租用补贴。", encoding="utf-8")
    return Library(QASystem(corpus, tmp_path / "index", SETTINGS, encoder=HashEncoder()))


def docs_of(lib: Library) -> list[str]:
    return [d.doc for d in lib.list()]


@pytest.mark.parametrize("name,want", [
    ("../../etc/passwd", "passwd"), ("C:\\Users\\x\\报告.pdf", "报告.pdf"), ("/abs/a.txt", "a.txt"),
    (".hidden.md", "hidden.md"), ("a\x00b.txt", "a_b.txt"), ("..", "upload"), ("", "upload"),
    ("报告" * 100 + ".pdf", "报告" * 58 + ".pdf"),
])
def test_safe_names_never_leave_the_folder(name, want):
    assert safe_name(name) == want


@needs_font
def test_added_pdf_is_indexed_with_pages_and_offsets(lib):
    [status] = lib.add([Upload("政策.pdf", make_pdf(PAGES))])
    assert (status.state, status.doc) == ("done", "政策.pdf") and status.total >= 1
    assert (lib.root / "政策.pdf").is_file()
    doc = lib.document("政策.pdf")
    assert doc.format == "pdf" and doc.page_count == 3
    ans = lib.qa.ask("专项资金每年安排多少?")
    for c in ans.citations:
        assert lib.text(c.doc)[c.start:c.end] == c.text
        if c.doc == "政策.pdf":
            assert c.page == doc.page_at(c.start)
    cited = [c for c in ans.citations if "3亿元" in c.text]
    assert cited and cited[0].page == 2
    info = {d.doc: d for d in lib.list()}["政策.pdf"]
    assert (info.format, info.pages) == ("pdf", 3) and info.added_at


@needs_font
def test_boxes_and_page_image(lib):
    lib.add([Upload("政策.pdf", make_pdf(PAGES))])
    text = lib.text("政策.pdf")
    start = text.index("3亿元")
    boxes = lib.boxes("政策.pdf", start, start + 3)
    assert len(boxes) == 1 and boxes[0].page == 2 and boxes[0].x1 > boxes[0].x0 and boxes[0].y1 > boxes[0].y0
    png = lib.page_png("政策.pdf", 2, boxes)
    assert png.startswith(b"\x89PNG")
    with pytest.raises(DocumentError, match="no page 9"):
        lib.page_png("政策.pdf", 9)
    with pytest.raises(DocumentError, match="not a PDF"):
        lib.page_png("base.txt", 1)


def test_duplicates_answered_by_content_hash(lib):
    data = make_html("<h1>通知</h1><p>评选活动将于2025年5月举行。</p>")
    first, again = lib.add([Upload("a.html", data), Upload("b.html", data)])
    assert first.state == "done" and again.state == "duplicate" and again.doc == "a.html"
    [later] = lib.add([Upload("c.html", data)])
    assert later.state == "duplicate" and "a.html" in later.message
    assert docs_of(lib) == ["a.html", "base.txt"]


def test_same_name_other_content_gets_a_new_name(lib):
    lib.add([Upload("通知.txt", "第一份通知。".encode())])
    [s] = lib.add([Upload("通知.txt", "第二份通知。".encode())])
    assert s.doc == "通知 (2).txt"
    assert lib.text("通知 (2).txt") == "第二份通知。"


def test_name_without_suffix_gets_the_formats(lib):
    [s] = lib.add([Upload("notice", make_docx(["各单位：评选活动将于2025年5月举行。"]))])
    assert s.doc == "notice.docx" and lib.document("notice.docx").format == "docx"


@pytest.mark.parametrize("upload,message", [
    (Upload("x.pdf", make_docx(["正文。"])), "not a PDF"),
    (Upload("bomb.docx", make_zip_bomb_docx()), "zip bomb"),
    (Upload("empty.txt", b"   \n"), "empty"),
    (Upload("bad.pdf", b"%PDF-1.7\n1 0 obj <<>> garbage"), "PDF"),
    (Upload("prog.bin", bytes(range(256)) * 8), "not a supported document"),
])
def test_bad_files_fail_alone_and_keep_the_index(lib, upload, message):
    before = lib.qa.index.manifest.documents
    good, bad = lib.add([Upload("好.txt", "好文件。".encode()), upload])
    assert good.state == "done"
    assert bad.state == "failed" and message in bad.message and "\n" not in bad.message
    assert docs_of(lib) == ["base.txt", "好.txt"]
    assert set(before) <= set(lib.qa.index.manifest.documents)
    assert sorted(p.name for p in lib.root.iterdir()) == ["base.txt", "好.txt"]


def test_limits_refuse_before_anything_is_stored(tmp_path):
    settings = SETTINGS.with_overrides({"ingest.max_file_mb": 0.001, "ingest.max_files": 2,
                                        "ingest.max_upload_mb": 0.0015})
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("甲。", encoding="utf-8")
    lib = Library(QASystem(corpus, tmp_path / "i", settings, encoder=HashEncoder()))
    with pytest.raises(DocumentError, match="max_file_mb"):
        lib.add([Upload("big.txt", "字".encode() * 1000)])
    with pytest.raises(DocumentError, match="max_files"):
        lib.add([Upload(f"{n}.txt", b"x") for n in range(3)])
    with pytest.raises(DocumentError, match="max_upload_mb"):
        lib.add([Upload("1.txt", b"x" * 1000), Upload("2.txt", b"y" * 1000)])
    with pytest.raises(DocumentError, match="no file"):
        lib.add([])
    assert sorted(p.name for p in corpus.iterdir()) == ["a.txt"]


def test_remove_deletes_file_and_chunks(lib):
    lib.add([Upload("甲.txt", "甲方负责建设算力中心。".encode())])
    info = lib.remove("甲.txt")
    assert info.doc == "甲.txt" and not (lib.root / "甲.txt").exists()
    assert docs_of(lib) == ["base.txt"]
    assert all(c.doc != "甲.txt" for c in lib.qa.index.chunks)
    with pytest.raises(DocumentError, match="no document"):
        lib.remove("甲.txt")
    with pytest.raises(DocumentError):
        lib.remove("../index/CURRENT")


def test_a_failed_build_puts_everything_back(lib, monkeypatch):
    lib.qa.ensure_index()

    def broken(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lib.qa, "build", broken)
    [s] = lib.add([Upload("新.txt", "新文件。".encode())])
    assert s.state == "failed"
    assert not (lib.root / "新.txt").exists()
    with pytest.raises(OSError):
        lib.remove("base.txt")
    assert (lib.root / "base.txt").is_file() and docs_of(lib) == ["base.txt"]


def test_background_job_reports_progress_and_questions_still_work(lib):
    lib.qa.ensure_index()
    release = threading.Event()
    real_build = lib.qa.build

    def slow_build(*a, **k):
        release.wait(10)
        return real_build(*a, **k)

    lib.qa.build = slow_build  # type: ignore[method-assign]
    job = lib.submit([Upload("乙.txt", "乙方负责数据标注。".encode())])
    assert not job.finished
    # While the job waits, the previous index answers.
    assert lib.qa.ask("上海给予多少租用补贴?").citations[0].doc == "base.txt"
    release.set()
    for _ in range(200):
        if job.finished:
            break
        threading.Event().wait(0.05)
    assert job.finished and job.files[0].state == "done"
    assert "乙.txt" in docs_of(lib)
    assert lib.job(job.id) is job and lib.job("nope") is None
    assert job.to_json()["files"][0]["doc"] == "乙.txt"


def test_unreadable_corpus_files_are_recorded_not_retried(lib, monkeypatch, caplog):
    (lib.root / "坏.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<>> garbage")
    lib.qa.build()
    assert list(lib.qa.skipped()) == ["坏.pdf"] and "not a readable PDF" in lib.qa.skipped()["坏.pdf"]
    assert not lib.qa.is_stale()    # the broken file is known: a start does not rebuild for it
    calls = []
    monkeypatch.setattr("rag.pipeline.read_source", lambda *a, **k: calls.append(a) or pytest.fail("re-read"))
    fresh = QASystem(lib.root, lib.qa.store.root, SETTINGS, encoder=HashEncoder())
    fresh.ensure_index()
    assert calls == [] and [d.doc for d in fresh.documents()] == ["base.txt"]
    monkeypatch.undo()
    (lib.root / "坏.pdf").unlink()
    (lib.root / "坏.txt").write_text("修好的文件。", encoding="utf-8")
    assert lib.qa.is_stale()
    lib.qa.build()
    assert lib.qa.skipped() == {} and "坏.txt" in docs_of(lib)


def test_a_skipped_scan_is_read_again_when_ocr_is_turned_on(tmp_path, monkeypatch):
    from rag.types import Document

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("甲方负责建设。", encoding="utf-8")
    (corpus / "scan.txt").write_text("扫描件。", encoding="utf-8")
    real = __import__("rag.pipeline", fromlist=["read_source"]).read_source

    def fake(src, settings):     # a "scan": readable only with OCR
        if src.doc == "scan.txt" and settings.ocr.value == "off":
            raise DocumentError("scan.txt: no text layer on any of its 1 page (a scan?)", "empty")
        return real(src, settings)

    monkeypatch.setattr("rag.pipeline.read_source", fake)
    off = QASystem(corpus, tmp_path / "i", SETTINGS.with_overrides({"ingest.ocr": "off"}), encoder=HashEncoder())
    off.build()
    assert list(off.skipped()) == ["scan.txt"] and not off.is_stale()
    on = QASystem(corpus, tmp_path / "i", SETTINGS.with_overrides({"ingest.ocr": "auto"}), encoder=HashEncoder())
    assert on.is_stale()
    on.build()
    assert on.skipped() == {} and isinstance(on.document("scan.txt"), Document)
