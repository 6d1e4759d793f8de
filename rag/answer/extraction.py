"""Extractive answers without a trained reader: pick the sentence, then the span.

1. Every sentence of the top passages is scored by how much of the question it
   holds (IDF-weighted words, character bigrams) and by its passage's rank.
2. In the best sentence the question is aligned: the question's words on the
   left of the question word anchor where the answer starts, those on the right
   where it ends (:mod:`rag.answer.align`).
3. The expected answer type (number with unit, date, person, place,
   organisation, 《title》, 、-list: :mod:`rag.answer.typed`) narrows that region
   to the minimal span; when the type finds nothing, the aligned clause is the
   answer. A cause or a copula's value is read from the sentence's form
   (:mod:`rag.answer.statements`), the item of a paired list from its position
   (:mod:`rag.answer.pairs`).

This module decides between those candidates. All offsets are into the
document's original text.

>>> sent = "湖北人工智能产业规模超过1500亿元,在智能芯片等领域取得成果100项以上。"
>>> from rag.query.question import analyze
>>> s, e = extract_span(analyze("湖北人工智能产业规模要超过多少?"), sent)
>>> sent[s:e]
'1500亿元'
"""

from __future__ import annotations

from rag.answer.align import align, head_noun, left_context_start, noun_phrase_ending_at
from rag.answer.clauses import Candidate, clause_end, clause_start, has_word, inside_brackets, trim
from rag.answer.names import LOCATED, place_phrase
from rag.answer.pairs import PAIRED_TYPES, respectively
from rag.answer.statements import copula_candidate, why_candidate
from rag.answer.typed import typed_matches
from rag.query.question import Question
from rag.text.lexicon import PLACE_NAME_QWORD

#: Old import paths of names that moved to the modules above (tests import them from here).
__all__ = ["Candidate", "best_candidate", "extract_span", "respectively"]

#: The shortest and longest region between the question's anchors taken as the answer itself.
REGION_MIN_CHARS, REGION_MAX_CHARS = 2, 25
#: An aligned region longer than this is too loose: the clause next to the anchor is taken.
LOOSE_REGION_CHARS = 40
#: A name just before the anchor beats the nearest one after it unless it stands this many times
#: farther from the question's left context than that one from the anchor (X由谁印发 ↔ 谁印发的X).
NEAR_BEFORE_FACTOR = 3


def extract_span(q: Question, sent: str) -> tuple[int, int] | None:
    """The answer span inside one sentence.

    Args:
        q: the analysed question.
        sent: the sentence text.

    Returns:
        ``(start, end)`` relative to ``sent``, or None when nothing fits.
    """
    c = best_candidate(q, sent)
    return (c.start, c.end) if c else None


def best_candidate(q: Question, sent: str) -> Candidate | None:
    """Like :func:`extract_span`, saying whether the expected type was found.

    Order of preference: a typed span (number, date, name, 《title》, list…)
    in or overlapping the region that the question's left and right contexts
    pin down; that region itself when it is short and the sentence holds no
    typed span elsewhere; the typed span nearest to the anchor (preferring
    one that ends in the question's head noun); a noun phrase ending in the
    head noun; the aligned clause.

    Args:
        q: the analysed question.
        sent: the sentence text.

    Returns:
        The candidate, or None.
    """
    c = _best_candidate(q, sent)
    if c is None or c.end <= c.start or not has_word(sent[c.start:c.end]) or sent[c.start:c.end] in q.text:
        return None
    return c


def _best_candidate(q: Question, sent: str) -> Candidate | None:
    c = why_candidate(sent) if q.qtype == "why" else None
    if c is None:
        c = copula_candidate(q, sent)
    if c is not None:
        return c
    a, b, has_left, has_right = align(q, sent)
    typed = _typed_candidates(q, sent, a, has_left)
    if q.qtype in ("number", "date", "title") and not typed:
        return None  # 多少家 / 哪一年 / 《》: free text cannot be a count, a date or a title
    head = head_noun(q)
    if head and typed:
        # 哪所大学 → the candidate that is a 大学.
        typed = [sp for sp in typed if sent[sp[0]:sp[1]].endswith(head)] or typed
    if q.qtype == "list" and head:
        before_head = [sp for sp in typed if sent.startswith(head, sp[1]) or sent.startswith("等" + head, sp[1])
                       or sent.startswith("等" + head, sp[1] - 1) or sent[sp[0]:sp[1]].endswith(head)]
        if before_head:
            return Candidate(*trim(sent, *before_head[0]), True)
    if has_left and has_right:
        c = _between_anchors(q, sent, a, b, typed, head)
        if c is not None:
            return c
    if q.qtype == "place" and has_left and not has_right and LOCATED.search(q.left) \
            and not PLACE_NAME_QWORD.search(q.qword):
        s0, s1 = trim(sent, a, b)
        if REGION_MIN_CHARS <= s1 - s0 <= REGION_MAX_CHARS:
            return Candidate(s0, s1, True)  # 位于[埼玉县埼玉市南区七丁目]: the whole location
    if typed and q.qtype != "what":
        return Candidate(*trim(sent, *_pick_typed(q, sent, a, b, has_left, has_right, typed)), True)
    c = _head_candidate(q, sent, a, has_left)
    if c is not None:
        return c
    return _aligned_clause(sent, a, b, has_left, has_right)


