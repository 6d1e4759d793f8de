"""Reader speed and accuracy by numeric format: float32, bfloat16, int8 (dynamic), same run.

With ``--passages paragraph`` the reader alone reads each question's whole gold
paragraph: the reader-only oracle used for the learning curve in docs/reader.md.

Each question of CMRC 2018 dev is read with three passages, as in serving: its
gold paragraph cut into chunks of the index's size, the chunk holding the
answer first, then the next two (wrapping around), so every question costs
what a top-3 read costs. The variants take turns on each question, so that a
busy machine slows them alike. Reported: median and p95 milliseconds per
question (reader only, model loaded) and CMRC F1/EM of the best span.

    OMP_NUM_THREADS=1 python scripts/bench_reader.py --limit 300 [--json]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import time
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")   # before the model libraries are imported

from rag.bench.metrics import exact_match, f1_score  # noqa: E402
from rag.bench.squad import SquadSet, load_squad, resolve  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.ingest.chunking import chunk_document  # noqa: E402
from rag.reader import Reader, default_weights  # noqa: E402
from rag.types import Document  # noqa: E402


def three_passages(text: str, golds: list[str], settings: Settings, doc: str) -> list[str]:
    chunks = [c.text for c in chunk_document(Document(doc, text), settings.chunk.chars, settings.chunk.overlap_sentences,
                                             settings.chunk.max_sentence_chars, heading_max_chars=0)]
    first = next((i for i, c in enumerate(chunks) if any(g in c for g in golds)), 0)
    return [chunks[(first + k) % len(chunks)] for k in range(min(3, len(chunks)))]


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--weights", default=",".join(str(f) for f in default_weights()),
                    help="weights file(s), comma-separated for an ensemble (default: the shipped reader)")
    ap.add_argument("--passages", choices=("top3", "paragraph"), default="top3",
                    help="top3: three chunks, the answer's first (serving cost); paragraph: the whole gold "
                         "paragraph (reader-only oracle, for the learning curve)")
    ap.add_argument("--variants", default="float32,bfloat16,int8", help="comma-separated subset")
    ap.add_argument("--data", default=None, help="benchmark data directory (default: $RAG_BENCH_DATA or ../shared/bench)")
    ap.add_argument("--json", action="store_true")
    return ap.parse_args()


def variants_of(base: Reader, wanted: list[str]) -> dict[str, Reader]:
    """The reader in each numeric format asked for."""
    import torch

    variants = {}
    if "float32" in wanted:
        variants["float32"] = Reader(base.nets, base.tokenizer, bf16=False)
    if "bfloat16" in wanted:
        variants["bfloat16"] = Reader(base.nets, base.tokenizer, bf16=True)
    if "int8" in wanted:
        qnets = [torch.ao.quantization.quantize_dynamic(copy.deepcopy(n), {torch.nn.Linear}, dtype=torch.qint8)
                 for n in base.nets]
        variants["int8"] = Reader(qnets, base.tokenizer, bf16=False)
    return variants


def measure(sset: SquadSet, variants: dict[str, Reader], limit: int, whole: bool) -> dict[str, dict[str, Any]]:
    """Every variant reads every question in turn; median/p95 ms and F1/EM per variant."""
    settings = Settings()
    ms: dict[str, list[float]] = {k: [] for k in variants}
    f1: dict[str, list[float]] = {k: [] for k in variants}
    em: dict[str, list[float]] = {k: [] for k in variants}
    questions = sset.questions[:limit]
    for r in variants.values():
        r.read("预热", ["预热文本。"])
    for q in questions:
        context = sset.paragraph(q.doc).context
        passages = [context] if whole else three_passages(context, list(q.answers), settings, q.doc)
        for name, r in variants.items():
            t = time.perf_counter()
            spans = r.read(q.question, passages)
            ms[name].append((time.perf_counter() - t) * 1000)
            pred = passages[spans[0].passage][spans[0].start:spans[0].end] if spans else ""
            f1[name].append(f1_score(pred, q.answers))
            em[name].append(exact_match(pred, q.answers))
    out = {}
    for name in variants:
        xs = sorted(ms[name])
        out[name] = {"ms_p50": round(statistics.median(xs), 1), "ms_p95": round(xs[int(0.95 * (len(xs) - 1))], 1),
                     "f1": round(100 * statistics.fmean(f1[name]), 2), "em": round(100 * statistics.fmean(em[name]), 2),
                     "questions": len(questions)}
    return out


def main() -> None:
    args = parse_args()
    import torch

    paths = Settings.from_env().paths
    sset = load_squad(resolve("cmrc", args.data or paths.bench_data))
    base = Reader.load(args.weights, cache_dir=paths.cache_dir)
    variants = variants_of(base, [v.strip() for v in args.variants.split(",") if v.strip()])
    out: dict[str, Any] = measure(sset, variants, args.limit, args.passages == "paragraph")
    out["_meta"] = {"passages": args.passages, "threads": torch.get_num_threads(), "weights": args.weights, "cpu_bf16": base.bf16}
    if args.json:
        print(json.dumps(out, indent=1))
        return
    for name in variants:
        r = out[name]
        print(f"{name:<9} p50 {r['ms_p50']:>6.1f} ms  p95 {r['ms_p95']:>6.1f} ms  F1 {r['f1']:.1f}  EM {r['em']:.1f}"
              f"  ({r['questions']} questions, {args.passages}, {out['_meta']['threads']} threads)")


if __name__ == "__main__":
    main()
