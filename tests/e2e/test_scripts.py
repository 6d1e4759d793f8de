"""Traditional/simplified folding and English questions, end to end.

Folding as an index parameter and an English question with the fake encoder (both
load the shipped reader), then retrieval and answers across scripts and languages
with the real model. Folding itself: ``tests/unit/test_scripts.py``.
"""

from __future__ import annotations

import pytest

from tests.fakes import HashEncoder
from rag.config import Settings
from rag.ingest.documents import load_corpus
from rag.index.build import build_index
from rag.pipeline import QASystem
from rag.index.store import IndexStore

HUBEI = "湖北人工智能产业规模到2025年超过多少?"
HUBEI_TRAD = "湖北人工智慧產業規模到2025年超過多少?"


def s2t(text: str) -> str:
    import opencc

    return opencc.OpenCC("s2t").convert(text)


# --- folding in the index and the fake encoder (the shipped reader loads) --------------------

def test_folding_is_an_index_parameter(tmp_path):
    """Turning folding on changes the stored tokens, so an index built without it is rebuilt."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(s2t("湖北人工智能产业规模超过1500亿元。"), encoding="utf-8")
    enc = HashEncoder()
    assert Settings().index_params()["fold_scripts"] is True
    index, _ = build_index(load_corpus(corpus), Settings().with_overrides({"embed.model": "fake-hash", "index.fold_scripts": False}), enc,
                           IndexStore(tmp_path / "index"))
    assert "产业" not in index.tokens[0]
    qa = QASystem(corpus, tmp_path / "index", settings=Settings().with_overrides({"embed.model": "fake-hash"}), encoder=enc)
    assert qa.is_stale()
    report = qa.build()
    assert report.plan.rebuild_reason and "fold_scripts" in report.plan.rebuild_reason
    assert "产业" in qa.index.tokens[0] and "产业" in qa.index.bm25.vocab


def test_english_question_with_the_fake_encoder_does_not_fail(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("湖北人工智能产业规模超过1500亿元。宁夏发放算力券。", encoding="utf-8")
    qa = QASystem(corpus, tmp_path / "index", settings=Settings().with_overrides({"embed.model": "fake-hash"}), encoder=HashEncoder())
    ans = qa.ask("How large is Hubei's AI industry?")
    assert ans.question == "How large is Hubei's AI industry?" and ans.citations
    if ans.answer:
        assert qa.document_text(ans.answer_span.doc)[ans.answer_span.start:ans.answer_span.end] == ans.answer


# --- real model -----------------------------------------------------------------------------------

def assert_offsets(qa, ans):
    span = ans.answer_span
    assert qa.document_text(span.doc)[span.start:span.end] == ans.answer
    sent = ans.sentence_span
    assert sent.start <= span.start and span.end <= sent.end
    for c in ans.citations:
        assert qa.document_text(c.doc)[c.start:c.end] == c.text
    first = ans.citations[0]
    assert first.doc == span.doc and first.start <= span.start and span.end <= first.end


def test_traditional_question_over_simplified_text(article_qa):
    trad = article_qa.ask(HUBEI_TRAD)
    simp = article_qa.ask(HUBEI)
    assert trad.question == HUBEI_TRAD
    assert "1500亿元" in trad.answer
    assert_offsets(article_qa, trad)
    assert trad.citations[0].chunk_id == simp.citations[0].chunk_id
    assert article_qa.search(HUBEI_TRAD)[0].chunk.chunk_id == article_qa.search(HUBEI)[0].chunk.chunk_id
    who = article_qa.ask("誰是百度的首席技術官?")
    assert who.answer == "王海峰"


@pytest.fixture(scope="module")
def traditional_qa(tmp_path_factory, embedder, article_text):
    """A corpus with one document in traditional characters (two paragraphs of the article, s2t)
    and one in simplified."""
    paras = [p for p in article_text.splitlines() if "1500亿元" in p or "4000万元" in p]
    other = next(p for p in article_text.splitlines() if p.startswith("福建则强调"))
    assert len(paras) == 2
    base = tmp_path_factory.mktemp("trad")
    corpus = base / "corpus"
    corpus.mkdir()
    (corpus / "trad.txt").write_text("人工智慧產業政策\n" + s2t("\n".join(paras)) + "\n", encoding="utf-8")
    (corpus / "simp.txt").write_text(other + "\n", encoding="utf-8")
    qa = QASystem(corpus, base / "index", encoder=embedder)
    qa.ensure_index()
    return qa


@pytest.mark.parametrize("question,gold", [
    (HUBEI, "1500億元"),
    ("宁夏每年发放的算力券总额不超过多少?", "4000萬元"),
    (HUBEI_TRAD, "1500億元"),
])
def test_simplified_question_over_traditional_text(traditional_qa, question, gold):
    ans = traditional_qa.ask(question)
    assert ans.question == question
    assert ans.answer and gold in ans.answer
    assert ans.answer_span.doc == "trad.txt"
    assert_offsets(traditional_qa, ans)
    assert traditional_qa.document_text("trad.txt").count(ans.citations[0].text) == 1


@pytest.mark.parametrize("question,gold", [
    ("How large should Hubei's AI industry be by 2025?", "1500亿元"),
    ("Who is Baidu's chief technology officer?", "王海峰"),
    ("How many years has Guangdong's economy ranked first in the country?", "34年"),
    ("How much will Ningxia issue in computing power vouchers each year?", "4000万元"),
])
def test_english_questions_return_the_chinese_span(article_qa, question, gold):
    ans = article_qa.ask(question)
    assert ans.question == question
    assert ans.answer and gold in ans.answer, (ans.answer, ans.withheld)
    assert_offsets(article_qa, ans)


def test_english_question_the_article_cannot_answer(article_qa):
    ans = article_qa.ask("What is the population of Mars?")
    assert ans.answer is None and ans.citations
