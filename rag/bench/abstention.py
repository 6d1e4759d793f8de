"""The declining-curve rows of a benchmark run (``abstention``, ``abstention:rules``).

The first N questions are asked twice more, by a copy of each system that never declines
(thresholds 0): once from the top of their normal ranking, once with their own paragraph's
chunks removed from it (:func:`rag.bench.declining.run_trials`). The confidences give the
curve of declining against the threshold, its operating point and the point of the threshold
in use (:mod:`rag.bench.declining`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.bench.asking import BenchRun, quietly
from rag.bench.declining import REMOVAL_DEPTH, best_mixed, curve, default_thresholds, operating_point, run_trials
from rag.bench.system import bench_system
from rag.pipeline import QASystem
from rag.types import Answer, Document, Passage

#: Settings that make a system give every span it finds, whatever its confidence.
NEVER_DECLINE = {"answer.min_confidence": 0.0, "reader.min_confidence": 0.0}


def abstention_rows(run: BenchRun, docs: Sequence[Document], index_dir: Path, count: int) -> dict[str, dict[str, Any]]:
    """The declining curve of every system of the run.

    Args:
        run: the run.
        docs: the corpus of its systems.
        index_dir: their index.
        count: how many of the run's questions to ask (the first ones).

    Returns:
        The rows by key (``abstention<suffix>``): ``questions``, ``curve``, ``best``, ``best_mixed``,
        ``current`` (the point of the threshold in use) and ``seconds``.
    """
    asked = run.questions[:count]
    rows = {}
    for suffix, system in run.systems:
        key = "abstention" + suffix
        rows[key] = _curve_row(run, system, docs, index_dir, asked)
        run.say(f"{run.name} {key}: best {rows[key]['best']}")
    return rows


def _curve_row(run: BenchRun, system: QASystem, docs: Sequence[Document], index_dir: Path,
               asked: Sequence[Any]) -> dict[str, Any]:
    """One system's curve: its never-declining copy answers from the primary system's rankings."""
    never = bench_system(docs, index_dir, system.settings.with_overrides(NEVER_DECLINE), run.memo)
    top_k = system.settings.retrieval.top_k
    t_mode = time.perf_counter()

    def ask_from(question: str, passages: list[Passage]) -> Answer | None:
        return quietly(lambda: never.answer(question, passages, top_k=top_k))

    def ranking(question: str) -> list[Passage]:
        with run.memo.reuse():
            return quietly(lambda: run.qa.search(question, top_k=REMOVAL_DEPTH)) or []

    trials = run_trials(ask_from, ranking, asked, run.qa.settings.retrieval.top_k)
    points = curve(trials, default_thresholds(trials))
    in_use = system.settings.reader.min_confidence if system.uses_reader() else system.settings.answer.min_confidence
    return {"questions": len(asked), "curve": points, "best": operating_point(points), "best_mixed": best_mixed(points),
            "current": curve(trials, [in_use])[0], "seconds": round(time.perf_counter() - t_mode, 2)}
