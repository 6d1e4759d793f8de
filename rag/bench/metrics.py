"""Answer metrics, CMRC 2018 definition: exact match and longest-common-substring F1.

Normalisation lower-cases and drops punctuation and white space; tokens are
single CJK characters and runs of Latin letters or digits. F1 takes precision
and recall from the longest common *substring* of the token sequences. Both
are the best over the gold answers.

>>> exact_match("1500亿元。", ["1500 亿元"])
1.0
>>> round(f1_score("超过1500亿元", ["1500亿元"]), 3)
0.75
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Sequence

_ASCII_PUNCT = set(string.punctuation)
_TOKEN = re.compile(r"[a-z0-9]+|\S")


def _is_punct(ch: str) -> bool:
    return ch in _ASCII_PUNCT or unicodedata.category(ch).startswith(("P", "S"))


def tokens(text: str) -> list[str]:
    """Normalised CMRC tokens of a text.

    Args:
        text: any text.

    Returns:
        CJK characters one by one, Latin/digit runs whole, no punctuation or space.
    """
    text = "".join(" " if _is_punct(ch) else ch for ch in text.lower())
    return _TOKEN.findall(text)


def longest_common_substring(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common contiguous run of two token sequences.

    Args:
        a: tokens.
        b: tokens.

    Returns:
        The length.
    """
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def exact_match(prediction: str | None, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer.

    Args:
        prediction: the answer (None counts as empty).
        golds: gold answers.

    Returns:
        1.0 or 0.0.
    """
    p = "".join(tokens(prediction or ""))
    return float(any(p == "".join(tokens(g)) for g in golds))


def f1_score(prediction: str | None, golds: Sequence[str]) -> float:
    """Best longest-common-substring F1 over the gold answers.

    Args:
        prediction: the answer (None counts as empty).
        golds: gold answers.

    Returns:
        A value in [0, 1].
    """
    p = tokens(prediction or "")
    best = 0.0
    for g in golds:
        gt = tokens(g)
        if not p or not gt:
            continue
        lcs = longest_common_substring(p, gt)
        if lcs == 0:
            continue
        prec, rec = lcs / len(p), lcs / len(gt)
        best = max(best, 2 * prec * rec / (prec + rec))
    return best


def contains_gold(text: str | None, golds: Sequence[str]) -> bool:
    """Whether the normalised text holds a normalised gold answer.

    Args:
        text: an answer or passage.
        golds: gold answers.

    Returns:
        True if any gold occurs in it.
    """
    t = "".join(tokens(text or ""))
    return any("".join(tokens(g)) in t for g in golds if tokens(g))
