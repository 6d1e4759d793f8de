"""The JSON API of ``rag serve`` in-process and the chat's replies, with the real model.

The chat HTML of a hand-made answer and the ``serve`` command line: ``tests/unit/test_api.py``.
"""

from __future__ import annotations

import concurrent.futures
import json

import pytest

HUBEI = "湖北人工智能产业规模到2025年超过多少?"
NOT_FOUND = "火星上有多少座城市?"
HOSTILE = ('<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'
           '[点我](javascript:window.__pwned=1) **粗** $x$')


@pytest.fixture(scope="module")
def app(article_qa):
    from ui.server import create_app

    return create_app(article_qa)


@pytest.fixture(scope="module")
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


# --- /api/ask ---------------------------------------------------------------------------------

def test_ask_answers_with_citations_that_match_the_document(client, article_qa):
    r = client.post("/api/ask", json={"question": HUBEI})
    assert r.status_code == 200
    body = r.json()
    assert "1500亿元" in body["answer"]
    assert set(body) == {"question", "answer", "confidence", "answer_span", "sentence_span", "citations"}
    assert body == article_qa.ask(HUBEI).to_json()        # exactly Answer.to_json()
    assert body["citations"]
    for c in body["citations"]:
        assert article_qa.document_text(c["doc"])[c["start"]:c["end"]] == c["text"]
    span, first = body["answer_span"], body["citations"][0]
    assert span["doc"] == first["doc"] and first["start"] <= span["start"] < span["end"] <= first["end"]
    assert article_qa.document_text(span["doc"])[span["start"]:span["end"]] == body["answer"]
    sent = body["sentence_span"]
    assert sent["start"] <= span["start"] and span["end"] <= sent["end"]


def test_ask_accepts_history_and_top_k(client):
    r = client.post("/api/ask", json={"question": "谁是百度首席技术官?", "history": [HUBEI], "top_k": 2})
    assert r.status_code == 200
    body = r.json()
    assert body["answer"] == "王海峰"
    assert 1 <= len(body["citations"]) <= 2


def test_ask_takes_a_retrieval_mode_and_refuses_an_unknown_one(client):
    r = client.post("/api/ask", json={"question": HUBEI, "mode": "bm25"})
    assert r.status_code == 200 and r.json()["answer"] == "1500亿元"
    r = client.post("/api/ask", json={"question": HUBEI, "mode": "fuzzy"})
    assert r.status_code == 422
    assert r.json()["error"] == '"mode": unknown retrieval mode \'fuzzy\' (choose from hybrid, dense, bm25)'


def test_ask_not_found_still_lists_passages(client):
    r = client.post("/api/ask", json={"question": NOT_FOUND})
    assert r.status_code == 200
    body = r.json()
    assert body["answer"] is None and body["answer_span"] is None
    assert len(body["citations"]) >= 1


@pytest.mark.parametrize("question", ["", "   \n\t"])
def test_empty_question_is_400_with_message(client, question):
    r = client.post("/api/ask", json={"question": question})
    assert r.status_code == 400
    assert "问题为空" in r.json()["error"] and "empty" in r.json()["error"]


