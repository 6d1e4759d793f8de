"""Spans inside one sentence: the :class:`Candidate` span, clause bounds and trimming.

Offsets are relative to the sentence.

>>> s = "规模超过1500亿元,在智能芯片等领域取得成果。"
>>> clause_end(s, 0), s[slice(*trim(s, 2, 11))]
(10, '超过1500亿元')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text.lexicon import CLAUSE_MARKS

#: Where a clause ends inside a sentence (a line break too).
CLAUSE_END = CLAUSE_MARKS + "\n"
#: Function words and punctuation dropped at either end of a span (“ ” are kept when balanced).
EDGE_JUNK = "的了是为将在对于把被和与及并也要从由向给等：:，,、 “”\"'（）()"
#: Words that introduce a value rather than belong to it, dropped at a span's start.
_FUNCTION_PREFIX = ("又名", "又称", "亦称", "又译为", "又译", "又叫做", "又叫", "俗称", "简称", "包括", "主要是", "就是",
                    "即", "是", "为", "有", "在", "对", "将", "了", "的")
#: An aside in brackets: an alias or dates right after a name (X（学名：…）).
BRACKET_AT = re.compile(r"\s*(?:（[^）]*）|\([^)]*\))")
_PAREN = re.compile(r"《[^》]*》|\([^)]*\)|（[^）]*）")


@dataclass(frozen=True)
class Candidate:
    """A span inside a sentence: ``[start, end)`` relative to the sentence, and how sure."""

    start: int
    end: int
    typed: bool        # found by the expected answer type, not just by alignment
    whole: bool = False  # the whole sentence: nothing narrower was found


def clause_end(sent: str, i: int) -> int:
    """The end of the clause that starts at ``i`` (a mark at ``i`` itself does not end it)."""
    j = i
    while j < len(sent) and (sent[j] not in CLAUSE_END or j == i):
        j += 1
    return j


def clause_start(sent: str, i: int) -> int:
    """The start of the clause that ends at ``i``."""
    j = i
    while j > 0 and sent[j - 1] not in CLAUSE_END:
        j -= 1
    return j


def trim(sent: str, start: int, end: int) -> tuple[int, int]:
    """Drop function words and punctuation at both ends of a span (keeps 《》 whole)."""
    changed = True
    while changed and start < end:
        changed = False
        for p in _FUNCTION_PREFIX:
            if sent.startswith(p, start) and end - start > len(p) + 1:
                start += len(p)
                changed = True
        while start < end and sent[start] in EDGE_JUNK and sent[start] != "“":
            start += 1
            changed = True
        while end > start and sent[end - 1] in EDGE_JUNK and sent[end - 1] != "”":
            end -= 1
            changed = True
    if sent[start:end].count("“") != sent[start:end].count("”"):
        while end > start and sent[end - 1] in "”":
            end -= 1
        while start < end and sent[start] == "“":
            start += 1
    return start, end


def has_word(text: str) -> bool:
    """Whether a text holds any letter or digit (not only punctuation)."""
    return any(ch.isalnum() for ch in text)


def inside_brackets(sent: str, span: tuple[int, int]) -> bool:
    """Whether a span lies inside a 《title》 or an (aside) of the sentence."""
    return any(m.start() < span[0] and span[1] < m.end() for m in _PAREN.finditer(sent))
