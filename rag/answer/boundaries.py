"""Where an answer starts and ends: the boundaries a reader of the answer expects.

Whichever step found the span (the reader, the rules, the cross-lingual matcher), three things are
settled last, on the passage text:

* a date keeps its relative qualifier and its narrowing end: 去年3月, 2023年底, not 3月, 2023年;
* a quantity keeps its bound: 20家以上, 不少于500万元 (unless the question asks for that bound
  itself: 最多发放多少? is answered 1000万元);
* a quoted or titled name carries both of its marks or neither: never 《上海市…措施 or 现象级”.

>>> t = "该市去年3月出台政策，对不少于500万元的项目给予奖励，已有20家以上企业获批。"
>>> def grown(piece, q): a = t.find(piece); return t[slice(*expected_span(t, a, a + len(piece), q))]
>>> grown("3月", "何时出台?"), grown("500万元", "奖励门槛是多少?"), grown("20家", "多少家企业获批?")
('去年3月', '不少于500万元', '20家以上')
>>> t = "印发了《上海市推动人工智能大模型创新发展若干措施》，提出"
>>> t[slice(*expected_span(t, 3, 12, "印发了什么?"))]
'《上海市推动人工智能大模型创新发展若干措施》'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace

from rag.answer.protocol import Answerer
from rag.query.types import Query
from rag.text.lexicon import BOUND_QUESTION_WORDS, BOUNDS_AFTER, BOUNDS_BEFORE, MARK_PAIRS, SELF_PAIRED_MARKS, \
    TIME_ENDINGS, TIME_QUALIFIERS
from rag.types import Answer, Passage, Span

log = logging.getLogger(__name__)

#: The farthest a span grows to take in the partner of a lone mark, in characters. A lone mark whose
#: partner is farther (or across a line) is dropped instead.
MAX_MARK_REACH = 40

_DIGITS = "0-9０-９一二三四五六七八九十百千万亿两零〇"
#: A span that starts with a date that a qualifier may precede (3月, 15日, 上半年, 2023年, 一季度).
_DATE_START = re.compile(rf"[{_DIGITS}]+(?:年|月|日|号|季度)|[上下]半年|[一二三四]季度|年[初底末]")
#: A month, day, half-year or quarter that a written year may precede (2023年 + 3月).
_BELOW_YEAR = re.compile(rf"[{_DIGITS}]+(?:月|日|号)|[上下]半年|[一二三四]季度")
_YEAR_BEFORE = re.compile(r"[0-9０-９]{2,4}年$")
#: A span that ends on a date an ending may narrow (3月 + 底, 2023年 + 初).
_DATE_END = re.compile(rf"(?:[{_DIGITS}]年|[{_DIGITS}]月|[{_DIGITS}][日号])$")
#: Words that start with a time ending but are not one (2023年初步形成: 初步, not 年初).
_NOT_ENDINGS = frozenset("初步 初期 初次 初始 初心 初中 初级 初创 初见 初具 底线 底层 底部 底座 底蕴 底气 末端 末期 前后端".split())
#: A span that starts with a number, and one that ends on a number and at most four unit characters.
_NUMBER_START = re.compile(rf"[{_DIGITS}]")
_NUMBER_END = re.compile(rf"[{_DIGITS}][^{_DIGITS}\s，。；：、,.;:!?！？]{{0,4}}$")
#: Characters before a one-character bound that make it part of another word (最近, 附近; 高超).
_BOUND_WORD_BEFORE = {"近": set("最附接靠邻就亲将"), "超": set("高赶")}
#: Spaces and clause marks never left at an answer's ends (not . or -, which a number may start with).
_EDGE = frozenset(" \t\r\n\u3000，。、；：！？,;:!?…·")
#: Every bound word with its kind, longest first across kinds (不少于 before 少于).
_BEFORE = sorted(((w, k) for k, ws in BOUNDS_BEFORE.items() for w in ws), key=lambda x: -len(x[0]))
_AFTER = sorted(((w, k) for k, ws in BOUNDS_AFTER.items() for w in ws), key=lambda x: -len(x[0]))


def keep_time_qualifier(text: str, start: int, end: int) -> tuple[int, int]:
    """Grow a date span over the words that place it: 去年3月, 2023年3月, 5月中旬.

    >>> t = "去年3月发布；2023年初步形成；5月底前完成"
    >>> [t[slice(*keep_time_qualifier(t, t.find(p), t.find(p) + len(p)))] for p in ("3月", "2023年", "5月")]
    ['去年3月', '2023年', '5月底']

    Args:
        text: the passage.
        start: span start.
        end: span end.

    Returns:
        The grown (start, end), or the span unchanged.
    """
    piece = text[start:end]
    if _DATE_START.match(piece):
        for w in TIME_QUALIFIERS:
            if start >= len(w) and text.startswith(w, start - len(w)):
                start -= len(w)
                break
        else:
            year = _YEAR_BEFORE.search(text, max(0, start - 5), start)
            if year and _BELOW_YEAR.match(piece):
                start = year.start()
    if _DATE_END.search(piece):
        for w in TIME_ENDINGS:
            if text.startswith(w, end) and text[end:end + 2] not in _NOT_ENDINGS:
                end += len(w)
                break
    return start, end


def _asked(kind: str, question: str) -> bool:
    return any(w in question for w in BOUND_QUESTION_WORDS[kind])


def keep_quantity_bound(text: str, start: int, end: int, question: str = "") -> tuple[int, int]:
    """Grow a quantity span over the bound around it: 不少于500万元, 20家以上, 约3成.

    The bound is left out when the question asks for it already (最多多少? 最高多少?).

    >>> t = "总额不超过1000万元，覆盖20家以上企业"
    >>> t[slice(*keep_quantity_bound(t, 5, 11, "总额是多少?"))], t[slice(*keep_quantity_bound(t, 5, 11, "最多多少?"))]
    ('不超过1000万元', '1000万元')
    >>> t[slice(*keep_quantity_bound(t, 14, 17))]
    '20家以上'

    Args:
        text: the passage.
        start: span start.
        end: span end.
        question: the question (its own bound words keep the span as it is).

    Returns:
        The grown (start, end), or the span unchanged.
    """
    piece = text[start:end]
    if not piece:
        return start, end
    if _NUMBER_START.match(piece):
        hit = next(((w, kind) for w, kind in _BEFORE if start >= len(w) and text.startswith(w, start - len(w))), None)
        if hit is not None:
            w, kind = hit
            before = text[start - len(w) - 1] if start > len(w) else ""
            if before not in _BOUND_WORD_BEFORE.get(w, ()) and not _asked(kind, question):
                start -= len(w)
    if _NUMBER_END.search(piece):
        hit = next(((w, kind) for w, kind in _AFTER if text.startswith(w, end)), None)
        if hit is not None and not _asked(hit[1], question):
            end += len(hit[0])
    return start, end


def _lone(piece: str, open_: str, close: str) -> tuple[int | None, int | None]:
    """The first close mark without an opener and the last open mark without a closer, in ``piece``."""
    stack: list[int] = []
    first_close = None
    for i, ch in enumerate(piece):
        if ch == open_:
            stack.append(i)
        elif ch == close:
            if stack:
                stack.pop()
            elif first_close is None:
                first_close = i
    return first_close, (stack[-1] if stack else None)


def _partner_after(text: str, end: int, open_: str, close: str, reach: int) -> int | None:
    depth = 0
    for k in range(end, min(len(text), end + reach)):
        ch = text[k]
        if ch == "\n":
            return None
        if ch == open_:
            depth += 1
        elif ch == close:
            if depth == 0:
                return k
            depth -= 1
    return None


def _partner_before(text: str, start: int, open_: str, close: str, reach: int) -> int | None:
    depth = 0
    for k in range(start - 1, max(-1, start - 1 - reach), -1):
        ch = text[k]
        if ch == "\n":
            return None
        if ch == close:
            depth += 1
        elif ch == open_:
            if depth == 0:
                return k
            depth -= 1
    return None


def _without(start: int, end: int, mark: int) -> tuple[int, int]:
    """The longer side of a span once the lone mark at ``mark`` is left out."""
    return (start, mark) if mark - start >= end - mark - 1 else (mark + 1, end)


def balance_marks(text: str, start: int, end: int, reach: int = MAX_MARK_REACH) -> tuple[int, int]:
    """Both marks of every quote or bracket pair in the span, or neither.

    A lone mark's partner is taken in when it lies within ``reach`` characters on the same line and
    the span lies mostly on the partner's side of the mark (现象级” grows to “现象级”); otherwise the
    lone mark is left out with the shorter side of the span (VC），又称为虚电路 → ，又称为虚电路).

    >>> t = "提出打造“粤港澳大湾区数据特区”，并印发《若干措施》。"
    >>> [t[slice(*balance_marks(t, a, b))] for a, b in [(4, 10), (5, 16), (20, 24)]]
    ['“粤港澳大湾区数据特区”', '“粤港澳大湾区数据特区”', '《若干措施》']
    >>> t[slice(*balance_marks(t, 4, 10, reach=3))]
    '粤港澳大湾'

    Args:
        text: the passage.
        start: span start.
        end: span end.
        reach: the farthest the span grows to a partner, in characters.

    Returns:
        The balanced (start, end).
    """
    for _ in range(2 * len(MARK_PAIRS) + 2):  # taking in one partner can take in another lone mark
        before = (start, end)
        for open_, close in MARK_PAIRS:
            first_close, last_open = _lone(text[start:end], open_, close)
            if first_close is not None:
                mark = start + first_close
                # VC），又称为虚电路: the span mostly lies after the mark, so the mark and what precedes it go
                k = _partner_before(text, start, open_, close, reach) if mark - start >= end - mark - 1 else None
                start, end = (k, end) if k is not None else _without(start, end, mark)
            elif last_open is not None:
                mark = start + last_open
                k = _partner_after(text, end, open_, close, reach) if end - mark - 1 >= mark - start else None
                start, end = (start, k + 1) if k is not None else _without(start, end, mark)
        for mark in SELF_PAIRED_MARKS:
            if text.count(mark, start, end) % 2:
                line = text.rfind("\n", 0, start) + 1
                if text.count(mark, line, start) % 2:  # the span starts inside a quote: its lone mark closes it
                    at, k = text.find(mark, start, end), text.rfind(mark, max(line, start - reach), start)
                    start, end = (k, end) if k >= 0 else _without(start, end, at)
                else:
                    at, k = text.rfind(mark, start, end), text.find(mark, end, min(len(text), end + reach))
                    start, end = (start, k + 1) if k >= 0 and "\n" not in text[end:k] else _without(start, end, at)
        if (start, end) == before:
            break
    return start, end


def expected_span(text: str, start: int, end: int, question: str = "") -> tuple[int, int]:
    """A span's boundaries as a reader of the answer expects them (see the module doc).

    Args:
        text: the passage.
        start: span start.
        end: span end.
        question: the question (for the bounds it asks for itself).

    Returns:
        The adjusted (start, end): dates and quantities grown, quote and bracket marks paired.
    """
    start, end = keep_time_qualifier(text, start, end)
    start, end = keep_quantity_bound(text, start, end, question)
    a, b = balance_marks(text, start, end)
    if (a, b) != (start, end):
        # cutting at a lone mark can leave the clause's comma at an end (a whole sentence found as
        # such keeps its 。: only a span this step changed is trimmed)
        while a < b and text[a] in _EDGE:
            a += 1
        while b > a and text[b - 1] in _EDGE:
            b -= 1
    return (a, b) if a < b else (start, end)


class ExpectedBoundaries:
    """An :class:`~rag.answer.protocol.Answerer` whose answers end where a reader expects (:func:`expected_span`).

    Wraps another answerer; the answer's span is adjusted inside the passage that holds it, and its
    sentence span grows with it.
    """

    def __init__(self, inner: Answerer) -> None:
        self.inner = inner

    def answer(self, query: Query, passages: Sequence[Passage], top_k: int | None = None) -> Answer:
        """See :class:`~rag.answer.protocol.Answerer`."""
        ans = self.inner.answer(query, passages, top_k=top_k)
        span = ans.answer_span
        if span is None:
            return ans
        holder = next((c for c in ans.citations
                       if c.doc == span.doc and c.start <= span.start and span.end <= c.end), None)
        if holder is None:
            return ans
        a, b = span.start - holder.start, span.end - holder.start
        a2, b2 = expected_span(holder.text, a, b, query.folded)
        if (a2, b2) == (a, b):
            return ans
        log.debug("boundaries: %r → %r", holder.text[a:b], holder.text[a2:b2])
        new = Span(span.doc, holder.start + a2, holder.start + b2)
        sent = ans.sentence_span
        if sent is not None:
            sent = Span(sent.doc, min(sent.start, new.start), max(sent.end, new.end))
        return replace(ans, answer=holder.text[a2:b2], answer_span=new, sentence_span=sent)
