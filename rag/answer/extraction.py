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
>>> from rag.query.question import analyze
>>> s, e = extract_span(analyze("湖北人工智能产业规模要超过多少?"), sent)
>>> sent[s:e]
'1500亿元'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.query.question import Question, copula_parts

_ANCHOR_JUNK = "？?!！。.，, “”\"'：:"
_CLAUSE_END = "，,。；;！!？?：:\n"
_EDGE_JUNK = "的了是为将在对于把被和与及并也要从由向给等：:，,、 “”\"'（）()"
_FUNCTION_PREFIX = ("又名", "又称", "亦称", "又译为", "又译", "又叫做", "又叫", "俗称", "简称", "包括", "主要是", "就是", "即", "是", "为", "有", "在", "对", "将", "了", "的")

_UNITS = (r"万亿元|亿元|万元|千元|元|亿|万|%|％|个百分点|倍|年|个月|月|日|天|小时|分钟|秒|周|岁|世纪|条|项|家|个|所|种|类"
          r"|位|名|人|次|台|座|层|步|头|只|匹|场|届|部|首|本|张|辆|架|艘|枚|间|支|队|期|批|轮|集|季|代|号线|号|站|区|县"
          r"|平方公里|平方米|平方英里|公顷|公里|千米|公尺|英尺|英里|米|厘米|毫米|吨|公斤|千克|克|度|级|票|分|球|册"
          r"|GW|MW|TB|PB|EFLOPS|PFLOPS|km|kg|m")
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
    # No contiguous piece: the content word nearest to the question word that occurs.
    from rag.text.tokens import tokenize

    words = [w for w in tokenize(side) if len(w) >= 2]
    for w in (reversed(words) if from_left else words):
        pos = sent.find(w, lo)
        if pos >= 0:
            return pos, pos + len(w)
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
        if left:
            # X（学名：…），Z: an alias or dates in brackets right after X are not what is asked.
            while br := _BRACKET_AT.match(sent, start):
                start = br.end()
            if start < len(sent) and sent[start] in "，,":
                start += 1
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


#: Nouns after 什么 that only name the kind of answer (以什么方式 → 自由转会, not 自由转会方式).
_RELATIVE_DATES = frozenset("近日 近期 最近 目前 年初 年底 年尾 今年 去年 明年 前年".split())
_GENERIC_HEADS = frozenset("方式 方法 原因 时候 样子 意思 作用 目的 地方 东西 程度 情况 关系 手段 途径 理由 结果 名字 名称 "
                           "内容 特点 特征 问题 身份 职位 职务 称号 称呼 类型 性质 形式 办法".split())
_KIND_WORDS = frozenset("类型 种类 性质 样 类 形式 风格 级别 身份".split())
_STRICT_UNITS = frozenset("条项家个所种位名人次台座倍年亿万元%")
_BOUNDARY_VERBS = re.compile(
    r"(建设|打造|组建|成立|建立|设立|发布|提出|推动|支持|探索|培育|提升|形成|构建|开展|发放|出台|印发|加强|实施|"
    r"夯实|强调|确保|符合|营造|举办|鼓励|促进|带动|聚焦|包括|打响|接入|依托|参与|宣布|给予|开出|联合|统筹|"
    r"常态化|进入|解决|实行|采取|研究制定|推进|降低|协调|完善|是|为|在|的|了)")
_SPEECH = re.compile(r"(?:长|官|任|员|师|授|家|者|书记|主席|总裁|经理|CEO)([\u4e00-\u9fff]{2,3}?)(?:说|表示|看来|指出|认为|介绍|称|强调)")
_PAREN = re.compile(r"《[^》]*》|\([^)]*\)|（[^）]*）")


def _inside_brackets(sent: str, span: tuple[int, int]) -> bool:
    return any(m.start() < span[0] and span[1] < m.end() for m in _PAREN.finditer(sent))


