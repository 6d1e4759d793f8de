"""How sure an extracted answer is: a few named features and a logistic model over them.

The weights (:data:`rag.config.CONFIDENCE_WEIGHTS`) were fitted on the article
development questions (``scripts/fit_confidence.py``: label 1 when the answer
contains a gold answer, 0 when it does not or the question has none) and are
checked on the held-out questions; the README reports both.

>>> round(confidence({"bias": 1.0}), 3) == round(1 / (1 + math.exp(-CONFIDENCE_WEIGHTS["bias"])), 3)
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from rag.config import CONFIDENCE_WEIGHTS
from rag.text.lexicon import OFFICE_TITLES


#: Named evidence for one answer; all values are numbers.
Features = dict[str, float]

#: The log-odds are clipped to this magnitude before the logistic (no overflow).
_MAX_LOG_ODDS = 40.0
_OFFICE = re.compile("(" + "|".join(OFFICE_TITLES) + ")")


def confidence(features: Mapping[str, float], weights: Mapping[str, float] | None = None) -> float:
    """The logistic of the weighted features.

    Args:
        features: the evidence.
        weights: weights to use (default :data:`rag.config.CONFIDENCE_WEIGHTS`); unknown features weigh 0.

    Returns:
        A value in [0, 1].
    """
    w = CONFIDENCE_WEIGHTS if weights is None else weights
    z = sum(w.get(k, 0.0) * v for k, v in features.items())
    return 1.0 / (1.0 + math.exp(-max(-_MAX_LOG_ODDS, min(_MAX_LOG_ODDS, z))))


def deputy_trap(question: str, sentence: str) -> bool:
    """The question asks for a 局长 but the sentence only names the 副局长 (or 副主任…).

    Args:
        question: the question.
        sentence: the answer sentence.

    Returns:
        True when every occurrence of a title from the question is a deputy's.

    >>> deputy_trap("数据管理局局长是谁?", "数据管理局副局长魏文涛表示。")
    True
    """
    for m in _OFFICE.finditer(question):
        title = m.group(1)
        if "副" + title in question or title not in sentence:
            continue
        if all(sentence[i - 1:i] == "副" for i in (x.start() for x in re.finditer(title, sentence))):
            return True
    return False


def unknown_share(q_tokens: Sequence[str], vocab: Mapping[str, float]) -> float:
    """Share of the question's content words (of two or more characters) found nowhere in the corpus.

    Args:
        q_tokens: the question's keyword tokens.
        vocab: the corpus vocabulary (token → idf).

    Returns:
        A value in [0, 1]; 0 when the question has no such word.
    """
    words = {t for t in q_tokens if len(t) >= 2}
    if not words:
        return 0.0
    return sum(1 for t in words if t not in vocab) / len(words)
