"""Property tests (hypothesis) on any Unicode text (issue #21): astral characters, CR/LF mixes,
BOMs, control and zero-width characters, very long runs without punctuation.

* sentence splitting and chunking: offsets round-trip (``text[start:end]``), in order, bounded,
  nothing left out;
* decoding: a BOM is removed and nothing else changes;
* question analysis never raises anything but its one-line :class:`QuestionError`;
* an answer's span always lies inside a citation of the same document, and reproduces the answer.

The example counts are bounded so that the file runs in seconds; ``HYPOTHESIS_PROFILE=long`` runs
ten times as many (docs/security.md).
"""

from __future__ import annotations

import codecs
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rag.config import Settings
from rag.ingest.chunking import chunk_document
from rag.ingest.formats.plain import decode_bytes
from rag.query.analyse import QueryAnalyser
from rag.query.question import QuestionError
from rag.text.sentences import split_sentences
from rag.types import Document
from tests.fakes import HashEncoder

settings.register_profile("default", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=1500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

#: Pieces that make texts hard: CJK and its punctuation, astral (emoji, CJK extension B), line
#: breaks of every kind, BOM and zero-width marks, controls, quotes and brackets.
PIECES = st.sampled_from([
    "。", "！", "？", "；", "…", "\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\ufeff", "\u200b", "\u200d",
    "\x00", "\x0b", "\x0c", "\t", "  ", "“", "”", "《", "》", "（", "）", "、", "，", ".", "!", "?",
    "😀", "𠀀", "𪚥", "👩‍👩‍👧", "e\u0301", "政策", "人工智能", "2025年", "10%", "第一章", "A.I.",
])
TEXT = st.lists(st.one_of(PIECES, st.text(min_size=1, max_size=12),
                          st.text(alphabet="中文字符无标点长串", min_size=50, max_size=400)),
                max_size=40).map("".join)


@given(TEXT)
def test_sentences_round_trip_their_offsets(text):
    sentences = split_sentences(text, max_chars=160)
    last = 0
    for s in sentences:
        assert 0 <= last <= s.start < s.end <= len(text)
        assert s.end - s.start <= 160
        piece = text[s.start:s.end]
        assert piece == piece.strip() and piece        # no sentence starts or ends in white space
        last = s.end


@given(TEXT, st.integers(min_value=40, max_value=400), st.integers(min_value=0, max_value=2))
def test_chunks_round_trip_their_offsets_and_cover_every_sentence(text, chars, overlap):
    doc = Document(doc="x.txt", text=text)
    chunks = chunk_document(doc, chunk_chars=chars, overlap_sentences=overlap)
    for n, c in enumerate(chunks):
        assert c.chunk_id == f"x.txt#{n}" and text[c.start:c.end] == c.text and c.start < c.end
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    covered = [False] * len(text)
    for c in chunks:
        covered[c.start:c.end] = [True] * (c.end - c.start)
    headings = {s.heading for s in split_sentences(text)} - {None}
    for s in split_sentences(text):
        assert all(covered[s.start:s.end]) or text[s.start:s.end] in headings


@given(st.text(max_size=200).filter(lambda t: not t.startswith("\ufeff")),
       st.sampled_from(["utf-8-sig", "utf-16"]))
def test_a_bom_is_removed_and_nothing_else_changes(text, encoding):
    data = text.encode(encoding)
    assert data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    decoded = decode_bytes(data)
    if decoded is not None:                     # text that looks binary (controls) may be refused, never changed
        assert decoded[0] == text


@given(TEXT, st.lists(TEXT, max_size=4))
def test_question_analysis_never_raises_but_its_one_line_error(question, history):
    analyser = QueryAnalyser(Settings(), vocab=["湖北", "宁夏", "王海峰"])
    try:
        q = analyser.analyse(question, history)
    except QuestionError as exc:
        assert "\n" not in str(exc) and str(exc)
    else:
        assert q is not None


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    from rag.pipeline import QASystem
    from tests.helpers import ARTICLE

    base = tmp_path_factory.mktemp("props")
    (base / "corpus").mkdir()
    article = ARTICLE.read_text(encoding="utf-8")
    (base / "corpus" / "article.txt").write_text(article, encoding="utf-8")
    # a second document made of hostile pieces: CR/LF mixes, astral characters, a BOM, long runs
    odd = "\ufeff标题\r\n第一段😀：湖北𠀀人工智能产业规模超过1500亿元。\r第二段\u2028宁夏每年发放算力券。" + "无标点" * 120
    (base / "corpus" / "odd.txt").write_text(odd, encoding="utf-8")
    s = Settings().with_overrides({"embed.model": "fake-hash", "reader.weights": "off"})
    system = QASystem(base / "corpus", base / "index", s, encoder=HashEncoder(floor=0.7))
    system.ensure_index()
    return system


QUESTIONS = st.one_of(
    TEXT.filter(lambda t: t.strip()),
    st.sampled_from(["湖北人工智能产业规模到2025年超过多少?", "谁是百度首席技术官?", "宁夏每年发放多少算力券?",
                     "第一段讲了什么?", "无标点无标点是什么?"]).flatmap(
        lambda q: st.tuples(st.just(q), PIECES).map(lambda t: t[0] + t[1])),
)


@settings(max_examples=60)
@given(QUESTIONS)
def test_an_answer_span_lies_inside_its_citation(qa, question):
    try:
        ans = qa.ask(question)
    except QuestionError:
        return
    for c in ans.citations:
        assert qa.document_text(c.doc)[c.start:c.end] == c.text
    if ans.answer is None:
        return
    span = ans.answer_span
    assert qa.document_text(span.doc)[span.start:span.end] == ans.answer
    assert any(c.doc == span.doc and c.start <= span.start and span.end <= c.end for c in ans.citations)
