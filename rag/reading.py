"""From retrieved passages to an :class:`Answer` with the trained reader (rules as the fallback).

The reader reads the top passages (each through overlapping windows) and
scores every span; a span's final score adds the passage's retrieval score,
so a strong passage wins a close call. The rule-based :class:`Answerer` runs
too: its evidence about names (a place or person of the question missing near
the answer) joins the reader's no-answer margin in the decision to decline,
and its answer stands when the reader finds nothing.

>>> margin_confidence(4.0, center=2.0, scale=2.0) > 0.5 > margin_confidence(0.0, center=2.0, scale=2.0)
True
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any

from rag.answering import Answerer, cite_first
from rag.config import Settings
from rag.sentences import split_sentences
from rag.types import Answer, Passage, Span

log = logging.getLogger(__name__)

#: Characters never kept at either end of a reader span.
_EDGE = set(" \t\r\n\u3000，。、；：！？,.;:!?…—-·")


def margin_confidence(margin: float, center: float, scale: float) -> float:
    """A 0–1 confidence from the reader's answer-over-no-answer margin.

    Args:
        margin: best span score minus the no-answer score of its window.
        center: the margin that maps to 0.5.
        scale: logits per unit of the sigmoid's argument.

    Returns:
        ``sigmoid((margin - center) / scale)``.
    """
    return 1.0 / (1.0 + math.exp(-(margin - center) / max(scale, 1e-6)))


def clean_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop spaces and punctuation at the ends of a span, keeping 《》 and quotes balanced.

    A title that fills its 《》 exactly is returned with them.

    Args:
        text: the passage.
        start: span start.
        end: span end.

    Returns:
        The narrowed (start, end); empty when nothing but punctuation was inside.
    """
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    for a, b in ("《》", "“”", "（）", "()", "「」"):
        piece = text[start:end]
        if piece.count(a) > piece.count(b) and text[end:end + 1] == b:
            end += 1
        elif piece.count(b) > piece.count(a) and start > 0 and text[start - 1] == a:
            start -= 1
    if start > 0 and text[start - 1] == "《" and text[end:end + 1] == "》":
        start, end = start - 1, end + 1  # a title is quoted whole, as the document writes it
    return start, end


class ReaderAnswerer:
    """Answers with the trained reader; the same interface as :class:`Answerer`."""

    def __init__(self, reader: Any, rules: Answerer, settings: Settings | None = None) -> None:
        """Combine a loaded reader with the rule-based answerer.

        Args:
            reader: a :class:`rag.reader.Reader`.
            rules: the rule-based answerer over the same index (fallback and name evidence).
            settings: the ``reader_*`` fields.
        """
        self.reader = reader
        self.rules = rules
        self.settings = settings or rules.settings

    def answer(self, question: str, passages: Sequence[Passage], top_k: int | None = None) -> Answer:
        """Answer a question from retrieved passages.

        Args:
            question: the (validated, script-folded) question.
            passages: retrieved passages, best first.
            top_k: how many passages to cite (default: all given).

        Returns:
            The answer; ``answer`` is None when declined.
        """
        s = self.settings
        rule = self.rules.answer(question, passages, top_k=top_k)
        read = list(passages[: s.reader_passages])
        t0 = time.perf_counter()
        spans = self.reader.read(question, [p.chunk.text for p in read]) if read else []
        reader_ms = (time.perf_counter() - t0) * 1000
        best = None
        for sp in spans:
            p = read[sp.passage]
            a, b = clean_span(p.chunk.text, sp.start, sp.end)
            piece = p.chunk.text[a:b]
            if not piece or piece in question:
                continue  # a span the question already states answers nothing
            total = sp.score + s.reader_retrieval_weight * p.score
            if best is None or total > best[0]:
                best = (total, sp, p, a, b)
        if best is None:
            return rule
        total, sp, p, a, b = best
        margin = sp.score - sp.null_score
        feats = dict(rule.extra.get("features") or {})
        names_off = feats.get("missing_names", 0.0) + feats.get("absent_names", 0.0) + feats.get("conflict", 0.0)
        conf = margin_confidence(margin, s.reader_margin_center, s.reader_margin_scale)
        if names_off:
            # a name of the question is nowhere near: the passage is about someone (somewhere) else
            conf *= s.reader_name_penalty
        extra = {"reader": {"score": round(sp.score, 3), "null": round(sp.null_score, 3),
                            "margin": round(margin, 3), "total": round(total, 3),
                            "ms": round(reader_ms, 2), "text": p.chunk.text[a:b]},
                 "rules": {"answer": rule.answer if rule.found else rule.extra.get("withheld"),
                           "confidence": rule.confidence, "found": rule.found}, "features": feats}
        top = list(passages[:top_k] if top_k else passages)
        citations = cite_first(p, top)
        chunk = p.chunk
        if conf < s.reader_min_confidence:
            extra["withheld"] = chunk.text[a:b]
            return Answer(question, None, round(conf, 4), None, citations, extra=extra)
        sent = next(((x.start, x.end) for x in split_sentences(chunk.text, max_chars=s.max_sentence_chars,
                                                              heading_max_chars=0)
                     if x.start <= a < x.end), (a, b))
        return Answer(question=question, answer=chunk.text[a:b], confidence=round(conf, 4),
                      answer_span=Span(chunk.doc, chunk.start + a, chunk.start + b), citations=citations,
                      sentence_span=Span(chunk.doc, chunk.start + min(sent[0], a), chunk.start + max(sent[1], b)),
                      cited_rank=1, extra=extra)
