"""Chinese sentence splitting and heading detection, with exact offsets.

Sentences end at 。！？；… (and ``! ? ; .`` in their ASCII forms) and at line
breaks. Numbers are never broken (``1.5元``, ``10%``, ``2023—2025年``): an ASCII
``.`` between digits is a decimal point. Quoted speech stays whole: an end mark
inside “……” does not end the sentence, so ``“……。”王海峰说。`` is one sentence.
A short line without end punctuation is a heading. A run with no punctuation is
still cut, so that no sentence exceeds ``max_chars``.

>>> text = "标题行\\n价格为1.5元。涨了10%！“好。”他说。"
>>> [(text[s.start:s.end], s.heading) for s in split_sentences(text)]
[('价格为1.5元。', '标题行'), ('涨了10%！', '标题行'), ('“好。”他说。', '标题行')]
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from rag.text.lexicon import SENTENCE_ENDS, SOFT_BREAKS

#: Marks that end a sentence (full-width and ASCII).
END_MARKS = frozenset(SENTENCE_ENDS)
#: Characters that belong to the sentence they follow (closing quotes and brackets).
CLOSERS = frozenset("”’」』）)】》〉\"'")
OPENERS = {"“": "”", "‘": "’", "「": "」", "『": "』"}
#: Where a too-long sentence may be cut, best first.
_SOFT_BREAKS = (SENTENCE_ENDS, SOFT_BREAKS)
#: A line ending in one of these continues a sentence: it is never a heading.
_NOT_HEADING_END = frozenset(SENTENCE_ENDS + SOFT_BREAKS + ".")
_TOKEN_CHAR = re.compile(r"[0-9A-Za-z.%\-—–_/]")


@dataclass(frozen=True)
class Sentence:
    """One sentence: ``text[start:end]``, under ``heading`` (None before the first)."""

    start: int
    end: int
    heading: str | None = None


def iter_lines(text: str) -> Iterator[tuple[int, int]]:
    """Each line's ``(start, end)``, without its line break; ``\\r\\n`` and ``\\r`` count.

    Args:
        text: the document.

    Returns:
        An iterator of offsets.
    """
    for m in re.finditer(r"[^\r\n]*", text):
        if m.start() == m.end() and m.start() > 0 and text[m.start() - 1] not in "\r\n":
            continue
        yield m.start(), m.end()


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def heading_text(line: str, max_chars: int = 30) -> str | None:
    """The heading a line stands for, or None when it is body text.

    A Markdown heading (``# 标题``) always is one; otherwise a short line
    (at most ``max_chars``) that does not end with sentence punctuation and
    holds no end mark inside.

    Args:
        line: one stripped line.
        max_chars: the longest line that can be a heading.

    Returns:
        The heading text, or None.
    """
    m = re.match(r"^#{1,6}\s+(.+?)\s*#*$", line)
    if m:
        return m.group(1)
    if not line or len(line) > max_chars or line[0] in "-*•+>|":
        return None
    if line[-1] in _NOT_HEADING_END or line[-1] in CLOSERS and len(line) > 1 and line[-2] in END_MARKS:
        return None
    if any(ch in END_MARKS for ch in line):
        return None
    return line


def _is_ascii_period_end(text: str, i: int, line_end: int) -> bool:
    """Whether the ``.`` at ``i`` ends a sentence (not ``1.5``, ``e.g.x``, ``v1.2``)."""
    nxt = text[i + 1] if i + 1 < line_end else ""
    if nxt == "" or nxt.isspace() or nxt in CLOSERS or nxt == ".":
        prev = text[i - 1] if i > 0 else ""
        return not (prev.isdigit() and nxt.isdigit())
    return "\u4e00" <= nxt <= "\u9fff"


def _split_line(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split one line into sentences at end marks outside quotes."""
    spans: list[tuple[int, int]] = []
    closing: list[str] = []  # expected closers of the quotes now open
    sent_start = start
    i = start
    while i < end:
        ch = text[i]
        if ch in OPENERS:
            closing.append(OPENERS[ch])
        elif closing and ch == closing[-1]:
            closing.pop()
        is_end = ch in END_MARKS or (ch == "." and _is_ascii_period_end(text, i, end))
        if is_end and not closing:
            j = i + 1
            while j < end and (text[j] in END_MARKS or text[j] == "." or text[j] in CLOSERS):
                j += 1
            spans.append((sent_start, j))
            sent_start = i = j
            continue
        i += 1
    if sent_start < end:
        spans.append((sent_start, end))
    return [s for s in (_strip(text, a, b) for a, b in spans) if s[0] < s[1]]


def _cut_point(text: str, start: int, end: int, max_chars: int) -> int:
    """Where to cut ``text[start:end]`` (longer than ``max_chars``): after the last
    good break in the window, else before a number or word that would be split."""
    limit = start + max_chars
    floor = start + max_chars // 3  # do not make silly short pieces
    for marks in _SOFT_BREAKS:
        for k in range(limit - 1, floor - 1, -1):
            if text[k] in marks:
                k += 1
                while k < end and text[k] in CLOSERS:
                    k += 1
                return min(k, limit)
    k = limit
    while k > floor and _TOKEN_CHAR.match(text[k - 1]) and _TOKEN_CHAR.match(text[k]):
        k -= 1
    return k if k > floor else limit


def bound_span(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut one span into pieces of at most ``max_chars`` characters.

    Args:
        text: the document.
        start: span start.
        end: span end.
        max_chars: the longest piece.

    Returns:
        Consecutive, stripped ``(start, end)`` pieces covering the span.
    """
    pieces = []
    while end - start > max_chars:
        cut = _cut_point(text, start, end, max_chars)
        a, b = _strip(text, start, cut)
        if a < b:
            pieces.append((a, b))
        start = cut
    a, b = _strip(text, start, end)
    if a < b:
        pieces.append((a, b))
    return pieces


def split_sentences(text: str, max_chars: int = 160, heading_max_chars: int = 30) -> list[Sentence]:
    """Split a document into sentences, tagging each with its section heading.

    Heading lines are not returned as sentences; they label those after them.

    Args:
        text: the document's original text.
        max_chars: the longest sentence; longer runs are cut.
        heading_max_chars: the longest line that can be a heading.

    Returns:
        The sentences in document order, offsets into ``text``.
    """
    out: list[Sentence] = []
    heading: str | None = None
    lines = [ab for ab in (_strip(text, a, b) for a, b in iter_lines(text)) if ab[0] < ab[1]]
    titles = [heading_text(text[a:b], heading_max_chars) for a, b in lines]
    # A heading-like line with no body after it is body text, so it is not lost.
    has_body_after = False
    for n in range(len(lines) - 1, -1, -1):
        if titles[n] is None:
            has_body_after = True
        elif not has_body_after:
            titles[n] = None
    for (a, b), title in zip(lines, titles):
        if title is not None:
            heading = title
            continue
        for s, e in _split_line(text, a, b):
            for ps, pe in bound_span(text, s, e, max_chars):
                out.append(Sentence(ps, pe, heading))
    return out
