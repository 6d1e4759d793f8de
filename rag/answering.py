"""From retrieved passages to an :class:`Answer`: sentence choice, span, confidence, abstention.

The sentence score mixes IDF-weighted word overlap with the question, the
share of the question's character bigrams it holds, and its passage's rank.
The confidence adds whether the expected answer type was found and whether
every name in the question (place, person, organisation) occurs near the
answer; below ``Settings.min_confidence`` the answer is withheld (未找到),
and the closest passages are still cited.

>>> overlap_score(["上海", "芯片"], "上海支持智能芯片企业。", {"上海": 1.0, "芯片": 3.0})
1.0
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

from rag.config import Settings
from rag.extraction import Candidate, best_candidate, trim
from rag.question import Question, analyze
from rag.sentences import split_sentences
from rag.tokenization import tokenize, words_with_pos
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


def overlap_score(q_tokens: Sequence[str], text: str, idf: dict[str, float]) -> float:
    """IDF-weighted share of the question's words found in ``text``.

    Args:
        q_tokens: the question's content tokens.
        text: a sentence.
        idf: weights by token (missing → the largest weight).

    Returns:
        A value in [0, 1].
    """
    uniq = set(q_tokens)
    if not uniq:
        return 0.0
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


def question_names(question: str) -> list[str]:
    """Places, people and organisations named in a question (jieba part-of-speech).

    Args:
        question: the question.

    Returns:
        The names, in order.
    """
    return [w for w, f in words_with_pos(question) if f in ("ns", "nr", "nt", "nz") and len(w) >= 2]


class Answerer:
    """Turns a question and its retrieved passages into an answer."""

    def __init__(self, settings: Settings | None = None, idf: dict[str, float] | None = None):
        self.settings = settings or Settings()
        self.idf = idf or {}

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
            for s in split_sentences(c.text, max_chars=self.settings.max_sentence_chars, heading_max_chars=0):
                start, end = c.start + s.start, c.start + s.end
                if (c.doc, start) in seen:
                    continue
                seen.add((c.doc, start))
                text = c.text[s.start:s.end]
                ov = overlap_score(q_tokens, text, self.idf)
                score = 0.6 * ov + 0.3 * bigram_share(question.text, text) + 0.1 / p.rank
                out.append(ScoredSentence(p, start, end, text, score, ov))
        out.sort(key=lambda s: -s.score)
        return out

    def answer(self, question: str, passages: Sequence[Passage], top_k: int | None = None) -> Answer:
        """Answer a question from retrieved passages.

        Args:
            question: the (validated) question.
            passages: retrieved passages, best first.
            top_k: how many passages to cite (default: all given).

        Returns:
            The answer; ``answer`` is None when not found.
        """
        q = analyze(question)
        q_tokens = tokenize(question)
        scored = self.sentences(q, q_tokens, passages)
        best, cand = None, None
        for s in scored[:3]:
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

        conf = self._confidence(question, q, best, cand, passages)
        # The passage that holds the answer is cited first; the rest keep retrieval order.
        ordered = [best.passage] + [p for p in citations_src if p.chunk.chunk_id != best.passage.chunk.chunk_id]
        citations = tuple(Citation.from_passage(p) for p in ordered[:len(citations_src) or 1])
        citations = tuple(Citation(**{**c.__dict__, "rank": i + 1}) for i, c in enumerate(citations))
        if conf < self.settings.min_confidence:
            return Answer(question, None, round(conf, 4), None, citations,
                          extra={"withheld": best.text[cand.start:cand.end]})
        doc = best.passage.chunk.doc
        start, end = best.start + cand.start, best.start + cand.end
        return Answer(question=question, answer=best.text[cand.start:cand.end], confidence=round(conf, 4),
                      answer_span=Span(doc, start, end), citations=citations,
                      sentence_span=Span(doc, best.start, best.end), cited_rank=1)

    def _confidence(self, question: str, q: Question, best: ScoredSentence, cand: Candidate,
                    passages: Sequence[Passage]) -> float:
        """Evidence that the chosen span answers, squashed into [0, 1]."""
        context = best.passage.chunk.text
        names = question_names(question)
        missing = [n for n in names if n not in context]
        dense = best.passage.dense_score if best.passage.dense_score is not None else 0.88
        z = (-3.0 + 4.0 * best.overlap + 2.0 * bigram_share(question, best.text) + (1.0 if cand.typed else 0.0)
             + 10.0 * (dense - 0.88) - 2.5 * len(missing) - (1.5 if cand.whole else 0.0)
             - (1.0 if q.qtype in ("number", "date", "person") and not cand.typed else 0.0))
        return 1.0 / (1.0 + math.exp(-z))

    def _not_found(self, question: str, passages: Sequence[Passage], score: float) -> Answer:
        citations = tuple(Citation.from_passage(p) for p in passages)
        return Answer(question, None, round(min(score, 0.3) * 0.5, 4), None, citations)
