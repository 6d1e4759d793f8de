"""Answers that a sentence states by its form: a cause (为什么) and a value after a copula (X是什么).

Offsets are relative to the sentence.

>>> s = "该项目因资金不足而停工。"
>>> c = why_candidate(s); s[c.start:c.end]
'资金不足'
"""

from __future__ import annotations

import re

from rag.answer.clauses import BRACKET_AT, Candidate, clause_end, clause_start, has_word, trim
from rag.answer.names import name_core
from rag.query.question import Question, copula_parts

#: Words that introduce a cause (因为X, 由于X, 因X而Y) and a consequence (X，所以Y).
_CAUSE = re.compile(r"因为|由于|(?<![原起基诱死主成])因(?![此而素果子为])|基于")
_RESULT = re.compile(r"所以|因此|因而|于是|从而|导致|致使|以致|而(?:得名|闻名|成名|著称|出名)|为由|所致")
#: What may stand between an attribute or a topic and its value: 风格为Z, 字Z, X是Z, X（…），Z.
_VALUE_LEAD = re.compile(r"(?:主要|一般|通常|均|都)?(?:是|为|乃|即|叫做|叫|称作|称为|：|:)")
_TOPIC_LEAD = re.compile(r"(?:[，,]|是|为|乃|係)+")
_NAME_ATTRS = re.compile(r"名|称|拼音|英文|原文|写法|读音")
#: Clauses after ``X（…），`` that give a name, an origin or a birth, not what X is (本名王宏文, 籍贯吉林).
_ASIDE_CLAUSE = re.compile(r"(?:又|亦|或|也|另)?(?:称|名|译|作|叫)|本名|原名|简称|全称|学名|英文|英语|日文|日语|拉丁|"
                           r"籍贯|出生|生于|字|号|小名|昵称|绰号|别名|俗名|俗称|旧称|曾用名|祖籍|[^，,]{1,8}人[，,]|"
                           r"[\d零〇一二三四五六七八九十]+年")
#: The longest value taken after an attribute (Y为Z), in characters.
VALUE_MAX_CHARS = 40


def _stated(sent: str, s0: int, s1: int) -> Candidate | None:
    """The span as a typed candidate when it holds two characters and a word."""
    return Candidate(s0, s1, True) if s1 - s0 >= 2 and has_word(sent[s0:s1]) else None


def why_candidate(sent: str) -> Candidate | None:
    """为什么: the clause after 因为 / 由于 / 因, else the clause before 所以 / 因此 / 于是.

    Args:
        sent: the sentence text.

    Returns:
        The cause, or None when the sentence states none.
    """
    for m in _CAUSE.finditer(sent):
        end = clause_end(sent, m.end())
        # 因X而Y / 因X才Y: the cause stops where the consequence starts.
        cut = re.search(r"(?<=..)(?:而|才|被迫)", sent[m.end():end])
        c = _stated(sent, *trim(sent, m.end(), m.end() + cut.start() if cut else end))
        if c is not None:
            return c
    for m in _RESULT.finditer(sent):
        end = m.start()
        start = clause_start(sent, end)
        if start == end and end > 0:
            start = clause_start(sent, end - 1)  # X，所以Y: the clause before the comma
        c = _stated(sent, *trim(sent, start, end))
        if c is not None:
            return c
    return None


def _attribute_value(q: Question, sent: str, attr: str) -> Candidate | None:
    """The value after ``Y为`` / ``，Y`` in the sentence (Y the attribute or its last two characters)."""
    for key in dict.fromkeys(k for k in (attr, attr[-2:]) if k):
        for m in re.finditer(re.escape(key), sent):
            lead = _VALUE_LEAD.match(sent, m.end())
            # A bare attribute only counts where a clause starts: ，字允明 (not 职业生涯).
            if not lead and m.start() and sent[m.start() - 1] not in "，,；;（(其":
                continue
            start = lead.end() if lead else m.end()
            s0, s1 = trim(sent, start, clause_end(sent, start))
            if q.qtype == "person":
                s0, s1 = name_core(sent, s0, s1)
            if 1 <= s1 - s0 <= VALUE_MAX_CHARS and has_word(sent[s0:s1]) and sent[s0:s1] not in q.text:
                return Candidate(s0, s1, True)
    return None


def _predicate(q: Question, sent: str, topic: str, attr: str) -> Candidate | None:
    """What a sentence that opens with the topic says it is: ``X（…），Z`` or ``X是Z``."""
    pos = sent.find(topic) if len(topic) >= 2 else -1
    if pos < 0 or sent[clause_start(sent, pos):pos].strip("“「『《 "):
        return None
    j = pos + len(topic)
    while not _NAME_ATTRS.search(attr) and (br := BRACKET_AT.match(sent, j)):
        j = br.end()  # an alias or the dates in brackets are not what X is
    lead = _TOPIC_LEAD.match(sent, j)
    if not lead:
        return None
    start = lead.end()
    if not _NAME_ATTRS.search(attr):
        while _ASIDE_CLAUSE.match(sent, start) and clause_end(sent, start) < len(sent) - 1:
            start = clause_end(sent, start) + 1
    s0, s1 = trim(sent, start, clause_end(sent, start))
    c = _stated(sent, s0, s1)
    return c if c is not None and sent[s0:s1] not in q.text else None


def copula_candidate(q: Question, sent: str) -> Candidate | None:
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
    c = _attribute_value(q, sent, attr)
    if c is not None:
        return c
    if q.qtype not in ("what", "why"):
        return None  # X是谁 / X在哪里: what follows X describes X, it is no name or place
    return _predicate(q, sent, topic, attr)
