"""The trained reader on each runtime (torch float32, ONNX Runtime fp32 and int8): speed and F1/EM, same run.

The questions are the reader's held-out DRCD/XQuAD articles (:func:`rag.training.data.held_out`, as
``scripts/heldout_set.py`` writes them; never CMRC 2018 dev, the test set): ``--limit`` questions
drawn with ``--seed`` from all of them. Each is read with three passages: its gold paragraph, then
two other paragraphs of the same article (drawn with the same seed; fewer where the article has
fewer), or with the gold paragraph alone (``--passages gold``). The runtimes take turns on each
question, so that a busy machine slows them alike. Reported per runtime: median and p95
milliseconds per question (the reader alone, model loaded, after one warm-up read), CMRC F1/EM of
the best span, and the share of questions whose best span is torch's.

    OMP_NUM_THREADS=1 python scripts/bench_reader_runtimes.py --limit 100 --threads 1 [--json]

The ONNX files are exported into the cache on first use (a minute or two per weights file).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")   # before the model libraries are imported

from rag.bench.metrics import exact_match, f1_score  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.reader import default_weights  # noqa: E402
from rag.training.data import TRAIN_SETS  # noqa: E402

def _heldout_module() -> Any:
    spec = importlib.util.spec_from_file_location("heldout_set", Path(__file__).with_name("heldout_set.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def questions(data: Path, limit: int, seed: int, passages: str) -> list[dict[str, Any]]:
    """``limit`` held-out questions, each with its passages (gold paragraph first) and gold answers."""
    heldout = _heldout_module()
    share = heldout.TrainConfig().dev_share      # what the shipped readers were trained with
    articles = []
    for name, rel in TRAIN_SETS.items():
        articles += heldout.held_out_articles(data / rel, share, fold=(name == "drcd"))
    pool = [(a, p, qa) for a, art in enumerate(articles) for p, para in enumerate(art["paragraphs"])
            for qa in para["qas"] if qa["answers"]]
    rng = random.Random(seed)
    out = []
    for a, p, qa in rng.sample(pool, min(limit, len(pool))):
        paras = [x["context"] for x in articles[a]["paragraphs"]]
        others = [k for k in range(len(paras)) if k != p]
        chosen = [p] + (rng.sample(others, min(2, len(others))) if passages == "three" else [])
        out.append({"question": qa["question"], "passages": [paras[k] for k in chosen],
                    "answers": [x["text"] for x in qa["answers"]]})
    return out


def readers(weights: str, runtimes: list[str], threads: int, cache_dir: Path) -> dict[str, Any]:
    """The reader on each runtime asked for (torch in float32: bf16 off)."""
    out: dict[str, Any] = {}
    for runtime in runtimes:
        if runtime == "torch":
            import torch

            from rag.reader import Reader

            if threads:
                torch.set_num_threads(threads)
            out[runtime] = Reader.load(weights, bf16=False, cache_dir=cache_dir)
        else:
            from rag.reader.onnx_reader import OnnxReader

            out[runtime] = OnnxReader.load(weights, quantized=runtime == "onnx-int8", cache_dir=cache_dir,
                                           threads=threads)
    return out


def measure(items: list[dict[str, Any]], variants: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every variant reads every question in turn; median/p95 ms, F1/EM and agreement with the first variant."""
    ms: dict[str, list[float]] = {k: [] for k in variants}
    f1: dict[str, list[float]] = {k: [] for k in variants}
    em: dict[str, list[float]] = {k: [] for k in variants}
    same: dict[str, list[bool]] = {k: [] for k in variants}
    for r in variants.values():
        r.read("预热", ["预热文本。"])
    for item in items:
        first = None
        for name, r in variants.items():
            t = time.perf_counter()
            spans = r.read(item["question"], item["passages"])
            ms[name].append((time.perf_counter() - t) * 1000)
            best = (spans[0].passage, spans[0].start, spans[0].end) if spans else None
            first = best if first is None else first
            same[name].append(best == first)
            pred = item["passages"][best[0]][best[1]:best[2]] if best else ""
            f1[name].append(f1_score(pred, item["answers"]))
            em[name].append(exact_match(pred, item["answers"]))
    out = {}
    for name in variants:
        xs = sorted(ms[name])
        out[name] = {"ms_p50": round(statistics.median(xs), 1), "ms_p95": round(xs[int(0.95 * (len(xs) - 1))], 1),
                     "f1": round(100 * statistics.fmean(f1[name]), 2), "em": round(100 * statistics.fmean(em[name]), 2),
                     "same_best_as_first": round(100 * statistics.fmean(same[name]), 1), "questions": len(items)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--weights", default=str(default_weights()[0]) if default_weights() else None,
                    help="weights file(s), comma-separated for an ensemble (default: the first shipped member)")
    ap.add_argument("--runtimes", default="torch,onnx,onnx-int8", help="comma-separated, the first is the reference")
    ap.add_argument("--passages", choices=("three", "gold"), default="three",
                    help="three: the gold paragraph and two others of its article; gold: the gold paragraph alone")
    ap.add_argument("--threads", type=int, default=1, help="torch and ONNX Runtime intra-op threads (0: their default)")
    ap.add_argument("--data", default=None,
                    help="benchmark data directory (default: $RAG_BENCH_DATA or ../shared/bench)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    settings = Settings.from_env()
    items = questions(Path(args.data) if args.data else settings.paths.bench_data, args.limit, args.seed,
                      args.passages)
    variants = readers(args.weights, [r.strip() for r in args.runtimes.split(",") if r.strip()], args.threads,
                       settings.paths.cache_dir)
    out: dict[str, Any] = measure(items, variants)
    out["_meta"] = {"passages": args.passages, "threads": args.threads, "weights": args.weights, "seed": args.seed}
    if args.json:
        print(json.dumps(out, indent=1))
        return
    for name in variants:
        r = out[name]
        print(f"{name:<10} p50 {r['ms_p50']:>6.1f} ms  p95 {r['ms_p95']:>6.1f} ms  F1 {r['f1']:.1f}  EM {r['em']:.1f}"
              f"  best span = {next(iter(variants))}'s {r['same_best_as_first']:.0f}%"
              f"  ({r['questions']} questions, {args.passages} passages, {args.threads} threads)")


if __name__ == "__main__":
    main()
