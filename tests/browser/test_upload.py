"""The documents panel in a real headless Chromium: upload a PDF, watch it indexed, ask about page 2.

A real uvicorn server on 127.0.0.1 over a small temporary corpus (the article), the real model.
Set ``RAG_UPLOAD_SCREENSHOT=docs/img/upload-panel.png`` to save the answered page with the panel
as the README's screenshot (1280 px wide, the whole page); without it nothing is written.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.browser.conftest import CHROMIUM
from tests.browser.test_browser import Page
from tests.docfactory import have_cjk_font, make_pdf
from tests.helpers import ARTICLE, skip_unless_ci

PAGES = ["第一页讲的是天气。今天北京晴朗, 气温十五度, 适合户外活动。",
         "第二页讲的是水果。青海省盛产的水果是枸杞, 每年产量达十万吨。",
         "第三页讲的是交通。地铁十号线全长五十七公里, 共设四十五座车站。"]
QUESTION = "青海省盛产的水果是什么?"
#: One PDF for the whole module: make_pdf's bytes differ from call to call, and a duplicate is a byte-for-byte copy.
PDF = make_pdf(PAGES) if have_cjk_font() else b""
SCREENSHOT = os.environ.get("RAG_UPLOAD_SCREENSHOT", "")


@pytest.fixture(autouse=True)
def prerequisites():
    if not CHROMIUM.exists():
        skip_unless_ci("/usr/bin/chromium is absent (run scripts/install_browser_deps.sh)")
    if not have_cjk_font():
        skip_unless_ci("no CJK font to build the test PDF with")


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    from rag.pipeline import QASystem
    from ui.net import BackgroundServer
    from ui.server import create_app

    base = tmp_path_factory.mktemp("upload")
    (base / "corpus").mkdir()
    shutil.copy(ARTICLE, base / "corpus" / "article.txt")
    qa = QASystem(base / "corpus", base / "index", encoder=embedder)
    with BackgroundServer(create_app(qa), host="127.0.0.1", port=0) as srv:
        yield srv


def _upload(p: Page, name: str, data: bytes) -> None:
    p.page.set_input_files("#rag-upload input[type=file]",
                           files=[{"name": name, "mimeType": "application/pdf", "buffer": data}])


def test_upload_a_pdf_then_the_answer_on_page_2_is_shown_on_the_page_image(browser, server):
    p = Page(browser, server.url, width=1280, height=1000)
    try:
        assert "article.txt" in p.page.inner_text("#rag-doclist")
        _upload(p, "水果报告.pdf", PDF)
        p.page.wait_for_function(
            "document.querySelector('#rag-progress') && "
            "document.querySelector('#rag-progress').innerText.includes('完成')", timeout=120_000)
        p.page.wait_for_function(
            "document.querySelector('#rag-doclist')?.innerText.includes('水果报告.pdf')", timeout=30_000)
        row = p.page.locator("#rag-doclist tr", has_text="水果报告.pdf").inner_text()
        assert "pdf" in row and "3" in row

        p.ask(QUESTION)
        assert p.page.inner_text("#rag-chat .rag-found mark") == "枸杞"
        hit = p.page.locator("#rag-sources .rag-card-hit")
        assert hit.count() == 1
        card = hit.inner_text()
        assert "水果报告.pdf" in card and "第 2 页" in card and "查看原文" in card
        image = hit.locator(".rag-page-image img")
        image.scroll_into_view_if_needed()
        p.page.wait_for_function(
            "(() => { const i = document.querySelector('#rag-sources .rag-card-hit .rag-page-image img');"
            " return i && i.complete && i.naturalWidth > 0; })()", timeout=30_000)
        assert "/pages/2.png" in image.get_attribute("src")
        assert p.page.evaluate("document.querySelector('#rag-sources .rag-card-hit .rag-page-image img')"
                               ".naturalHeight") < 400          # the band around the answer, not the page
        if SCREENSHOT:
            p.page.evaluate("window.scrollTo(0, 0)")
            p.page.wait_for_timeout(300)
            p.page.screenshot(path=SCREENSHOT, full_page=True)

        # the viewer, from the card's link: the passage, the answer marked, the page image
        with p.context.expect_page() as opened:
            hit.locator("a.rag-view").click()
        viewer = opened.value
        viewer.wait_for_load_state("load")
        assert viewer.inner_text("mark") == "枸杞"
        assert "第 2 页" in viewer.inner_text("body")
        assert viewer.evaluate("document.querySelector('.pages img').naturalWidth") > 0
        viewer.close()
        assert p.outside_requests() == []
    finally:
        p.close()


def test_duplicate_upload_is_reported_and_delete_removes_the_document(browser, server):
    p = Page(browser, server.url)
    try:
        _upload(p, "again.pdf", PDF)
        p.page.wait_for_function(
            "document.querySelector('#rag-progress').innerText.includes('重复')", timeout=60_000)
        assert "水果报告.pdf" in p.page.inner_text("#rag-progress")

        p.page.click("#rag-doc-select input")
        p.page.get_by_role("option", name="水果报告.pdf").click()
        p.page.click("#rag-delete")
        p.page.wait_for_function(
            "document.querySelector('#rag-doc-msg').innerText.includes('已删除')", timeout=60_000)
        assert "水果报告.pdf" not in p.page.inner_text("#rag-doclist")
        assert "article.txt" in p.page.inner_text("#rag-doclist")
        p.ask(QUESTION)
        assert "枸杞" not in p.page.inner_text("#rag-chat")
    finally:
        p.close()
