"""Fit the answer-confidence weights (rag/answer/confidence.py) on the article development questions.

Label: 1 when the answer contains a gold answer, 0 when it does not or when the
question has no answer in the article. Prints the fitted weights, then, for
several thresholds, on the development set and on the held-out set: the share of
answerable questions whose answer contains the gold, and the unanswerable ones
declined. Run from the repository root:

    python scripts/fit_confidence.py [--l2 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")   # before the model libraries are imported

from rag.answer.confidence import confidence  # noqa: E402
from rag.bench.metrics import contains_gold  # noqa: E402
from rag.config import CONFIDENCE_WEIGHTS as WEIGHTS, Settings  # noqa: E402
from rag.pipeline import QASystem  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def collect(qa: QASystem, path: Path) -> list[tuple[dict, int, bool]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        ans = qa.ask(q["question"])
        feats = ans.features or None
        text = ans.answer if ans.answer is not None else ans.withheld
        if feats is None:  # nothing extracted at all: always declined
            rows.append((None, 0, q["answerable"]))
            continue
        label = int(q["answerable"] and contains_gold(text, q["answers"]))
        rows.append((feats, label, q["answerable"]))
    return rows


def fit(rows: list, l2: float, steps: int = 4000, lr: float = 0.1, target: str = "correct") -> dict[str, float]:
    keys = list(WEIGHTS)
    data = [(f, (y if target == "correct" else int(a))) for f, y, a in rows if f is not None]
    x = np.array([[f.get(k, 0.0) for k in keys] for f, _ in data])
    y = np.array([y for _, y in data], dtype=float)
    w = np.array([WEIGHTS[k] for k in keys])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -40, 40)))
        grad = x.T @ (p - y) / len(y) + l2 * w / len(y) * (np.array(keys) != "bias")
        w -= lr * grad
    return {k: round(float(v), 3) for k, v in zip(keys, w)}


def report(name: str, rows: list, weights: dict) -> None:
    n_ans = sum(1 for *_, a in rows if a)
    n_un = len(rows) - n_ans
    for t in (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5):
        ok = sum(1 for f, y, a in rows if a and f is not None and y and confidence(f, weights) >= t)
        declined = sum(1 for f, _, a in rows if not a and (f is None or confidence(f, weights) < t))
        answered = sum(1 for f, _, a in rows if a and f is not None and confidence(f, weights) >= t)
        print(f"  {name:8} t={t:.2f}: contains gold {ok}/{n_ans} ({ok / n_ans:.3f}), answered {answered}/{n_ans},"
              f" unanswerable declined {declined}/{n_un}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--target", choices=("correct", "answerable"), default="correct",
                    help="label 1 for a correct answer, or for any answerable question")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env().with_overrides({"answer.min_confidence": 0.0})
        qa = QASystem(ROOT / "corpus", Path(tmp) / "index", settings)
        qa.build()
        dev = collect(qa, ROOT / "tests" / "data" / "article_qa.jsonl")
        hold = collect(qa, ROOT / "tests" / "data" / "article_qa_holdout.jsonl")
    weights = fit(dev, args.l2, target=args.target)
    print("fitted weights:", json.dumps(weights, ensure_ascii=False))
    print("current weights:")
    report("dev", dev, WEIGHTS)
    report("held-out", hold, WEIGHTS)
    print("fitted weights:")
    report("dev", dev, weights)
    report("held-out", hold, weights)


if __name__ == "__main__":
    main()
