"""``/api/documents``, ``/api/jobs`` and the viewer, in-process, with the real model.

A temporary corpus (the article and a note in a sub-folder) gets a 3-page PDF, a DOCX and a GBK
web page by upload; questions are answered from them with pages, boxes and offsets that the text
endpoint honours; every bad file or broken limit is a 4xx with a one-line message, and afterwards
the documents already indexed still answer.
"""

from __future__ import annotations

import shutil
import time

import pytest

from tests.docfactory import (have_cjk_font, make_docx, make_encrypted_pdf, make_html, make_pdf,
                              make_zip_bomb_docx)
from tests.helpers import ARTICLE, skip_unless_ci

PAGES = ["第一页讲的是天气。今天北京晴朗, 气温十五度, 适合户外活动。",
         "第二页讲的是水果。青海省盛产的水果是枸杞, 每年产量达十万吨。",
         "第三页讲的是交通。地铁十号线全长五十七公里, 共设四十五座车站。"]
FRUIT = "青海省盛产的水果是什么?"
HUBEI = "湖北人工智能产业规模到2025年超过多少?"
NOTE = "报告/说明.txt"
NOTE_TEXT = "内部说明\n本公司的吉祥物是一只名叫团团的熊猫。\n"


@pytest.fixture(scope="module", autouse=True)
def cjk_font():
    if not have_cjk_font():
        skip_unless_ci("no CJK font to build the test PDFs with")


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return make_pdf(PAGES)


def _system(base, embedder, **ingest):
    from rag.config import IngestSettings, Settings
    from rag.pipeline import QASystem

    (base / "corpus" / "报告").mkdir(parents=True)
    shutil.copy(ARTICLE, base / "corpus" / "article.txt")
    (base / "corpus" / NOTE).write_text(NOTE_TEXT, encoding="utf-8")
    settings = Settings.from_env()
    if ingest:
        settings = Settings(**{**settings.__dict__, "ingest": IngestSettings(**ingest)})
    return QASystem(base / "corpus", base / "index", settings=settings, encoder=embedder)


@pytest.fixture(scope="module")
def client(tmp_path_factory, embedder):
    from fastapi.testclient import TestClient

    from ui.server import create_app

    with TestClient(create_app(_system(tmp_path_factory.mktemp("docs"), embedder), ui=False)) as c:
        yield c


@pytest.fixture(scope="module")
def small(tmp_path_factory, embedder):
    """A server with tiny limits: 20 KiB a file, 30 KiB an upload, 2 files."""
    from fastapi.testclient import TestClient

    from ui.server import create_app

    qa = _system(tmp_path_factory.mktemp("small"), embedder, max_file_mb=0.02, max_upload_mb=0.03, max_files=2)
    with TestClient(create_app(qa, ui=False)) as c:
        yield c


def _files(*named: tuple[str, bytes]) -> list:
    return [("files", (name, data, "application/octet-stream")) for name, data in named]


def _docs(client) -> dict[str, dict]:
    r = client.get("/api/documents")
    assert r.status_code == 200
    return {d["doc"]: d for d in r.json()["documents"]}


def _one_line_error(r, status: int) -> str:
    assert r.status_code == status, r.text
    message = r.json()["error"]
    assert isinstance(message, str) and message and "\n" not in message and "Traceback" not in message
    return message


def _still_answers(client) -> None:
    r = client.post("/api/ask", json={"question": HUBEI})
    assert r.status_code == 200 and r.json()["answer"] == "1500亿元"


# --- adding, reading, removing ----------------------------------------------------------------

def test_the_corpus_is_listed_with_a_document_in_a_sub_folder(client):
    docs = _docs(client)
    assert set(docs) == {"article.txt", NOTE}
    art = docs["article.txt"]
    assert art["format"] == "text" and art["pages"] == 0 and art["chunks"] > 0 and art["added_at"]
    r = client.get(f"/api/documents/{NOTE}/text")
    assert r.status_code == 200 and r.json()["text"] == NOTE_TEXT and r.json()["doc"] == NOTE


