"""The article questions whose answer differs between two readers, side by side with each one's F1.

Both systems share one index (built in a temporary folder); each question is asked of both.
Run from the repository root:

    python scripts/compare_article_answers.py --new runs/reader-cmrc1/reader.safetensors
    python scripts/compare_article_answers.py --old auto --new PATH --questions tests/data/article_qa_holdout.jsonl \\
        --set reader.bias=5            # settings for the new reader's system
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")   # before the model libraries are imported

from rag.bench.metrics import f1_score  # noqa: E402
from rag.bench.qa_set import load_questions  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.pipeline import QASystem  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", default="auto", help="the reference reader (auto, off or a weights file)")
    ap.add_argument("--new", required=True, help="the reader compared with it")
    ap.add_argument("--questions", default=str(ROOT / "tests" / "data" / "article_qa.jsonl"))
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                    help="a setting of the new reader's system (repeatable)")
    args = ap.parse_args()
    base = Settings.from_env()
    with tempfile.TemporaryDirectory(prefix="rag-compare-") as tmp:
        old = QASystem(args.corpus, Path(tmp) / "index", base.with_overrides({"reader.weights": args.old}))
        new = QASystem(args.corpus, Path(tmp) / "index",
                       Settings.from_pairs([f"reader.weights={args.new}", *args.overrides], base))
        old.ensure_index()
        new.ensure_index()
        for q in load_questions(Path(args.questions)):
            a, b = old.ask(q["question"]), new.ask(q["question"])
            if a.answer == b.answer:
                continue
            golds = q["answers"] if q["answerable"] else []

            def shown(ans) -> str:
                text = ans.answer if ans.answer is not None else f"(withheld: {ans.withheld})"
                f1 = f" F1 {f1_score(ans.answer, golds):.2f}" if golds else ""
                return f"{text}{f1} conf {ans.confidence:.2f}"

            print(f"{q['id']} {q['question']}\n  gold: {golds[0] if golds else '(should decline)'}\n"
                  f"  old:  {shown(a)}\n  new:  {shown(b)}")


if __name__ == "__main__":
    main()
