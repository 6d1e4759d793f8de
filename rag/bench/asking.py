"""The per-question loop of a benchmark run: every question, every retrieval mode, every system.

:class:`BenchRun` is what one run shares (its systems, the query-vector memo, the questions and
what is recorded per question); :func:`ask_modes` asks every question through the normal answer
path (:meth:`~rag.pipeline.QASystem.ask`, timed) once per mode and system, and scores the
ranking of the same question (:meth:`~rag.pipeline.QASystem.search`, its query vector reused,
untimed). The gold-paragraph rows are in :mod:`rag.bench.oracle`, the declining curve in
:mod:`rag.bench.abstention`.

>>> quietly(lambda: 1 / 1), quietly(lambda: (_ for _ in ()).throw(QuestionError("empty")))
(1.0, None)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rag.bench.cache import QueryMemo
from rag.bench.figures import MRR_DEPTH, answer_figures, gold_rank, percentile, retrieval_figures
from rag.bench.metrics import exact_match, f1_score
from rag.bench.squad import Question
from rag.errors import QuestionError
from rag.pipeline import QASystem
from rag.types import Answer

#: Questions asked once, untimed, before the measured run.
WARMUP = 3

_T = TypeVar("_T")

#: One question's answer (None when declined) with its gold answers.
Scored = tuple[str | None, Sequence[str]]


def quietly(fn: Callable[[], _T]) -> _T | None:
    """``fn()``, or None when the question cannot be asked (empty or over-long: it counts as declined)."""
    try:
        return fn()
    except QuestionError:
        return None


class Notes:
    """What the details and the "reader alone" rows take from an answer besides its text.

    The withheld span (found, confidence below the threshold) goes into the question's details.
    Where the trained reader answers, the primary system's answers also give the reader's own best
    span (no rules, no checks, never declined: rows ``<key>:alone``); a question the answer step
    answered without asking the reader (no question word: the rules' sentence) counts with the
    answer given, in ``by_answer_step``.
    """

    def __init__(self, reads: bool) -> None:
        self.reads = reads
        self.alone: dict[str, list[Scored]] = {}
        self.by_answer_step: dict[str, int] = {}

    def note(self, key: str, ans: Answer | None, golds: Sequence[str], detail: dict[str, Any], primary: bool) -> None:
        """Record what ``ans`` says beyond its text.

        Args:
            key: the row (``hybrid``, ``oracle``, ``hybrid:rules``…).
            ans: the answer, or None when the question could not be asked.
            golds: the gold answers.
            detail: the question's details for this row (updated).
            primary: whether ``ans`` comes from the system under test (not the rules alone).
        """
        if ans is not None and ans.withheld:
            detail["withheld"] = ans.withheld
        if ans is None or not self.reads or not primary:
            return
        if ans.trace.rules_confidence is not None:   # the reader read (it weighs the rules' span)
            text = ans.trace.reader_alone.text if ans.trace.reader_alone is not None else None
        else:
            text = ans.answer
            self.by_answer_step[key] = self.by_answer_step.get(key, 0) + 1
        self.alone.setdefault(key, []).append((text, golds))
        detail["reader_alone"] = text

    def rows(self) -> dict[str, dict[str, Any]]:
        """The "reader alone" rows: EM, F1, declines and ``by_answer_step``, per row key."""
        return {key: {**answer_figures(scored), "by_answer_step": self.by_answer_step.get(key, 0)}
                for key, scored in self.alone.items()}


@dataclass
class BenchRun:
    """What one run shares while it asks: its systems, the memo, the questions and the records."""

    name: str                                   # the set's name, for progress lines
    systems: list[tuple[str, QASystem]]         # ("", the system under test) first, then (":rules", …)
    memo: QueryMemo                             # the encoder every system shares
    questions: list[Question]
    notes: Notes
    say: Callable[[str], None] = lambda s: None
    details: list[dict[str, Any]] = field(default_factory=list)
    predictions: dict[str, str] = field(default_factory=dict)   # question id -> answer ("" when declined)

    def __post_init__(self) -> None:
        if not self.details:
            self.details = [{"id": q.qid, "question": q.question, "golds": list(q.answers), "doc": q.doc}
                            for q in self.questions]

    @property
    def qa(self) -> QASystem:
        """The system under test."""
        return self.systems[0][1]


@dataclass
class _Tally:
    """What one row collects over the questions."""

    ranks: list[int | None] = field(default_factory=list)
    answers: list[Scored] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    reader_ms: list[float] = field(default_factory=list)    # the reader's own time, where it read


def warm_up(run: BenchRun, modes: Sequence[str]) -> None:
    """Ask the first :data:`WARMUP` questions untimed: they pay for lazy loading (jieba's POS model, torch kernels)."""
    for q in run.questions[:WARMUP]:
        for mode in modes:
            for _, system in run.systems:
                quietly(lambda: system.ask(q.question, mode=mode))


def ask_modes(run: BenchRun, modes: Sequence[str]) -> tuple[dict[str, dict[str, Any]], float]:
    """Ask every question in every mode through every system; the modes take turns on each question,
    so that a busy machine slows them alike.

    Args:
        run: the run (its details and predictions are filled in).
        modes: retrieval modes; the predictions are those of the first, primary system.

    Returns:
        The rows by key (``<mode><suffix>``: retrieval and answer figures, latency) and the loop's seconds.
    """
    keys = [mode + suffix for mode in modes for suffix, _ in run.systems]
    tallies = {k: _Tally() for k in keys}
    t_loop = time.perf_counter()
    for n, (q, d) in enumerate(zip(run.questions, run.details)):
        for mode in modes:
            with run.memo.reuse():
                passages = quietly(lambda: run.qa.search(q.question, top_k=MRR_DEPTH, mode=mode)) or []
            rank = gold_rank(passages, q.doc)
            for suffix, system in run.systems:
                key = mode + suffix
                text = _ask_one(run, system, mode, q, d, key, tallies[key], rank)
                if key == keys[0]:
                    run.predictions[q.qid] = text or ""
        if (n + 1) % 250 == 0:
            run.say(f"{run.name}: {n + 1}/{len(run.questions)} questions")
    loop_s = time.perf_counter() - t_loop
    rows = {key: _mode_row(tallies[key]) for key in keys}
    for key, row in rows.items():
        run.say(f"{run.name} {key}: R@5 {row['recall@5']:.3f}  F1 {row['f1']:.1f}  EM {row['em']:.1f}  "
                f"p50 {row['latency_ms_p50']:.1f} ms")
    return rows, loop_s


def _ask_one(run: BenchRun, system: QASystem, mode: str, q: Question, d: dict[str, Any], key: str,
             tally: _Tally, rank: int | None) -> str | None:
    """One timed ask, recorded in the tally and the question's details; returns the answer given."""
    t = time.perf_counter()
    ans = quietly(lambda: system.ask(q.question, mode=mode))
    ms = (time.perf_counter() - t) * 1000
    text = ans.answer if ans is not None else None
    tally.ms.append(ms)
    tally.ranks.append(rank)
    tally.answers.append((text, q.answers))
    d[key] = {"answer": text, "rank": rank, "f1": round(f1_score(text, q.answers), 4),
              "em": exact_match(text, q.answers), "ms": round(ms, 2),
              "confidence": ans.confidence if ans is not None else None}
    verdict = ans.trace.reader if ans is not None else None
    if verdict is not None:
        d[key]["reader_ms"] = verdict.ms
        tally.reader_ms.append(verdict.ms)
    run.notes.note(key, ans, q.answers, d[key], primary=system is run.qa)
    return text


def _mode_row(tally: _Tally) -> dict[str, Any]:
    """The figures of one row."""
    lat = tally.ms
    row = {**retrieval_figures(tally.ranks), **answer_figures(tally.answers),
           "latency_ms_p50": statistics.median(lat) if lat else float("nan"),
           "latency_ms_p95": percentile(lat, 95),
           "latency_ms_mean": statistics.fmean(lat) if lat else float("nan")}
    if tally.reader_ms:
        row["reader_ms_p50"] = statistics.median(tally.reader_ms)
        row["reader_ms_p95"] = percentile(tally.reader_ms, 95)
    return row