def test_a_pdf_is_uploaded_and_its_page_2_answer_has_page_boxes_and_offsets(client, pdf):
    r = client.post("/api/documents?wait=true", files=_files(("水果报告.pdf", pdf)))
    assert r.status_code == 200, r.text
    [status] = r.json()["files"]
    assert status["state"] == "done" and status["doc"] == "水果报告.pdf" and r.json()["finished"]
    assert status["done"] == status["total"] > 0
    info = _docs(client)["水果报告.pdf"]
    assert info["format"] == "pdf" and info["pages"] == 3 and info["chunks"] >= 1 and info["size"] == len(pdf)

    body = client.post("/api/ask", json={"question": FRUIT}).json()
    assert body["answer"] == "枸杞"
    span = body["answer_span"]
    assert span["doc"] == "水果报告.pdf" and span["page"] == 2
    assert span["boxes"] and all(b["page"] == 2 and b["x0"] < b["x1"] and b["y0"] < b["y1"] for b in span["boxes"])
    assert body["citations"][0]["doc"] == "水果报告.pdf" and body["citations"][0]["page"] == 2

    texts = {}
    for c in body["citations"]:
        if c["doc"] not in texts:
            r = client.get(f"/api/documents/{c['doc']}/text")
            assert r.status_code == 200
            texts[c["doc"]] = r.json()
        assert texts[c["doc"]]["text"][c["start"]:c["end"]] == c["text"]
    doc = texts["水果报告.pdf"]
    assert doc["format"] == "pdf" and doc["text"][span["start"]:span["end"]] == "枸杞"
    assert [p["page"] for p in doc["pages"]] == [1, 2, 3]
    [page2] = [p for p in doc["pages"] if p["start"] <= span["start"] < p["end"]]
    assert page2["page"] == 2 and "青海省" in doc["text"][page2["start"]:page2["end"]]


def test_page_images_and_the_viewer(client):
    body = client.post("/api/ask", json={"question": FRUIT}).json()
    span, cit = body["answer_span"], body["citations"][0]
    base = "/api/documents/水果报告.pdf/pages"
    full = client.get(f"{base}/2.png?start={span['start']}&end={span['end']}")
    assert full.status_code == 200 and full.headers["content-type"] == "image/png"
    assert full.content.startswith(b"\x89PNG")
    plain = client.get(f"{base}/2.png")
    assert plain.status_code == 200 and plain.content != full.content       # the boxes are drawn
    band = client.get(f"{base}/2.png?start={span['start']}&end={span['end']}&crop=1")
    assert band.status_code == 200 and len(band.content) < len(full.content)
    assert "no page 4" in _one_line_error(client.get(f"{base}/4.png"), 404)
    _one_line_error(client.get(f"{base}/0.png"), 404)
    _one_line_error(client.get(f"{base}/2.png?start=x&end=3"), 400)
    _one_line_error(client.get("/api/documents/article.txt/pages/1.png"), 404)     # no pages
    _one_line_error(client.get("/api/documents/nope.pdf/pages/1.png"), 404)

    r = client.get(f"/view/水果报告.pdf?start={cit['start']}&end={cit['end']}"
                   f"&astart={span['start']}&aend={span['end']}")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "script-src" not in r.headers["content-security-policy"]     # default-src 'none': no script
    page = r.text
    assert "<mark>枸杞</mark>" in page and 'id="cited"' in page and "第 2 页" in page
    assert "/api/documents/%E6%B0%B4%E6%9E%9C%E6%8A%A5%E5%91%8A.pdf/pages/2.png?start=" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert client.get(f"/view/{NOTE}").status_code == 200
    assert client.get("/view/nope.txt").status_code == 404


