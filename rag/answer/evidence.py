"""The named evidence that a span answers the question: the features of :mod:`rag.answer.confidence`.

Besides overlap and the expected type, the evidence checks that every name in
the question (place, person, organisation) occurs near the answer, and that the
answer is not about another place than the one asked.

>>> clause_around("北京出台方案;上海给予补贴;成都每年发放1000万元。", 19, 26)
'成都每年发放1000万元'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rag.answer.align import align, head_noun
from rag.answer.clauses import Candidate
from rag.answer.confidence import Features, deputy_trap, unknown_share
from rag.answer.scoring import ScoredSentence, bigram_share
from rag.query.question import Question
from rag.text.lexicon import CLAUSE_ENDS, PLACE_ENDINGS, PLACES, places_in
from rag.text.tokens import tokenize, words_with_pos

#: The dense score the confidence feature ``dense`` is centred on (about an average answer's).
DENSE_CENTER = 0.88
#: Characters before the answer's sentence that still count as near it (a name there is not far).
NEAR_CHARS = 60


def question_names(question: str, flags: tuple[str, ...] = ("ns", "nr", "nt", "nz")) -> list[str]:
    """Places, people and organisations named in a question (jieba part-of-speech).

    Args:
        question: the question.
        flags: the jieba part-of-speech tags that count as names.

    Returns:
        The names, in order.
    """
    return [w for w, f in words_with_pos(question) if f in flags and len(w) >= 2]


def proper_names(question: str) -> list[str]:
    """Names that a document about them would contain verbatim: people, organisations,
    brands, and places that look like places (jieba tags common nouns as places too)."""
    out = []
    for w, f in words_with_pos(question):
        if len(w) < 2:
            continue
        if f in ("nr", "nt", "nz") or (f == "ns" and (w in PLACES or w[-1] in PLACE_ENDINGS)):
            out.append(w)
    return out


def clause_around(text: str, start: int, end: int) -> str:
    """The clause of ``text`` that holds ``start:end``: from the last clause mark before it to the next after.

    Args:
        text: a sentence (or any text).
        start: span start.
        end: span end.

    Returns:
        The clause without its marks.
    """
    a = max(text.rfind(m, 0, start) for m in CLAUSE_ENDS) + 1
    ends = [i for i in (text.find(m, end) for m in CLAUSE_ENDS) if i >= 0]
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


def known(name: str, idf: Mapping[str, float]) -> bool:
    """Whether a name occurs in the corpus (its keyword tokens are in the vocabulary; any name without one)."""
    toks = tokenize(name)
    return not idf or (bool(toks) and all(t in idf for t in toks))


def features(question: str, q: Question, q_tokens: Sequence[str], best: ScoredSentence, cand: Candidate,
             idf: Mapping[str, float]) -> Features:
    """The evidence that the chosen span answers (see :mod:`rag.answer.confidence`).

    Args:
        question: the question (folded).
        q: its analysis.
        q_tokens: its keyword tokens.
        best: the sentence holding the span.
        cand: the span, relative to the sentence.
        idf: the corpus vocabulary (token → idf).

    Returns:
        The features by name.
    """
    chunk = best.passage.chunk
    names = question_names(question)
    # The subject must be near the answer: a name absent from the answer's sentence and the
    # text just before it suggests the sentence is about someone else.
    near = chunk.text[max(0, best.start - chunk.start - NEAR_CHARS):best.end - chunk.start]
    dense = best.passage.dense_score if best.passage.dense_score is not None else DENSE_CENTER
    span = best.text[cand.start:cand.end]
    head = head_noun(q)
    a, b, has_left, has_right = align(q, best.text)
    return {
        "bias": 1.0,
        "overlap": best.overlap,
        "bigram": bigram_share(question, best.text),
        "dense": dense - DENSE_CENTER,
        "typed": float(cand.typed),
        "whole": float(cand.whole),
        "missing_names": float(sum(1 for n in names if n not in chunk.text and known(n, idf))),
        "absent_names": float(sum(1 for n in proper_names(question) if not known(n, idf))),
        "far_names": float(sum(1 for n in names if n in chunk.text and n not in near)),
        "untyped_needed": float(q.qtype in ("number", "date", "title") and not cand.typed),
        "person_untyped": float(q.qtype == "person" and not cand.typed),
        "deputy_trap": float(deputy_trap(question, best.text)),
        "head_match": float(bool(head) and span.endswith(head)),
        "unknown_terms": unknown_share(q_tokens, idf),
        "anchors": float(has_left) + float(has_right),
        "conflict": float(place_conflict(question, near, clause_around(best.text, cand.start, cand.end))),
    }
