"""The gold-paragraph rows of a benchmark run (``oracle``, ``oracle:rules``).

Each system is given one question's paragraph as if it were its whole corpus: that paragraph's
chunks, ranked by the usual retrieval scores computed over them alone
(:meth:`~rag.pipeline.QASystem.retrieve_within`, untimed), and answers from them
(:meth:`~rag.pipeline.QASystem.answer`, timed): the whole answer path except retrieval. This row
compares with published reader-only results.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from rag.bench.asking import BenchRun, Scored, quietly
from rag.bench.figures import answer_figures
from rag.bench.metrics import exact_match, f1_score
from rag.pipeline import QASystem


def oracle_rows(run: BenchRun, predict: bool) -> dict[str, dict[str, Any]]:
    """Answer every question from its gold paragraph alone, once per system.

    Args:
        run: the run (its details are filled in).
        predict: take the predictions from the primary system's answers (no retrieval mode ran).

    Returns:
        The rows by key (``oracle<suffix>``): EM, F1, declines, ``answer_ms_p50`` and ``seconds``.
    """
    rows = {}
    for suffix, system in run.systems:
        key = "oracle" + suffix
        rows[key] = row = _oracle_row(run, key, system, predict and not suffix)
        run.say(f"{run.name} {key}: F1 {row['f1']:.1f}  EM {row['em']:.1f}")
    return rows


def _oracle_row(run: BenchRun, key: str, system: QASystem, predict: bool) -> dict[str, Any]:
    """One system's gold-paragraph row."""
    t_mode = time.perf_counter()
    top_k = system.settings.retrieval.top_k
    scored: list[Scored] = []
    lat: list[float] = []
    for q, d in zip(run.questions, run.details):
        passages = quietly(lambda: system.retrieve_within(system.analyse(q.question), q.doc, top_k=top_k)) or []
        t = time.perf_counter()
        ans = quietly(lambda: system.answer(q.question, passages, top_k=top_k))
        lat.append((time.perf_counter() - t) * 1000)
        text = ans.answer if ans is not None else None
        scored.append((text, q.answers))
        d[key] = {"answer": text, "f1": round(f1_score(text, q.answers), 4), "em": exact_match(text, q.answers)}
        run.notes.note(key, ans, q.answers, d[key], primary=system is run.qa)
        if predict:
            run.predictions[q.qid] = text or ""
    return {**answer_figures(scored), "answer_ms_p50": statistics.median(lat) if lat else float("nan"),
            "seconds": round(time.perf_counter() - t_mode, 2)}
