"""Two saved ``rag eval --json`` runs side by side: F1/EM by gold-answer length and by question type.

For the old reader against the new one (issue #18): run the same set twice, once per reader, and
compare. Every row the runs share can be compared; by default the first retrieval mode's row and the
gold-paragraph row (``oracle``, the reader's own figure). Given one run, it prints that run's tables.

    rag eval cmrc-select --modes hybrid --json > old.json
    rag eval cmrc-select --modes hybrid --json --set reader.weights=NEW > new.json
    python scripts/compare_readers.py old.json new.json                # hybrid and oracle
    python scripts/compare_readers.py old.json new.json --row oracle:alone --names old,new
    python scripts/compare_readers.py run.json                         # one run's two tables

A summary written before the tables existed has no ``by_length``/``by_type``: ``--details-a`` /
``--details-b`` give the run's ``--details`` file and the tables are computed from it (the same
function ``rag eval`` uses, :func:`rag.bench.breakdown.breakdown`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rag.bench.breakdown import breakdown, breakdown_tables, compare_tables, detail_rows, report_rows
from rag.config import Settings


def load_run(path: Path, details: Path | None = None) -> dict[str, Any]:
    """A ``rag eval --json`` summary, its rows' tables filled in from the details file where given.

    Args:
        path: the summary.
        details: the run's ``--details`` file (JSON lines), or None.

    Returns:
        The summary.
    """
    summary = json.loads(path.read_text(encoding="utf-8"))
    if details is None:
        return summary
    lines = [json.loads(x) for x in details.read_text(encoding="utf-8").splitlines() if x.strip()]
    fold = (summary.get("settings") or {}).get("fold_scripts")
    settings = Settings.from_pairs([f"index.fold_scripts={str(fold).lower()}"]) if fold is not None else Settings()
    for group, field in (("modes", "answer"), ("oracle_rows", "answer"), ("reader_alone", "reader_alone")):
        for key, row in (summary.get(group) or {}).items():
            rows = detail_rows(lines, key, field)
            if rows:
                row.update(breakdown(rows, settings))
    if summary.get("oracle") and "oracle" in (summary.get("oracle_rows") or {}):
        summary["oracle"] = summary["oracle_rows"]["oracle"]
    return summary


def default_rows(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The first retrieval mode's row and ``oracle``, where both runs have them with their tables."""
    ra, rb = report_rows(a), report_rows(b)
    wanted = list(a.get("modes") or {})[:1] + ["oracle"]
    return [k for k in wanted if k in ra and k in rb and "by_length" in ra[k] and "by_length" in rb[k]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path, help="the first run (the old reader): rag eval --json output")
    ap.add_argument("b", type=Path, nargs="?", help="the second run (the new reader); omit to print A's tables")
    ap.add_argument("--row", action="append", default=[], help="a row to compare (hybrid, oracle, hybrid:rules, "
                                                               "oracle:alone…); repeatable")
    ap.add_argument("--all", action="store_true", help="every row both runs have")
    ap.add_argument("--names", default="A,B", help="the two column titles, comma-separated (default A,B)")
    ap.add_argument("--details-a", type=Path, help="A's --details file, for a summary without the tables")
    ap.add_argument("--details-b", type=Path, help="B's --details file, likewise")
    args = ap.parse_args(argv)
    a = load_run(args.a, args.details_a)
    if args.b is None:
        lines = breakdown_tables(report_rows(a))
        if not lines:
            print(f"{args.a}: no row carries by_length/by_type (pass --details-a)", file=sys.stderr)
            return 1
        print(f"{a.get('set')}: {a.get('questions')} questions")
        print("\n".join(lines))
        return 0
    b = load_run(args.b, args.details_b)
    name_a, _, name_b = args.names.partition(",")
    ra, rb = report_rows(a), report_rows(b)
    keys = [k for k in ra if k in rb] if args.all else args.row or default_rows(a, b)
    if not keys:
        print("no row to compare: both runs need the same row with by_length/by_type (see --details-a/-b)",
              file=sys.stderr)
        return 1
    print(f"{name_a}: {args.a} ({a.get('set')}, {a.get('questions')} questions, reader {a.get('settings', {}).get('reader')})")
    print(f"{name_b}: {args.b} ({b.get('set')}, {b.get('questions')} questions, reader {b.get('settings', {}).get('reader')})")
    for key in keys:
        if key not in ra or key not in rb:
            print(f"\n{key}: not in both runs", file=sys.stderr)
            continue
        print(f"\n{key}")
        print("\n".join(compare_tables(ra[key], rb[key], name_a or "A", name_b or "B")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