def person_spans(sent: str) -> list[tuple[int, int]]:
    """Where a sentence names people: jieba's names (surname and given name joined) and the
    speaker of 主任王海峰说.

    >>> s = "百度首席技术官、深度学习技术及应用国家工程研究中心主任王海峰说。"
    >>> [s[a:b] for a, b in person_spans(s)]
    ['王海峰']

    Args:
        sent: a sentence.

    Returns:
        Sorted (start, end) spans.
    """
    from rag.text.tokens import words_with_pos

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
        spans = [m.span() for m in NUMBER_RE.finditer(sent) if re.search(r"\d|[一二三四五六七八九十百千两]", m.group())]
        if q.unit:  # 多少头 → 650头 even when 头 is not a known unit
            spans = [(a, b + len(q.unit)) if sent.startswith(q.unit, b) else (a, b) for a, b in spans]
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
            spans = [s for s in spans if (need in sent[s[0]:s[1]] or (need == "日" and "号" in sent[s[0]:s[1]]))
                     and sent[s[0]:s[1]] not in _RELATIVE_DATES]
        if "几" in q.qword:
            # 哪几年 asks for a span of years (2023—2025年), not one date
            spans = [s for s in spans if re.search(r"\d{4}\s*(?:—|-|~|至|到)\s*\d{4}", sent[s[0]:s[1]])] or spans
    elif t == "title":
        spans = [m.span() for m in TITLE_RE.finditer(sent)]
    elif t == "list":
        spans = [m.span() for m in LIST_RE.finditer(sent)]
    elif t == "person":
        spans = person_spans(sent)
    elif t in ("place", "org"):
        from rag.text.tokens import words_with_pos

        want = "ns" if t == "place" else "nt"
        spans, pos = [], 0
        for w, flag in words_with_pos(sent):
            if flag.startswith(want):
                spans.append((pos, pos + len(w)))
            pos += len(w)
        if t == "org":
            orgs = [_strip_time(sent, *m.span())
                    for m in re.finditer(r"[\u4e00-\u9fff]{2,14}?(?:" + ORG_SUFFIX.pattern + ")+", sent)
                    if m.group()[0] not in "多等各该其"]
            # A tagged fragment inside a longer organisation name is not the name.
            spans = orgs + [sp for sp in spans if not any(o[0] <= sp[0] and sp[1] <= o[1] for o in orgs)]
    else:
        return []
    # Numbers and dates inside a 《title》 or (aside) are rarely the answer: only when nothing else is.
    spans = sorted(set(spans))
    if t in ("number", "date"):
        spans = [sp for sp in spans if not _inside_brackets(sent, sp)] or spans
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
    for a, b in _typed_matches(q, sent):
        inter = min(b, end) - max(a, start)
        if inter > 0 and inter >= 0.6 * (end - start):
            return True
    return False


#: Verbs after which a sentence names a location: X位于[…].
_LOCATED = re.compile(r"(位于|坐落于|坐落在|地处|设于|设在|座落于|分布于|分布在|产于|原产于|生活在|栖息于|栖息在)$")


def _place_phrase(sent: str, pick: tuple[int, int], anchor: int) -> tuple[int, int]:
    """位于冰岛西南部法赫萨湾东南岸: a place right after the anchor is the start of the whole
    location (country, region, street, number), which runs to the end of its clause.

    Args:
        sent: the sentence.
        pick: the place name found.
        anchor: where the question's left context ends in the sentence.

    Returns:
        The widened span, or ``pick`` when it does not open a short clause after the anchor.
    """
    s0, _ = trim(sent, anchor, pick[1])
    if s0 != pick[0]:
        return pick
    if pick[1] >= len(sent) or sent[pick[1]] in _CLAUSE_END:
        return pick
    end = _clause_end(sent, pick[1])
    # 浙江省嘉兴市海盐县的一个镇 / 瑞典是…: the location stops where a description of the thing starts.
    stop = re.compile(r"的?一[个条片座所种处间家]|[是为﹐]").search(sent, pick[1], end)
    end = stop.start() if stop else end
    return (pick[0], end) if end - pick[0] <= 30 else pick


