"""Quality and speed on the article question set (tests/data/article_qa.jsonl).

Prints retrieval Recall@1/@5 (a passage holds a gold answer), the share of
answers that contain a gold answer (and whose first citation does too), mean
CMRC F1/EM, how many unanswerable questions were declined and how many
answerable ones were answered, and the median/p95 latency per question with the
model loaded. Run from the repository root:

    python scripts/eval_article.py [--json] [--variants] [--reader off|auto|PATH] [--compare-rules]

``--compare-rules`` also answers every question with the rule-based extractor
alone (``reader=off``), in the same run, one system after the other.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")   # before the model libraries are imported

from rag.bench.qa_set import evaluate, load_questions  # noqa: E402
from rag.choices import Fusion, RetrievalMode  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.errors import RagError  # noqa: E402
from rag.pipeline import QASystem  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--questions", default=str(ROOT / "tests" / "data" / "article_qa.jsonl"))
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--variants", action="store_true", help="also run dense-only and BM25-only retrieval")
    ap.add_argument("--failures", action="store_true", help="list the questions answered wrongly")
    ap.add_argument("--chunk-chars", type=int, default=None, help="override the chunk size")
    ap.add_argument("--fusion", choices=Fusion.values(), default=None, help="override the fusion")
    ap.add_argument("--reader", default=None, help="auto (shipped weights), off (rules only) or a weights file")
    ap.add_argument("--compare-rules", action="store_true", help="also run the rules alone, same run")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                    help="change a setting, e.g. retrieval.top_k=3 (repeatable)")
    return ap.parse_args(argv)


def settings_of(args: argparse.Namespace) -> Settings:
    """The environment's settings, changed by the flags and then by ``--set``."""
    base = Settings.from_env().with_overrides({"chunk.chars": args.chunk_chars, "retrieval.fusion": args.fusion,
                                               "reader.weights": args.reader})
    return Settings.from_pairs(args.overrides, base)


def measure(args: argparse.Namespace, settings: Settings) -> list[dict]:
    """Index the corpus in a temporary folder and evaluate every mode (and the rules alone when asked)."""
    questions = load_questions(Path(args.questions))
    with tempfile.TemporaryDirectory() as tmp:
        qa = QASystem(args.corpus, Path(tmp) / "index", settings)
        t = time.perf_counter()
        report = qa.build()
        build_s = time.perf_counter() - t
        qa.ask("预热 warm-up")  # first call pays for lazy loading
        systems = [("", qa)]
        if args.compare_rules and qa.uses_reader():
            rules = QASystem(args.corpus, Path(tmp) / "index", settings.with_overrides({"reader.weights": "off"}),
                             encoder=qa.encoder)
            rules.ask("预热 warm-up")
            systems.append((":rules", rules))
        modes = RetrievalMode.values() if args.variants else (RetrievalMode.HYBRID.value,)
        results = []
        for m in modes:
            for suffix, system in systems:
                r = evaluate(system, questions, m)
                r.update(mode=m + suffix, index_build_s=round(build_s, 2), chunks=report.chunks)
                results.append(r)
    return results


def print_report(results: list[dict], settings: Settings, failures: bool) -> None:
    for r in results:
        print(f"[{r['mode']}, reader={settings.reader.weights}, fusion={settings.retrieval.fusion}, "
              f"chunk_chars={settings.chunk.chars}] {r['questions']} questions ({r['answerable']} answerable, "
              f"{r['unanswerable']} not), {r['chunks']} chunks, index build {r['index_build_s']}s (model load included)")
        print(f"  retrieval Recall@1 {r['recall@1']:.3f}  Recall@5 {r['recall@5']:.3f}")
        print(f"  answer contains gold {r['answer_contains_gold']:.3f}  (and first citation too: "
              f"{r['answer_and_first_citation_contain_gold']:.3f})  answered {r['answered_share']:.3f}")
        print(f"  CMRC F1 {r['f1']:.1f}  EM {r['em']:.1f}")
        print(f"  unanswerable declined {r['declined']}/{r['unanswerable']}")
        print(f"  latency per question: median {r['latency_ms_p50']:.1f} ms, p95 {r['latency_ms_p95']:.1f} ms")
        if failures:
            for f in r["failures"]:
                print("   ✗", *f)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = settings_of(args)
        results = measure(args, settings)
    except RagError as exc:
        print(f"eval_article: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
    else:
        print_report(results, settings, args.failures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
