"""Where the rules' fuller span replaces the reader's (``Settings.reader.shape``).

The reader finds where the answer is; the rules know the shape of some answers
better: a 、-list asked for, a full 《title》, the name's own modifiers or what
the question itself names. Offsets are into the passage's chunk text.
"""

from __future__ import annotations

import re
from typing import Any

from rag.types import Answer, Passage

#: Words that join the items of a coordination (战略路线和前沿技术咨询, 德大铁路、大莱龙铁路).
_COORDINATORS = ("和", "与", "及", "、", "以及")
#: The longest modifiers of an organisation's name the rules may add in front of the reader's span.
MAX_ORG_MODIFIER_CHARS = 12
#: A phrase of this many characters shared with the question is the question's frame, not the name.
FRAME_CHARS = 3
#: Under ``all``: the longest modifiers the rules may add to the same noun phrase, and to a typed span.
MAX_MODIFIER_CHARS, MAX_TYPED_EXTRA_CHARS = 12, 8

#: Marks that a name's own modifiers never hold: where one stands, the words in front are another phrase.
_DATE_TAIL = re.compile(r"[\d年月日号时分秒]")
_NAME_BREAKS = re.compile(r"[，,、。；;：:！？!?（）()“”\"\s]")


def _full_org_name(qtype: str, question: str, front: str, back: str) -> bool:
    """哪个机构 asks for a name, and a name is whole: the rules' span that only adds the name's own
    modifiers in front of the reader's (深度学习技术及应用 | 国家工程研究中心) is the organisation.
    A date's tail (年 of 2001年连江县政府) is no modifier, and a word of the question is its frame,
    not part of the name (龙头企业组建 | 政务大模型联合实验室, asked 和龙头企业合作成立什么实验室).

    >>> q = "百度首席技术官还担任哪个机构的主任?"
    >>> _full_org_name("org", q, "深度学习技术及应用", "")
    True
    >>> _full_org_name("org", q, "首席技术官、深度学习技术及应用", ""), _full_org_name("what", q, "深度学习", "")
    (False, False)
    >>> _full_org_name("org", q, "年", ""), _full_org_name("org", "和龙头企业成立什么实验室?", "龙头企业组建", "")
    (False, False)
    >>> _full_org_name("org", "广东将建设什么平台?", "人工智能", "")
    True
    """
    if not (qtype == "org" and not back and 0 < len(front) <= MAX_ORG_MODIFIER_CHARS and not _NAME_BREAKS.search(front)
            and not _DATE_TAIL.match(front)):
        return False
    # a phrase of three or more characters shared with the question is the question's frame; two are
    # often a coincidence of compounds (技术 of 深度学习技术 and of 首席技术官)
    return not any(front[i:i + FRAME_CHARS] in question for i in range(len(front) - FRAME_CHARS + 1))


def rules_span_around(rule: Answer, p: Passage, a: int, b: int) -> tuple[int, int] | None:
    """The rules' span in the coordinates of ``p``'s chunk, when it holds the reader's span a:b."""
    span = rule.answer_span
    if span is None or span.doc != p.chunk.doc:
        return None
    ra, rb = span.start - p.chunk.start, span.end - p.chunk.start
    return (ra, rb) if ra <= a and b <= rb else None


def same_span(rule: Answer, p: Passage, a: int, b: int) -> bool:
    """Whether the rules' span is the reader's span a:b of ``p``'s chunk."""
    span = rule.answer_span
    return span is not None and span.doc == p.chunk.doc and (span.start, span.end) == (p.chunk.start + a, p.chunk.start + b)


def rules_know_better(q: Any, rule: Answer, p: Passage, a: int, b: int, shape: str,
                      lists_anywhere: bool = True) -> bool:
    """Where the rules' typed span beats the reader's whatever the scores (``Settings.reader.shape``).

    Always (but ``off``): a 、-list asked for (哪些/哪几) or a full 《title》 (全称, 哪份文件): the
    reader, trained on short answers, stops at the first item or takes the abbreviation (《措施》).
    Under ``named`` a list guessed from a hint word (包括什么) must hold the reader's span.
    ``named``: also when the rules' span holds the reader's and adds only what the question names
    (北京市经济和信息化局 for 经济和信息化局, asked 北京市哪个部门) or the rest of a coordination
    (战略路线和前沿技术咨询 for 前沿技术咨询), or, asked for an organisation, the name's own modifiers
    (深度学习技术及应用国家工程研究中心 for 国家工程研究中心: :func:`_full_org_name`). ``all``: also
    any modifiers in front (no clause break) or a typed span's head noun or modifiers.
    """
    if shape == "off":
        return False
    feats = rule.features
    if q.qtype == "title" and feats.get("typed"):
        return True   # the full 《title》 wherever it stands: the reader often takes the abbreviation
    if q.qtype == "list" and feats.get("typed") and (
            shape != "named" or (lists_anywhere and q.qword in ("哪些", "哪几")) or rules_span_around(rule, p, a, b)):
        # 哪些/哪几 ask for several items: the rules' list wherever it stands (the reader often reads
        # one item of another sentence). A list guessed from a hint word (包括什么) must hold the
        # reader's span: 电影、娱乐和新闻 elsewhere does not answer BSkyB的体育内容包括什么 (英超联赛).
        return True
    if shape == "lists":
        return False
    around = rules_span_around(rule, p, a, b)
    if around is None:
        return False
    extra = (around[1] - around[0]) - (b - a)
    if extra <= 0:
        return False
    if shape == "named":
        # Only what the question itself names (北京市 of 北京市哪个部门…, 能力 of 什么治理能力), or the
        # rest of a coordination the reader cut (战略路线和 | 前沿技术咨询): grown by anything else
        # (a full date for 哪一年, 称为…, 俄罗斯商人…) the span lost 8 EM on held-out DRCD/XQuAD.
        front, back = p.chunk.text[around[0]:a], p.chunk.text[b:around[1]]
        named = all(not part or part in q.text for part in (front, back))
        coordination = (front.endswith(_COORDINATORS) and not back) or (back.startswith(_COORDINATORS) and not front)
        return named or coordination or _full_org_name(q.qtype, q.text, front, back)
    if around[1] == b and extra <= MAX_MODIFIER_CHARS and not any(c in (rule.answer or "") for c in "，,"):
        # the same noun phrase with its modifiers: 深度学习技术及应用国家工程研究中心 for 国家工程研究中心
        return True
    return bool(feats.get("typed") or feats.get("head_match")) and extra <= MAX_TYPED_EXTRA_CHARS


def grown_span(q: Any, rule: Answer, p: Passage, a: int, b: int) -> tuple[int, int] | None:
    """The rules' fuller span without the question's own verb in front, or None to take theirs.

    Asked 广东将建设什么平台…?, the rules may grow 人工智能反诈平台 to 建设人工智能反诈平台: a
    verb (or preposition) of the question at the head of the span is the question's frame,
    not part of the name, and is dropped. A name the question also states stays
    (北京市经济和信息化局 asked about 北京市), and titles are quoted whole.
    """
    from rag.text.tokens import words_with_pos

    around = rules_span_around(rule, p, a, b)
    if around is None or q.qtype == "title" or around[0] < 0 or around[1] > len(p.chunk.text):
        return None
    ra, rb = around
    start = ra
    for word, flag in words_with_pos(p.chunk.text[ra:a], hmm=False):
        if word not in q.text or flag[:1] not in ("v", "p"):
            break
        start += len(word)
    return (start, rb) if start > ra else None
