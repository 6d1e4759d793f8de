"""``rag eval``: retrieval and answer quality on a SQuAD-format reading-comprehension set.

Every paragraph of the file is one document of a single corpus (all of them are
indexed, also with ``--limit``, so that retrieval stays honest). The index is
built with the normal pipeline into a cache directory keyed by the file's hash,
the model and the index settings, so a re-run reuses the embedded index. Every
question then goes through the normal answer path
(:meth:`rag.pipeline.QASystem.ask`), once per retrieval mode.

Reported per mode: retrieval Recall@1/@3/@5 and MRR@10 (a passage counts when it
comes from the question's paragraph), end-to-end EM and F1 (CMRC 2018 metric,
:mod:`rag.bench.metrics`, best over the gold answers), how often it declined, and the
latency per question (median and p95, model loaded, retrieval + answer), and the same
EM and F1 by gold-answer length and by question type (:mod:`rag.bench.breakdown`). One
more row, ``oracle``, gives the system the gold paragraph alone as its corpus
(its chunks, ranked by the same retrieval scores over that paragraph): that is
comparable with published reader-only results. Also: index build throughput
and the process's peak RSS.

The parts live beside this module: the caches in :mod:`rag.bench.cache`, the
systems under test and their cached index in :mod:`rag.bench.system`, the
per-question loop in :mod:`rag.bench.asking`, the gold-paragraph rows in
:mod:`rag.bench.oracle`, the declining curve in :mod:`rag.bench.abstention`, the
figures, facts about the run and the summary table in :mod:`rag.bench.figures`.

Example::

    rag eval cmrc --limit 300                  # short names: cmrc, drcd, xquad
    rag eval cmrc --json --predictions pred.json --modes hybrid,bm25
    rag eval ../shared/bench/drcd/DRCD_dev.json --data ../shared/bench
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.bench.abstention import abstention_rows
from rag.bench.asking import WARMUP, BenchRun, Notes, ask_modes, warm_up
from rag.bench.breakdown import breakdown, detail_rows
from rag.bench.cache import EmbeddingCache, QueryMemo
from rag.bench.figures import code_version, machine_info, peak_rss_mb
from rag.bench.oracle import oracle_rows
from rag.bench.squad import SquadSet
from rag.bench.system import bench_system, default_index_dir, ensure_bench_index, systems_under_test
from rag.choices import RetrievalMode
from rag.config import Settings
from rag.embed.protocol import Encoder

__all__ = ["MODES", "WARMUP", "EvalResult", "run_eval"]

#: The retrieval modes, one row each by default.
MODES = RetrievalMode.values()


@dataclass
class EvalResult:
    """Everything one evaluation measured."""

    summary: dict[str, Any]
    predictions: dict[str, str]                 # question id -> answer ("" when declined), first mode
    details: list[dict[str, Any]] = field(default_factory=list)


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux
        return None


def run_eval(sset: SquadSet, encoder: Encoder, settings: Settings | None = None, index_dir: Path | str | None = None,
             modes: Sequence[str] = MODES, limit: int | None = None, oracle: bool = True,
             cache_dir: Path | str | None = None, embed_cache: Path | str | None = None,
             show_progress: bool = False, progress: Callable[[str], None] | None = None,
             compare_rules: bool = True, abstention: int = 0) -> EvalResult:
    """Index every paragraph of a set, ask its questions, and measure.

    Args:
        sset: the set (all paragraphs are indexed).
        encoder: the embedding model.
        settings: pipeline settings (default ``Settings.from_env()``).
        index_dir: where the index lives (default: a cache folder keyed by file, model and settings).
        modes: retrieval modes (:class:`~rag.choices.RetrievalMode` or names), one row each; the
            predictions are those of the first.
        limit: ask only the first N questions.
        oracle: also answer from the gold paragraph alone.
        cache_dir: root of the default index folders.
        embed_cache: folder of an :class:`~rag.bench.cache.EmbeddingCache` (passage vectors by text), or None.
        show_progress: progress bar while embedding.
        progress: called with a short line now and then.
        compare_rules: when the trained reader answers, also run the rule-based extractor on
            the same passages (rows ``<mode>:rules`` and ``oracle:rules``).
        abstention: ask the first N questions also without their own paragraph and report the
            declining curve (:mod:`rag.bench.declining`); 0 skips it.

    Returns:
        The result.

    Raises:
        SettingsError: an unknown retrieval mode (a ``ValueError``).
    """
    t_start = time.perf_counter()
    settings = settings or Settings.from_env()
    modes = [RetrievalMode.from_str(m).value for m in modes]
    say = progress or (lambda s: None)
    cache = EmbeddingCache(encoder, embed_cache) if embed_cache else None
    memo = QueryMemo(cache or encoder)
    index_dir = Path(index_dir) if index_dir else default_index_dir(sset, settings, encoder.name,
                                                                    Path(cache_dir) if cache_dir else None)
    docs = sset.documents()
    qa = bench_system(docs, index_dir, settings, memo)
    say(f"{sset.name}: indexing {len(sset.paragraphs)} paragraphs in {index_dir}")
    index_info = ensure_bench_index(qa, index_dir, show_progress, cache)
    say(f"{sset.name}: {index_info['chunks']} chunks ({'reused' if index_info['reused'] else 'built'})")
    run = BenchRun(sset.name, systems_under_test(qa, docs, index_dir, memo, compare_rules), memo,
                   list(sset.questions[:limit] if limit else sset.questions), Notes(qa.uses_reader()), say)
    load_before = _loadavg()
    code = code_version()   # at the start: commits made while a long run goes on are not what it measured
    warm_up(run, modes)
    rows, loop_s = ask_modes(run, modes)
    parts: dict[str, Any] = {"modes": rows, "oracle_rows": oracle_rows(run, predict=not modes) if oracle else {}}
    parts["reader_alone"] = run.notes.rows()
    for key, row in parts["reader_alone"].items():
        say(f"{sset.name} {key}, reader alone: F1 {row['f1']:.1f}  EM {row['em']:.1f}")
    parts["abstention"] = abstention_rows(run, docs, index_dir, abstention) if abstention else {}
    _add_breakdowns(parts, run.details, settings)
    summary = _summary(sset, encoder, settings, limit, run, index_info, parts)
    summary.update(questions_seconds=round(loop_s, 2), load_avg={"before": load_before, "after": _loadavg()},
                   peak_rss_mb=round(peak_rss_mb(), 1), seconds=round(time.perf_counter() - t_start, 2),
                   date=time.strftime("%Y-%m-%dT%H:%M:%S"), machine=machine_info(), code=code)
    return EvalResult(summary, run.predictions, run.details)


def _add_breakdowns(parts: dict[str, Any], details: list[dict[str, Any]], settings: Settings) -> None:
    """Give every answering row its F1/EM by gold-answer length and by question type
    (:mod:`rag.bench.breakdown`), from the per-question details the rows were scored on."""
    for group, column in (("modes", "answer"), ("oracle_rows", "answer"), ("reader_alone", "reader_alone")):
        for key, row in parts[group].items():
            row.update(breakdown(detail_rows(details, key, column), settings))


def _summary(sset: SquadSet, encoder: Encoder, settings: Settings, limit: int | None, run: BenchRun,
             index_info: dict[str, Any], parts: dict[str, Any]) -> dict[str, Any]:
    """The summary's figures, in the order of the JSON written by ``rag eval --json``."""
    r = settings.retrieval
    return {
        "set": sset.name, "file": sset.path, "sha256": sset.sha256,
        "paragraphs": len(sset.paragraphs), "questions_total": len(sset.questions), "questions": len(run.questions),
        "limit": limit, "model": encoder.name,
        "settings": {**settings.index_params(), "top_k": r.top_k, "candidates": r.candidates, "fusion": r.fusion,
                     "min_confidence": settings.answer.min_confidence, "reader": settings.reader.weights,
                     "reader_min_confidence": settings.reader.min_confidence,
                     "store": settings.store.kind.value},   # never the URI: it may carry a token
        "index": index_info, "modes": parts["modes"], "oracle": parts["oracle_rows"].get("oracle"),
        "oracle_rows": parts["oracle_rows"], "oracle_passages": "gold paragraph's chunks, ranked over that paragraph",
        "reader": run.qa.reader_info(), "reader_alone": parts["reader_alone"], "abstention": parts["abstention"],
    }