def _typed_candidates(q: Question, sent: str, a: int, has_left: bool) -> list[tuple[int, int]]:
    """The typed spans of the sentence that hold a word the question lacks."""
    typed = typed_matches(q, sent)
    if q.qtype == "list" and has_left:
        # A list match may have swallowed the words before the anchor (指出重点支持在智能制造、…).
        typed = [(max(s0, a), s1) if s0 < a < s1 else (s0, s1) for s0, s1 in typed]
    return [sp for sp in typed if sent[sp[0]:sp[1]] not in q.text and has_word(sent[sp[0]:sp[1]])]


def _between_anchors(q: Question, sent: str, a: int, b: int, typed: list[tuple[int, int]],
                     head: str) -> Candidate | None:
    """Both anchors found: a typed span in or across the region a:b, or the region itself."""
    s0, s1 = trim(sent, a, b)
    short = REGION_MIN_CHARS <= s1 - s0 <= REGION_MAX_CHARS
    crossing = [sp for sp in typed if sp[0] < s0 < sp[1] or sp[0] < s1 < sp[1]]
    # 统筹建设[数字政府人工智能运行平台]: the region up to the head noun, unless it cuts a typed span.
    if short and not crossing and (
            (head and sent[s0:s1].endswith(head) and q.qtype != "number") or q.qtype == "place"):
        return Candidate(s0, s1, True)
    inside = [sp for sp in typed if sp[0] >= a and sp[1] <= b]
    overlapping = [sp for sp in typed if sp[0] < b and sp[1] > a]
    if inside and q.qtype not in ("list", "title"):
        return Candidate(*trim(sent, *inside[0]), True)
    if overlapping:
        return Candidate(*trim(sent, *overlapping[0]), True)
    if not typed and short:
        return Candidate(s0, s1, q.qtype in ("what", "list") or bool(head and sent[s0:s1].endswith(head)))
    return None


def _pick_typed(q: Question, sent: str, a: int, b: int, has_left: bool, has_right: bool,
                typed: list[tuple[int, int]]) -> tuple[int, int]:
    """The typed span nearest to the anchors (the paired item, the whole location where asked)."""
    if has_left:
        after = [sp for sp in typed if sp[1] > a]
        pick = min(after, key=lambda sp: (q.qtype in ("number", "date") and inside_brackets(sent, sp),
                                          abs(sp[0] - a), sp[0])) if after else None
        before = [sp for sp in typed if sp[1] <= a]
        if before and q.qtype in ("org", "person", "place"):
            # X由谁印发 ↔ 谁印发的X: a name just before the anchor beats a distant one after it.
            near = max(before, key=lambda sp: sp[1])
            anchor_start = left_context_start(q, sent, a)
            if pick is None or NEAR_BEFORE_FACTOR * max(0, anchor_start - near[1]) < pick[0] - a:
                pick = near
    elif has_right:
        before = [sp for sp in typed if sp[0] < b]
        pick = min(before, key=lambda sp: abs(b - sp[1])) if before else None
    else:
        pick = typed[0]
    if pick is None:  # 谁是X: the word order of the question need not be the sentence's
        anchor = a if has_left else b
        pick = min(typed, key=lambda sp: min(abs(sp[0] - anchor), abs(sp[1] - anchor)))
    if q.qtype in PAIRED_TYPES:
        # None: the figures are other places' (深圳 asked, 成都、宁夏 listed); the nearest stays the
        # candidate and the confidence model's place conflict withholds it
        pick = respectively(q, sent, pick) or pick
    if q.qtype == "place" and has_left and not has_right and not PLACE_NAME_QWORD.search(q.qword):
        pick = place_phrase(sent, pick, a)  # 哪个国家 asks for one name, 哪里 for the location
    return pick


def _head_candidate(q: Question, sent: str, a: int, has_left: bool) -> Candidate | None:
    """A noun phrase of the sentence that ends in the question's head noun (成立[…实验室])."""
    head = head_noun(q)
    if not head:
        return None
    lo = a if has_left else 0
    for lo_try in ((lo, 0) if lo else (0,)):
        pos = sent.find(head, lo_try)
        while pos >= 0:
            end = pos + len(head)
            start = noun_phrase_ending_at(sent, end, lo_try if has_left else 0)
            s0, s1 = trim(sent, start, end)
            if s1 - s0 > len(head) and sent[s0:s1] not in q.text:
                return Candidate(s0, s1, True)
            pos = sent.find(head, end)
    return None


def _aligned_clause(sent: str, a: int, b: int, has_left: bool, has_right: bool) -> Candidate | None:
    """The aligned region as an untyped answer, cut to the clause at the anchor when too loose."""
    if not (has_left or has_right):
        return None
    s0, s1 = trim(sent, a, b)
    if s1 - s0 > LOOSE_REGION_CHARS:  # alignment too loose: keep the clause next to the anchor
        s1 = clause_end(sent, s0) if has_left else s1
        s0 = s0 if has_left else clause_start(sent, s1)
        s0, s1 = trim(sent, s0, s1)
    return Candidate(s0, s1, False)
