"""Script folding: traditional and simplified Chinese match each other for keywords.

A question typed in traditional characters over a simplified document (or the
reverse) shares no BM25 tokens with it. Both sides are therefore *folded* to
simplified characters with OpenCC's ``t2s`` conversion (the ``opencc`` wheel
from PyPI, which bundles its dictionaries and runs offline) before they are
tokenized: the index tokens of every chunk and the keyword query. Chunk texts,
answers and offsets stay in the document's own script.

For the answer step, :func:`fold_aligned` gives a simplified *view* of a text
with exactly the same length, so that an offset found in the view is an offset
into the original.

>>> to_simplified("湖北人工智慧產業規模到2025年超過多少?")
'湖北人工智慧产业规模到2025年超过多少?'
>>> fold_aligned("這份方案覆蓋哪幾年?")
'这份方案覆盖哪几年?'
>>> has_cjk("How large is it?"), has_cjk("AI大模型")
(False, True)
"""

from __future__ import annotations

import functools
import logging
import re


log = logging.getLogger(__name__)

#: CJK unified ideographs (with extension A and the compatibility block).
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")

#: Variants that OpenCC ``t2s`` keeps but the question analysis does not know (same length).
_QUESTION_VARIANTS = (("甚么", "什么"), ("甚麽", "什么"))


@functools.lru_cache(maxsize=2)
def _converter(config: str = "t2s"):
    """An OpenCC converter (``t2s`` or ``s2t``), or None when the ``opencc`` package is missing."""
    try:
        import opencc
    except ImportError:  # pragma: no cover - opencc is a pinned dependency
        log.warning("opencc is not installed: traditional and simplified Chinese are not folded")
        return None
    return opencc.OpenCC(config)


def has_cjk(text: str) -> bool:
    """Whether a text holds any Chinese character.

    Args:
        text: any text.

    Returns:
        True when at least one CJK ideograph occurs.
    """
    return bool(_CJK.search(text or ""))


def is_latin_question(text: str) -> bool:
    """Whether a question is written without Chinese characters (English and the like).

    Args:
        text: the question.

    Returns:
        True when it has Latin letters and no CJK ideograph.
    """
    return not has_cjk(text) and bool(_LATIN.search(text or ""))


@functools.lru_cache(maxsize=4096)
def to_simplified(text: str) -> str:
    """Fold traditional characters to simplified (OpenCC ``t2s``); simplified text is unchanged.

    The result may differ in length from ``text`` (phrase conversions): use it
    for keyword matching only, never for offsets.

    Args:
        text: any text.

    Returns:
        The folded text (``text`` itself when OpenCC is unavailable).
    """
    return _convert(text, "t2s")


def to_traditional(text: str) -> str:
    """Simplified characters to traditional (OpenCC ``s2t``): to show a rewritten question in the
    script its user typed; ``text`` itself when OpenCC is unavailable."""
    return _convert(text, "s2t")


def _convert(text: str, config: str) -> str:
    """``text`` through the OpenCC conversion ``config``; unchanged without Chinese or without OpenCC."""
    conv = _converter(config)
    if conv is None or not has_cjk(text):
        return text
    return conv.convert(text)


@functools.lru_cache(maxsize=4096)
def fold_aligned(text: str) -> str:
    """Like :func:`to_simplified`, but always of the same length as ``text``.

    When a phrase conversion changed the length, the text is folded character
    by character instead, keeping any character whose conversion is not a
    single character.

    Args:
        text: any text.

    Returns:
        The folded text, ``len(result) == len(text)``.
    """
    folded = to_simplified(text)
    if len(folded) == len(text):
        return folded
    out = []
    for ch in text:
        c = to_simplified(ch)
        out.append(c if len(c) == 1 else ch)
    return "".join(out)


def fold_question(question: str) -> str:
    """The question as the keyword and answer steps should see it: simplified, same length.

    Args:
        question: the question as typed.

    Returns:
        The folded question (question words such as 甚麼 normalised to 什么).
    """
    q = fold_aligned(question)
    for a, b in _QUESTION_VARIANTS:
        q = q.replace(a, b)
    return q