def _strip_time(sent: str, a: int, b: int) -> tuple[int, int]:
    """Drop a leading time word (近日福建省… → 福建省…)."""
    for w in sorted(_RELATIVE_DATES, key=len, reverse=True):
        if sent.startswith(w, a) and b - a > len(w) + 1:
            return a + len(w), b
    return a, b


def head_noun(q: Question) -> str:
    """The noun the question word asks for: 实验室 in 成立什么实验室.

    Args:
        q: the analysed question.

    Returns:
        The noun, or '' when the question word is not followed by one.
    """
    if q.qtype in ("number", "date", "person"):
        return ""
    from rag.text.tokens import words_with_pos

    if not q.right.strip(_ANCHOR_JUNK):
        # 数据特区叫什么 / 中心是什么: the name asked for ends with the noun before 叫/是.
        m = re.search(r"(叫做|叫|名为|称为|是|为)$", q.left)
        if not m:
            return ""
        before = [(w, f) for w, f in words_with_pos(q.left[:m.start()]) if w.strip()]
        head = before[-1][0] if before and before[-1][1].startswith(("n", "vn")) else ""
        return head if len(head) >= 2 and head not in _GENERIC_HEADS else ""
    words = [(w, f) for w, f in words_with_pos(q.right) if w.strip()]
    if len(words) > 2 and words[0][0] in _KIND_WORDS and words[1][0] == "的":
        words = words[2:]  # 什么类型的企业: the answer is an 企业, 类型 only says how it is asked
    nounish = ("n", "vn", "b")
    head = ""
    if words and (words[0][1].startswith(nounish) or (words[0][1] == "a" and len(words[0][0]) >= 2)):
        head = words[0][0]
        if len(words) > 1 and words[1][1].startswith(nounish):
            head += words[1][0]
    elif len(words) > 1 and words[1][1].startswith("n") and len(words[0][0]) <= 2 \
            and not _BOUNDARY_VERBS.fullmatch(words[0][0]):
        head = words[0][0] + words[1][0]  # 治理能力, 交易平台: a verb-noun compound
    if head in _GENERIC_HEADS:
        return ""
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


def _parallel_lists(sent: str) -> list[list[tuple[int, int]]]:
    """The 、-separated lists of single words or numbers in a sentence, each as item spans."""
    from rag.text.tokens import words_with_pos

    numbers = [m.span() for m in NUMBER_RE.finditer(sent) if re.search(r"\d", m.group())]
    atoms, pos = list(numbers), 0
    for w, _ in words_with_pos(sent):
        if not any(a < pos + len(w) and pos < b for a, b in numbers):
            atoms.append((pos, pos + len(w)))
        pos += len(w)
    atoms.sort()
    out: list[list[tuple[int, int]]] = []
    cur = atoms[:1]
    k = 1
    while k < len(atoms):
        if sent[atoms[k][0]:atoms[k][1]] == "、" and k + 1 < len(atoms) and cur:
            cur.append(atoms[k + 1])
            k += 2
            continue
        if len(cur) >= 2:
            out.append(cur)
        cur = [atoms[k]]
        k += 1
    if len(cur) >= 2:
        out.append(cur)
    return [lst for lst in out if all(sent[a:b] != "、" for a, b in lst)]


_RESPECTIVELY = ("分别", "依次", "各为")
#: Answer types that an item of a paired list can be (the value of 成都 in 成都、宁夏…1000万元、4000万元).
_PAIRED_TYPES = ("number", "place", "org", "person")


def _all_numbers(sent: str, items: list[tuple[int, int]]) -> bool:
    return all(re.search(r"\d", sent[a:b]) for a, b in items)


