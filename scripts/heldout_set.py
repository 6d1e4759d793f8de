"""Write the reader's held-out DRCD/XQuAD articles as one SQuAD-format file, for ``rag eval``.

The reader trains on DRCD dev and XQuAD zh except a fixed share of their
articles (``TrainConfig.dev_share``, chosen by a hash of the title:
:func:`rag.training.data.held_out`). Those articles are the only public questions
that neither the reader learned from nor CMRC 2018 (the test set) holds, so the
answer step's choices are made on them, end to end. DRCD is folded to
simplified Chinese as in training (offsets unchanged). Run from the repository
root:

    python scripts/heldout_set.py --out /tmp/heldout.json
    rag eval /tmp/heldout.json --modes hybrid --no-rules

The file is written outside the repository: the data stays in ../shared/bench.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag.config import Settings
from rag.text.folding import fold_aligned, fold_question
from rag.training.data import TRAIN_SETS, held_out
from rag.training.train import TrainConfig


def held_out_articles(path: Path, share: float, fold: bool) -> list[dict]:
    """The held-out articles of one file, folded to simplified Chinese when asked.

    Args:
        path: a SQuAD-v1 file the reader trains on.
        share: the held-out share of articles.
        fold: fold traditional characters (DRCD).

    Returns:
        SQuAD ``data`` entries.
    """
    out = []
    for art in json.loads(path.read_text(encoding="utf-8"))["data"]:
        title = str(art.get("title", ""))
        if not held_out(title, share):
            continue
        paragraphs = []
        for para in art["paragraphs"]:
            raw = para["context"]
            ctx = fold_aligned(raw) if fold else raw
            qas = []
            for qa in para["qas"]:
                answers = []
                for ans in qa.get("answers", []):
                    a, text = int(ans["answer_start"]), ans["text"]
                    # the folded context keeps offsets, so a located answer is re-read from it
                    folded = ctx[a:a + len(text)] if raw[a:a + len(text)] == text else (
                        fold_aligned(text) if fold else text)
                    answers.append({"text": folded, "answer_start": a})
                question = fold_question(qa["question"]) if fold else qa["question"]
                qas.append({"id": str(qa["id"]), "question": question, "answers": answers})
            paragraphs.append({"context": ctx, "qas": qas})
        out.append({"title": title, "paragraphs": paragraphs})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="the SQuAD-format file to write (outside the repository)")
    ap.add_argument("--data", default=None, help="benchmark data directory (default: $RAG_BENCH_DATA or ../shared/bench)")
    args = ap.parse_args()
    data = Path(args.data) if args.data else Settings.from_env().paths.bench_data
    share = TrainConfig().dev_share
    articles = []
    for name, rel in TRAIN_SETS.items():
        articles += held_out_articles(data / rel, share, fold=(name == "drcd"))
    Path(args.out).write_text(json.dumps({"version": "heldout", "data": articles}, ensure_ascii=False),
                              encoding="utf-8")
    n = sum(len(p["qas"]) for a in articles for p in a["paragraphs"])
    print(f"{args.out}: {len(articles)} articles, {n} questions (held-out share {share})")


if __name__ == "__main__":
    main()
