"""Every prediction of the article sets and of the 200-question CMRC regression subset, to compare two versions.

A refactor that must not change behaviour (issue #16) is checked by taking a snapshot before and
after and comparing them: the figures and, per question, the answer, its confidence and the
citations' offsets. Run from the repository root (the CMRC part needs ../shared/bench):

    python scripts/behaviour_snapshot.py take after.json [--parts article,cmrc]
    python scripts/behaviour_snapshot.py compare before.json after.json

Timings are left out of the comparison's verdict: they are listed, but they depend on the load.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
_TIMING = ("latency", "_ms", "seconds")


def take(parts: set[str]) -> dict[str, Any]:
    from rag.config import Settings
    from rag.embed.factory import make_encoder
    from rag.pipeline import QASystem

    settings = Settings()
    encoder = make_encoder(settings)
    snap: dict[str, Any] = {}
    if "article" in parts:
        from rag.bench.qa_set import evaluate, load_questions

        with tempfile.TemporaryDirectory() as tmp:
            qa = QASystem(ROOT / "corpus", Path(tmp) / "index", settings, encoder=encoder)
            qa.build()
            qa.ask("预热 warm-up")
            for name in ("article_qa", "article_qa_holdout"):
                questions = load_questions(ROOT / "tests" / "data" / f"{name}.jsonl")
                figures = evaluate(qa, questions)
                figures.pop("failures")
                preds = {}
                for q in questions:
                    a = qa.ask(q["question"])
                    preds[q["id"]] = [a.answer, round(a.confidence, 4), [(c.doc, c.start, c.end) for c in a.citations]]
                snap[name] = {"figures": figures, "predictions": preds}
    if "cmrc" in parts:
        from rag.bench.run import run_eval
        from rag.bench.regression import subset
        from rag.bench.squad import load_squad, resolve

        with tempfile.TemporaryDirectory() as tmp:
            r = run_eval(subset(load_squad(resolve("cmrc"))), encoder, settings, index_dir=Path(tmp) / "index",
                         modes=("hybrid", "bm25"))
            s = r.summary
            snap["cmrc200"] = {"figures": {"modes": s["modes"], "oracle": s["oracle_rows"], "alone": s["reader_alone"]},
                               "predictions": r.predictions}
    return snap


def _flat(d: dict[str, Any], pre: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, pre + k + "."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[pre + k] = v
    return out


def compare(a: dict[str, Any], b: dict[str, Any]) -> bool:
    same = True
    for part in sorted(set(a) & set(b)):
        fa, fb = _flat(a[part]["figures"]), _flat(b[part]["figures"])
        diff = {k: (fa[k], fb.get(k)) for k in fa if fb.get(k) is None or abs(fa[k] - fb[k]) > 1e-9}
        quality = {k: v for k, v in diff.items() if not any(t in k for t in _TIMING)}
        pa, pb = a[part]["predictions"], b[part]["predictions"]
        changed = [k for k in pa if pa[k] != pb.get(k)]
        print(f"{part}: {len(quality)} quality figures differ ({len(diff) - len(quality)} timings), "
              f"{len(changed)} of {len(pa)} predictions differ")
        for k, v in quality.items():
            print(f"   {k}: {v[0]} -> {v[1]}")
        for k in changed[:20]:
            print(f"   {k}: {pa[k]} -> {pb.get(k)}")
        same = same and not quality and not changed
    return same


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("take", help="answer every question and write the snapshot")
    t.add_argument("out")
    t.add_argument("--parts", default="article,cmrc", help="article, cmrc or both (comma-separated)")
    c = sub.add_parser("compare", help="compare two snapshots; exit 1 when any answer or figure differs")
    c.add_argument("before")
    c.add_argument("after")
    args = ap.parse_args()
    if args.cmd == "take":
        snap = take({p.strip() for p in args.parts.split(",")})
        Path(args.out).write_text(json.dumps(snap, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        return 0
    load = lambda p: json.loads(Path(p).read_text(encoding="utf-8"))  # noqa: E731
    return 0 if compare(load(args.before), load(args.after)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
