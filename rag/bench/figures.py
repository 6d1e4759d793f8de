"""Figures and facts of a benchmark run: Recall@k, MRR, EM/F1, percentiles, machine and code.

Pure functions over what :func:`rag.bench.run.run_eval` collected (gold ranks,
answers, latencies), the record of where and on what it ran (CPU, versions, git
commit, peak RSS), and :func:`format_summary`, the table ``rag eval`` prints.

>>> retrieval_figures([1, None])["recall@1"]
0.5
"""

from __future__ import annotations

import math
import os
import platform
import resource
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.bench.breakdown import breakdown_tables, report_rows
from rag.bench.metrics import exact_match, f1_score
from rag.types import Passage

#: Depth of the ranking scored for MRR.
MRR_DEPTH = 10


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile.

    Args:
        values: the sample.
        q: in (0, 100].

    Returns:
        The value (nan for an empty sample).

    >>> percentile([5, 1, 3, 2, 4], 95), percentile([5, 1, 3, 2, 4], 50)
    (5, 3)
    """
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))]


def gold_rank(passages: Sequence[Passage], doc: str) -> int | None:
    """1-based rank of the first passage from the gold document, or None.

    Args:
        passages: a ranking, best first.
        doc: the gold document id.

    Returns:
        The rank, or None when absent.

    >>> from rag.types import Chunk
    >>> c = lambda d: Passage(Chunk(d + "#0", d, 0, 1, "x"), 1, 1.0)
    >>> gold_rank([c("a"), c("b"), c("b")], "b"), gold_rank([c("a")], "b")
    (2, None)
    """
    for i, p in enumerate(passages):
        if p.chunk.doc == doc:
            return i + 1
    return None


def retrieval_figures(ranks: Sequence[int | None]) -> dict[str, float]:
    """Recall@1/3/5/10 and MRR@10 from gold ranks.

    Args:
        ranks: one rank (or None) per question.

    Returns:
        The figures, as shares in [0, 1].

    >>> retrieval_figures([1, 2, None, 7])["mrr@10"]
    0.4107...
    """
    n = len(ranks) or 1
    out = {f"recall@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in (1, 3, 5, 10)}
    out["mrr@10"] = sum(1.0 / r for r in ranks if r is not None and r <= MRR_DEPTH) / n
    return out


def answer_figures(rows: Sequence[tuple[str | None, Sequence[str]]]) -> dict[str, float]:
    """EM, F1 (×100, CMRC definition) and declines over ``(answer, golds)`` pairs.

    Args:
        rows: the answer (None when declined) and the gold answers, per question.

    Returns:
        ``em``, ``f1``, ``declined`` (count) and ``declined_share``.

    >>> answer_figures([("北京", ["北京"]), (None, ["上海"])])
    {'em': 50.0, 'f1': 50.0, 'declined': 1, 'declined_share': 0.5}
    """
    n = len(rows) or 1
    ems = [exact_match(a, g) for a, g in rows]
    f1s = [f1_score(a, g) for a, g in rows]
    declined = sum(1 for a, _ in rows if a is None)
    return {"em": 100 * sum(ems) / n, "f1": 100 * sum(f1s) / n, "declined": declined,
            "declined_share": declined / n}


def machine_info() -> dict[str, Any]:
    """CPU model, core count, Python and library versions (for the record).

    Returns:
        A JSON-serialisable dict.
    """
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info: dict[str, Any] = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return info


def code_version() -> dict[str, Any]:
    """The git commit of the code measured, and whether ``rag/`` had uncommitted changes.

    Returns:
        ``{"commit": str | None, "dirty": bool | None}`` (None outside a git checkout).
    """
    import subprocess

    root = Path(__file__).resolve().parents[2]   # the checkout: rag/bench/figures.py → ../..
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "rag"], cwd=root, capture_output=True,
                                text=True, timeout=10)
        dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (Linux: ru_maxrss is KiB)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024 if sys.platform != "darwin" else r / 2**20


def format_summary(s: dict[str, Any]) -> str:
    """The human-readable table of a summary.

    Args:
        s: ``EvalResult.summary``.

    Returns:
        Lines of text.
    """
    ix = s["index"]
    how = "reused" if ix.get("reused") else f"built in {ix.get('seconds', 0):.0f}s"
    rate = ix.get("embed_chunks_per_s")
    lines = [f"{s['set']}: {s['paragraphs']} paragraphs -> {ix['chunks']} chunks ({ix['dense_index']}, {how}"
             + (f"; embedding {rate:.1f} chunks/s" if rate else "") + f"); {s['questions']} of "
             f"{s['questions_total']} questions",
             f"{'mode':<14} {'R@1':>6} {'R@5':>6} {'MRR@10':>7} {'EM':>6} {'F1':>6} {'declined':>9} "
             f"{'p50 ms':>7} {'p95 ms':>7}"]
    for mode, r in s["modes"].items():
        lines.append(f"{mode:<14} {r['recall@1']:>6.3f} {r['recall@5']:>6.3f} {r['mrr@10']:>7.3f} {r['em']:>6.1f} "
                     f"{r['f1']:>6.1f} {r['declined']:>4} {100 * r['declined_share']:>3.0f}% "
                     f"{r['latency_ms_p50']:>7.1f} {r['latency_ms_p95']:>7.1f}"
                     + (f"   reader's own time p50 {r['reader_ms_p50']:.1f} ms" if "reader_ms_p50" in r else ""))
    for name, o in (s.get("oracle_rows") or ({"oracle": s["oracle"]} if s.get("oracle") else {})).items():
        lines.append(f"{name:<14} {'-':>6} {'-':>6} {'-':>7} {o['em']:>6.1f} {o['f1']:>6.1f} "
                     f"{o['declined']:>4} {100 * o['declined_share']:>3.0f}% {o['answer_ms_p50']:>7.1f} {'-':>7}"
                     "   (gold paragraph only)")
    for name, a in (s.get("reader_alone") or {}).items():
        lines.append(f"{name + ':alone':<14} {'-':>6} {'-':>6} {'-':>7} {a['em']:>6.1f} {a['f1']:>6.1f} "
                     f"{a['declined']:>4} {100 * a['declined_share']:>3.0f}% {'-':>7} {'-':>7}"
                     f"   (the reader's best span, no rules, never declined; {a['by_answer_step']} without a "
                     "question word left to the answer step)")
    for name, a in (s.get("abstention") or {}).items():
        for label, pt in (("in use", a["current"]), ("best", a["best"])):
            lines.append(f"{name:<14} {label:<7} threshold {pt['threshold']:.3f}: declining precision "
                         f"{pt['precision']:.3f} recall {pt['recall']:.3f}; own paragraph answered "
                         f"{100 * pt['answered_own']:.1f}%, F1 {pt['own_f1']:.1f}; mixed score {pt['mixed_score']:.3f}"
                         f"  ({a['questions']} questions x2)")
    lines.extend(breakdown_tables(report_rows(s)))
    lines.append(f"peak RSS {s['peak_rss_mb']:.0f} MiB; {s['seconds']:.0f}s in all")
    return "\n".join(lines)
