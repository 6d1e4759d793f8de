"""HTML for the chat: answers, not-found replies, the sources panel.

Everything that comes from a user or from the corpus is escaped here, and
nowhere else: :func:`esc` turns text into inert HTML (``<``, ``>``, ``&``,
quotes) and also neutralises Markdown syntax (``[x](javascript:…)``,
emphasis, code, math delimiters) by writing those characters as numeric
entities, because Gradio's chatbot runs messages through a Markdown
renderer before showing them.

Highlighting works on the raw text with character offsets: the text is cut
at the span's offsets first and each piece is escaped separately, so an
offset can never fall inside an entity and the ``<mark>`` tags are the only
markup in the result.

>>> esc('<img src=x onerror="alert(1)">')
'&lt;img src&#61;x onerror&#61;&quot;alert&#40;1&#41;&quot;&gt;'
>>> highlight("价格为<1.5元>。", 3, 9)
'价格为<mark>&lt;1.5元&gt;</mark>。'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rag.types import Answer, Citation, Span
from ui.urls import page_url, view_url

#: Characters that Markdown (or the chatbot's LaTeX support) would interpret.
_MARKDOWN_CHARS = "[]()*_`~#|!\\{}$+-=:"
#: One table, applied in a single pass, so no entity is ever escaped twice.
_ENTITIES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;", ord("'"): "&#39;",
             **{ord(c): f"&#{ord(c)};" for c in _MARKDOWN_CHARS}}

#: Shown when no answer was found.
NOT_FOUND_TITLE = "未找到"
NOT_FOUND_TEXT = "文档中没有找到这个问题的答案。"


def esc(text: str) -> str:
    """Escape text for HTML and make it inert for Markdown.

    Args:
        text: any text (user input or corpus text).

    Returns:
        HTML that displays exactly ``text``; newlines become ``<br>``.
    """
    s = str(text).replace("\r\n", "\n").translate(_ENTITIES)
    return s.replace("\n", "<br>")


def highlight(text: str, start: int, end: int) -> str:
    """Escape ``text`` with ``text[start:end]`` wrapped in ``<mark>``.

    Args:
        text: the raw text.
        start: span start, relative to ``text`` (clamped to the text).
        end: span end.

    Returns:
        Safe HTML; without highlight if the span is empty or outside the text.
    """
    start, end = max(0, start), min(len(text), end)
    if start >= end:
        return esc(text)
    return f"{esc(text[:start])}<mark>{esc(text[start:end])}</mark>{esc(text[end:])}"


def _span_in(span: Span | None, doc: str, start: int, end: int) -> bool:
    return span is not None and span.doc == doc and start <= span.start and span.end <= end


def _marked_citation(c: Citation, span: Span | None) -> str:
    if _span_in(span, c.doc, c.start, c.end):
        assert span is not None
        return highlight(c.text, span.start - c.start, span.end - c.start)
    return esc(c.text)


def confidence_level(confidence: float) -> tuple[str, str]:
    """A word and a CSS class for a confidence.

    Args:
        confidence: in [0, 1].

    Returns:
        ``(label, css class)``, e.g. ``("高", "rag-conf-high")``.
    """
    if confidence >= 0.7:
        return "高", "rag-conf-high"
    if confidence >= 0.45:
        return "中", "rag-conf-mid"
    return "低", "rag-conf-low"


def _refs(citations: Sequence[Citation]) -> str:
    chips = []
    for c in citations:
        where = c.doc + (f" · {c.heading}" if c.heading else "")
        chips.append(f'<span class="rag-ref" title="{esc(where)}">[{c.rank}]</span>')
    return " ".join(chips)


def _context(ans: Answer, text_of: Callable[[str], str] | None) -> str:
    """The answer's sentence with the span marked (or the cited passage when the sentence is unknown)."""
    span, sent = ans.answer_span, ans.sentence_span
    if span is not None and sent is not None and text_of is not None \
            and _span_in(span, sent.doc, sent.start, sent.end):
        try:
            sentence = text_of(sent.doc)[sent.start:sent.end]
        except (KeyError, OSError):
            sentence = ""
        if sentence:
            return highlight(sentence, span.start - sent.start, span.end - sent.start)
    for c in ans.citations:
        if _span_in(span, c.doc, c.start, c.end):
            return _marked_citation(c, span)
    return ""


def render_question(question: str) -> str:
    """A user's question as chat-message HTML.

    Args:
        question: the question as typed.

    Returns:
        Safe HTML.
    """
    return f'<div class="rag-q">{esc(question)}</div>'


