"""Training examples for the reader: (question, context, answer offsets) from SQuAD-format files.

DRCD is traditional Chinese; it is folded to simplified character by
character (:func:`rag.text.folding.fold_aligned`) so that answer offsets stay valid.
CMRC 2018 dev is the test set and is refused here. A fixed share of articles is
held out (by a hash of the title, so the split never depends on order) to
report a development score per epoch.

>>> ex = Example(qid="q", question="首都是哪里?", context="北京是首都。", start=0, end=2, article="t")
>>> ex.context[ex.start:ex.end]
'北京'
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from rag.text.folding import fold_aligned, fold_question

log = logging.getLogger(__name__)

#: Files the reader may learn from, by short name (relative to the bench data dir).
TRAIN_SETS = {"drcd": "drcd/DRCD_dev.json", "xquad": "xquad_zh/xquad.zh.json"}


@dataclass(frozen=True)
class Example:
    """One question with one gold answer span in its context."""

    qid: str
    question: str
    context: str
    start: int
    end: int
    article: str


def _answer_offsets(context: str, text: str, start: int) -> tuple[int, int] | None:
    text = text.strip()
    if not text:
        return None
    if 0 <= start and context[start:start + len(text)] == text:
        return start, start + len(text)
    found = context.find(text)
    return (found, found + len(text)) if found >= 0 else None


def read_examples(path: Path | str, fold: bool = True) -> list[Example]:
    """Every answerable question of a file, with its first locatable answer.

    Args:
        path: a SQuAD-v1 JSON file.
        fold: fold traditional characters to simplified (offsets unchanged).

    Returns:
        The examples, in file order.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    out: list[Example] = []
    for article in data["data"]:
        title = str(article.get("title", ""))
        for para in article["paragraphs"]:
            raw = para["context"]
            context = fold_aligned(raw) if fold else raw
            for qa in para["qas"]:
                for ans in qa.get("answers", []):
                    span = _answer_offsets(raw, ans.get("text", ""), int(ans.get("answer_start", -1)))
                    if span:
                        q = fold_question(qa["question"]) if fold else qa["question"]
                        out.append(Example(str(qa["id"]), q.strip(), context, span[0], span[1], title))
                        break
    return out


def held_out(article: str, share: float) -> bool:
    """Whether an article belongs to the development split.

    Args:
        article: the article title.
        share: the share of articles held out (0–1).

    Returns:
        True for development articles.
    """
    h = int(hashlib.sha1(article.encode("utf-8")).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < share


def split(examples: Iterable[Example], share: float) -> tuple[list[Example], list[Example]]:
    """Train and development examples, split by article.

    Args:
        examples: all examples.
        share: the share of articles held out.

    Returns:
        (train, dev).
    """
    train, dev = [], []
    for ex in examples:
        (dev if held_out(ex.article, share) else train).append(ex)
    return train, dev
