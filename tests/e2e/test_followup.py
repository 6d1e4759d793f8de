"""Follow-up questions end to end with the real model: the article dialogues and the API.

The rewrite rules alone: ``tests/unit/test_followup.py``.
"""

from __future__ import annotations

import json

import pytest

from rag.bench.metrics import contains_gold
from tests.helpers import DATA

DIALOGUES = [json.loads(line) for line in (DATA / "article_followups.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]

CHENGDU = "成都每年发放的算力券总额不超过多少?"


# --- the article dialogues, real model -----------------------------------------------------

@pytest.fixture(scope="module")
def dialogue_answers(article_qa):
    return [(d, article_qa.ask(d["question"], history=d["history"])) for d in DIALOGUES]


def test_article_followups_are_answered(dialogue_answers, article_qa):
    assert len(dialogue_answers) == 10
    hits = [d["id"] for d, a in dialogue_answers if a.answer and contains_gold(a.answer, d["answers"])]
    misses = [(d["id"], a.resolved_question, a.answer) for d, a in dialogue_answers if d["id"] not in hits]
    assert len(hits) == 10, misses
    for d, a in dialogue_answers:
        assert a.question == d["question"]                  # the user's own text
        assert a.resolved_question and a.resolved_question != d["question"]
        if a.answer:
            span = a.answer_span
            assert article_qa.document_text(span.doc)[span.start:span.end] == a.answer


def test_without_history_the_followup_is_not_resolved(article_qa):
    a = article_qa.ask("那宁夏呢?")
    assert a.resolved_question is None and "resolved_question" not in a.to_json()


def test_fresh_question_with_history_answers_as_without(article_qa):
    q = "湖北人工智能产业规模到2025年超过多少?"
    with_history = article_qa.ask(q, history=[CHENGDU])
    assert with_history.resolved_question is None
    assert with_history.to_json() == article_qa.ask(q).to_json()


# --- the API passes history ------------------------------------------------------------------

@pytest.fixture(scope="module")
def client(article_qa):
    from fastapi.testclient import TestClient

    from ui.server import create_app

    with TestClient(create_app(article_qa, ui=False)) as c:
        yield c


def test_api_resolves_followups_from_history(client, article_qa):
    r = client.post("/api/ask", json={"question": "那宁夏呢?", "history": [CHENGDU]})
    assert r.status_code == 200
    body = r.json()
    assert body["question"] == "那宁夏呢?"
    assert body["resolved_question"] == "宁夏每年发放的算力券总额不超过多少?"
    assert "4000万元" in body["answer"]
    span = body["answer_span"]
    assert article_qa.document_text(span["doc"])[span["start"]:span["end"]] == body["answer"]
    for c in body["citations"]:
        assert article_qa.document_text(c["doc"])[c["start"]:c["end"]] == c["text"]


def test_api_pronoun_followup(client, article_text):
    """他 is resolved from the history, and the institution answers, not the speaker 王海峰 of
    "…国家工程研究中心主任王海峰说" (a name does not answer 哪个机构: ``wrong_type_name``). The
    reader's span is 国家工程研究中心; 哪个机构 asks for a name, so the rules give its full name."""
    r = client.post("/api/ask", json={"question": "他还担任哪个机构的主任?", "history": ["百度首席技术官是谁?"]})
    body = r.json()
    assert r.status_code == 200 and body["question"] == "他还担任哪个机构的主任?"
    assert body["resolved_question"] == "百度首席技术官还担任哪个机构的主任?"
    assert body["answer"] == "深度学习技术及应用国家工程研究中心"
    assert article_text[body["answer_span"]["start"]:body["answer_span"]["end"]] == body["answer"]


def test_api_fresh_question_has_no_resolved_question(client):
    r = client.post("/api/ask", json={"question": "谁是百度首席技术官?", "history": [CHENGDU]})
    body = r.json()
    assert r.status_code == 200 and body["answer"] == "王海峰"
    assert "resolved_question" not in body
