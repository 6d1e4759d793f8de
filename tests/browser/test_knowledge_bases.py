"""The knowledge-base selector in a real headless Chromium: choosing another knowledge base shows its
documents, clears the chat, answers from its chunks only, and its "查看原文" link opens its file.

A real uvicorn server on 127.0.0.1: the article as the default knowledge base, and ``hr`` beside it
(``<kb_root>/hr/corpus``) holding a file of the same name as one in the default with other facts.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import CHROMIUM
from tests.browser.test_browser import Page
from tests.helpers import ARTICLE, skip_unless_ci

QUESTION = "公司年会在哪里举行?"


@pytest.fixture(autouse=True)
def prerequisites():
    if not CHROMIUM.exists():
        skip_unless_ci("/usr/bin/chromium is absent (run scripts/install_browser_deps.sh)")


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    from rag.config import Settings
    from rag.kb import KnowledgeBases
    from rag.pipeline import QASystem
    from ui.net import BackgroundServer
    from ui.server import create_app

    base = tmp_path_factory.mktemp("kbs")
    (base / "corpus").mkdir()
    (base / "corpus" / "article.txt").write_text(ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    (base / "corpus" / "notes.txt").write_text("公司年会定于12月20日在杭州西湖国宾馆举行。\n", encoding="utf-8")
    hr = base / "kb" / "hr" / "corpus"
    hr.mkdir(parents=True)
    (hr / "notes.txt").write_text("公司年会定于1月8日在成都天府会议中心举行。\n", encoding="utf-8")
    (hr / "policy.txt").write_text("员工入职满一年后，每年享有带薪年假15天。\n", encoding="utf-8")
    settings = Settings.from_env().with_overrides({"paths.kb_root": str(base / "kb")})
    qa = QASystem(base / "corpus", base / "index", settings, encoder=embedder)
    kbs = KnowledgeBases(settings, first=qa)
    with BackgroundServer(create_app(qa, kbs=kbs), host="127.0.0.1", port=0) as srv:
        yield srv


def _choose(p: Page, name: str) -> None:
    p.page.click("#rag-kb input")
    p.page.get_by_role("option", name=name).click()


def test_choosing_a_knowledge_base_answers_from_it_alone(browser, server):
    p = Page(browser, server.url, width=1280, height=1000)
    try:
        assert p.page.locator("#rag-kb").is_visible()
        assert "article.txt" in p.page.inner_text("#rag-doclist")
        p.ask(QUESTION)
        assert "杭州" in p.page.inner_text("#rag-chat .rag-found")

        _choose(p, "hr")
        p.page.wait_for_function("document.querySelector('#rag-doclist')?.innerText.includes('policy.txt')",
                                 timeout=60_000)
        assert "article.txt" not in p.page.inner_text("#rag-doclist")
        # the other knowledge base's conversation is gone
        p.page.wait_for_function("!document.querySelector('#rag-chat').innerText.includes('杭州')", timeout=30_000)
        assert "知识库 hr" in p.page.inner_text("#rag-header")
        p.ask(QUESTION)
        assert "成都" in p.page.inner_text("#rag-chat .rag-found")
        sources = p.page.inner_text("#rag-sources")
        assert "西湖" not in sources and "article.txt" not in sources
        link = p.page.locator("#rag-sources .rag-card-hit a.rag-view").get_attribute("href")
        assert "kb=hr" in link
        viewer = p.context.new_page()
        viewer.goto(server.url.rstrip("/") + link, wait_until="load")
        assert "成都天府会议中心" in viewer.inner_text("article")
        viewer.close()
        assert p.outside_requests() == []
    finally:
        p.close()
