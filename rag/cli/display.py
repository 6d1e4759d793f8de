"""Human-readable rendering of answers and passages for the terminal.

The answer span is marked 【like this】 inside its passage.

>>> mark("价格为1.5元。", 3, 7)
'价格为【1.5元】。'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rag.types import Answer, Citation, Passage

NOT_FOUND = "未找到: 文档中没有找到这个问题的答案 (not found in the documents)"


def mark(text: str, start: int, end: int, left: str = "【", right: str = "】") -> str:
    """Wrap ``text[start:end]`` in markers.

    Args:
        text: the text.
        start: span start, relative to ``text``.
        end: span end.
        left: opening marker.
        right: closing marker.

    Returns:
        The marked text.
    """
    return text[:start] + left + text[start:end] + right + text[end:]


def _where(c: Citation) -> str:
    head = f" · {c.heading}" if c.heading else ""
    page = f" · 第 {c.page} 页" if c.page is not None else ""
    return f"{c.doc}{page}{head} · 字符 {c.start}–{c.end} · score {c.score:.3f}"


def format_answer(ans: Answer, text_of: Callable[[str], str] | None = None) -> str:
    """The answer, then numbered sources with the span marked.

    Args:
        ans: the answer.
        text_of: unused hook for callers that hold document texts (kept for symmetry).

    Returns:
        Multi-line text.
    """
    lines = [f"问题: {ans.question}"]
    if ans.answer is None:
        lines.append(f"答案: {NOT_FOUND}")
        if ans.citations:
            lines.append("最接近的段落 / closest passages:")
    else:
        lines.append(f"答案: {ans.answer}    (置信度 confidence {ans.confidence:.2f}, 见 [1])")
        lines.append("来源 / sources:")
    span = ans.answer_span
    for c in ans.citations:
        body = c.text
        if span is not None and span.doc == c.doc and c.start <= span.start and span.end <= c.end:
            body = mark(body, span.start - c.start, span.end - c.start)
        lines.append(f"[{c.rank}] {_where(c)}")
        lines.append("    " + body.replace("\n", "\n    "))
    return "\n".join(lines)


def format_passages(passages: Sequence[Passage]) -> str:
    """Ranked passages, numbered.

    Args:
        passages: retrieved passages.

    Returns:
        Multi-line text.
    """
    if not passages:
        return "没有匹配的段落 / no passage found"
    lines = []
    for p in passages:
        c = Citation.from_passage(p)
        lines.append(f"[{c.rank}] {_where(c)}")
        lines.append("    " + c.text.replace("\n", "\n    "))
    return "\n".join(lines)
