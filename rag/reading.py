"""From retrieved passages to an :class:`Answer` with the trained reader beside the rules.

The reader reads the top passages (each through overlapping windows) and
scores every span; a span's reading score adds the passage's retrieval score,
so a strong passage wins a close call. The rule-based :class:`Answerer` finds
its own span too. One confidence model judges both: the rules' named evidence
(names of the question near the answer, the expected type, overlap…, see
:mod:`rag.confidence`) is computed for the reader's span as well, and the
reader's answer-over-no-answer margin moves its confidence up or down (a span about another
place than the one asked loses the reader's bias: the reader cannot tell whose figure it read). Spans
that name who says something (《措施》 of 《措施》提出，…) are passed over and a
leading "…提出，" frame is cut, for news-style text. The
reader's span is the answer unless the reader itself prefers "no answer" and
the rules are more confident, or the rules' span is a list or title asked for,
or adds to the reader's only what the question names (``reader_shape``); a
person's name never answers an organisation or number question. The
confidence is the higher of the two, and
below ``reader_min_confidence`` the system declines. The reader alone is
over-confident on questions the documents do not answer (it learned from
questions that always had an answer); the names evidence is what catches those.

>>> round(reader_confidence(0.5, margin=6.0, center=6.0, weight=0.2, bias=0.0), 3)
0.5
>>> reader_confidence(0.5, margin=10.0, center=6.0, weight=0.2, bias=0.0) > 0.5
True
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from rag.answering import Answerer, cite_first
from rag.config import Settings
from rag.extraction import person_spans, respectively
from rag.question import analyze, identity_name
from rag.sentences import split_sentences
from rag.types import Answer, Passage, Span

log = logging.getLogger(__name__)

#: Characters never kept at either end of a reader span.
_EDGE = set(" \t\r\n\u3000，。、；：！？,.;:!?…—-·")


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def reader_confidence(judged: float, margin: float, center: float, weight: float, bias: float) -> float:
    """The confidence of a reader span: the judged confidence, moved by the reader's margin.

    Args:
        judged: the confidence model's verdict on the span (0–1).
        margin: the span's score minus its window's no-answer score (logits).
        center: the margin that leaves ``judged`` unchanged.
        weight: log-odds added per logit of margin above ``center``.
        bias: log-odds added to every reader span.

    Returns:
        A confidence in (0, 1).
    """
    return 1.0 / (1.0 + math.exp(-(_logit(judged) + weight * (margin - center) + bias)))


def clean_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop spaces and punctuation at the ends of a span, keeping 《》 and quotes balanced.

    A title that fills its 《》 exactly is returned with them.

    Args:
        text: the passage.
        start: span start.
        end: span end.

    Returns:
        The narrowed (start, end); empty when nothing but punctuation was inside.
    """
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    for a, b in ("《》", "“”", "（）", "()", "「」"):
        piece = text[start:end]
        if piece.count(a) > piece.count(b) and text[end:end + 1] == b:
            end += 1
        elif piece.count(b) > piece.count(a) and start > 0 and text[start - 1] == a:
            start -= 1
    if start > 0 and text[start - 1] == "《" and text[end:end + 1] == "》":
        start, end = start - 1, end + 1  # a title is quoted whole, as the document writes it
    return start, end


#: Function words that are never an answer's first or last word (1789年的 → 1789年, 在中国 → 中国).
_LEADING_WORDS = frozenset("在于从自")
_TRAILING_WORDS = frozenset("的了")


