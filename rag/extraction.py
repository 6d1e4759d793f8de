"""Extractive answers without a trained reader: pick the sentence, then the span.

1. Every sentence of the top passages is scored by how much of the question it
   holds (IDF-weighted words, character bigrams) and by its passage's rank.
2. In the best sentence the question is aligned: the question's words on the
   left of the question word anchor where the answer starts, those on the right
   where it ends.
3. The expected answer type (number with unit, date, person, place,
   organisation, 《title》, 、-list) narrows that region to the minimal span;
   when the type finds nothing, the aligned clause is the answer.

All offsets are into the document's original text.

>>> sent = "湖北人工智能产业规模超过1500亿元,在智能芯片等领域取得成果100项以上。"
>>> from rag.question import analyze
>>> s, e = extract_span(analyze("湖北人工智能产业规模要超过多少?"), sent)
>>> sent[s:e]
'1500亿元'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.question import Question

_ANCHOR_JUNK = "？?!！。.，, “”\"'：:"
_CLAUSE_END = "，,。；;！!？?：:\n"
_EDGE_JUNK = "的了是为将在对于把被和与及并也都又要从由向给等：:，,、 “”\"'（）()"
_FUNCTION_PREFIX = ("包括", "主要是", "就是", "即", "是", "为", "有", "在", "对", "将", "了", "的")

_UNITS = (r"万亿元|亿元|万元|千元|元|亿|万|%|％|个百分点|倍|年|个月|月|日|天|小时|条|项|家|个|所|种|类|位|名|人|次|台|座"
          r"|平方米|公里|千米|米|吨|GW|MW|TB|PB|EFLOPS|PFLOPS")
_NUM = r"(?:\d+(?:[.,]\d+)*|[零一二三四五六七八九十百千万亿两]+)"
NUMBER_RE = re.compile(rf"{_NUM}(?:(?:—|-|~|～|至|到){_NUM})?"
                       rf"(?:{_UNITS})?(?:以上|以下|左右|多)?")
DATE_RE = re.compile(r"(?:\d{4}(?:—|-|~)\d{4}年|(?:\d{4}|今|去|明|前)年(?:\d{1,2}月(?:\d{1,2}日)?)?"
                     r"|\d{1,2}月(?:\d{1,2}日)?|近日|近期|最近|目前|年初|年底|年尾)")
TITLE_RE = re.compile(r"《[^《》]{1,80}》")
_ITEM = r"(?:[^，,。；;：:、（）()《》“”或等]|等(?=[级同于]))"
LIST_RE = re.compile(rf"{_ITEM}{{1,16}}(?:(?:、|或){_ITEM}{{1,16}})+")
ORG_SUFFIX = re.compile(r"(?:委员会|实验室|研究院|研究所|研究中心|中心|平台|基地|办公厅|政府|大学|学院|公司|集团|部|局|厅|委|署|院|办)")


@dataclass(frozen=True)
class Candidate:
    """A span inside a sentence: ``[start, end)`` relative to the sentence, and how sure."""

    start: int
    end: int
    typed: bool        # found by the expected answer type, not just by alignment
    whole: bool = False  # the whole sentence: nothing narrower was found


def _find_anchor(needle_side: str, sent: str, from_left: bool, lo: int = 0) -> tuple[int, int] | None:
    """Longest suffix (left context) or prefix (right context) of the question that occurs in
    ``sent[lo:]``; returns its ``(start, end)`` in ``sent``."""
    # Only punctuation is stripped: 将在 / 是 are what pins the answer's position.
    side = needle_side.strip(_ANCHOR_JUNK)
    for k in range(min(len(side), 12), 1, -1):
        piece = side[-k:] if from_left else side[:k]
        pos = sent.find(piece, lo)
        if pos >= 0:
            return pos, pos + k
    return None


def align(q: Question, sent: str) -> tuple[int, int, bool, bool]:
    """The region of ``sent`` that stands where the question word stands.

    Args:
        q: the analysed question.
        sent: the candidate sentence.

    Returns:
        ``(start, end, has_left_anchor, has_right_anchor)`` relative to ``sent``.
    """
    left = _find_anchor(q.left, sent, from_left=True)
    start = left[1] if left else 0
    right = _find_anchor(q.right, sent, from_left=False, lo=start) if q.right.strip(_EDGE_JUNK) else None
    if right and right[0] > start:
        end = right[0]
        # 什么平台 / 多少条: the head noun or unit after the question word is part of the answer.
        for part in (head_noun(q), q.unit):
            if part and q.right.startswith(part) and sent.startswith(part, end):
                end += len(part)
                break
    else:
        right = None
        end = _clause_end(sent, start) if left else len(sent)
    if not left and right:
        start = _clause_start(sent, end)
    return start, end, left is not None, right is not None


def _clause_end(sent: str, i: int) -> int:
    j = i
    while j < len(sent) and (sent[j] not in _CLAUSE_END or j == i):
        j += 1
    return j


def _clause_start(sent: str, i: int) -> int:
    j = i
    while j > 0 and sent[j - 1] not in _CLAUSE_END:
        j -= 1
    return j


def trim(sent: str, start: int, end: int) -> tuple[int, int]:
    """Drop function words and punctuation at both ends of a span (keeps 《》 whole)."""
    changed = True
    while changed and start < end:
        changed = False
        for p in _FUNCTION_PREFIX:
            if sent.startswith(p, start) and end - start > len(p) + 1:
                start += len(p)
                changed = True
        while start < end and sent[start] in _EDGE_JUNK and sent[start] != "“":
            start += 1
            changed = True
        while end > start and sent[end - 1] in _EDGE_JUNK and sent[end - 1] != "”":
            end -= 1
            changed = True
    if sent[start:end].count("“") != sent[start:end].count("”"):
        while end > start and sent[end - 1] in "”":
            end -= 1
        while start < end and sent[start] == "“":
            start += 1
    return start, end


_STRICT_UNITS = frozenset("条项家个所种位名人次台座倍年亿万元%")
_BOUNDARY_VERBS = re.compile(
    r"(建设|打造|组建|成立|建立|设立|发布|提出|推动|支持|探索|培育|提升|形成|构建|开展|发放|出台|印发|加强|实施|"
    r"夯实|强调|确保|符合|营造|举办|鼓励|促进|带动|聚焦|包括|打响|接入|依托|参与|宣布|给予|开出|联合|统筹|"
    r"常态化|进入|解决|实行|采取|研究制定|推进|降低|协调|完善|是|为|在|的|了)")
_SPEECH = re.compile(r"(?:长|官|任|员|师|授|家|者|书记|主席|总裁|经理|CEO)([\u4e00-\u9fff]{2,3}?)(?:说|表示|看来|指出|认为|介绍|称|强调)")
_PAREN = re.compile(r"《[^》]*》|\([^)]*\)|（[^）]*）")


def _inside_brackets(sent: str, span: tuple[int, int]) -> bool:
    return any(m.start() < span[0] and span[1] < m.end() for m in _PAREN.finditer(sent))


def _persons(sent: str) -> list[tuple[int, int]]:
    from rag.tokenization import words_with_pos

    out = [(m.start(1), m.end(1)) for m in _SPEECH.finditer(sent)]
    words = words_with_pos(sent)
    pos = 0
    for n, (w, flag) in enumerate(words):
        if flag == "nr":
            end = pos + len(w)
            # jieba often splits a name into surname + given name (王 / 海峰).
            if len(w) == 1 and n + 1 < len(words) and 1 <= len(words[n + 1][0]) <= 2 and \
                    re.fullmatch(r"[\u4e00-\u9fff]+", words[n + 1][0]):
                end += len(words[n + 1][0])
            if end - pos >= 2:
                out.append((pos, end))
        pos += len(w)
    return sorted(set(out))


def _typed_matches(q: Question, sent: str) -> list[tuple[int, int]]:
    t = q.qtype
    if t == "number":
        spans = [m.span() for m in NUMBER_RE.finditer(sent) if re.search(r"\d|[一二三四五六七八九十百千]", m.group())]
        if q.unit in _STRICT_UNITS:
            # 多少家 asks for a count of something: a number of years is not an answer.
            spans = [s for s in spans if q.unit in sent[s[0]:s[1]]]
        elif q.unit:
            spans = [s for s in spans if q.unit in sent[s[0]:s[1]]] or spans
    elif t == "date":
        spans = [m.span() for m in DATE_RE.finditer(sent)]
        need = next((u for k, u in (("天", "日"), ("日", "日"), ("号", "日"), ("月", "月"), ("年", "年"))
                     if k in q.qword), "")
        if need:
            spans = [s for s in spans if need in sent[s[0]:s[1]] or (need == "日" and "号" in sent[s[0]:s[1]])]
    elif t == "title":
        spans = [m.span() for m in TITLE_RE.finditer(sent)]
    elif t == "list":
        spans = [m.span() for m in LIST_RE.finditer(sent)]
    elif t == "person":
        spans = _persons(sent)
    elif t in ("place", "org"):
        from rag.tokenization import words_with_pos

        want = "ns" if t == "place" else "nt"
        spans, pos = [], 0
        for w, flag in words_with_pos(sent):
            if flag.startswith(want):
                spans.append((pos, pos + len(w)))
            pos += len(w)
        if t == "org":
            spans += [m.span() for m in re.finditer(r"[\u4e00-\u9fff]{2,14}?" + ORG_SUFFIX.pattern, sent)
                      if m.group()[0] not in "多等各该其"]
    else:
        return []
    # Numbers and dates inside a 《title》 or (aside) are rarely the answer: only when nothing else is.
    spans = sorted(set(spans))
    if t in ("number", "date"):
        spans = [sp for sp in spans if not _inside_brackets(sent, sp)] or spans
    return spans


def head_noun(q: Question) -> str:
    """The noun the question word asks for: 实验室 in 成立什么实验室.

    Args:
        q: the analysed question.

    Returns:
        The noun, or '' when the question word is not followed by one.
    """
    if q.qtype in ("number", "date", "person") or not q.right:
        return ""
    from rag.tokenization import words_with_pos

    words = [(w, f) for w, f in words_with_pos(q.right) if w.strip()]
    nounish = ("n", "vn", "b")
    head = ""
    if words and words[0][1].startswith(nounish):
        head = words[0][0]
        if len(words) > 1 and words[1][1].startswith(nounish):
            head += words[1][0]
    elif len(words) > 1 and words[1][1].startswith("n") and len(words[0][0]) <= 2 \
            and not _BOUNDARY_VERBS.fullmatch(words[0][0]):
        head = words[0][0] + words[1][0]  # 治理能力, 交易平台: a verb-noun compound
    return head if len(head) >= 2 or ORG_SUFFIX.fullmatch(head or "-") else ""


def _noun_phrase_ending_at(sent: str, end: int, lo: int) -> int:
    """Start of the noun phrase that ends at ``end``: after the last clause mark or
    boundary verb at or after ``lo``."""
    start = max(_clause_start(sent, end - 1), lo)
    last = start
    for m in _BOUNDARY_VERBS.finditer(sent, start, end):
        if m.end() < end - 1:
            last = m.end()
    return last


def _head_candidate(q: Question, sent: str, a: int, has_left: bool) -> Candidate | None:
    head = head_noun(q)
    if not head:
        return None
    lo = a if has_left else 0
    for lo_try in ((lo, 0) if lo else (0,)):
        pos = sent.find(head, lo_try)
        while pos >= 0:
            end = pos + len(head)
            start = _noun_phrase_ending_at(sent, end, lo_try if has_left else 0)
            s0, s1 = trim(sent, start, end)
            if s1 - s0 > len(head) and sent[s0:s1] not in q.text:
                return Candidate(s0, s1, True)
            pos = sent.find(head, end)
    return None


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

    Order of preference: a typed span inside the region that both question
    contexts pin down; that region itself when it is short; the typed span
    next to the anchor; a noun phrase ending in the question's head noun;
    the aligned clause.

    Args:
        q: the analysed question.
        sent: the sentence text.

    Returns:
        The candidate, or None.
    """
    a, b, has_left, has_right = align(q, sent)
    typed = _typed_matches(q, sent)
    if q.qtype == "list" and has_left:
        # A list match may have swallowed the words before the anchor (指出重点支持在智能制造、…).
        typed = [(max(s0, a), s1) if s0 < a < s1 else (s0, s1) for s0, s1 in typed]
    typed = [sp for sp in typed if sent[sp[0]:sp[1]] not in q.text]
    inside = [sp for sp in typed if sp[0] >= a and sp[1] <= b]
    head = head_noun(q)
    if has_left and has_right and head and sent[a:b].endswith(head) and len(head) < b - a <= 25:
        s0, s1 = trim(sent, a, b)
        if sent[s0:s1] not in q.text:
            return Candidate(s0, s1, True)
    if has_left and has_right:
        if inside and q.qtype != "list":
            return Candidate(*trim(sent, *inside[0]), True)
        whole = [sp for sp in typed if sp[0] < b and sp[1] > a and q.qtype == "title"]
        if whole:
            return Candidate(*trim(sent, *whole[0]), True)
        s0, s1 = trim(sent, a, b)
        if 0 < s1 - s0 <= 25 and sent[s0:s1] not in q.text:
            return Candidate(s0, s1, bool(inside) or q.qtype in ("what", "list"))
    if q.qtype == "list" and head:
        before_head = [sp for sp in typed if sent.startswith(head, sp[1]) or sent.startswith("等" + head, sp[1])
                       or sent.startswith("等" + head, sp[1] - 1) or sent[sp[0]:sp[1]].endswith(head)]
        if before_head:
            s0, s1 = trim(sent, *before_head[0])
            if s1 > s0:
                return Candidate(s0, s1, True)
    if typed and q.qtype != "what":
        if has_left:
            after = [sp for sp in typed if sp[1] > a]
            pick = min(after, key=lambda sp: (q.qtype in ("number", "date") and _inside_brackets(sent, sp),
                                              abs(sp[0] - a), sp[0])) if after else None
        elif has_right:
            before = [sp for sp in typed if sp[0] < b]
            pick = min(before, key=lambda sp: abs(b - sp[1])) if before else None
        else:
            pick = typed[0]
        if pick is None:  # 谁是X: the word order of the question need not be the sentence's
            anchor = a if has_left else b
            pick = min(typed, key=lambda sp: min(abs(sp[0] - anchor), abs(sp[1] - anchor)))
        if pick is not None:
            if q.qtype == "list" and has_left and pick[0] < a < pick[1]:
                pick = (a, pick[1])
            s0, s1 = trim(sent, *pick)
            if s1 > s0:
                return Candidate(s0, s1, True)
    head = _head_candidate(q, sent, a, has_left)
    if head is not None:
        return head
    if not (has_left or has_right):
        return None
    s0, s1 = trim(sent, a, b)
    if s1 - s0 > 40:  # alignment too loose: keep the clause next to the anchor
        s1 = _clause_end(sent, s0) if has_left else s1
        s0 = s0 if has_left else _clause_start(sent, s1)
        s0, s1 = trim(sent, s0, s1)
    if s1 <= s0 or sent[s0:s1] in q.text:
        return None
    return Candidate(s0, s1, False)
