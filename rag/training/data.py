"""Training examples for the reader: (question, context, answer offsets) from SQuAD-format files.

DRCD is traditional Chinese; it is folded to simplified character by
character (:func:`rag.text.folding.fold_aligned`) so that answer offsets stay valid.
CMRC 2018 dev is the test set and is refused here. A fixed share of articles is
held out (by a hash of the title, so the split never depends on order) to
report a development score per epoch.

CMRC 2018 *train* is read only in its two parts as the benchmark defines them
(:func:`rag.bench.squad.load_named`, one hash of the paragraph id):
``cmrc-train`` to learn from (:func:`split_examples`) and ``cmrc-select``, the
selection set, to score epochs on. The raw file is refused as a training set,
so no path around the split exists.

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
from typing import Collection, Iterable

from rag.bench.squad import SPLIT_SETS, load_named, resolve
from rag.text.folding import fold_aligned, fold_question

log = logging.getLogger(__name__)

#: Files the reader may learn from, by short name (relative to the bench data dir).
TRAIN_SETS = {"drcd": "drcd/DRCD_dev.json", "xquad": "xquad_zh/xquad.zh.json"}
#: Parts of a split file the reader may learn from (all of their examples are training examples).
SPLIT_TRAIN_SETS = ("cmrc-train",)
#: Files that are never a training set under their own name: CMRC dev (the test set) and CMRC
#: train whole (it holds the selection set; ``cmrc-train`` is its training part).
REFUSED_FILES = ("cmrc2018_dev.json", "cmrc2018_train.json")


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
    """The span of an answer: at ``answer_start`` when the text is there, else its first occurrence.

    ``answer_start`` counts the answer's leading white space (18 CMRC train answers have some), so
    the stripped text is looked for that much further on; without this, two of them fell back to an
    earlier, wrong occurrence of the same words.
    """
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    if not text:
        return None
    if 0 <= start and context[start + lead:start + lead + len(text)] == text:
        return start + lead, start + lead + len(text)
    found = context.find(text)
    return (found, found + len(text)) if found >= 0 else None


def read_examples(path: Path | str, fold: bool = True, keep: Collection[str] | None = None) -> list[Example]:
    """Every answerable question of a file, with its first locatable answer.

    Args:
        path: a SQuAD-v1 JSON file.
        fold: fold traditional characters to simplified (offsets unchanged).
        keep: only the questions with these ids (default: all).

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
                if keep is not None and str(qa["id"]) not in keep:
                    continue
                for ans in qa.get("answers", []):
                    span = _answer_offsets(raw, ans.get("text", ""), int(ans.get("answer_start", -1)))
                    if span:
                        q = fold_question(qa["question"]) if fold else qa["question"]
                        out.append(Example(str(qa["id"]), q.strip(), context, span[0], span[1], title))
                        break
    return out


def split_examples(name: str, data_dir: Path | str | None = None) -> list[Example]:
    """The examples of one part of a split file (``cmrc-train`` or ``cmrc-select``).

    The part's questions are those :func:`rag.bench.squad.load_named` gives for the name, so
    training and ``rag eval cmrc-select`` share one split rule. A question id found in the other
    part too is dropped: ids are unique in CMRC train, and should a copy of the file ever repeat
    one, leaving it out is the side that cannot leak the selection set into training.

    Args:
        name: a key of :data:`rag.bench.squad.SPLIT_SETS`.
        data_dir: the bench data directory (default ``PathSettings().bench_data``).

    Returns:
        The part's examples, in file order.

    Raises:
        ValueError: not the name of a part.
    """
    if name not in SPLIT_SETS:
        raise ValueError(f"{name}: not a part of a split file ({', '.join(SPLIT_SETS)})")
    other = next(n for n in SPLIT_SETS if n != name and SPLIT_SETS[n][1] == SPLIT_SETS[name][1])
    mine = {q.qid for q in load_named(name, data_dir).questions}
    theirs = {q.qid for q in load_named(other, data_dir).questions}
    return read_examples(resolve(name, data_dir), keep=mine - theirs)


def set_share(spec: str) -> tuple[str, float]:
    """A training set's name and its share of an epoch, from ``name`` or ``name*share``.

    A share below 1 keeps that fraction of the set's questions (:func:`take_share`); a whole
    number above 1 repeats the set that many times: the way to weight short-answer DRCD/XQuAD up
    against CMRC train's long answers inside one run (docs/reader.md).

    >>> set_share("drcd*2"), set_share("cmrc-train*0.35"), set_share("xquad")
    (('drcd', 2.0), ('cmrc-train', 0.35), ('xquad', 1.0))

    Args:
        spec: one item of ``--sets``.

    Returns:
        (name, share).

    Raises:
        ValueError: the share is not a positive number, or above 1 and not whole.
    """
    name, star, share = spec.partition("*")
    if not star:
        return spec, 1.0
    try:
        value = float(share)
    except ValueError:
        raise ValueError(f"{spec}: the share after * must be a number, e.g. drcd*2 or cmrc-train*0.5") from None
    if value <= 0 or (value > 1 and not value.is_integer()):
        raise ValueError(f"{spec}: the share must be in (0, 1] or a whole number of repeats")
    return name, value


def take_share(examples: list[Example], share: float) -> list[Example]:
    """The examples of one set at its share of an epoch.

    Below 1 the kept questions are chosen by a hash of their id, so the choice never depends on
    the seed or the order; above 1 the list is repeated.

    >>> exs = [Example(str(i), "?", "ab", 0, 1, "t") for i in range(1000)]
    >>> len(take_share(exs, 2.0)), 300 < len(take_share(exs, 0.35)) < 400
    (2000, True)

    Args:
        examples: the set's examples.
        share: from :func:`set_share`.

    Returns:
        The examples to train on.
    """
    if share >= 1:
        return examples * int(share)
    return [ex for ex in examples if held_out("share:" + ex.qid, share)]


def refused(path: Path) -> bool:
    """Whether a file may not be a training set under its own name (CMRC dev or CMRC train whole).

    Args:
        path: the resolved file.

    Returns:
        True for :data:`REFUSED_FILES`.
    """
    return path.name in REFUSED_FILES


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
