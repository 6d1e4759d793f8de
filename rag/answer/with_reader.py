"""From retrieved passages to an :class:`Answer` with the trained reader beside the rules.

The reader reads the top passages (each through overlapping windows) and
scores every span; a span's reading score adds the passage's retrieval score,
so a strong passage wins a close call. The rule-based :class:`~rag.answer.rules.RuleAnswerer` finds
its own span too. One confidence model judges both: the rules' named evidence
(names of the question near the answer, the expected type, overlap…, see
:mod:`rag.answer.confidence`) is computed for the reader's span as well, and the
reader's answer-over-no-answer margin moves its confidence up or down (a span about another
place than the one asked loses the reader's bias: the reader cannot tell whose figure it read). Spans
that name who says something (《措施》 of 《措施》提出，…) are passed over and a
leading "…提出，" frame is cut, for news-style text. The
reader's span is the answer unless the reader itself prefers "no answer" and
the rules are more confident, or the rules' span is a list or title asked for,
or adds to the reader's only what the question names (``Settings.reader.shape``); a
person's name never answers an organisation or number question. The
confidence is the higher of the two, and
below ``Settings.reader.min_confidence`` the system declines. The reader alone is
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
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from rag.answer.pairs import respectively
from rag.answer.reader_spans import clean_span, drop_question_echo, drop_reporting_frame, names_the_source, \
    title_before, trim_particles, wrong_type_name
from rag.answer.rules import RuleAnswerer, cite_first
from rag.answer.scoring import sentence_at
from rag.answer.shaping import grown_span, rules_know_better, same_span
from rag.choices import SpanCheck
from rag.config import Settings
from rag.query.question import Question, identity_name
from rag.query.types import Query
from rag.reader.protocol import SpanReader
from rag.types import Answer, Passage, ReaderVerdict, ReadSpan, Span, Trace

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class _Pick:
    """The reader's first acceptable span: a:b into ``passage``'s chunk text (as read: read_a:read_b)."""

    total: float
    score: float
    null: float
    passage: Passage
    read_a: int
    read_b: int


class ReaderAnswerer:
    """Answers with the trained reader beside the rules (an :class:`~rag.answer.protocol.Answerer`)."""

    def __init__(self, reader: SpanReader, rules: RuleAnswerer, settings: Settings | None = None) -> None:
        """Combine a loaded reader with the rule-based answerer.

        Args:
            reader: a :class:`~rag.reader.protocol.SpanReader`.
            rules: the rule-based answerer over the same index (fallback and name evidence).
            settings: the ``reader`` section is read.
        """
        self.reader = reader
        self.rules = rules
        self.settings = settings or rules.settings
        # The rules' span with its confidence even when the rules alone would decline: the
        # decision to decline is taken here, once, for whichever span is picked.
        self._rules_never = RuleAnswerer(rules.settings.with_overrides({"answer.min_confidence": 0.0}), rules.idf)

    def answer(self, query: Query, passages: Sequence[Passage], top_k: int | None = None) -> Answer:
        """See :class:`~rag.answer.protocol.Answerer`; ``answer`` is None when declined, ``trace`` holds
        both candidates and which one was taken (``picked``)."""
        rule = self._rules_never.answer(query, passages, top_k=top_k)
        if not query.analysis.qword:
            # A keyword query or a bare 那宁夏呢? names no gap to fill: the best whole sentence
            # answers it (the rules' choice), not a fragment the reader would pick.
            return self._decide(rule)
        read = list(passages[: self.settings.reader.passages])
        t0 = time.perf_counter()
        spans = self.reader.read(query.folded, [p.chunk.text for p in read]) if read else []
        reader_ms = (time.perf_counter() - t0) * 1000
        weight = self.settings.reader.retrieval_weight
        # Best total first (a stable sort keeps the reader's order among ties): the first span that
        # passes the checks is the pick, and the jieba-based checks stop there.
        ranked = sorted(((sp.score + weight * read[sp.passage].score, sp) for sp in spans), key=lambda x: -x[0])
        trace = Trace(rules_answer=rule.answer, rules_confidence=rule.confidence,
                      reader_alone=_alone(ranked, read))
        pick = self._first_acceptable(query.folded, query.analysis, ranked, read, self.settings.reader.check_set)
        if pick is None:
            return self._decide(replace(rule, trace=trace))
        return self._weigh(query, passages, top_k, rule, trace, pick, reader_ms)

    @staticmethod
    def _first_acceptable(question: str, q: Question, ranked: Sequence[tuple[float, object]],
                          read: Sequence[Passage], checks: frozenset[SpanCheck] = frozenset(SpanCheck)) -> _Pick | None:
        """The best-ranked span that survives the checks, cleaned."""
        for total, sp in ranked:
            p = read[sp.passage]
            a, b = clean_span(p.chunk.text, sp.start, sp.end)
            if SpanCheck.PARTICLES in checks:
                a, b = clean_span(p.chunk.text, *trim_particles(p.chunk.text, a, b))
            if SpanCheck.FRAME in checks:
                a, b = clean_span(p.chunk.text, drop_reporting_frame(p.chunk.text, a, b), b)
            if SpanCheck.ECHO in checks:
                a, b = clean_span(p.chunk.text, drop_question_echo(p.chunk.text, a, b, q.left), b)
            piece = p.chunk.text[a:b]
            if not piece or piece in question:
                continue  # a span the question already states answers nothing
            if SpanCheck.SOURCE in checks and q.qtype not in ("person", "org", "title") \
                    and names_the_source(p.chunk.text, a, b, question):
                continue  # the speaker of 《措施》提出… is not what was asked
            if SpanCheck.TYPE in checks and wrong_type_name(p.chunk.text, a, b, q.qtype):
                continue  # …主任王海峰说 read for 哪个机构: the name beside the office, not the office
            return _Pick(total, sp.score, sp.null_score, p, a, b)
        return None

    def _weigh(self, query: Query, passages: Sequence[Passage], top_k: int | None, rule: Answer, trace: Trace,
               pick: _Pick, reader_ms: float) -> Answer:
        """The reader's span against the rules': which span, with what confidence."""
        s, q, p = self.settings.reader, query.analysis, pick.passage
        checks = s.check_set
        a, b = pick.read_a, pick.read_b
        if SpanCheck.RESPECTIVELY in checks:
            a, b = self._respectively(q, p.chunk.text, a, b)
        name = identity_name(q)
        if name and SpanCheck.TITLE in checks:
            a, b = title_before(p.chunk.text, a, b, name)
        margin = pick.score - pick.null
        judged, feats = self.rules.judge(query, passages, p, a, b)
        # Who someone is: the title is the answer; the rules would add the name the question asks about.
        shaped = rule.found and not name and rules_know_better(q, rule, p, a, b, s.shape, s.lists_anywhere)
        # The reader reads words, not whose figure they are: a span in another place's clause keeps its
        # margin, so the place conflict the rules weigh is weighed again after the reader's bias.
        penalty = s.conflict_penalty if feats.get("conflict") else 0.0
        conf = reader_confidence(judged, margin, s.margin_center, s.margin_weight, s.bias - penalty)
        verdict = ReaderVerdict(text=p.chunk.text[a:b], score=round(pick.score, 3), null=round(pick.null, 3),
                                margin=round(margin, 3), total=round(pick.total, 3), judged=round(judged, 4),
                                confidence=round(conf, 4), ms=round(reader_ms, 2), features=feats)
        trace = replace(trace, reader=verdict)
        if SpanCheck.OVERRIDE in checks and rule.found and rule.confidence > conf \
                and (margin < 0 or conf < s.veto_confidence):
            # the reader itself scores "no answer here" above its span, or the names evidence all but
            # rules its span out (a person where an office is asked): the rules' span stands
            return self._decide(replace(rule, trace=trace))
        if margin < 0 and (a, b) == (pick.read_a, pick.read_b) and not shaped:
            # The reader keeps its span, which it scores below "no answer" (the span as read: no 分别
            # item, title before a name or rules' list): the bias that won it the span against the
            # rules is no evidence that the answer is here, and the rules' confidence in that same
            # span is not either (上海对智能芯片企业最高奖励多少?: 10% is another clause's rental subsidy).
            # times the reader's own odds of its span over "no answer" (below one half): both must hold
            conf = reader_confidence(judged, margin, s.margin_center, s.margin_weight, -penalty) \
                / (1.0 + math.exp(-margin))
            trace = replace(trace, reader=replace(verdict, doubted=True))
            if rule.found and not same_span(rule, p, a, b):
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
            grown = grown_span(q, rule, p, a, b)
            if grown is None:
                return self._decide(replace(rule, confidence=round(conf, 4),
                                            trace=replace(trace, picked="rules (shape)")))
            (a, b), picked = grown, "rules (shape)"
        return self._decide(self._build(query, passages, top_k, p, a, b, conf, feats, replace(trace, picked=picked)))

    def _build(self, query: Query, passages: Sequence[Passage], top_k: int | None, p: Passage, a: int, b: int,
               conf: float, feats: dict[str, float], trace: Trace) -> Answer:
        """The answer a:b of ``p``'s chunk, its sentence, and ``p`` cited first."""
        chunk = p.chunk
        top = list(passages[:top_k] if top_k else passages)
        x = sentence_at(chunk.text, a, self.settings.chunk.max_sentence_chars)
        sent = (x.start, x.end) if x is not None else (a, b)
        return Answer(
            question=query.folded, answer=chunk.text[a:b], confidence=round(conf, 4),
            answer_span=Span(chunk.doc, chunk.start + a, chunk.start + b), citations=cite_first(p, top),
            sentence_span=Span(chunk.doc, chunk.start + min(sent[0], a), chunk.start + max(sent[1], b)),
            cited_rank=1, features=feats, trace=trace)

    def _respectively(self, q: Question, text: str, a: int, b: int) -> tuple[int, int]:
        """成都、宁夏…分别1000万元、4000万元 asked about 宁夏: the reader tends to take the first
        value; the rules know the value in the asked item's position (:func:`respectively`)."""
        sent = sentence_at(text, a, self.settings.chunk.max_sentence_chars)
        if sent is None or b > sent.end:
            return a, b
        paired = respectively(q, text[sent.start:sent.end], (a - sent.start, b - sent.start))
        if paired is None:
            return a, b  # another place's figure: the place conflict weighs it, the span stays
        return sent.start + paired[0], sent.start + paired[1]

    def _decide(self, ans: Answer) -> Answer:
        """Withhold an answer below the threshold (the span stays in ``withheld``)."""
        if not ans.found or ans.confidence >= self.settings.reader.min_confidence:
            return ans
        return replace(ans, answer=None, answer_span=None, sentence_span=None, cited_rank=None, withheld=ans.answer)


def _alone(ranked: Sequence[tuple[float, object]], read: Sequence[Passage]) -> ReadSpan | None:
    """What the reader alone would answer (no checks, no rules, never declined): the benchmarks'
    "reader alone" rows, the figure to set beside published readers given the same passages."""
    if not ranked:
        return None
    top = ranked[0][1]
    chunk = read[top.passage].chunk
    return ReadSpan(chunk.text[top.start:top.end], chunk.chunk_id, top.start, top.end)
