"""CMRC 2018 dev is the test set: none of its questions may appear in a test or in the library.

Rules and lexicons were once developed on CMRC dev questions (README, "Figures": those figures are
in-sample). From 2026-11-30 tuning uses the selection slice of CMRC *train* (``rag eval
cmrc-select``), DRCD dev and the article development set; this test keeps the dev questions out of
``tests/``, ``rag/`` (the rules and their lexicons) and ``scripts/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from rag.bench.squad import resolve
from tests.helpers import ROOT, skip_unless_ci

#: Shorter questions (谁是主席?) are common phrases, not copies.
MIN_CHARS = 6
SCANNED = ("tests", "rag", "scripts")
SUFFIXES = {".py", ".jsonl", ".json", ".md", ".txt", ".sh"}


def question_core(question: str) -> str:
    """A question without white space and its closing punctuation: 成年雪豹平均有多重？ → 成年雪豹平均有多重."""
    return re.sub(r"[\s?？!！。.,，]+$", "", question.strip())


def copies(texts: Iterable[tuple[str, str]], questions: Iterable[str]) -> dict[str, list[str]]:
    """Which of ``questions`` each named text holds word for word.

    Args:
        texts: (name, text) pairs.
        questions: the protected questions.

    Returns:
        name → the questions found in it (only names with a find).
    """
    cores = {c for c in map(question_core, questions) if len(c) >= MIN_CHARS}
    found = {}
    for name, text in texts:
        hits = sorted(c for c in cores if c in text)
        if hits:
            found[name] = hits
    return found


def repository_texts() -> Iterable[tuple[str, str]]:
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and path.suffix in SUFFIXES and "__pycache__" not in path.parts:
                yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8", errors="replace")


def test_the_scan_finds_a_planted_question():
    texts = [("a.py", 'QUESTIONS = ["成年雪豹平均有多重？"]'), ("b.py", "谁是主席?"), ("c.py", "nothing")]
    assert copies(texts, ["成年雪豹平均有多重?", "谁是主席?"]) == {"a.py": ["成年雪豹平均有多重"]}


def test_no_cmrc_dev_question_in_tests_or_the_library():
    path = resolve("cmrc")
    if not path.is_file():
        skip_unless_ci(f"CMRC 2018 dev not found at {path} (shared bench data missing)")
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    questions = [qa["question"] for article in data["data"] for p in article["paragraphs"] for qa in p["qas"]]
    assert len(questions) > 3000
    found = copies(repository_texts(), questions)
    assert not found, f"CMRC 2018 dev questions (the test set) copied into the repository: {found}"
