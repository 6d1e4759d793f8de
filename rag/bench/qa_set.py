"""Quality of the whole system on a JSONL question set (the article's development and held-out sets).

Each line is ``{"id", "question", "answers": [...], "answerable": bool}``. :func:`evaluate` asks
every question through a :class:`~rag.pipeline.QASystem` and returns retrieval Recall@1/@5 (a
passage holds a gold answer), the share of answers that contain a gold answer (and whose first
citation does too), mean CMRC F1/EM over the answerable questions (a declined one scores 0), how
many unanswerable questions were declined, and latency. ``scripts/eval_article.py`` prints it;
``tests/e2e/test_article_sets.py`` holds floors under it.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from rag.bench.metrics import contains_gold, exact_match, f1_score
from rag.pipeline import QASystem


def load_questions(path: Path) -> list[dict[str, Any]]:
    """The questions of a JSONL file, in order."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(qa: QASystem, questions: list[dict[str, Any]], mode: str = "hybrid") -> dict[str, Any]:
    """Run every question; return the figures."""
    r1 = r5 = contains = first_cite = answered = declined = 0
    f1s, ems, lat = [], [], []
    answerable = [q for q in questions if q["answerable"]]
    unanswerable = [q for q in questions if not q["answerable"]]
    failures = []
    for q in questions:
        t = time.perf_counter()
        ans = qa.ask(q["question"], mode=mode)
        lat.append(time.perf_counter() - t)
        if not q["answerable"]:
            declined += ans.answer is None
            if ans.answer is not None:
                failures.append((q["id"], q["question"], ans.answer, "should decline"))
            continue
        golds = q["answers"]
        passages = qa.search(q["question"], top_k=5, mode=mode)
        r1 += bool(passages) and contains_gold(passages[0].chunk.text, golds)
        r5 += any(contains_gold(p.chunk.text, golds) for p in passages)
        if ans.answer is not None:
            answered += 1
        ok = contains_gold(ans.answer, golds)
        contains += ok
        first_cite += ok and bool(ans.citations) and contains_gold(ans.citations[0].text, golds)
        f1s.append(f1_score(ans.answer, golds))
        ems.append(exact_match(ans.answer, golds))
        if not ok:
            failures.append((q["id"], q["question"], ans.answer, golds[0]))
    n = len(answerable)
    lat_ms = sorted(x * 1000 for x in lat)
    return {
        "mode": mode, "questions": len(questions), "answerable": n, "unanswerable": len(unanswerable),
        "recall@1": r1 / n, "recall@5": r5 / n,
        "answer_contains_gold": contains / n, "answer_and_first_citation_contain_gold": first_cite / n,
        "answered_share": answered / n, "f1": 100 * statistics.mean(f1s), "em": 100 * statistics.mean(ems),
        "declined": declined, "latency_ms_p50": statistics.median(lat_ms),
        "latency_ms_p95": lat_ms[int(0.95 * (len(lat_ms) - 1))], "failures": failures,
    }