def render_reply(ans: Answer, text_of: Callable[[str], str] | None = None) -> str:
    """The chat reply for an answer.

    Found: the answer, its sentence with the answer ``<mark>``-ed, the
    confidence and citation numbers [1] [2] … that refer to the sources
    panel. Not found: a grey "未找到" box that still names the closest passages.

    Args:
        ans: the answer.
        text_of: document id → original text, to cut out the answer's sentence.

    Returns:
        Safe HTML (one line, no blank lines, so Markdown leaves it alone).
    """
    refs = _refs(ans.citations)
    if ans.answer is None:
        closest = (f'<div class="rag-meta">最接近的段落: {refs} (见「来源」)</div>' if ans.citations
                   else '<div class="rag-meta">没有相关的段落。</div>')
        return (f'<div class="rag-reply rag-notfound">'
                f'<div class="rag-nf-title">{NOT_FOUND_TITLE}</div>'
                f'<div class="rag-nf-text">{NOT_FOUND_TEXT}换个说法, 或问文档里提到的内容。</div>'
                f"{closest}</div>")
    word, cls = confidence_level(ans.confidence)
    pct = round(100 * max(0.0, min(1.0, float(ans.confidence))))
    context = _context(ans, text_of)
    context_html = f'<div class="rag-context">{context}</div>' if context else ""
    return (f'<div class="rag-reply rag-found">'
            f'<div class="rag-answer"><span class="rag-label">答案</span>'
            f'<span class="rag-answer-text">{esc(ans.answer)}</span></div>'
            f"{context_html}"
            f'<div class="rag-meta"><span class="rag-conf {cls}">置信度 {word} · {pct}%</span>'
            f' <span class="rag-src-label">来源</span> {refs}</div></div>')


def render_error(message: str) -> str:
    """A reply for a question that could not be asked (empty, too long).

    Args:
        message: the error message.

    Returns:
        Safe HTML.
    """
    return f'<div class="rag-reply rag-error">{esc(message)}</div>'


def _view_link(c: Citation, span: Span | None, kb: str | None = None) -> str:
    """"查看原文": the viewer at the cited passage (and the answer, on the card that holds it)."""
    answer = (span.start, span.end) if span is not None else (None, None)
    url = view_url(c.doc, c.start, c.end, *answer, kb=kb)
    return f'<a class="rag-view" href="{esc(url)}" target="_blank" rel="noopener">查看原文</a>'


def _page_image(span: Span | None, kb: str | None = None) -> str:
    """The PDF page of the answer with its characters boxed (nothing for a format without pages)."""
    if span is None or span.page is None:
        return ""
    src = page_url(span.doc, span.page, span.start, span.end, crop=True, kb=kb)
    full = page_url(span.doc, span.page, span.start, span.end, kb=kb)
    return (f'<div class="rag-page-image"><a href="{esc(full)}" target="_blank" rel="noopener">'
            f'<img src="{esc(src)}" alt="第 {int(span.page)} 页"></a>'
            f'<div class="rag-page-caption">第 {int(span.page)} 页 · 答案已框出</div></div>')


def render_sources(ans: Answer | None, top_n: int | None = None, kb: str | None = None) -> str:
    """The sources panel: each cited passage with document, heading, range and score.

    Args:
        ans: the latest answer (None: the empty panel).
        top_n: show at most this many passages.
        kb: the knowledge base answered from (its links name it; None: the server's default).

    Returns:
        Safe HTML.
    """
    if ans is None:
        return ('<div class="rag-sources rag-empty">提问后, 这里列出答案引用的段落: '
                '文档名、标题、字符位置和相关度, 答案在段落中高亮显示。</div>')
    cits = list(ans.citations)[: top_n or None]
    if not cits:
        return '<div class="rag-sources rag-empty">没有检索到段落。</div>'
    head = "最接近的段落" if ans.answer is None else "引用的段落"
    cards = []
    for c in cits:
        holds = _span_in(ans.answer_span, c.doc, c.start, c.end)
        heading = f'<span class="rag-heading">{esc(c.heading)}</span>' if c.heading else ""
        page = f'<span class="rag-page">第 {int(c.page)} 页</span> · ' if c.page is not None else ""
        cards.append(
            f'<div class="rag-card{" rag-card-hit" if holds else ""}" id="rag-src-{c.rank}">'
            f'<div class="rag-card-head"><span class="rag-ref">[{c.rank}]</span>'
            f'<span class="rag-doc">{esc(c.doc)}</span>{heading}</div>'
            f'<div class="rag-card-meta">{page}字符 {c.start}–{c.end} · 相关度 {c.score:.4f} · '
            f'{_view_link(c, ans.answer_span if holds else None, kb)}</div>'
            f'<div class="rag-card-text">{_marked_citation(c, ans.answer_span)}</div>'
            f'{_page_image(ans.answer_span, kb) if holds else ""}</div>')
    return (f'<div class="rag-sources"><div class="rag-sources-title">{head} · {len(cits)} 段'
            f'<span class="rag-sources-q">问: {esc(ans.question)}</span></div>{"".join(cards)}</div>')
