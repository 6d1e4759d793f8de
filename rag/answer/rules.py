"""From retrieved passages to an :class:`Answer`: sentence choice, span, confidence, abstention.

The sentence score mixes IDF-weighted word overlap with the question, the
share of the question's character bigrams it holds, and its passage's rank.
The confidence adds whether the expected answer type was found and whether
every name in the question (place, person, organisation) occurs near the
answer; below ``Settings.answer.min_confidence`` the answer is withheld (未找到),
and the closest passages are still cited.

>>> overlap_score(["上海", "芯片"], "上海支持智能芯片企业。", {"上海": 1.0, "芯片": 3.0})
1.0
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from rag.config import Settings
from rag.answer.confidence import Features, confidence, deputy_trap, unknown_share
from rag.answer.extraction import TITLE_RE, Candidate, align, best_candidate, head_noun, span_is_typed, trim
from rag.query.question import Question
from rag.query.types import Query
from rag.text.sentences import split_sentences
from rag.text.tokens import tokenize, words_with_pos
from rag.types import Answer, Citation, Passage, Span

log = logging.getLogger(__name__)

#: How many of the top passages the answer may come from.
ANSWER_PASSAGES = 3


@dataclass(frozen=True)
class ScoredSentence:
    """A candidate sentence with its evidence."""

    passage: Passage
    start: int          # offsets into the document
    end: int
    text: str
    score: float
    overlap: float


def overlap_score(q_tokens: Sequence[str], text: str, idf: dict[str, float], top: float | None = None) -> float:
    """IDF-weighted share of the question's words found in ``text``.

    Args:
        q_tokens: the question's content tokens.
        text: a sentence.
        idf: weights by token (missing → the largest weight).
        top: the largest weight, when the caller already knows it (it is the slow part).

    Returns:
        A value in [0, 1].
    """
    uniq = set(q_tokens)
    if not uniq:
        return 0.0
    if top is None:
        top = max(idf.values(), default=1.0)
    total = sum(idf.get(t, top) for t in uniq)
    hit = sum(idf.get(t, top) for t in uniq if t in text)
    return hit / total if total else 0.0


def bigram_share(question: str, text: str) -> float:
    """Share of the question's CJK/alphanumeric character bigrams present in ``text``.

    Args:
        question: the question.
        text: a sentence.

    Returns:
        A value in [0, 1].
    """
    chars = [c for c in question if c.isalnum()]
    grams = {a + b for a, b in zip(chars, chars[1:])}
    if not grams:
        return 0.0
    return sum(1 for g in grams if g in text) / len(grams)


def question_names(question: str, flags: tuple[str, ...] = ("ns", "nr", "nt", "nz")) -> list[str]:
    """Places, people and organisations named in a question (jieba part-of-speech).

    Args:
        question: the question.
        flags: the jieba part-of-speech tags that count as names.

    Returns:
        The names, in order.
    """
    return [w for w, f in words_with_pos(question) if f in flags and len(w) >= 2]


#: Province-level names (short forms): the places a policy text is usually about.
_PROVINCES = frozenset("北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 "
                       "贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门 深圳 广州 杭州 南京 成都 武汉 西安 苏州 "
                       "厦门 青岛 大连 宁波 长沙 郑州 合肥 济南 沈阳 哈尔滨 长春 福州 昆明 贵阳 南宁 兰州 银川 西宁 乌鲁木齐 拉萨 "
                       "呼和浩特 太原 石家庄 南昌 海口 雄安".split())


def places_in(text: str) -> set[str]:
    """Province-level and major city names in a text (a fixed list: jieba's place tags are too noisy).

    Args:
        text: any text.

    Returns:
        The short names found (广东省 → 广东).
    """
    return {p for p in _PROVINCES if p in text}


#: Marks that end a clause of a long sentence: news text lists one place per clause (…北京…；上海…；成都…).
_CLAUSE_ENDS = "；;。！？!?"


def clause_around(text: str, start: int, end: int) -> str:
    """The clause of ``text`` that holds ``start:end``: from the last clause mark before it to the next after.

    >>> t = "北京出台方案;上海给予补贴;成都每年发放1000万元。"
    >>> clause_around(t, 19, 26)
    '成都每年发放1000万元'

    Args:
        text: a sentence (or any text).
        start: span start.
        end: span end.

    Returns:
        The clause without its marks.
    """
    a = max(text.rfind(m, 0, start) for m in _CLAUSE_ENDS) + 1
    ends = [i for i in (text.find(m, end) for m in _CLAUSE_ENDS) if i >= 0]
    return text[a:min(ends) if ends else len(text)]


def place_conflict(question: str, near: str, clause: str) -> bool:
    """Whether the answer is about another place than the one asked.

    The question names a place that the answer's context lacks while the context names other
    places (北京 asked, 成都 found): in the sentence and the text before it, or in the answer's own
    clause, since a sentence that runs through several places (…上海…给予补贴；成都、宁夏…发放
    1000万元…) names the asked one in another clause.

    >>> q = "上海的算力券每年发放总额是多少?"
    >>> place_conflict(q, "上海给予补贴;成都每年发放1000万元", "成都每年发放1000万元")
    True
    >>> place_conflict(q, "上海给予补贴;每年发放1000万元", "每年发放1000万元")
    False

    Args:
        question: the question.
        near: the answer's sentence and the text just before it.
        clause: the answer's clause (:func:`clause_around`).

    Returns:
        True on a conflict.
    """
    asked = places_in(question)
    if not asked:
        return False
    return any(not (asked & here) and bool(here - asked) for here in (places_in(near), places_in(clause)))


def cite_first(first: Passage, passages: Sequence[Passage]) -> tuple[Citation, ...]:
    """Citations with the passage that holds the answer first, the rest in retrieval order.

    Args:
        first: the passage the answer comes from.
        passages: the passages to cite, best first.

    Returns:
        As many citations as ``passages`` (at least one), ranked from 1.
    """
    ordered = [first] + [p for p in passages if p.chunk.chunk_id != first.chunk.chunk_id]
    return tuple(Citation(**{**Citation.from_passage(p).__dict__, "rank": i + 1})
                 for i, p in enumerate(ordered[:len(passages) or 1]))


class RuleAnswerer:
    """Turns a question and its retrieved passages into an answer."""

    def __init__(self, settings: Settings | None = None, idf: dict[str, float] | None = None):
        self.settings = settings or Settings()
        self.idf = idf or {}
        self._top_idf = max(self.idf.values(), default=1.0)

    def sentences(self, question: Question, q_tokens: Sequence[str],
                  passages: Sequence[Passage]) -> list[ScoredSentence]:
        """Score the sentences of the top passages, best first.

        Args:
            question: the analysed question.
            q_tokens: its content tokens.
            passages: retrieved passages, best first.

        Returns:
            Scored sentences (each sentence once, from its best passage).
        """
        seen: set[tuple[str, int]] = set()
        out = []
        for p in passages[:ANSWER_PASSAGES]:
            c = p.chunk
            for s in split_sentences(c.text, max_chars=self.settings.chunk.max_sentence_chars, heading_max_chars=0):
                start, end = c.start + s.start, c.start + s.end
                if (c.doc, start) in seen:
                    continue
                seen.add((c.doc, start))
                text = c.text[s.start:s.end]
                ov = overlap_score(q_tokens, text, self.idf, self._top_idf)
                score = 0.6 * ov + 0.3 * bigram_share(question.text, text) + 0.1 / p.rank
                out.append(ScoredSentence(p, start, end, text, score, ov))
        out.sort(key=lambda s: -s.score)
        return out

    def answer(self, query: Query, passages: Sequence[Passage], top_k: int | None = None) -> Answer:
        """Answer a question from retrieved passages (:class:`~rag.answer.protocol.Answerer`).

        Args:
            query: the analysed question; its ``folded`` form is read.
            passages: retrieved passages, best first.
            top_k: how many passages to cite (default: all given).

        Returns:
            The answer; ``answer`` is None when not found.
        """
        question, q = query.folded, query.analysis
        q_tokens = tokenize(question)
        scored = self.sentences(q, q_tokens, passages)
        best, cand = None, None
        if not q.qword and scored:
            # A keyword query or a bare 那宁夏呢? names no gap to fill: the best sentence answers it.
            best = scored[0]
            cand = Candidate(*trim(best.text, 0, len(best.text)), typed=False, whole=True)
        elif q.qtype == "title":
            best, cand = self._best_title(q, scored)
        for s in scored[:3] if best is None else ():
            c = best_candidate(q, s.text)
            if c is not None and (best is None or (c.typed and not cand.typed and s.score > 0.8 * best.score)):
                best, cand = s, c
            if best is not None and cand.typed:
                break
        citations_src = list(passages[:top_k] if top_k else passages)
        if best is None and scored:
            # Nothing aligned: the best sentence itself is the (unsure) answer.
            best = scored[0]
            cand = Candidate(*trim(best.text, 0, len(best.text)), typed=False, whole=True)
        if best is None or cand is None:
            return self._not_found(question, citations_src, 0.0)

        feats = self._features(question, q, q_tokens, best, cand, passages)
        conf = confidence(feats)
        # The passage that holds the answer is cited first; the rest keep retrieval order.
        citations = cite_first(best.passage, citations_src)
        if conf < self.settings.answer.min_confidence:
            return Answer(question, None, round(conf, 4), None, citations,
                          withheld=best.text[cand.start:cand.end], features=feats)
        doc = best.passage.chunk.doc
        start, end = best.start + cand.start, best.start + cand.end
        return Answer(question=question, answer=best.text[cand.start:cand.end], confidence=round(conf, 4),
                      answer_span=Span(doc, start, end), citations=citations,
                      sentence_span=Span(doc, best.start, best.end), cited_rank=1, features=feats)

    def judge(self, query: Query, passages: Sequence[Passage], passage: Passage,
              start: int, end: int) -> tuple[float, Features]:
        """The confidence model's verdict on a span found elsewhere (by the trained reader).

        The span's sentence is scored like the rules' own candidates, and the same named
        evidence (names near the answer, the expected type, overlap…) gives the confidence.

        Args:
            query: the analysed question.
            passages: all retrieved passages.
            passage: the passage holding the span.
            start: span start, offset into ``passage.chunk.text``.
            end: span end.

        Returns:
            (confidence, features).
        """
        question, q = query.folded, query.analysis
        q_tokens = tokenize(question)
        c = passage.chunk
        sents = split_sentences(c.text, max_chars=self.settings.chunk.max_sentence_chars, heading_max_chars=0)
        s = next((x for x in sents if x.start <= start < x.end), None)
        a, b = (s.start, s.end) if s is not None else (start, end)
        text = c.text[a:b]
        ov = overlap_score(q_tokens, text, self.idf, self._top_idf)
        scored = ScoredSentence(passage, c.start + a, c.start + b, text,
                                0.6 * ov + 0.3 * bigram_share(question, text) + 0.1 / passage.rank, ov)
        rel_end = min(end, b) - a
        cand = Candidate(start - a, rel_end, typed=span_is_typed(q, text, start - a, rel_end), whole=False)
        feats = self._features(question, q, q_tokens, scored, cand, passages)
        return confidence(feats), feats

    @staticmethod
    def _best_title(q: Question, scored: Sequence[ScoredSentence]) -> tuple[ScoredSentence | None, Candidate | None]:
        """For 全称 / 哪份文件 questions: the 《title》 among the best sentences that shares the most
        with the question, so a full name beats its abbreviation (《行动方案》)."""
        best = None
        for s in scored[:6]:
            for m in TITLE_RE.finditer(s.text):
                if m.group() in q.text:
                    continue
                key = bigram_share(q.text, m.group()) + 0.3 * s.score
                if best is None or key > best[0]:
                    best = (key, s, Candidate(m.start(), m.end(), typed=True))
        return (best[1], best[2]) if best else (None, None)

    @staticmethod
    def _proper_names(question: str) -> list[str]:
        """Names that a document about them would contain verbatim: people, organisations,
        brands, and places that look like places (jieba tags common nouns as places too)."""
        out = []
        for w, f in words_with_pos(question):
            if len(w) < 2:
                continue
            if f in ("nr", "nt", "nz") or (f == "ns" and (w in _PROVINCES or w[-1] in "省市县州国")):
                out.append(w)
        return out

    def _known(self, name: str) -> bool:
        """Whether a name occurs in the corpus (its keyword tokens are in the vocabulary)."""
        toks = tokenize(name)
        return not self.idf or (bool(toks) and all(t in self.idf for t in toks))

    def _features(self, question: str, q: Question, q_tokens: Sequence[str], best: ScoredSentence,
                  cand: Candidate, passages: Sequence[Passage]) -> Features:
        """The evidence that the chosen span answers (see :mod:`rag.answer.confidence`)."""
        chunk = best.passage.chunk
        names = question_names(question)
        # The subject must be near the answer: a name absent from the answer's sentence and the
        # text just before it suggests the sentence is about someone else.
        near = chunk.text[max(0, best.start - chunk.start - 60):best.end - chunk.start]
        dense = best.passage.dense_score if best.passage.dense_score is not None else 0.88
        span = best.text[cand.start:cand.end]
        head = head_noun(q)
        a, b, has_left, has_right = align(q, best.text)
        return {
            "bias": 1.0,
            "overlap": best.overlap,
            "bigram": bigram_share(question, best.text),
            "dense": dense - 0.88,
            "typed": float(cand.typed),
            "whole": float(cand.whole),
            "missing_names": float(sum(1 for n in names if n not in chunk.text and self._known(n))),
            "absent_names": float(sum(1 for n in self._proper_names(question) if not self._known(n))),
            "far_names": float(sum(1 for n in names if n in chunk.text and n not in near)),
            "untyped_needed": float(q.qtype in ("number", "date", "title") and not cand.typed),
            "person_untyped": float(q.qtype == "person" and not cand.typed),
            "deputy_trap": float(deputy_trap(question, best.text)),
            "head_match": float(bool(head) and span.endswith(head)),
            "unknown_terms": unknown_share(q_tokens, self.idf),
            "anchors": float(has_left) + float(has_right),
            "conflict": float(place_conflict(question, near, clause_around(best.text, cand.start, cand.end))),
        }

    def _not_found(self, question: str, passages: Sequence[Passage], score: float) -> Answer:
        citations = tuple(Citation.from_passage(p) for p in passages)
        return Answer(question, None, round(min(score, 0.3) * 0.5, 4), None, citations)