def respectively(q: Question, sent: str, pick: tuple[int, int]) -> tuple[int, int] | None:
    """成都、宁夏…分别1000万元、4000万元: the item of the answer's list in the position of the
    item of another list that the question names. Lists are paired when one holds figures and
    the other does not, or when the sentence says 分别/依次/各为.

    A question about a place that the paired list of places leaves out (深圳 asked, 成都、宁夏
    listed) is not answered by any of the list's values: None.

    Args:
        q: the analysed question.
        sent: the sentence.
        pick: the chosen span.

    Returns:
        The corresponding span, ``pick`` unchanged, or None when the values belong to other places.
    """
    lists = _parallel_lists(sent)
    said = any(w in sent for w in _RESPECTIVELY)
    for answer_list in lists:
        if not any(a <= pick[0] < b or pick[0] <= a < pick[1] for a, b in answer_list):
            continue
        for other in lists:
            if other is answer_list or len(other) != len(answer_list):
                continue
            if not said and _all_numbers(sent, other) == _all_numbers(sent, answer_list):
                # 上海电视大学、杨浦区业余大学 beside 复旦大学、同济大学: two lists of names that merely
                # have the same length are not paired; names with figures are, or 分别 says so
                continue
            named = [i for i, (a, b) in enumerate(other) if sent[a:b] in q.text]
            if not named and _other_places(q, [sent[a:b] for a, b in other]):
                return None
            if len(named) == 1:
                a, b = answer_list[named[0]]
                if q.unit and sent.startswith(q.unit, b):
                    b += len(q.unit)
                if sent[a:b] in q.text:
                    return pick  # a misread list (新刊5卷、版4卷 gave 卷 for 多少卷): nothing the question lacks
                return a, b
    return pick


def _other_places(q: Question, items: Sequence[str]) -> bool:
    """Whether every item names a place and the question asks about a place none of them is."""
    from rag.answer.rules import places_in

    asked = places_in(q.text)
    found = [places_in(item) for item in items]
    return bool(asked) and all(found) and not any(asked & f for f in found)


def _left_context_start(q: Question, sent: str, a: int) -> int:
    """Where the question's left context begins in the sentence: the earliest of its words
    found in the 40 characters before ``a`` (a whole 《title》 counts as one word)."""
    from rag.text.tokens import tokenize

    words = [m.group() for m in TITLE_RE.finditer(q.left)] + [w for w in tokenize(q.left) if len(w) >= 2]
    starts = [i for w in words for i in [sent.rfind(w, max(0, a - 40 - len(w)), a)] if i >= 0]
    return min(starts, default=a)


def _has_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


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
    if c is None or c.end <= c.start or not _has_word(sent[c.start:c.end]) or sent[c.start:c.end] in q.text:
        return None
    return c


