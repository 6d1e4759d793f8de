"""F1/EM of a benchmark row broken down by gold-answer length and by question type (issue #18).

``rag eval`` adds two tables to every row it reports: ``by_length`` (the first gold answer's
length: ≤ 10, 11–20, > 20 characters) and ``by_type`` (number, person, place, time, what-is, why,
how, list, other). They show where a reader loses its points: a reader that finds short
entities but cuts long answers short looks fine overall and poor in the > 20 bucket.

The question type reuses the question typing of the answer step (:mod:`rag.query`, the
``answer_type`` of :class:`~rag.query.analyse.QueryAnalyser`) and adds thin rules only where its
types do not name a category of the report:

* ``number``, ``person``, ``place``, ``why``, ``list`` are the analyser's types as they are;
  ``date`` is reported as ``time``. Its types win: 哪些城市 stays ``place``, 哪一年 ``time``.
* Of the rest (``what``, ``title``, ``org``), in this order:
  ``how`` when the question word is 如何 / 怎么 / 怎样, or it asks 用什么方法 / 通过什么方式 / 什么途径…
  (English: ``how`` not followed by many / much / long…, which the analyser typed already);
  ``list`` for 包括什么 / 包含哪 / 有哪 / 分别是什么;
  ``what-is`` for 是什么 / 什么是 / 指的是 / 是指 / 指什么 / 何为 / 何谓 / 定义 / 含义 / 意思
  (English: what is / what are / what does … mean), and for the identity of a named person
  (王海峰是谁: the analyser types it ``what``, a description, not a name);
  ``other`` for everything else (哪个队, 叫什么名字, 得了什么奖…), and for a question that
  cannot be asked (empty, over-long).

>>> [question_type(q) for q in ("长江全长多少公里？", "故宫是哪一年建成的？", "什么是特许经营？",
...                             "如何申请算力券？", "该计划包括什么内容？", "他获得了什么奖项？")]
['number', 'time', 'what-is', 'how', 'list', 'other']
>>> length_bucket(["约6300公里", "6300公里"]), length_bucket(["因为" + "河水含沙量极高" * 3])
('<=10', '>20')
>>> b = breakdown([("6300公里", ["约6300公里"], "长江全长多少公里？"), (None, ["东海"], "长江最后注入哪里？")])
>>> b["by_length"]["<=10"], b["by_type"]["place"]
({'n': 2, 'f1': 42.86, 'em': 0.0}, {'n': 1, 'f1': 0.0, 'em': 0.0})
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from rag.bench.metrics import exact_match, f1_score
from rag.config import Settings
from rag.errors import QuestionError
from rag.query.analyse import QueryAnalyser

__all__ = ["LENGTH_BUCKETS", "QUESTION_TYPES", "length_bucket", "question_type", "breakdown", "detail_rows",
           "report_rows", "breakdown_tables", "compare_tables"]

#: The gold-answer length buckets, in characters of the first gold answer.
LENGTH_BUCKETS = ("<=10", "11-20", ">20")
#: The question types of the report, ``other`` last.
QUESTION_TYPES = ("number", "person", "place", "time", "what-is", "why", "how", "list", "other")

#: The analyser's types that are a report type as they are (``date`` is renamed).
_AS_IS = {"number": "number", "person": "person", "place": "place", "date": "time", "why": "why", "list": "list"}
_HOW_QWORDS = ("如何", "怎么", "怎样")
_HOW = re.compile(r"(用|以|靠|通过|采取|采用|利用|经由)(了)?(什么|何种|哪种|哪些)(样的?)?(方法|方式|手段|途径|办法|措施)"
                  r"|什么(方法|方式|手段|途径|办法)|^how\b(?!\s+(many|much|long|old|far|big|large|often|tall|high))",
                  re.IGNORECASE)
_LIST = re.compile(r"包括什么|包括哪|包含什么|包含哪|有哪|分别是什么|分别为什么|分别是哪")
_WHAT_IS = re.compile(r"是什么|什么是|指的是|是指|指什么|何为|何谓|定义|含义|意思|意义是"
                      r"|^what\s+(is|are|was|were)\b|\bwhat\s+does\b.*\bmean\b", re.IGNORECASE)


def length_bucket(golds: Sequence[str]) -> str:
    """The length bucket of a question, by its first gold answer.

    The first gold answer, not the shortest or the longest: CMRC 2018 and DRCD list the
    annotator's own answer first and the extra answers of other annotators after it (often a
    shorter or longer cut of the same span), so the first is the answer the question was
    written for. Length in characters after stripping white space; no gold answer counts as 0.

    Args:
        golds: the gold answers, in the file's order.

    Returns:
        One of :data:`LENGTH_BUCKETS`.

    >>> length_bucket(["一二三四五六七八九十"]), length_bucket(["一二三四五六七八九十一"]), length_bucket([])
    ('<=10', '11-20', '<=10')
    """
    n = len(golds[0].strip()) if golds else 0
    return "<=10" if n <= 10 else "11-20" if n <= 20 else ">20"


@lru_cache(maxsize=65536)
def _typed(question: str, fold_scripts: bool) -> str:
    """The report type of a question (memoised: every row of a run types the same questions)."""
    settings = Settings.from_pairs([f"index.fold_scripts={str(fold_scripts).lower()}"], Settings())
    try:
        query = QueryAnalyser(settings).analyse(question)
    except QuestionError:
        return "other"
    if query.answer_type in _AS_IS:
        return _AS_IS[query.answer_type]
    if query.analysis.person:
        return "what-is"
    text = query.folded
    if query.analysis.qword.startswith(_HOW_QWORDS) and not query.analysis.qword.endswith("的") or _HOW.search(text):
        return "how"
    if _LIST.search(text):
        return "list"
    if _WHAT_IS.search(text):
        return "what-is"
    return "other"


def question_type(question: str, settings: Settings | None = None) -> str:
    """The question type of the report (rules: the module's docstring).

    Args:
        question: the question as asked.
        settings: settings (only ``index.fold_scripts`` matters: how a traditional-script question
            is read); default: the defaults.

    Returns:
        One of :data:`QUESTION_TYPES`.

    >>> question_type("王海峰是谁？"), question_type("长江发源于哪里？"), question_type("为什么黄河呈现黄色？")
    ('what-is', 'place', 'why')
    >>> question_type("長江最後注入哪些地方？"), question_type("How do I apply?")
    ('place', 'how')
    """
    fold = settings.index.fold_scripts if settings is not None else Settings().index.fold_scripts
    return _typed(question, fold)


def _cell(scored: Sequence[tuple[float, float]]) -> dict[str, Any]:
    n = len(scored)
    if not n:
        return {"n": 0, "f1": None, "em": None}
    return {"n": n, "f1": round(100 * sum(f for f, _ in scored) / n, 2),
            "em": round(100 * sum(e for _, e in scored) / n, 2)}


def breakdown(rows: Sequence[tuple[str | None, Sequence[str], str]],
              settings: Settings | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """F1 and EM (×100, CMRC metric, best over the golds) per length bucket and per question type.

    Args:
        rows: per question, the prediction (None when declined), the gold answers and the question.
        settings: for :func:`question_type`.

    Returns:
        ``{"by_length": {bucket: {"n", "f1", "em"}}, "by_type": {type: {"n", "f1", "em"}}}``, every
        bucket and type present, in the order of :data:`LENGTH_BUCKETS` and :data:`QUESTION_TYPES`
        (``f1`` and ``em`` None where ``n`` is 0).
    """
    by_length: dict[str, list[tuple[float, float]]] = {b: [] for b in LENGTH_BUCKETS}
    by_type: dict[str, list[tuple[float, float]]] = {t: [] for t in QUESTION_TYPES}
    for prediction, golds, question in rows:
        scored = (f1_score(prediction, golds), exact_match(prediction, golds))
        by_length[length_bucket(golds)].append(scored)
        by_type[question_type(question, settings)].append(scored)
    return {"by_length": {b: _cell(s) for b, s in by_length.items()},
            "by_type": {t: _cell(s) for t, s in by_type.items()}}


def detail_rows(details: Sequence[Mapping[str, Any]], key: str,
                field: str = "answer") -> list[tuple[str | None, Sequence[str], str]]:
    """The (prediction, golds, question) rows of one report row, from a run's per-question details.

    Args:
        details: ``EvalResult.details`` (or the lines of ``rag eval --details``).
        key: the row (``hybrid``, ``oracle``, ``hybrid:rules``…).
        field: ``answer``, or ``reader_alone`` for the reader-alone row of ``key``.

    Returns:
        The rows of the questions that have that field.

    >>> detail_rows([{"question": "q", "golds": ["a"], "hybrid": {"answer": "a"}}, {"question": "r", "golds": []}], "hybrid")
    [('a', ['a'], 'q')]
    """
    return [(d[key][field], d["golds"], d["question"]) for d in details
            if isinstance(d.get(key), Mapping) and field in d[key]]


def report_rows(summary: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Every row of a ``rag eval`` summary that answers, by the name ``format_summary`` prints.

    Args:
        summary: ``EvalResult.summary`` (or the JSON of ``rag eval --json``).

    Returns:
        The modes' rows, the gold-paragraph rows and the reader-alone rows (``<key>:alone``).

    >>> list(report_rows({"modes": {"hybrid": {}}, "oracle_rows": {"oracle": {}}, "reader_alone": {"oracle": {}}}))
    ['hybrid', 'oracle', 'oracle:alone']
    """
    rows: dict[str, Mapping[str, Any]] = dict(summary.get("modes") or {})
    rows.update(summary.get("oracle_rows") or ({"oracle": summary["oracle"]} if summary.get("oracle") else {}))
    rows.update({f"{k}:alone": r for k, r in (summary.get("reader_alone") or {}).items()})
    return rows


def _figure(c: Mapping[str, Any] | None) -> str:
    return "-" if not c or not c.get("n") else f"{c['f1']:.1f}/{c['em']:.1f}"


def breakdown_tables(rows: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The two tables (by gold-answer length, by question type) of the rows that carry them.

    Rows are the buckets and types, columns the report rows' ``F1/EM``; ``n`` is the first
    column's count (a column that scored a different number of questions shows its own).

    Args:
        rows: report rows by name (:func:`report_rows`).

    Returns:
        Lines of text (none when no row carries a breakdown).
    """
    cols = {name: r for name, r in rows.items() if "by_length" in r and "by_type" in r}
    if not cols:
        return []
    widths = {name: max(len(name), 11) for name in cols}
    lines: list[str] = []
    for table, title, labels in (("by_length", "gold-answer length", LENGTH_BUCKETS),
                                 ("by_type", "question type", QUESTION_TYPES)):
        lines.append(f"F1/EM by {title}:")
        lines.append(f"{'':<8} {'n':>5} " + " ".join(f"{name:>{widths[name]}}" for name in cols))
        for label in labels:
            cells = [r[table].get(label) or {} for r in cols.values()]
            n0 = cells[0].get("n", 0)
            shown = [_figure(c) + ("" if c.get("n", 0) == n0 else f" n={c.get('n', 0)}") for c in cells]
            lines.append(f"{label:<8} {n0:>5} " + " ".join(f"{s:>{w}}" for s, w in zip(shown, widths.values())))
    return lines


def _delta(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None, field: str) -> str:
    if not a or not b or not a.get("n") or not b.get("n"):
        return "-"
    return f"{b[field] - a[field]:+.1f}"


def compare_tables(a: Mapping[str, Any], b: Mapping[str, Any], a_name: str = "A", b_name: str = "B") -> list[str]:
    """One report row of two runs side by side: both tables, with B − A for F1 and EM.

    ``n`` is the questions of the bucket or type (``na|nb`` where the runs scored different
    numbers of questions: then the two runs are not comparable there); a bucket or type that
    neither run has is left out.

    Args:
        a: the row of the first run (the old reader), with ``by_length`` and ``by_type``.
        b: the same row of the second run (the new reader).
        a_name: the first run's column title.
        b_name: the second run's column title.

    Returns:
        Lines of text.

    >>> cell = {"n": 4, "f1": 50.0, "em": 25.0}
    >>> row = {"f1": 50.0, "em": 25.0, "by_length": {"<=10": cell}, "by_type": {"number": cell}}
    >>> print("\\n".join(compare_tables(row, {**row, "by_length": {"<=10": {**cell, "f1": 60.0}}})[:4]))
                  n      A F1/EM      B F1/EM    ΔF1    ΔEM
    all           4    50.0/25.0    50.0/25.0   +0.0   +0.0
    by gold-answer length:
    <=10          4    50.0/25.0    60.0/25.0  +10.0   +0.0
    """
    w = max(len(a_name), len(b_name), 5) + 7
    n_all = [sum(c.get("n", 0) for c in (r.get("by_length") or {}).values()) for r in (a, b)]

    def line(label: str, ca: Mapping[str, Any] | None, cb: Mapping[str, Any] | None) -> str:
        na, nb = (ca or {}).get("n", 0), (cb or {}).get("n", 0)
        n = f"{na}" if na == nb else f"{na}|{nb}"
        return (f"{label:<8} {n:>6} {_figure(ca):>{w}} {_figure(cb):>{w}} "
                f"{_delta(ca, cb, 'f1'):>6} {_delta(ca, cb, 'em'):>6}")

    lines = [f"{'':<8} {'n':>6} {a_name + ' F1/EM':>{w}} {b_name + ' F1/EM':>{w}} {'ΔF1':>6} {'ΔEM':>6}",
             line("all", {"n": n_all[0], "f1": a.get("f1"), "em": a.get("em")},
                  {"n": n_all[1], "f1": b.get("f1"), "em": b.get("em")})]
    for table, title, labels in (("by_length", "gold-answer length", LENGTH_BUCKETS),
                                 ("by_type", "question type", QUESTION_TYPES)):
        lines.append(f"by {title}:")
        for label in labels:
            ca, cb = (a.get(table) or {}).get(label), (b.get(table) or {}).get(label)
            if (ca or {}).get("n") or (cb or {}).get("n"):
                lines.append(line(label, ca, cb))
    return lines
