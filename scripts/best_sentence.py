"""The "best sentence" baseline of a SQuAD-format set, by gold-answer length and question type.

Each question is answered with the sentence of its gold paragraph that holds its first gold
answer (the sentences of :func:`rag.text.sentences.split_sentences`; an answer that runs over a
sentence end gets the sentences it covers; the answer's first occurrence in the paragraph). No
system could choose better among whole sentences, so it shows what a reader gains over the
rules' fallback (a whole sentence) bucket by bucket: on short answers a sentence scores poorly,
on long ones (> 20 characters) it can be close to the gold span.

    python scripts/best_sentence.py cmrc-select [--data ../shared/bench] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from rag.bench.breakdown import breakdown, breakdown_tables
from rag.bench.figures import answer_figures
from rag.bench.squad import SquadSet, load_named
from rag.text.sentences import split_sentences


def best_sentences(sset: SquadSet) -> list[tuple[str | None, Sequence[str], str]]:
    """Per question: the sentence(s) holding its first gold answer (None when the answer is not
    found verbatim in the paragraph), the golds and the question."""
    contexts = {p.doc: p.context for p in sset.paragraphs}
    sentences = {doc: split_sentences(text) for doc, text in contexts.items()}
    rows: list[tuple[str | None, Sequence[str], str]] = []
    for q in sset.questions:
        text = contexts[q.doc]
        start = text.find(q.answers[0]) if q.answers else -1
        answer = None
        if start >= 0:
            end = start + len(q.answers[0])
            covering = [s for s in sentences[q.doc] if s.start < end and s.end > start]
            if covering:
                answer = text[covering[0].start:covering[-1].end]
        rows.append((answer, q.answers, q.question))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("set", help="SQuAD JSON file or a short name (cmrc-select, drcd, cmrc…)")
    ap.add_argument("--data", default=None, help="benchmark data directory (default: <repo>/../shared/bench)")
    ap.add_argument("--json", action="store_true", help="print the row as JSON")
    args = ap.parse_args(argv)
    sset = load_named(args.set, args.data)
    rows = best_sentences(sset)
    row = {**answer_figures([(a, g) for a, g, _ in rows]), **breakdown(rows)}
    if args.json:
        print(json.dumps({"set": sset.name, "questions": len(rows), "best sentence": row}, ensure_ascii=False, indent=1))
    else:
        print(f"{sset.name}: {len(rows)} questions; the gold answer's own sentence: F1 {row['f1']:.1f}  EM {row['em']:.1f}")
        print("\n".join(breakdown_tables({"best sentence": row})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