def test_too_long_question_is_400(client):
    r = client.post("/api/ask", json={"question": "问" * 1001})
    assert r.status_code == 400
    assert "too long" in r.json()["error"]


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe\x00", b'{"question": "a"'])
def test_malformed_json_is_400(client, raw):
    r = client.post("/api/ask", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert "JSON" in r.json()["error"]


@pytest.mark.parametrize("body", [
    {}, {"q": HUBEI}, [HUBEI], "湖北", 42, None,
    {"question": 7}, {"question": None}, {"question": [HUBEI]},
    {"question": HUBEI, "history": "湖北"}, {"question": HUBEI, "history": [1, 2]},
    {"question": HUBEI, "top_k": 0}, {"question": HUBEI, "top_k": "3"},
    {"question": HUBEI, "top_k": True}, {"question": HUBEI, "top_k": 10_000},
])
def test_missing_or_mistyped_fields_are_4xx(client, body):
    r = client.post("/api/ask", content=json.dumps(body), headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500
    assert isinstance(r.json()["error"], str) and r.json()["error"]


def test_wrong_method_is_4xx(client):
    assert 400 <= client.get("/api/ask").status_code < 500


# --- /api/health and the page -----------------------------------------------------------------

def test_health(client, article_qa):
    r = client.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["documents"] == 1
    assert body["chunks"] == len(article_qa.index.chunks) > 0
    assert body["model"] == article_qa.settings.embed.model_id
    assert body["generation"] == article_qa.store.current_path().name     # the live version folder


def test_page_is_served_without_outside_urls(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    page = r.text
    assert "中文文档问答" in page
    for outside in ("fonts.googleapis", "fonts.gstatic", "cdn.jsdelivr", "unpkg.com", "googletagmanager"):
        assert outside not in page


def test_twenty_simultaneous_questions_are_answered_right_and_as_one_at_a_time(app, article_qa):
    """Correct answers (the golds below) and, under concurrency, the very same JSON as asked alone."""
    import httpx

    from ui.net import BackgroundServer

    gold = {HUBEI: "1500亿元", "谁是百度首席技术官?": "王海峰", "成都和宁夏每年发放多少算力券?": "不超过1000万元、4000万元",
            "广东省科技厅厅长是谁?": "王月琴", NOT_FOUND: None}
    questions = list(gold)
    expected = {q: article_qa.ask(q).to_json() for q in questions}
    assert {q: e["answer"] for q, e in expected.items()} == gold
    asked = [questions[i % len(questions)] for i in range(20)]
    with BackgroundServer(app) as srv, httpx.Client(base_url=srv.url, timeout=60) as http:
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            results = list(pool.map(lambda q: http.post("/api/ask", json={"question": q}), asked))
    for q, r in zip(asked, results):
        assert r.status_code == 200
        assert r.json() == expected[q]


# --- the chat's HTML --------------------------------------------------------------------------

def _assert_inert(html: str) -> None:
    low = html.lower()
    for bad in ("<script", "<img", "<b>", "javascript:", "onerror=", "](", "**", "$x$"):
        assert bad not in low, bad


def test_not_found_reply_is_a_grey_box_with_closest_passages(article_qa):
    from ui.render import render_reply, render_sources

    ans = article_qa.ask(NOT_FOUND)
    reply = render_reply(ans, article_qa.document_text)
    assert "rag-notfound" in reply and "未找到" in reply and "[1]" in reply
    assert "最接近的段落" in render_sources(ans)


def test_chat_handler_escapes_the_question_and_answers(article_qa):
    from ui.app import ChatHandlers

    h = ChatHandlers(article_qa, 3)
    *_, (box, shown, messages, questions, sources) = list(h.ask(HOSTILE, 3, [], []))
    assert box == "" and shown == messages and len(messages) == 2
    for m in messages:
        _assert_inert(m["content"])
    _assert_inert(sources)

    *_, (_, _, messages, questions, sources) = list(h.ask(HUBEI, 2, messages, questions))
    assert len(messages) == 4 and questions[-1] == HUBEI
    assert "<mark>1500亿元</mark>" in messages[-1]["content"] and "[1]" in messages[-1]["content"]
    assert sources.count('id="rag-src-') == 2


def test_every_response_carries_the_security_headers_and_no_cors(client):
    """No framing by another site, no sniffing, nothing loaded from another origin, and no CORS
    header for a foreign origin (a page elsewhere cannot read answers)."""
    for path in ("/", "/api/health", "/api/documents", "/view/article.txt", "/api/documents/nope.txt/text"):
        r = client.get(path, headers={"Origin": "http://evil.example"})
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY", path
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "http:" not in csp and "https:" not in csp, path
        assert "access-control-allow-origin" not in r.headers, path
    assert "script-src" not in client.get("/view/article.txt").headers["content-security-policy"]  # viewer: none
    r = client.post("/api/ask", json={"question": "谁是百度首席技术官?"}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    r = client.options("/api/ask", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in r.headers
