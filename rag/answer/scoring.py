"""The sentences of the retrieved passages, and how much of the question each holds.

A sentence's score mixes the IDF-weighted share of the question's words it
holds (:func:`overlap_score`), the share of the question's character bigrams
(:func:`bigram_share`) and its passage's rank; the weights are
``Settings.answer.overlap_weight`` / ``bigram_weight`` / ``rank_weight``.

>>> overlap_score(["上海", "芯片"], "上海支持智能芯片企业。", {"上海": 1.0, "芯片": 3.0})
1.0
>>> bigram_share("上海芯片", "上海支持智能芯片企业。")
0.6666666666666666
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rag.config import AnswerSettings
from rag.text.sentences import Sentence, split_sentences
from rag.types import Passage


@dataclass(frozen=True)
class ScoredSentence:
    """A candidate sentence with its evidence."""

    passage: Passage
    start: int          # offsets into the document
    end: int
    text: str
    score: float
    overlap: float = 0.0  # the question's words it holds (:func:`overlap_score`; 0 where not computed)


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


def sentence_score(settings: AnswerSettings, overlap: float, bigram: float, rank: int) -> float:
    """A sentence's score from its word overlap, its bigram share and its passage's rank (from 1)."""
    return settings.overlap_weight * overlap + settings.bigram_weight * bigram + settings.rank_weight / rank


def passage_sentences(text: str, max_chars: int) -> list[Sentence]:
    """The sentences of a passage's text as the answer steps read them (no headings)."""
    return split_sentences(text, max_chars=max_chars, heading_max_chars=0)


def sentence_at(text: str, pos: int, max_chars: int) -> Sentence | None:
    """The sentence of a passage's text that holds offset ``pos``, or None."""
    return next((x for x in passage_sentences(text, max_chars) if x.start <= pos < x.end), None)


def top_sentences(passages: Sequence[Passage], max_chars: int) -> Iterator[tuple[Passage, int, int, str]]:
    """Every sentence of the passages once, from the first passage that holds it.

    Args:
        passages: the passages, best first.
        max_chars: the longest sentence (``Settings.chunk.max_sentence_chars``).

    Returns:
        ``(passage, start, end, text)`` with offsets into the document.
    """
    seen: set[tuple[str, int]] = set()
    for p in passages:
        c = p.chunk
        for s in passage_sentences(c.text, max_chars):
            start, end = c.start + s.start, c.start + s.end
            if (c.doc, start) in seen:
                continue
            seen.add((c.doc, start))
            yield p, start, end, c.text[s.start:s.end]