def _best_candidate(q: Question, sent: str) -> Candidate | None:
    if q.qtype == "why":
        c = _why_candidate(sent)
        if c is not None:
            return c
    c = _copula_candidate(q, sent)
    if c is not None:
        return c
    a, b, has_left, has_right = align(q, sent)
    typed = _typed_matches(q, sent)
    if q.qtype == "list" and has_left:
        # A list match may have swallowed the words before the anchor (指出重点支持在智能制造、…).
        typed = [(max(s0, a), s1) if s0 < a < s1 else (s0, s1) for s0, s1 in typed]
    typed = [sp for sp in typed if sent[sp[0]:sp[1]] not in q.text and _has_word(sent[sp[0]:sp[1]])]
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
        s0, s1 = trim(sent, a, b)
        crossing = [sp for sp in typed if sp[0] < s0 < sp[1] or sp[0] < s1 < sp[1]]
        # 统筹建设[数字政府人工智能运行平台]: the region up to the head noun, unless it cuts a typed span.
        if 2 <= s1 - s0 <= 25 and not crossing and (
                (head and sent[s0:s1].endswith(head) and q.qtype != "number") or q.qtype == "place"):
            return Candidate(s0, s1, True)
        inside = [sp for sp in typed if sp[0] >= a and sp[1] <= b]
        overlapping = [sp for sp in typed if sp[0] < b and sp[1] > a]
        if inside and q.qtype not in ("list", "title"):
            return Candidate(*trim(sent, *inside[0]), True)
        if overlapping:
            return Candidate(*trim(sent, *overlapping[0]), True)
        if not typed and 2 <= s1 - s0 <= 25:
            return Candidate(s0, s1, q.qtype in ("what", "list") or bool(head and sent[s0:s1].endswith(head)))
    if q.qtype == "place" and has_left and not has_right and _LOCATED.search(q.left) \
            and not re.search(r"国|省|市|城|县|州", q.qword):
        s0, s1 = trim(sent, a, b)
        if 2 <= s1 - s0 <= 25:
            return Candidate(s0, s1, True)  # 位于[埼玉县埼玉市南区七丁目]: the whole location
    if typed and q.qtype != "what":
        if has_left:
            after = [sp for sp in typed if sp[1] > a]
            pick = min(after, key=lambda sp: (q.qtype in ("number", "date") and _inside_brackets(sent, sp),
                                              abs(sp[0] - a), sp[0])) if after else None
            before = [sp for sp in typed if sp[1] <= a]
            if before and q.qtype in ("org", "person", "place"):
                # X由谁印发 ↔ 谁印发的X: a name just before the anchor beats a distant one after it.
                near = max(before, key=lambda sp: sp[1])
                anchor_start = _left_context_start(q, sent, a)
                if pick is None or 3 * max(0, anchor_start - near[1]) < pick[0] - a:
                    pick = near
        elif has_right:
            before = [sp for sp in typed if sp[0] < b]
            pick = min(before, key=lambda sp: abs(b - sp[1])) if before else None
        else:
            pick = typed[0]
        if pick is None:  # 谁是X: the word order of the question need not be the sentence's
            anchor = a if has_left else b
            pick = min(typed, key=lambda sp: min(abs(sp[0] - anchor), abs(sp[1] - anchor)))
        if q.qtype in _PAIRED_TYPES:
            # None: the figures are other places' (深圳 asked, 成都、宁夏 listed); the nearest stays the
            # candidate and the confidence model's place conflict withholds it
            pick = respectively(q, sent, pick) or pick
        if q.qtype == "place" and has_left and not has_right and not re.search(r"国|省|市|城|县|州", q.qword):
            pick = _place_phrase(sent, pick, a)  # 哪个国家 asks for one name, 哪里 for the location
        return Candidate(*trim(sent, *pick), True)
    head_c = _head_candidate(q, sent, a, has_left)
    if head_c is not None:
        return head_c
    if not (has_left or has_right):
        return None
    s0, s1 = trim(sent, a, b)
    if s1 - s0 > 40:  # alignment too loose: keep the clause next to the anchor
        s1 = _clause_end(sent, s0) if has_left else s1
        s0 = s0 if has_left else _clause_start(sent, s1)
        s0, s1 = trim(sent, s0, s1)
    return Candidate(s0, s1, False)


#: Words that introduce a cause (因为X, 由于X, 因X而Y) and a consequence (X，所以Y).
_CAUSE = re.compile(r"因为|由于|(?<![原起基诱死主成])因(?![此而素果子为])|基于")
_RESULT = re.compile(r"所以|因此|因而|于是|从而|导致|致使|以致|而(?:得名|闻名|成名|著称|出名)|为由|所致")


def _why_candidate(sent: str) -> Candidate | None:
    """为什么: the clause after 因为 / 由于 / 因, else the clause before 所以 / 因此 / 于是.

    Args:
        sent: the sentence text.

    Returns:
        The cause, or None when the sentence states none.
    """
    for m in _CAUSE.finditer(sent):
        end = _clause_end(sent, m.end())
        # 因X而Y / 因X才Y: the cause stops where the consequence starts.
        cut = re.search(r"(?<=..)(?:而|才|被迫)", sent[m.end():end])
        s0, s1 = trim(sent, m.end(), m.end() + cut.start() if cut else end)
        if s1 - s0 >= 2 and _has_word(sent[s0:s1]):
            return Candidate(s0, s1, True)
    for m in _RESULT.finditer(sent):
        end = m.start()
        start = _clause_start(sent, end)
        if start == end and end > 0:
            start = _clause_start(sent, end - 1)  # X，所以Y: the clause before the comma
        s0, s1 = trim(sent, start, end)
        if s1 - s0 >= 2 and _has_word(sent[s0:s1]):
            return Candidate(s0, s1, True)
    return None


