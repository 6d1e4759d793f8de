"""The named terms of a question: places, people, organisations and 《titles》.

A follow-up swaps a term of the previous question for one of the same kind
(``那宁夏呢?``: 成都 → 宁夏), so the kinds come from rules over jieba's
part-of-speech tags and the fixed place list of :mod:`rag.text.lexicon`.

>>> [(t.text, t.kind) for t in terms("成都每年发放的算力券总额不超过多少?")]
[('成都', 'place')]
>>> kind_of("宁夏"), kind_of("《措施》"), kind_of("重大标志性成果")
('place', 'title', 'np')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text.lexicon import FOLLOWUP_PLACES, NOT_PLACES, ORG_SUFFIX, PLACE_SUFFIX
from rag.text.tokens import words_with_pos

#: A 《title》 in a question.
TITLE = re.compile(r"《[^《》]+》")
_HAN = re.compile(r"[\u4e00-\u9fff]+")
#: A phrase that ends like an organisation's name (福建省科技厅).
_ORG_END = re.compile("(?:" + ORG_SUFFIX.pattern + ")$")


@dataclass(frozen=True)
class Term:
    """A named term of a question: ``text`` at ``[start, end)``."""

    text: str
    kind: str              # place, person, org, title
    start: int
    end: int


def word_spans(text: str) -> list[tuple[str, str, int, int]]:
    """``(word, flag, start, end)`` for every jieba word of ``text``."""
    out, pos = [], 0
    for w, f in words_with_pos(text):
        out.append((w, f, pos, pos + len(w)))
        pos += len(w)
    return out


def place_like(word: str) -> bool:
    """Whether a word names a province, city or region (of :data:`rag.text.lexicon.FOLLOWUP_PLACES`).

    Args:
        word: a word.

    Returns:
        True for 宁夏, 湖北省, 深圳市, ….
    """
    if word in NOT_PLACES:
        return False
    return word in FOLLOWUP_PLACES or (bool(PLACE_SUFFIX.search(word))
                                       and PLACE_SUFFIX.sub("", word) in FOLLOWUP_PLACES)


def terms(question: str) -> list[Term]:
    """Places, people, organisations and 《titles》 named in a question, in order.

    Args:
        question: a question.

    Returns:
        The terms; words inside a 《title》 belong to the title only.
    """
    out = [Term(m.group(), "title", m.start(), m.end()) for m in TITLE.finditer(question)]
    inside = [(t.start, t.end) for t in out]
    toks = word_spans(question)
    i = 0
    while i < len(toks):
        w, f, s, e = toks[i]
        i += 1
        if any(a <= s < b for a, b in inside) or len(w.strip()) == 0:
            continue
        if place_like(w) or (f == "ns" and len(w) >= 2 and w not in NOT_PLACES):
            out.append(Term(w, "place", s, e))
        elif f.startswith("nr") and _HAN.fullmatch(w):
            # jieba often cuts a name into surname + given name (王 / 海峰).
            if len(w) == 1 and i < len(toks) and 1 <= len(toks[i][0]) <= 2 and _HAN.fullmatch(toks[i][0]):
                w, e = w + toks[i][0], toks[i][3]
                i += 1
            if len(w) >= 2:
                out.append(Term(w, "person", s, e))
        elif f == "nt" and len(w) >= 2:
            out.append(Term(w, "org", s, e))
    return sorted(out, key=lambda t: t.start)


def kind_of(phrase: str) -> str:
    """The kind of a phrase standing alone (the X of ``那X呢?``).

    Args:
        phrase: a short phrase.

    Returns:
        ``place``, ``person``, ``org``, ``title`` or ``np`` (any other noun phrase).
    """
    phrase = phrase.strip()
    if TITLE.fullmatch(phrase):
        return "title"
    if place_like(phrase):
        return "place"
    found = terms(phrase)
    if len(found) == 1 and found[0].text == phrase:
        return found[0].kind
    if found and found[0].start == 0 and found[0].kind == "place" and _ORG_END.search(phrase):
        return "org"
    return "np"
