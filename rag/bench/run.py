"""``rag eval``: retrieval and answer quality on a SQuAD-format reading-comprehension set.

Every paragraph of the file is one document of a single corpus (all of them are
indexed, also with ``--limit``, so that retrieval stays honest). The index is
built with the normal pipeline (:func:`rag.index.build.build_index`) into a cache
directory keyed by the file's hash, the model and the index settings, so a
re-run reuses the embedded index. Every question then goes through the normal
answer path (:meth:`rag.pipeline.QASystem.ask`), once per retrieval mode.

Reported per mode: retrieval Recall@1/@3/@5 and MRR@10 (a passage counts when it
comes from the question's paragraph), end-to-end EM and F1 (CMRC 2018 metric,
:mod:`rag.bench.metrics`, best over the gold answers), how often it declined, and the
latency per question (median and p95, model loaded, retrieval + answer). One
more row, ``oracle``, gives the system the gold paragraph alone as its corpus
(its chunks, ranked by the same retrieval scores over that paragraph): that is
comparable with published reader-only results. Also: index build throughput
and the process's peak RSS.

The parts live beside this module: the caches in :mod:`rag.bench.cache`, the
system under test and its cached index in :mod:`rag.bench.system`, the figures,
facts about the run and the summary table in :mod:`rag.bench.figures`. Their
public names are re-exported here.

Example::

    rag eval cmrc --limit 300                  # short names: cmrc, drcd, xquad
    rag eval cmrc --json --predictions pred.json --modes hybrid,bm25
    rag eval ../shared/bench/drcd/DRCD_dev.json --data ../shared/bench
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.bench.cache import EmbeddingCache, QueryMemo
from rag.bench.figures import (MRR_DEPTH, answer_figures, code_version, format_summary, gold_rank, machine_info,
                               peak_rss_mb, percentile, retrieval_figures)
from rag.bench.system import BenchQA, cache_key, default_index_dir, ensure_bench_index
from rag.config import Settings
from rag.embed.protocol import Encoder
from rag.bench.metrics import exact_match, f1_score
from rag.bench.squad import Question, SquadSet
from rag.types import Answer, Passage

__all__ = ["MODES", "WARMUP", "EvalResult", "run_eval"]

MODES = ("hybrid", "dense", "bm25")
#: Questions asked once, untimed, before the measured run.
WARMUP = 3


# --------------------------------------------------------------------------- the run

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


def _ask(fn: Callable[[], Answer]) -> Answer | None:
    from rag.query.question import QuestionError

    try:
        return fn()
    except QuestionError:
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
        settings: pipeline settings (default ``Settings()``).
        index_dir: where the index lives (default: a cache folder keyed by file, model and settings).
        modes: retrieval modes, one row each; the predictions are those of the first.
        limit: ask only the first N questions.
        oracle: also answer from the gold paragraph alone.
        cache_dir: root of the default index folders.
        embed_cache: folder of an :class:`EmbeddingCache` (passage vectors by text), or None.
        show_progress: progress bar while embedding.
        progress: called with a short line now and then.
        compare_rules: when the trained reader answers, also run the rule-based extractor on
            the same passages (rows ``<mode>:rules`` and ``oracle:rules``).
        abstention: ask the first N questions also without their own paragraph and report the
            declining curve (:mod:`rag.bench.declining`); 0 skips it.

    Returns:
        The result.
    """
    t_start = time.perf_counter()
    settings = settings or Settings()
    for m in modes:
        if m not in MODES:
            raise ValueError(f"unknown retrieval mode {m!r} (choose from {', '.join(MODES)})")
    say = progress or (lambda s: None)
    cache = EmbeddingCache(encoder, embed_cache) if embed_cache else None
    memo = QueryMemo(cache or encoder)
    index_dir = Path(index_dir) if index_dir else default_index_dir(sset, settings, encoder.name,
                                                                    Path(cache_dir) if cache_dir else None)
    qa = BenchQA(sset.documents(), index_dir, settings, memo)
    say(f"{sset.name}: indexing {len(sset.paragraphs)} paragraphs in {index_dir}")
    index_info = ensure_bench_index(qa, index_dir, show_progress, cache)
    say(f"{sset.name}: {index_info['chunks']} chunks ({'reused' if index_info['reused'] else 'built'})")

    # With the trained reader active, the rule-based extractor answers the same questions from
    # the same passages in the same run (rows "<mode>:rules"), so the two compare under one load.
    systems: list[tuple[str, BenchQA]] = [("", qa)]
    if compare_rules and qa.uses_reader():
        systems.append((":rules", BenchQA(sset.documents(), index_dir, settings.with_overrides({"reader.weights": "off"}), memo)))
        systems[1][1].ensure_index()
    keys = [mode + suffix for mode in modes for suffix, _ in systems]

    questions: list[Question] = list(sset.questions[:limit] if limit else sset.questions)
    details = [{"id": q.qid, "question": q.question, "golds": list(q.answers), "doc": q.doc} for q in questions]
    predictions: dict[str, str] = {}
    ranks: dict[str, list[int | None]] = {k: [] for k in keys}
    answers: dict[str, list[tuple[str | None, Sequence[str]]]] = {k: [] for k in keys}
    lat: dict[str, list[float]] = {k: [] for k in keys}
    rms: dict[str, list[float]] = {}   # the reader's own time, where it read
    # The reader's own best span from the same run (rows "reader alone"), and how many questions the
    # answer step answered without asking the reader (no question word: the rules' sentence).
    alone: dict[str, list[tuple[str | None, Sequence[str]]]] = {}
    alone_skipped: dict[str, int] = {}
    reads = qa.uses_reader()

    def note_extras(key: str, ans: Answer | None, golds: Sequence[str], d: dict[str, Any], primary: bool) -> None:
        """The withheld span in the details; for the primary system, the reader's own answer too."""
        if ans is not None and ans.extra.get("withheld"):
            d[key]["withheld"] = ans.extra["withheld"]
        if ans is None or not reads or not primary:
            return
        if "reader_alone" in ans.extra:
            text = (ans.extra["reader_alone"] or {}).get("text")
        else:
            text, alone_skipped[key] = ans.answer, alone_skipped.get(key, 0) + 1
        alone.setdefault(key, []).append((text, golds))
        d[key]["reader_alone"] = text
    load_before = _loadavg()
    code = code_version()   # at the start: commits made while a long run goes on are not what it measured
    # Warm-up (untimed): the first questions pay for lazy loading (jieba's POS model, torch kernels).
    for q in questions[:WARMUP]:
        for mode in modes:
            for _, system in systems:
                _ask(lambda: system.ask(q.question, mode=mode))
    t_loop = time.perf_counter()
    # The modes take turns on each question, so that a busy machine slows them alike.
    for n, (q, d) in enumerate(zip(questions, details)):
        for mode in modes:
            with memo.reuse():
                passages = _ask(lambda: qa.search(q.question, top_k=MRR_DEPTH, mode=mode)) or []
            rank = gold_rank(passages, q.doc)
            for suffix, system in systems:
                key = mode + suffix
                t = time.perf_counter()
                ans = _ask(lambda: system.ask(q.question, mode=mode))
                ms = (time.perf_counter() - t) * 1000
                text = ans.answer if ans is not None else None
                lat[key].append(ms)
                ranks[key].append(rank)
                answers[key].append((text, q.answers))
                d[key] = {"answer": text, "rank": rank, "f1": round(f1_score(text, q.answers), 4),
                          "em": exact_match(text, q.answers), "ms": round(ms, 2),
                          "confidence": ans.confidence if ans is not None else None}
                reader_ms = ((ans.extra.get("reader") or {}).get("ms") if ans is not None else None)
                if reader_ms is not None:
                    d[key]["reader_ms"] = reader_ms
                    rms.setdefault(key, []).append(reader_ms)
                note_extras(key, ans, q.answers, d, primary=not suffix)
                if key == keys[0]:
                    predictions[q.qid] = text or ""
        if (n + 1) % 250 == 0:
            say(f"{sset.name}: {n + 1}/{len(questions)} questions")
    loop_s = time.perf_counter() - t_loop
    rows: dict[str, dict[str, Any]] = {}
    for key in keys:
        rows[key] = row = {**retrieval_figures(ranks[key]), **answer_figures(answers[key]),
                           "latency_ms_p50": statistics.median(lat[key]) if lat[key] else float("nan"),
                           "latency_ms_p95": percentile(lat[key], 95),
                           "latency_ms_mean": statistics.fmean(lat[key]) if lat[key] else float("nan")}
        if rms.get(key):
            row["reader_ms_p50"] = statistics.median(rms[key])
            row["reader_ms_p95"] = percentile(rms[key], 95)
        say(f"{sset.name} {key}: R@5 {row['recall@5']:.3f}  F1 {row['f1']:.1f}  EM {row['em']:.1f}  "
            f"p50 {row['latency_ms_p50']:.1f} ms")

    oracle_rows: dict[str, dict[str, Any]] = {}
    if oracle:
        missing = [q.question for q in questions if q.question not in memo.vectors]
        if missing:
            vecs = encoder.encode_queries(missing)
            memo.vectors.update(zip(missing, vecs))
        for suffix, system in systems:
            key = "oracle" + suffix
            t_mode = time.perf_counter()
            o_answers: list[tuple[str | None, Sequence[str]]] = []
            o_lat: list[float] = []
            with system.fixed_passages() as fixed:
                for q, d in zip(questions, details):
                    fixed.passages = system.gold_passages(q.question, q.doc)
                    t = time.perf_counter()
                    ans = _ask(lambda: system.ask(q.question))
                    o_lat.append((time.perf_counter() - t) * 1000)
                    text = ans.answer if ans is not None else None
                    o_answers.append((text, q.answers))
                    d[key] = {"answer": text, "f1": round(f1_score(text, q.answers), 4),
                              "em": exact_match(text, q.answers)}
                    note_extras(key, ans, q.answers, d, primary=not suffix)
                    if not modes and not suffix:
                        predictions[q.qid] = text or ""
            oracle_rows[key] = row = {**answer_figures(o_answers),
                                      "answer_ms_p50": statistics.median(o_lat) if o_lat else float("nan"),
                                      "seconds": round(time.perf_counter() - t_mode, 2)}
            say(f"{sset.name} {key}: F1 {row['f1']:.1f}  EM {row['em']:.1f}")

    alone_rows = {key: {**answer_figures(rows_), "by_answer_step": alone_skipped.get(key, 0)}
                  for key, rows_ in alone.items()}
    for key, row in alone_rows.items():
        say(f"{sset.name} {key}, reader alone: F1 {row['f1']:.1f}  EM {row['em']:.1f}")

    abstention_rows: dict[str, dict[str, Any]] = {}
    if abstention:
        from rag.bench.declining import (REMOVAL_DEPTH, best_mixed, curve, default_thresholds, operating_point,
                                    run_trials)

        asked = questions[:abstention]
        for suffix, system in systems:
            never = BenchQA(sset.documents(), index_dir,
                            system.settings.with_overrides({"answer.min_confidence": 0.0, "reader.min_confidence": 0.0}), memo)
            t_mode = time.perf_counter()
            with never.fixed_passages() as fixed:
                def ask_from(question: str, passages: list[Passage]) -> Answer | None:
                    fixed.passages = passages
                    return _ask(lambda: never.ask(question))

                def ranking(question: str) -> list[Passage]:
                    with memo.reuse():
                        return _ask(lambda: qa.search(question, top_k=REMOVAL_DEPTH)) or []

                trials = run_trials(ask_from, ranking, asked, settings.retrieval.top_k)
            points = curve(trials, default_thresholds(trials))
            in_use = (system.settings.reader.min_confidence if system.uses_reader()
                      else system.settings.answer.min_confidence)
            abstention_rows["abstention" + suffix] = {
                "questions": len(asked), "curve": points, "best": operating_point(points),
                "best_mixed": best_mixed(points),
                "current": curve(trials, [in_use])[0], "seconds": round(time.perf_counter() - t_mode, 2)}
            say(f"{sset.name} abstention{suffix}: best {abstention_rows['abstention' + suffix]['best']}")

    summary = {
        "set": sset.name, "file": sset.path, "sha256": sset.sha256,
        "paragraphs": len(sset.paragraphs), "questions_total": len(sset.questions), "questions": len(questions),
        "limit": limit, "model": encoder.name, "settings": {**settings.index_params(), "top_k": settings.retrieval.top_k,
                                                             "candidates": settings.retrieval.candidates,
                                                             "fusion": settings.retrieval.fusion,
                                                             "min_confidence": settings.answer.min_confidence,
                                                             "reader": settings.reader.weights,
                                                             "reader_min_confidence": settings.reader.min_confidence},
        "index": index_info, "modes": rows, "oracle": oracle_rows.get("oracle"),
        "oracle_rows": oracle_rows, "oracle_passages": "gold paragraph's chunks, ranked over that paragraph", "reader": qa.reader_info(),
        "reader_alone": alone_rows, "abstention": abstention_rows, "questions_seconds": round(loop_s, 2),
        "load_avg": {"before": load_before, "after": _loadavg()},
        "peak_rss_mb": round(peak_rss_mb(), 1), "seconds": round(time.perf_counter() - t_start, 2),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine_info(), "code": code,
    }
    return EvalResult(summary, predictions, details)
