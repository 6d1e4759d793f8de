"""From retrieved passages to an :class:`Answer`: sentence choice, span, confidence, abstention.

The sentences of the top passages are scored (:mod:`rag.answer.scoring`), the
span is extracted from the best ones (:mod:`rag.answer.extraction`), and the
confidence model weighs the named evidence (:mod:`rag.answer.evidence`,
:mod:`rag.answer.confidence`): whether the expected answer type was found and
whether every name in the question (place, person, organisation) occurs near the
answer. Below ``Settings.answer.min_confidence`` the answer is withheld (未找到),
and the closest passages are still cited.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from rag.answer.clauses import Candidate, trim
from rag.answer.confidence import Features, confidence
from rag.answer.evidence import features, place_conflict
from rag.answer.extraction import best_candidate
from rag.answer.scoring import ScoredSentence, bigram_share, overlap_score, sentence_at, sentence_score, \
    top_sentences
from rag.answer.typed import TITLE_RE, span_is_typed
from rag.config import Settings
from rag.query.question import Question
from rag.query.types import Query
from rag.text.lexicon import places_in
from rag.text.tokens import tokenize
from rag.types import Answer, Citation, Passage, Span

#: Old import paths of names that moved (tests import them from here).
__all__ = ["RuleAnswerer", "cite_first", "place_conflict", "places_in"]

log = logging.getLogger(__name__)


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


def _whole(s: ScoredSentence) -> Candidate:
    """The whole sentence as an (unsure) answer."""
    return Candidate(*trim(s.text, 0, len(s.text)), typed=False, whole=True)


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
        out = []
        for p, start, end, text in top_sentences(passages[:self.settings.answer.passages],
                                                 self.settings.chunk.max_sentence_chars):
            out.append(self._scored(question.text, q_tokens, p, start, end, text))
        out.sort(key=lambda s: -s.score)
        return out

    def _scored(self, question: str, q_tokens: Sequence[str], p: Passage, start: int, end: int,
                text: str) -> ScoredSentence:
        ov = overlap_score(q_tokens, text, self.idf, self._top_idf)
        score = sentence_score(self.settings.answer, ov, bigram_share(question, text), p.rank)
        return ScoredSentence(p, start, end, text, score, ov)

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
        best, cand = self._choose(q, scored)
        citations_src = list(passages[:top_k] if top_k else passages)
        if best is None or cand is None:
            return self._not_found(question, citations_src, 0.0)

        feats = features(question, q, q_tokens, best, cand, self.idf)
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

    def _choose(self, q: Question, scored: Sequence[ScoredSentence]) -> tuple[ScoredSentence | None,
                                                                               Candidate | None]:
        """The sentence and the span in it: a typed span in one of the best sentences is preferred."""
        s = self.settings.answer
        best, cand = None, None
        if not q.qword and scored:
            # A keyword query or a bare 那宁夏呢? names no gap to fill: the best sentence answers it.
            best = scored[0]
            cand = _whole(best)
        elif q.qtype == "title":
            best, cand = self._best_title(q, scored)
        for sent in scored[:s.sentences_tried] if best is None else ():
            c = best_candidate(q, sent.text)
            if c is not None and (best is None or (c.typed and not cand.typed
                                                   and sent.score > s.typed_switch * best.score)):
                best, cand = sent, c
            if best is not None and cand.typed:
                break
        if best is None and scored:
            # Nothing aligned: the best sentence itself is the (unsure) answer.
            best = scored[0]
            cand = _whole(best)
        return best, cand

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
        s = sentence_at(c.text, start, self.settings.chunk.max_sentence_chars)
        a, b = (s.start, s.end) if s is not None else (start, end)
        text = c.text[a:b]
        scored = self._scored(question, q_tokens, passage, c.start + a, c.start + b, text)
        rel_end = min(end, b) - a
        cand = Candidate(start - a, rel_end, typed=span_is_typed(q, text, start - a, rel_end), whole=False)
        feats = features(question, q, q_tokens, scored, cand, self.idf)
        return confidence(feats), feats

    def _best_title(self, q: Question,
                    scored: Sequence[ScoredSentence]) -> tuple[ScoredSentence | None, Candidate | None]:
        """For 全称 / 哪份文件 questions: the 《title》 among the best sentences that shares the most
        with the question, so a full name beats its abbreviation (《行动方案》)."""
        s = self.settings.answer
        best = None
        for sent in scored[:s.title_sentences]:
            for m in TITLE_RE.finditer(sent.text):
                if m.group() in q.text:
                    continue
                key = bigram_share(q.text, m.group()) + s.title_score_weight * sent.score
                if best is None or key > best[0]:
                    best = (key, sent, Candidate(m.start(), m.end(), typed=True))
        return (best[1], best[2]) if best else (None, None)

    def _not_found(self, question: str, passages: Sequence[Passage], score: float) -> Answer:
        citations = tuple(Citation.from_passage(p) for p in passages)
        return Answer(question, None, round(min(score, 0.3) * 0.5, 4), None, citations)
