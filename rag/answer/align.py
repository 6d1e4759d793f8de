"""Aligning a question with a sentence: where the question word's answer stands, and its head noun.

The question's words on the left of the question word anchor where the answer
starts, those on the right where it ends (:func:`align`); the noun after the
question word (实验室 of 成立什么实验室) is what the answer ends with
(:func:`head_noun`). Offsets are relative to the sentence.

>>> from rag.query.question import analyze
>>> s = "湖北人工智能产业规模超过1500亿元,在智能芯片等领域取得成果。"
>>> a, b, left, right = align(analyze("湖北人工智能产业规模要超过多少?"), s)
>>> s[a:b], left, right
('1500亿元', True, False)
"""

from __future__ import annotations

import re

from rag.answer.clauses import BRACKET_AT, EDGE_JUNK, clause_end, clause_start
from rag.answer.typed import TITLE_RE
from rag.query.question import Question
from rag.text.lexicon import ORG_SUFFIX
from rag.text.tokens import tokenize, words_with_pos

#: Punctuation stripped from the question's contexts before they are looked for in a sentence.
ANCHOR_JUNK = "？?!！。.，, “”\"'：:"
#: The longest piece of the question's context looked for verbatim in a sentence, in characters.
ANCHOR_MAX_CHARS = 12
#: How far before the anchor the question's left context is looked for, in characters.
LEFT_CONTEXT_CHARS = 40
#: Nouns after 什么 that only name the kind of answer (以什么方式 → 自由转会, not 自由转会方式).
_GENERIC_HEADS = frozenset("方式 方法 原因 时候 样子 意思 作用 目的 地方 东西 程度 情况 关系 手段 途径 理由 结果 名字 名称 "
                           "内容 特点 特征 问题 身份 职位 职务 称号 称呼 类型 性质 形式 办法".split())
#: Nouns that say how the answer is asked (什么类型的企业: the answer is an 企业).
_KIND_WORDS = frozenset("类型 种类 性质 样 类 形式 风格 级别 身份".split())
#: Verbs (and function words) where a noun phrase before a head noun starts.
BOUNDARY_VERBS = re.compile(
    r"(建设|打造|组建|成立|建立|设立|发布|提出|推动|支持|探索|培育|提升|形成|构建|开展|发放|出台|印发|加强|实施|"
    r"夯实|强调|确保|符合|营造|举办|鼓励|促进|带动|聚焦|包括|打响|接入|依托|参与|宣布|给予|开出|联合|统筹|"
    r"常态化|进入|解决|实行|采取|研究制定|推进|降低|协调|完善|是|为|在|的|了)")


def _find_anchor(needle_side: str, sent: str, from_left: bool, lo: int = 0) -> tuple[int, int] | None:
    """Longest suffix (left context) or prefix (right context) of the question that occurs in
    ``sent[lo:]``; returns its ``(start, end)`` in ``sent``."""
    # Only punctuation is stripped: 将在 / 是 are what pins the answer's position.
    side = needle_side.strip(ANCHOR_JUNK)
    for k in range(min(len(side), ANCHOR_MAX_CHARS), 1, -1):
        piece = side[-k:] if from_left else side[:k]
        pos = sent.find(piece, lo)
        if pos >= 0:
            return pos, pos + k
    # No contiguous piece: the content word nearest to the question word that occurs.
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
    right = _find_anchor(q.right, sent, from_left=False, lo=start) if q.right.strip(EDGE_JUNK) else None
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
            while br := BRACKET_AT.match(sent, start):
                start = br.end()
            if start < len(sent) and sent[start] in "，,":
                start += 1
        end = clause_end(sent, start) if left else len(sent)
    if not left and right:
        start = clause_start(sent, end)
    return start, end, left is not None, right is not None


def head_noun(q: Question) -> str:
    """The noun the question word asks for: 实验室 in 成立什么实验室.

    Args:
        q: the analysed question.

    Returns:
        The noun, or '' when the question word is not followed by one.
    """
    if q.qtype in ("number", "date", "person"):
        return ""
    if not q.right.strip(ANCHOR_JUNK):
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
            and not BOUNDARY_VERBS.fullmatch(words[0][0]):
        head = words[0][0] + words[1][0]  # 治理能力, 交易平台: a verb-noun compound
    if head in _GENERIC_HEADS:
        return ""
    return head if len(head) >= 2 or ORG_SUFFIX.fullmatch(head or "-") else ""


def noun_phrase_ending_at(sent: str, end: int, lo: int) -> int:
    """Start of the noun phrase that ends at ``end``: after the last clause mark or
    boundary verb at or after ``lo``."""
    start = max(clause_start(sent, end - 1), lo)
    last = start
    for m in BOUNDARY_VERBS.finditer(sent, start, end):
        if m.end() < end - 1:
            last = m.end()
    return last


def left_context_start(q: Question, sent: str, a: int) -> int:
    """Where the question's left context begins in the sentence: the earliest of its words
    found in the :data:`LEFT_CONTEXT_CHARS` before ``a`` (a whole 《title》 counts as one word)."""
    words = [m.group() for m in TITLE_RE.finditer(q.left)] + [w for w in tokenize(q.left) if len(w) >= 2]
    starts = [i for w in words for i in [sent.rfind(w, max(0, a - LEFT_CONTEXT_CHARS - len(w)), a)] if i >= 0]
    return min(starts, default=a)
