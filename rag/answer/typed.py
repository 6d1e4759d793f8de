"""Typed spans: the numbers, dates, 《titles》, 、-lists and names a question's answer type asks for.

Offsets are relative to the sentence.

>>> s = "湖北人工智能产业规模超过1500亿元,取得成果100项以上。"
>>> [s[a:b] for a, b in (m.span() for m in NUMBER_RE.finditer(s))]
['1500亿元', '100项以上']
"""

from __future__ import annotations

import re

from rag.answer.clauses import inside_brackets
from rag.answer.names import org_spans, person_spans, tagged_spans
from rag.query.question import Question
from rag.text.lexicon import RELATIVE_DATES, STRICT_UNITS, UNITS

_NUM = r"(?:\d+(?:[.,]\d+)*|[零一二三四五六七八九十百千万亿两]+)"
#: A figure with an optional range, unit and hedge (1500亿元, 2023—2025年, 100项以上).
NUMBER_RE = re.compile(rf"{_NUM}(?:(?:—|-|~|～|至|到){_NUM})?"
                       rf"(?:{'|'.join(UNITS)})?(?:以上|以下|左右|多)?")
DATE_RE = re.compile(r"(?:\d{4}(?:—|-|~)\d{4}年|(?:\d{4}|今|去|明|前)年(?:\d{1,2}月(?:\d{1,2}日)?)?"
                     r"|\d{1,2}月(?:\d{1,2}日)?|近日|近期|最近|目前|年初|年底|年尾)")
TITLE_RE = re.compile(r"《[^《》]{1,80}》")
_ITEM = r"(?:[^，,。；;：:、（）()《》“”或等]|等(?=[级同于]))"
LIST_RE = re.compile(rf"{_ITEM}{{1,16}}(?:(?:、|或){_ITEM}{{1,16}})+")
#: A figure: digits or a Chinese numeral.
FIGURE = re.compile(r"\d|[一二三四五六七八九十百千两]")
#: A span of years (2023—2025年), what 哪几年 asks for.
_YEAR_RANGE = re.compile(r"\d{4}\s*(?:—|-|~|至|到)\s*\d{4}")
#: The share of a span that a typed match must cover for the span to count as typed.
TYPED_SHARE = 0.6
#: The character a question word asks for in a date (哪天 → 日), in the order tried.
_DATE_PRECISION = (("天", "日"), ("日", "日"), ("号", "日"), ("月", "月"), ("年", "年"))


def _number_spans(q: Question, sent: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in NUMBER_RE.finditer(sent) if FIGURE.search(m.group())]
    if q.unit:  # 多少头 → 650头 even when 头 is not a known unit
        spans = [(a, b + len(q.unit)) if sent.startswith(q.unit, b) else (a, b) for a, b in spans]
    if q.unit in STRICT_UNITS:
        # 多少家 asks for a count of something: a number of years is not an answer.
        spans = [s for s in spans if q.unit in sent[s[0]:s[1]]]
    elif q.unit:
        spans = [s for s in spans if q.unit in sent[s[0]:s[1]]] or spans
    return spans


def _date_spans(q: Question, sent: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in DATE_RE.finditer(sent)]
    need = next((u for k, u in _DATE_PRECISION if k in q.qword), "")
    if need:
        spans = [s for s in spans if (need in sent[s[0]:s[1]] or (need == "日" and "号" in sent[s[0]:s[1]]))
                 and sent[s[0]:s[1]] not in RELATIVE_DATES]
    if "几" in q.qword:
        # 哪几年 asks for a span of years (2023—2025年), not one date
        spans = [s for s in spans if _YEAR_RANGE.search(sent[s[0]:s[1]])] or spans
    return spans


def _org_spans(sent: str) -> list[tuple[int, int]]:
    orgs = org_spans(sent)
    # A tagged fragment inside a longer organisation name is not the name.
    return orgs + [sp for sp in tagged_spans(sent, "nt") if not any(o[0] <= sp[0] and sp[1] <= o[1] for o in orgs)]


def typed_matches(q: Question, sent: str) -> list[tuple[int, int]]:
    """The spans of ``sent`` of the question's answer type, in order ([] for untyped questions).

    Args:
        q: the analysed question.
        sent: the sentence.

    Returns:
        Sorted ``(start, end)`` spans.
    """
    t = q.qtype
    if t == "number":
        spans = _number_spans(q, sent)
    elif t == "date":
        spans = _date_spans(q, sent)
    elif t == "title":
        spans = [m.span() for m in TITLE_RE.finditer(sent)]
    elif t == "list":
        spans = [m.span() for m in LIST_RE.finditer(sent)]
    elif t == "person":
        spans = person_spans(sent)
    elif t == "place":
        spans = tagged_spans(sent, "ns")
    elif t == "org":
        spans = _org_spans(sent)
    else:
        return []
    # Numbers and dates inside a 《title》 or (aside) are rarely the answer: only when nothing else is.
    spans = sorted(set(spans))
    if t in ("number", "date"):
        spans = [sp for sp in spans if not inside_brackets(sent, sp)] or spans
    return spans


def span_is_typed(q: Question, sent: str, start: int, end: int) -> bool:
    """Whether a span found some other way (the trained reader) is of the expected answer type.

    It is when a typed match (a number with the asked unit, a date of the asked precision, a
    《title》, a name…) makes up most of the span.

    Args:
        q: the analysed question.
        sent: the sentence holding the span.
        start: span start in ``sent``.
        end: span end in ``sent``.

    Returns:
        True for a typed span.

    >>> from rag.query.question import analyze
    >>> q = analyze("湖北计划培育多少家企业?")
    >>> span_is_typed(q, "培育企业超过100家。", 6, 10), span_is_typed(q, "规模超过1500亿元。", 4, 10)
    (True, False)
    """
    for a, b in typed_matches(q, sent):
        inter = min(b, end) - max(a, start)
        if inter > 0 and inter >= TYPED_SHARE * (end - start):
            return True
    return False