def test_an_upload_in_the_background_is_followed_by_its_job(client):
    docx = make_docx([("h", 1, "年度总结"), "我们的年度口号是勤俭节约、踏实肯干。"])
    html = make_html("<h1>公告</h1><p>食堂每周五供应的特色菜是麻婆豆腐。</p>", encoding="gbk")
    r = client.post("/api/documents", files=_files(("总结.docx", docx), ("公告.html", html)))
    assert r.status_code == 202
    _still_answers(client)                      # while it is indexed, from the previous index
    job = r.json()["job"]
    assert [f["name"] for f in r.json()["files"]] == ["总结.docx", "公告.html"]
    deadline = time.monotonic() + 120
    while True:
        r = client.get(f"/api/jobs/{job}")
        assert r.status_code == 200
        if r.json()["finished"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [f["state"] for f in r.json()["files"]] == ["done", "done"]
    assert client.post("/api/ask", json={"question": "食堂每周五供应的特色菜是什么?"}).json()["answer"] == "麻婆豆腐"
    assert {"总结.docx", "公告.html"} <= set(_docs(client))
    _one_line_error(client.get("/api/jobs/nope"), 404)


def test_delete_removes_a_document_and_unknown_is_404(client, pdf):
    r = client.delete("/api/documents/水果报告.pdf")
    assert r.status_code == 200 and r.json()["doc"] == "水果报告.pdf"
    assert "水果报告.pdf" not in _docs(client)
    assert client.post("/api/ask", json={"question": FRUIT}).json()["answer"] != "枸杞"
    _one_line_error(client.get("/api/documents/水果报告.pdf/text"), 404)
    _one_line_error(client.delete("/api/documents/水果报告.pdf"), 404)
    _still_answers(client)
    # and it can be added again afterwards (the hash is no longer held)
    r = client.post("/api/documents?wait=true", files=_files(("水果报告.pdf", pdf)))
    assert r.status_code == 200 and r.json()["files"][0]["state"] == "done"


# --- bad files and limits ---------------------------------------------------------------------

BAD = {
    "lying extension": (("数据.pdf", "这其实是一段纯文本。".encode()), 415, "rename"),
    "binary": (("程序.bin", bytes(range(256)) * 8), 415, "not a supported"),
    "legacy office": (("旧.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)), 415, ""),
    "encrypted pdf": (("加密.pdf", None), 422, "encrypted"),
    "corrupt pdf": (("坏.pdf", b"%PDF-1.7\n1 0 obj <<>> garbage" + bytes(200)), 422, ""),
    "empty text": (("空.txt", b""), 422, "empty"),
    "blank text": (("空白.txt", "  \n\t \n".encode()), 422, "empty"),
    "zip bomb": (("炸弹.docx", None), 422, "zip bomb"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_file_is_a_4xx_with_one_line_and_nothing_is_lost(client, case):
    (name, data), status, words = BAD[case]
    if data is None:
        data = make_encrypted_pdf(PAGES) if case == "encrypted pdf" else make_zip_bomb_docx()
    before = _docs(client)
    r = client.post("/api/documents?wait=true", files=_files((name, data)))
    message = _one_line_error(r, status)
    assert name in message and words in message
    assert r.json()["files"][0]["state"] == "failed"
    assert _docs(client) == before
    _still_answers(client)


def test_a_duplicate_is_409_and_names_the_document_holding_it(client, pdf):
    r = client.post("/api/documents?wait=true", files=_files(("再来一次.pdf", pdf)))
    message = _one_line_error(r, 409)
    assert "再来一次.pdf" in message and "水果报告.pdf" in message
    assert r.json()["files"][0] == {**r.json()["files"][0], "state": "duplicate", "doc": "水果报告.pdf"}


def test_one_good_and_one_bad_file_add_the_good_one(client):
    good = "第二份说明: 仓库的钥匙由保安老李保管。".encode()
    r = client.post("/api/documents?wait=true", files=_files(("钥匙.txt", good), ("坏.pdf", b"%PDF-1.4 junk")))
    assert r.status_code == 200
    assert [f["state"] for f in r.json()["files"]] == ["done", "failed"]
    assert "钥匙.txt" in _docs(client)


def test_malformed_requests_are_400(client):
    _one_line_error(client.post("/api/documents", json={"files": []}), 400)
    _one_line_error(client.post("/api/documents", data={"other": "x"}, files=_files()), 400)
    _one_line_error(client.post("/api/documents", files=[("other", ("a.txt", b"abc", "text/plain"))]), 400)


def test_limits_are_413_before_anything_is_stored(small):
    before = _docs(small)
    big = ("大.txt", ("一段很长的文字。" * 2000).encode())                      # ~48 KB > 20 KB a file
    assert "ingest.max_file_mb" in _one_line_error(small.post("/api/documents", files=_files(big)), 413)
    three = [(f"{i}.txt", f"第{i}份文件的内容。".encode()) for i in range(3)]   # 3 files > 2
    assert "ingest.max_files" in _one_line_error(small.post("/api/documents", files=_files(*three)), 413)
    two = [(f"{i}.txt", ("内容。" * 1900).encode()) for i in range(2)]          # 2 × 17 KB, each under 20 KiB
    _one_line_error(small.post("/api/documents", files=_files(*two)), 413)     # but over 30 KiB together
    huge = ("巨.txt", bytes(200_000))                                          # refused by its length alone
    assert "ingest.max_upload_mb" in _one_line_error(small.post("/api/documents", files=_files(huge)), 413)

    def chunked():                                                             # no Content-Length: counted
        yield b"--b\r\ncontent-disposition: form-data; name=\"files\"; filename=\"x.txt\"\r\n\r\n"
        for _ in range(50):
            yield bytes(10_000)
    r = small.post("/api/documents", content=chunked(), headers={"content-type": "multipart/form-data; boundary=b"})
    assert "ingest.max_upload_mb" in _one_line_error(r, 413)
    assert _docs(small) == before
    _still_answers(small)
