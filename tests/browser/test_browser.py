"""The chat page in a real headless Chromium, against a real uvicorn server on 127.0.0.1.

Skipped only when ``/usr/bin/chromium`` is absent (``scripts/install_browser_deps.sh``
installs it). Set ``RAG_UI_SCREENSHOT=docs/screenshot.png`` to save the
answered page as a screenshot (1280 px wide).
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

import pytest

from tests.browser.conftest import CHROMIUM
from tests.helpers import skip_unless_ci

HUBEI = "湖北人工智能产业规模到2025年超过多少?"
PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>[点我](javascript:window.__pwned=1)'
REPLY = "#rag-chat .rag-found, #rag-chat .rag-notfound, #rag-chat .rag-error"

@pytest.fixture(autouse=True)
def chromium_present():
    if not CHROMIUM.exists():
        skip_unless_ci("/usr/bin/chromium is absent (run scripts/install_browser_deps.sh)")


@pytest.fixture(scope="module")
def server(article_qa):
    from ui.net import BackgroundServer
    from ui.server import create_app

    with BackgroundServer(create_app(article_qa), host="127.0.0.1", port=0) as srv:
        yield srv


class Page:
    """A browser tab on the chat that records every URL it requests."""

    def __init__(self, browser, url: str, width: int = 1280, height: int = 900):
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.console: list[str] = []       # what the page logged (a refused script or style shows here)
        self.page.on("console", lambda m: self.console.append(m.text))
        self.page.goto(url, wait_until="load")
        self.page.wait_for_selector("#rag-question textarea", timeout=30_000)

    def ask(self, question: str) -> None:
        """Type a question, press Enter, and wait for a reply to replace the 'searching' bubble."""
        before = self.page.locator(REPLY).count()
        self.page.fill("#rag-question textarea", question)
        self.page.press("#rag-question textarea", "Enter")
        self.page.wait_for_function(f"document.querySelectorAll({REPLY!r}).length > {before}", timeout=60_000)

    def outside_requests(self) -> list[str]:
        """Requests that went anywhere but 127.0.0.1 (``data:``/``blob:`` URLs never leave the page)."""
        return [u for u in self.requests
                if urlparse(u).scheme not in ("data", "blob") and urlparse(u).hostname != "127.0.0.1"]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def page(browser, server):
    p = Page(browser, server.url)
    yield p
    p.close()


def test_question_is_answered_with_highlight_and_citations(page):
    page.ask(HUBEI)
    chat = page.page.inner_text("#rag-chat")
    assert HUBEI in chat
    assert "1500亿元" in chat and "置信度" in chat and "[1]" in chat
    assert page.page.inner_text("#rag-chat .rag-found mark") == "1500亿元"
    sources = page.page.inner_text("#rag-sources")
    assert "[1]" in sources and "article.txt" in sources and "字符" in sources
    assert page.page.locator("#rag-sources mark", has_text="1500亿元").count() >= 1
    if os.environ.get("RAG_UI_SCREENSHOT"):
        page.page.wait_for_timeout(500)
        page.page.screenshot(path=os.environ["RAG_UI_SCREENSHOT"], full_page=False)
    assert page.requests, "no request recorded"
    assert page.outside_requests() == []
    # the security headers' policy (ui/security.py) blocks nothing the page itself needs
    assert not [m for m in page.console if "Content Security Policy" in m], page.console


def test_example_button_then_not_found_then_clear(page):
    page.page.get_by_role("button", name="谁是百度首席技术官?").click()
    page.page.wait_for_selector("#rag-chat .rag-found", timeout=60_000)
    assert "王海峰" in page.page.inner_text("#rag-chat .rag-found")

    page.ask("火星上有多少座城市?")
    nf = page.page.locator("#rag-chat .rag-notfound")
    assert nf.count() == 1 and "未找到" in nf.inner_text()
    assert "最接近的段落" in page.page.inner_text("#rag-sources")

    page.page.click("#rag-clear")
    page.page.wait_for_function(f"document.querySelectorAll({REPLY!r}).length === 0", timeout=10_000)
    assert page.outside_requests() == []


def test_hostile_question_is_shown_as_text_and_runs_nothing(page):
    page.ask(PAYLOAD)
    page.page.wait_for_timeout(500)           # give an injected handler every chance to run
    assert page.page.evaluate("typeof window.__pwned") == "undefined"
    chat = page.page.inner_text("#rag-chat")
    assert '<img src=x onerror="window.__pwned=1">' in chat
    assert "<script>window.__pwned=1</script>" in chat
    assert "[点我](javascript:window.__pwned=1)" in chat
    assert page.page.locator('#rag-chat img[src="x"], #rag-sources img[src="x"]').count() == 0
    assert page.page.locator('a[href^="javascript"]').count() == 0
    assert PAYLOAD in page.page.inner_text("#rag-sources")      # the panel repeats the question, as text
    assert page.outside_requests() == []


def test_phone_width_has_no_horizontal_scroll(browser, server):
    p = Page(browser, server.url, width=390, height=844)
    try:
        p.ask(HUBEI)
        assert p.page.evaluate("document.documentElement.scrollWidth") <= 390
        assert "1500亿元" in p.page.inner_text("#rag-chat")
        assert p.page.is_visible("#rag-sources")
    finally:
        p.close()