#: What may stand between an attribute or a topic and its value: 风格为Z, 字Z, X是Z, X（…），Z.
_VALUE_LEAD = re.compile(r"(?:主要|一般|通常|均|都)?(?:是|为|乃|即|叫做|叫|称作|称为|：|:)")
_TOPIC_LEAD = re.compile(r"(?:[，,]|是|为|乃|係)+")
_NAME_ATTRS = re.compile(r"名|称|拼音|英文|原文|写法|读音")
_BRACKET_AT = re.compile(r"\s*(?:（[^）]*）|\([^)]*\))")
#: Clauses after ``X（…），`` that give a name, an origin or a birth, not what X is (本名王宏文, 籍贯吉林).
_ASIDE_CLAUSE = re.compile(r"(?:又|亦|或|也|另)?(?:称|名|译|作|叫)|本名|原名|简称|全称|学名|英文|英语|日文|日语|拉丁|"
                           r"籍贯|出生|生于|字|号|小名|昵称|绰号|别名|俗名|俗称|旧称|曾用名|祖籍|[^，,]{1,8}人[，,]|"
                           r"[\d零〇一二三四五六七八九十]+年")


def _name_core(sent: str, start: int, end: int) -> tuple[int, int]:
    """The name inside a description of a person: 曾任总编辑的「William」朱嘉伟 → 「William」朱嘉伟,
    张姚宏影女士为董事长 → 张姚宏影."""
    last_de = sent.rfind("的", start, end)
    if start <= last_de < end - 2:
        start = last_de + 1
    m = re.compile(r"女士|先生|教授|博士|[为是，,]").search(sent, start + 2, end)
    return trim(sent, start, m.start() if m else end)


def _copula_candidate(q: Question, sent: str) -> Candidate | None:
    """X的Y是什么 / X是什么: the value after ``Y为`` / ``，Y``, else the predicate of a sentence
    that opens with X (``X（…），Z`` or ``X是Z``).

    Args:
        q: the analysed question.
        sent: the sentence text.

    Returns:
        The value, or None when the question is no copula question or the sentence states no value.
    """
    parts = copula_parts(q)
    if parts is None:
        return None
    topic, attr = parts
    for key in dict.fromkeys(k for k in (attr, attr[-2:]) if k):
        for m in re.finditer(re.escape(key), sent):
            lead = _VALUE_LEAD.match(sent, m.end())
            # A bare attribute only counts where a clause starts: ，字允明 (not 职业生涯).
            if not lead and m.start() and sent[m.start() - 1] not in "，,；;（(其":
                continue
            start = lead.end() if lead else m.end()
            s0, s1 = trim(sent, start, _clause_end(sent, start))
            if q.qtype == "person":
                s0, s1 = _name_core(sent, s0, s1)
            if 1 <= s1 - s0 <= 40 and _has_word(sent[s0:s1]) and sent[s0:s1] not in q.text:
                return Candidate(s0, s1, True)
    if q.qtype not in ("what", "why"):
        return None  # X是谁 / X在哪里: what follows X describes X, it is no name or place
    pos = sent.find(topic) if len(topic) >= 2 else -1
    if pos < 0 or sent[_clause_start(sent, pos):pos].strip("“「『《 "):
        return None
    j = pos + len(topic)
    while not _NAME_ATTRS.search(attr) and (br := _BRACKET_AT.match(sent, j)):
        j = br.end()  # an alias or the dates in brackets are not what X is
    lead = _TOPIC_LEAD.match(sent, j)
    if not lead:
        return None
    start = lead.end()
    if not _NAME_ATTRS.search(attr):
        while _ASIDE_CLAUSE.match(sent, start) and _clause_end(sent, start) < len(sent) - 1:
            start = _clause_end(sent, start) + 1
    s0, s1 = trim(sent, start, _clause_end(sent, start))
    if s1 - s0 >= 2 and _has_word(sent[s0:s1]) and sent[s0:s1] not in q.text:
        return Candidate(s0, s1, True)
    return None