def trim_particles(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop a leading preposition and a trailing particle that stand as words of their own.

    The reader's subword tokens can join a particle to the answer (年的 is one token), so its
    span may end on 的 where the answer ends a character earlier. jieba decides what is a word
    of its own: 目的 and 在线 stay whole.

    >>> t = "条约于1789年的夏天签订"
    >>> t[slice(*trim_particles(t, 3, 9))]
    '1789年'
    >>> t = "他的目的"
    >>> t[slice(*trim_particles(t, 2, 4))]
    '目的'

    Args:
        text: the passage.
        start: span start.
        end: span end.

    Returns:
        The narrowed (start, end); a span of a single word is kept as it is.
    """
    import jieba

    words = jieba.lcut(text[start:end], HMM=False)
    while len(words) > 1 and words[-1] in _TRAILING_WORDS:
        end -= len(words.pop())
    while len(words) > 1 and words[0] in _LEADING_WORDS:
        start += len(words.pop(0))
    return start, end


#: Verbs that end a "who says" frame: 《措施》提出，… / 报告指出：… (a source, then what it says).
_REPORTING = ("提出", "指出", "表示", "强调", "明确", "要求", "显示")


def drop_reporting_frame(text: str, start: int, end: int, max_frame: int = 12) -> int:
    """The start of a span past a leading "source says," frame.

    The reader sometimes starts a span at the sentence's source (《措施》提出，建设…中心): what the
    source says is the answer, the frame is not.

    >>> t = "《措施》提出，建设国家级大模型测试验证与协同创新中心。"
    >>> t[drop_reporting_frame(t, 0, len(t) - 1):-1]
    '建设国家级大模型测试验证与协同创新中心'
    >>> t = "他提出了三点，均获通过"
    >>> drop_reporting_frame(t, 0, len(t))
    0

    Args:
        text: the passage.
        start: span start.
        end: span end.
        max_frame: the longest frame dropped, in characters (verb and mark included).

    Returns:
        The new start (``start`` when there is no such frame or nothing would be left).
    """
    piece = text[start:end]
    for i, ch in enumerate(piece[: max_frame + 1]):
        if ch in "，,：:":
            if i + 1 < len(piece) and piece[:i].endswith(_REPORTING):
                return start + i + 1
            return start
    return start


def names_the_source(text: str, start: int, end: int, question: str) -> bool:
    """Whether a span is who says something (《措施》 in 《措施》提出…) where the question asks what.

    >>> t = "《措施》提出，建设测评中心。"
    >>> names_the_source(t, 0, 4, "上海要建设什么中心?"), names_the_source(t, 0, 4, "哪份文件提出建设测评中心?")
    (True, False)

    Args:
        text: the passage.
        start: span start.
        end: span end.
        question: the question (a question that uses the verb asks for the source).

    Returns:
        True when a reporting verb follows the span and the question does not use it.
    """
    return end > start and any(text.startswith(v, end) and v not in question for v in _REPORTING)


#: Question types whose answer is never a person's name alone (哪个机构 asked, 王海峰 read). On
#: CMRC 2018 dev no gold answer of these types is tagged a name; places and titles are left out
#: because jieba tags transliterated places (斯洛文尼亚, 科林斯) and a person's 原名 as names.
_NOT_A_PERSON = frozenset({"org", "number"})


def wrong_type_name(text: str, start: int, end: int, qtype: str) -> bool:
    """Whether a span is just a person's name where the question asks an organisation or number.

    >>> t = "百度首席技术官、深度学习技术及应用国家工程研究中心主任王海峰说。"
    >>> wrong_type_name(t, 27, 30, "org"), wrong_type_name(t, 27, 30, "person")
    (True, False)
    >>> wrong_type_name(t, 8, 25, "org")
    False

    Args:
        text: the passage.
        start: span start.
        end: span end.
        qtype: the question's type (:func:`rag.question.analyze`).

    Returns:
        True when the span is exactly a name :func:`rag.extraction.person_spans` finds in its context.
    """
    if qtype not in _NOT_A_PERSON:
        return False
    lo = max(0, start - 20)
    return (start - lo, end - lo) in person_spans(text[lo:end + 10])


#: Where a title before a name stops: any clause mark or quote, but not the 、 joining two titles.
_TITLE_BOUNDS = set("，。；：！？,.;:!?“”\"「」『』（）()\n")


def title_before(text: str, start: int, end: int, name: str, max_chars: int = 40) -> tuple[int, int]:
    """The whole title standing before ``name`` when a span lies in it: 王海峰是谁? read 首席技术官 in
    百度首席技术官、深度学习技术及应用国家工程研究中心主任王海峰说 and is answered with all of it.

    >>> t = "”百度首席技术官、深度学习技术及应用国家工程研究中心主任王海峰说。"
    >>> a, b = title_before(t, 3, 8, "王海峰"); t[a:b]
    '百度首席技术官、深度学习技术及应用国家工程研究中心主任'
    >>> title_before(t, 30, 31, "王海峰")  # not before the name: unchanged
    (30, 31)

    Args:
        text: the passage.
        start: span start.
        end: span end.
        name: the person asked about.
        max_chars: the longest title taken.

    Returns:
        The title's span, or ``(start, end)`` unchanged when the span is not in a title before the name.
    """
    at = text.find(name, end)
    if at < 0 or any(ch in _TITLE_BOUNDS for ch in text[end:at]):
        return start, end
    lo = start
    while lo > 0 and text[lo - 1] not in _TITLE_BOUNDS and at - (lo - 1) <= max_chars:
        lo -= 1
    if at - lo > max_chars or (lo > 0 and text[lo - 1] not in _TITLE_BOUNDS):
        return start, end
    return lo, at


#: Settings.reader_shape values: where the rules' fuller span may replace the reader's.
SHAPES = ("named", "lists", "all", "off")

#: Words that join the items of a coordination (战略路线和前沿技术咨询, 德大铁路、大莱龙铁路).
_COORDINATORS = ("和", "与", "及", "、", "以及")


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
    if not (qtype == "org" and not back and 0 < len(front) <= 12 and not _NAME_BREAKS.search(front)
            and not _DATE_TAIL.match(front)):
        return False
    # a phrase of three or more characters shared with the question is the question's frame; two are
    # often a coincidence of compounds (技术 of 深度学习技术 and of 首席技术官)
    return not any(front[i:i + 3] in question for i in range(len(front) - 2))


def _rules_span_around(rule: Answer, p: Passage, a: int, b: int) -> tuple[int, int] | None:
    """The rules' span in the coordinates of ``p``'s chunk, when it holds the reader's span a:b."""
    span = rule.answer_span
    if span is None or span.doc != p.chunk.doc:
        return None
    ra, rb = span.start - p.chunk.start, span.end - p.chunk.start
    return (ra, rb) if ra <= a and b <= rb else None


def _same_span(rule: Answer, p: Passage, a: int, b: int) -> bool:
    """Whether the rules' span is the reader's span a:b of ``p``'s chunk."""
    span = rule.answer_span
    return span is not None and span.doc == p.chunk.doc and (span.start, span.end) == (p.chunk.start + a, p.chunk.start + b)


class ReaderAnswerer:
    """Answers with the trained reader; the same interface as :class:`Answerer`."""

    def __init__(self, reader: Any, rules: Answerer, settings: Settings | None = None) -> None:
        """Combine a loaded reader with the rule-based answerer.

        Args:
            reader: a :class:`rag.reader.Reader`.
            rules: the rule-based answerer over the same index (fallback and name evidence).
            settings: the ``reader_*`` fields.
        """
        self.reader = reader
        self.rules = rules
        self.settings = settings or rules.settings
        if self.settings.reader_shape not in SHAPES:
            raise ValueError(f"reader_shape {self.settings.reader_shape!r}: choose from {', '.join(SHAPES)}")
        # The rules' span with its confidence even when the rules alone would decline: the
        # decision to decline is taken here, once, for whichever span is picked.
        self._rules_never = Answerer(replace(rules.settings, min_confidence=0.0), rules.idf)

    def answer(self, question: str, passages: Sequence[Passage], top_k: int | None = None) -> Answer:
        """Answer a question from retrieved passages.

        Args:
            question: the (validated, script-folded) question.
            passages: retrieved passages, best first.
            top_k: how many passages to cite (default: all given).

        Returns:
            The answer; ``answer`` is None when declined. ``extra`` holds both candidates
            (``rules``, ``reader``) and which one was taken (``picked``).
        """
        s = self.settings
        rule = self._rules_never.answer(question, passages, top_k=top_k)
        q = analyze(question)
        if not q.qword:
            # A keyword query or a bare 那宁夏呢? names no gap to fill: the best whole sentence
            # answers it (the rules' choice), not a fragment the reader would pick.
            return self._decide(replace(rule, extra={**rule.extra, "picked": "rules"}))
        read = list(passages[: s.reader_passages])
        t0 = time.perf_counter()
        spans = self.reader.read(question, [p.chunk.text for p in read]) if read else []
        reader_ms = (time.perf_counter() - t0) * 1000
        def total_of(sp: Any) -> float:
            return sp.score + s.reader_retrieval_weight * read[sp.passage].score

        # Best total first (a stable sort keeps the reader's order among ties): the first span that
        # passes the checks is the pick, and the jieba-based checks stop there.
        ranked = sorted(spans, key=lambda x: -total_of(x))
        # What the reader alone would answer (no checks, no rules, never declined): the benchmarks'
        # "reader alone" rows, the figure to set beside published readers given the same passages.
        alone = None
        if ranked:
            top, chunk0 = ranked[0], read[ranked[0].passage].chunk
            alone = {"text": chunk0.text[top.start:top.end], "chunk_id": chunk0.chunk_id,
                     "start": top.start, "end": top.end}
        best = None
        for sp in ranked:
            p = read[sp.passage]
            a, b = clean_span(p.chunk.text, sp.start, sp.end)
            a, b = clean_span(p.chunk.text, *trim_particles(p.chunk.text, a, b))
            a, b = clean_span(p.chunk.text, drop_reporting_frame(p.chunk.text, a, b), b)
            piece = p.chunk.text[a:b]
            if not piece or piece in question:
                continue  # a span the question already states answers nothing
            if q.qtype not in ("person", "org", "title") and names_the_source(p.chunk.text, a, b, question):
                continue  # the speaker of 《措施》提出… is not what was asked
            if wrong_type_name(p.chunk.text, a, b, q.qtype):
                continue  # …主任王海峰说 read for 哪个机构: the name beside the office, not the office
            best = (total_of(sp), sp, p, a, b)
            break
        rule_extra = {"answer": rule.answer, "confidence": rule.confidence}
        if best is None:
            return self._decide(replace(rule, extra={**rule.extra, "rules": rule_extra, "picked": "rules",
                                                     "reader_alone": alone}))
        total, sp, p, read_a, read_b = best
        a, b = self._respectively(q, p.chunk.text, read_a, read_b)
        name = identity_name(q)
        if name:
            a, b = title_before(p.chunk.text, a, b, name)
        margin = sp.score - sp.null_score
        judged, feats = self.rules.judge(question, passages, p, a, b)
        # Who someone is: the title is the answer; the rules would add the name the question asks about.
        shaped = rule.found and not name and self._rules_know_better(q, rule, p, a, b, s.reader_shape)
        # The reader reads words, not whose figure they are: a span in another place's clause keeps its
        # margin, so the place conflict the rules weigh is weighed again after the reader's bias.
        penalty = s.reader_conflict_penalty if feats.get("conflict") else 0.0
        conf = reader_confidence(judged, margin, s.reader_margin_center, s.reader_margin_weight, s.reader_bias - penalty)
        extra = {"reader": {"text": p.chunk.text[a:b], "score": round(sp.score, 3), "null": round(sp.null_score, 3),
                            "margin": round(margin, 3), "total": round(total, 3), "judged": round(judged, 4),
                            "confidence": round(conf, 4), "ms": round(reader_ms, 2), "features": feats},
                 "rules": rule_extra, "reader_alone": alone}
        if rule.found and rule.confidence > conf and (margin < 0 or conf < s.reader_veto_confidence):
            # the reader itself scores "no answer here" above its span, or the names evidence all but
            # rules its span out (a person where an office is asked): the rules' span stands
            return self._decide(replace(rule, extra={**rule.extra, **extra, "picked": "rules"}))
        if margin < 0 and (a, b) == (read_a, read_b) and not shaped:
            # The reader keeps its span, which it scores below "no answer" (the span as read: no 分别
            # item, title before a name or rules' list): the bias that won it the span against the
            # rules is no evidence that the answer is here, and the rules' confidence in that same
            # span is not either (上海对智能芯片企业最高奖励多少?: 10% is another clause's rental subsidy).
            # times the reader's own odds of its span over "no answer" (below one half): both must hold
            conf = reader_confidence(judged, margin, s.reader_margin_center, s.reader_margin_weight, -penalty) \
                / (1.0 + math.exp(-margin))
            extra["reader"]["doubted"] = True
            if rule.found and not _same_span(rule, p, a, b):
                conf = max(conf, rule.confidence)
        elif rule.found:
            # Both steps found a span in these passages: either one's confidence is evidence that the
            # answer is here, but the reader places it better (when the more confident rules overrode
            # it, they were right 5 times in 12 on held-out DRCD, 4 in 30 on a CMRC sample), so the
            # rules' confidence may keep the reader's span from being withheld, not replace it.
            conf = max(conf, rule.confidence)
        picked = "reader"
        if shaped:
            # the reader's evidence that the answer is here stands; the rules shape the span
            grown = self._grown_span(q, rule, p, a, b)
            if grown is None:
                return self._decide(replace(rule, confidence=round(conf, 4),
                                            extra={**rule.extra, **extra, "picked": "rules (shape)"}))
            (a, b), picked = grown, "rules (shape)"
        chunk = p.chunk
        top = list(passages[:top_k] if top_k else passages)
        sent = next(((x.start, x.end) for x in split_sentences(chunk.text, max_chars=s.max_sentence_chars,
                                                              heading_max_chars=0)
                     if x.start <= a < x.end), (a, b))
        return self._decide(Answer(
            question=question, answer=chunk.text[a:b], confidence=round(conf, 4),
            answer_span=Span(chunk.doc, chunk.start + a, chunk.start + b), citations=cite_first(p, top),
            sentence_span=Span(chunk.doc, chunk.start + min(sent[0], a), chunk.start + max(sent[1], b)),
            cited_rank=1, extra={**extra, "features": feats, "picked": picked}))

    @staticmethod
    def _rules_know_better(q: Any, rule: Answer, p: Passage, a: int, b: int, shape: str) -> bool:
        """Where the rules' typed span beats the reader's whatever the scores (``Settings.reader_shape``).

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
        feats = rule.extra.get("features") or {}
        if q.qtype == "title" and feats.get("typed"):
            return True   # the full 《title》 wherever it stands: the reader often takes the abbreviation
        if q.qtype == "list" and feats.get("typed") and (
                shape != "named" or q.qword in ("哪些", "哪几") or _rules_span_around(rule, p, a, b)):
            # 哪些/哪几 ask for several items: the rules' list wherever it stands (the reader often reads
            # one item of another sentence). A list guessed from a hint word (包括什么) must hold the
            # reader's span: 电影、娱乐和新闻 elsewhere does not answer BSkyB的体育内容包括什么 (英超联赛).
            return True
        if shape == "lists":
            return False
        around = _rules_span_around(rule, p, a, b)
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
        if around[1] == b and extra <= 12 and "，" not in (rule.answer or "") and "," not in (rule.answer or ""):
            # the same noun phrase with its modifiers: 深度学习技术及应用国家工程研究中心 for 国家工程研究中心
            return True
        return bool(feats.get("typed") or feats.get("head_match")) and extra <= 8

    @staticmethod
    def _grown_span(q: Any, rule: Answer, p: Passage, a: int, b: int) -> tuple[int, int] | None:
        """The rules' fuller span without the question's own verb in front, or None to take theirs.

        Asked 广东将建设什么平台…?, the rules may grow 人工智能反诈平台 to 建设人工智能反诈平台: a
        verb (or preposition) of the question at the head of the span is the question's frame,
        not part of the name, and is dropped. A name the question also states stays
        (北京市经济和信息化局 asked about 北京市), and titles are quoted whole.
        """
        import jieba.posseg

        around = _rules_span_around(rule, p, a, b)
        if around is None or q.qtype == "title" or around[0] < 0 or around[1] > len(p.chunk.text):
            return None
        ra, rb = around
        start = ra
        for w in jieba.posseg.lcut(p.chunk.text[ra:a], HMM=False):
            if w.word not in q.text or w.flag[:1] not in ("v", "p"):
                break
            start += len(w.word)
        return (start, rb) if start > ra else None

    def _respectively(self, q: Any, text: str, a: int, b: int) -> tuple[int, int]:
        """成都、宁夏…分别1000万元、4000万元 asked about 宁夏: the reader tends to take the first
        value; the rules know the value in the asked item's position (:func:`respectively`)."""
        sent = next((x for x in split_sentences(text, max_chars=self.settings.max_sentence_chars,
                                                heading_max_chars=0) if x.start <= a < x.end), None)
        if sent is None or b > sent.end:
            return a, b
        paired = respectively(q, text[sent.start:sent.end], (a - sent.start, b - sent.start))
        if paired is None:
            return a, b  # another place's figure: the place conflict weighs it, the span stays
        return sent.start + paired[0], sent.start + paired[1]

    def _decide(self, ans: Answer) -> Answer:
        """Withhold an answer below the threshold (the span stays in ``extra["withheld"]``)."""
        if not ans.found or ans.confidence >= self.settings.reader_min_confidence:
            return ans
        return replace(ans, answer=None, answer_span=None, sentence_span=None, cited_rank=None,
                       extra={**ans.extra, "withheld": ans.answer})
