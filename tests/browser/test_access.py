"""Signing in to a server that needs a token, in a real headless Chromium (issue #21).

A real uvicorn server on 127.0.0.1 with a token file's worth of tokens: the article as the default
knowledge base and ``hr`` beside it. The page sends a visitor to the login form; a wrong token is
refused there; the right one opens the chat, which keeps it (a session cookie) for further
questions. A read-only token sees no upload or delete controls; a token limited to ``hr`` sees only
``hr``'s documents and answers.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import CHROMIUM
from tests.browser.test_browser import REPLY
from tests.helpers import ARTICLE, skip_unless_ci

READER = "reader-token-for-the-browser"
HR = "hr-writer-token-for-the-browser"


@pytest.fixture(autouse=True)
def prerequisites():
    if not CHROMIUM.exists():
        skip_unless_ci("/usr/bin/chromium is absent (run scripts/install_browser_deps.sh)")


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    from rag.config import Settings
    from rag.kb import KnowledgeBases
    from rag.library import Library
    from rag.pipeline import QASystem
    from ui.auth import AccessControl, Scope, TokenEntry
    from ui.net import BackgroundServer
    from ui.server import create_app

    base = tmp_path_factory.mktemp("access")
    (base / "corpus").mkdir()
    (base / "corpus" / "article.txt").write_text(ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    hr = base / "kb" / "hr" / "corpus"
    hr.mkdir(parents=True)
    (hr / "policy.txt").write_text("员工入职满一年后，每年享有带薪年假15天。\n", encoding="utf-8")
    settings = Settings.from_env().with_overrides({"paths.kb_root": str(base / "kb")})
    qa = QASystem(base / "corpus", base / "index", settings, encoder=embedder)
    lib = Library(qa)
    kbs = KnowledgeBases(settings, first=qa, first_library=lib, encoder=embedder)
    access = AccessControl([TokenEntry.of("reader", READER, {Scope.READ}),
                            TokenEntry.of("hr-writer", HR, {Scope.READ, Scope.WRITE}, {"hr"})])
    with BackgroundServer(create_app(qa, kbs=kbs, lib=lib, access=access), host="127.0.0.1", port=0) as srv:
        yield srv


def _sign_in(browser, url: str, token: str):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.goto(url, wait_until="load")
    assert "/auth/login" in page.url
    page.fill("#token", token)
    page.click("button[type=submit]")
    return context, page


def _ask(page, question: str) -> None:
    before = page.locator(REPLY).count()
    page.fill("#rag-question textarea", question)
    page.press("#rag-question textarea", "Enter")
    page.wait_for_function(f"document.querySelectorAll({REPLY!r}).length > {before}", timeout=60_000)


def test_a_visitor_signs_in_once_and_a_reader_cannot_upload(browser, server):
    context, page = _sign_in(browser, server.url, "not-the-token")
    try:
        assert "令牌无效" in page.inner_text("body")
        page.fill("#token", READER)
        page.click("button[type=submit]")
        page.wait_for_selector("#rag-question textarea", timeout=30_000)
        _ask(page, "谁是百度首席技术官?")
        assert "王海峰" in page.inner_text("#rag-chat .rag-found")
        _ask(page, "湖北人工智能产业规模到2025年超过多少?")       # the session holds: no second login
        assert "1500亿元" in page.inner_text("#rag-chat")
        page.wait_for_function("!document.querySelector('#rag-upload') || "
                               "document.querySelector('#rag-upload').offsetParent === null", timeout=30_000)
        assert not page.locator("#rag-delete").is_visible()
        assert "article.txt" in page.inner_text("#rag-doclist")
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["rag_session"]["httpOnly"] and READER not in cookies["rag_session"]["value"]
    finally:
        context.close()


def test_a_token_for_one_knowledge_base_sees_only_it(browser, server):
    context, page = _sign_in(browser, server.url, HR)
    try:
        page.wait_for_selector("#rag-question textarea", timeout=30_000)
        page.wait_for_function("document.querySelector('#rag-doclist')?.innerText.includes('policy.txt')",
                               timeout=60_000)
        assert "article.txt" not in page.inner_text("#rag-doclist")
        assert not page.locator("#rag-kb").is_visible()      # one knowledge base: no selector
        assert page.locator("#rag-upload").is_visible()       # write scope: the controls show
        _ask(page, "员工每年有多少天带薪年假?")
        assert "15天" in page.inner_text("#rag-chat")
        assert "article.txt" not in page.inner_text("#rag-sources")
    finally:
        context.close()
