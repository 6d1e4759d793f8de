"""Traditional/simplified folding and English questions.

Folding and its plumbing are checked with the fake encoder; retrieval and
answers across scripts and languages with the real model.
"""

from __future__ import annotations

import pytest

from fakes import HashEncoder
from rag.config import Settings
from rag.crosslingual import NameMatcher, english_qtype
from rag.documents import load_corpus
from rag.indexer import build_index
from rag.pipeline import QASystem
from rag.scripts import fold_aligned, fold_question, folded_view, has_cjk, is_latin_question, restore_answer, \
    to_simplified
from rag.store import IndexStore
from rag.tokenization import tokenize
from rag.types import Answer, Chunk, Citation, Passage, Span

HUBEI = "湖北人工智能产业规模到2025年超过多少?"
HUBEI_TRAD = "湖北人工智慧產業規模到2025年超過多少?"


def s2t(text: str) -> str:
    import opencc

    return opencc.OpenCC("s2t").convert(text)


# --- folding, no model ---------------------------------------------------------------------------

def test_folding_maps_traditional_to_simplified_and_keeps_length():
    assert to_simplified("湖北人工智慧產業規模") == "湖北人工智慧产业规模"
    assert to_simplified(HUBEI) == HUBEI                      # simplified text is left alone
    assert to_simplified("How large?") == "How large?"
    text = s2t("成都、宁夏等地也宣布每年将发放总额不超过1000万元、4000万元的“算力券”支持机构使用相应资源。")
    assert text != to_simplified(text) and len(fold_aligned(text)) == len(text)
    assert fold_aligned("網際網路") == "网际网路"                  # char by char: same length
    assert fold_question("這是甚麼文件?") == "这是什么文件?"
    assert has_cjk("AI大模型") and not has_cjk("AI model")
    assert is_latin_question("Who is Baidu's CTO?") and not is_latin_question("2025?") \
        and not is_latin_question("谁是CTO?")


def test_keyword_tokens_are_the_same_in_both_scripts():
    simp = "湖北人工智能产业规模超过1500亿元,在智能芯片、多模态大模型等重点领域取得重大标志性成果。"
    trad = s2t(simp)
    assert trad != simp
    assert tokenize(trad, fold=True) == tokenize(simp, fold=True) == tokenize(simp)
    assert tokenize(trad) != tokenize(simp)                    # without folding they differ


def test_folding_is_an_index_parameter(tmp_path):
    """Turning folding on changes the stored tokens, so an index built without it is rebuilt."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(s2t("湖北人工智能产业规模超过1500亿元。"), encoding="utf-8")
    enc = HashEncoder()
    assert Settings().index_params()["fold_scripts"] is True
    index, _ = build_index(load_corpus(corpus), Settings(model="fake-hash", fold_scripts=False), enc,
                           IndexStore(tmp_path / "index"))
    assert "产业" not in index.tokens[0]
    qa = QASystem(corpus, tmp_path / "index", settings=Settings(model="fake-hash"), encoder=enc)
    assert qa.is_stale()
    report = qa.build()
    assert report.plan.rebuild_reason and "fold_scripts" in report.plan.rebuild_reason
    assert "产业" in qa.index.tokens[0] and "产业" in qa.index.bm25.vocab


def test_folded_view_and_restore_keep_the_original_text():
    doc = s2t("标题\n湖北人工智能产业规模超过1500亿元。")
    start = doc.index("\n") + 1
    chunk = Chunk("t.txt#0", "t.txt", start, len(doc), doc[start:], heading=doc[:start - 1])
    view, originals = folded_view([Passage(chunk, 1, 1.0)])
    assert view[0].chunk.text == "湖北人工智能产业规模超过1500亿元。" and originals == {"t.txt#0": chunk}
    a0 = view[0].chunk.text.index("1500")
    folded = Answer("q", "1500亿元", 0.9, Span("t.txt", start + a0, start + a0 + 6),
                    (Citation.from_passage(view[0]),), Span("t.txt", start, len(doc)), 1)
    ans = restore_answer(folded, originals)
    assert ans.answer == "1500億元" == doc[ans.answer_span.start:ans.answer_span.end]
    assert ans.citations[0].text == doc[start:] and ans.citations[0].heading == chunk.heading
    same = [Passage(Chunk("s#0", "s", 0, 3, "简体字"), 1, 1.0)]
    assert folded_view(same) == (same, {})


def test_english_question_types_and_pinyin_names():
    assert english_qtype("How large should Hubei's AI industry be by 2025?") == "number"
    assert english_qtype("When did Beijing issue the plan?") == "date"
    assert english_qtype("Who is Baidu's chief technology officer?") == "person"
    assert english_qtype("Which fields will the opinions drive?") == "list"
    assert english_qtype("What does it say?") == "what"
    m = NameMatcher(["湖北", "百度", "宁夏", "王海峰", "产业", "规模"])
    assert m.names("How large should Hubei's AI industry be?") == ["湖北"]
    assert m.names("Did Wang Haifeng of Baidu say so?") == ["王海峰", "百度"]
    assert m.names("how large is the industry?") == []


def test_english_question_with_the_fake_encoder_does_not_fail(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("湖北人工智能产业规模超过1500亿元。宁夏发放算力券。", encoding="utf-8")
    qa = QASystem(corpus, tmp_path / "index", settings=Settings(model="fake-hash"), encoder=HashEncoder())
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
    assert ans.answer and gold in ans.answer, (ans.answer, ans.extra.get("withheld"))
    assert_offsets(article_qa, ans)


def test_english_question_the_article_cannot_answer(article_qa):
    ans = article_qa.ask("What is the population of Mars?")
    assert ans.answer is None and ans.citations
