"""The answer step as the pipeline calls it: one :class:`~rag.answer.protocol.Answerer` in front of the others.

:class:`AnswerStep` routes an English question to the cross-lingual answerer and
a Chinese one through :class:`ScriptFolding` to the reader-beside-rules (or the
rules alone); a pronoun follow-up whose rewrite finds nothing is answered once
more as typed. The answer carries the question as the user typed it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rag.answer.protocol import Answerer
from rag.query.types import Query
from rag.text.folding import fold_aligned
from rag.types import Answer, Chunk, Passage


class ScriptFolding:
    """Answers over a simplified view of the passages, then gives back the documents' own characters.

    Keywords were matched script-folded (traditional → simplified, both in the index and in the
    query). The inner answerer works on a simplified view of the passages that has the same length
    as the original text, with the folded question; the answer and the citations are then taken
    from the original text at the same offsets.
    """

    def __init__(self, inner: Answerer, enabled: bool = True) -> None:
        self.inner = inner
        self.enabled = enabled

    def answer(self, query: Query, passages: Sequence[Passage], top_k: int | None = None) -> Answer:
        """See :class:`~rag.answer.protocol.Answerer`."""
        if not self.enabled:
            return self.inner.answer(query, passages, top_k=top_k)
        view, originals = folded_view(passages)
        ans = self.inner.answer(query, view, top_k=top_k)
        return restore_answer(ans, originals) if originals else ans


class AnswerStep:
    """Routes a query to the answerer for its script and language."""

    def __init__(self, chinese: Answerer, crosslingual: Answerer) -> None:
        self.chinese = chinese
        self.crosslingual = crosslingual

    def answer(self, query: Query, passages: Sequence[Passage], top_k: int | None = None) -> Answer:
        """See :class:`~rag.answer.protocol.Answerer`; ``question`` is the question as typed."""
        if query.latin:
            ans = self.crosslingual.answer(query, passages, top_k=top_k)
        else:
            ans = self.chinese.answer(query, passages, top_k=top_k)
            if not ans.found and query.as_typed is not None:
                # The carried words found the passages but did not let the answer through (a name
                # outside the answer's chunk): the question as asked, over the same passages.
                alt = self.chinese.answer(query.as_typed, passages, top_k=top_k)
                ans = alt if alt.found else ans
        return replace(ans, question=query.asked, resolved_question=query.resolved)


def folded_view(passages: Sequence[Passage]) -> tuple[list[Passage], dict[str, Chunk]]:
    """Passages whose chunk texts are folded to simplified, at unchanged offsets.

    Args:
        passages: retrieved passages.

    Returns:
        ``(view, originals)``: the passages to answer from, and the original chunk of every
        passage whose text changed, by chunk id (empty when none did: ``view`` is then
        ``passages`` themselves).
    """
    originals: dict[str, Chunk] = {}
    view = []
    for p in passages:
        c = p.chunk
        text = fold_aligned(c.text)
        heading = fold_aligned(c.heading) if c.heading else c.heading
        if text == c.text and heading == c.heading:
            view.append(p)
            continue
        originals[c.chunk_id] = c
        view.append(replace(p, chunk=replace(c, text=text, heading=heading)))
    return (view, originals) if originals else (list(passages), {})


def restore_answer(answer: Answer, originals: dict[str, Chunk]) -> Answer:
    """An answer found in a :func:`folded_view`, with its texts taken back from the original chunks.

    Args:
        answer: the answer computed on the folded view.
        originals: the original chunks by chunk id (from :func:`folded_view`).

    Returns:
        The same answer whose ``answer`` and citation texts are the document's own characters
        at the same offsets.
    """
    if not originals:
        return answer
    citations = tuple(replace(c, text=originals[c.chunk_id].text, heading=originals[c.chunk_id].heading)
                      if c.chunk_id in originals else c for c in answer.citations)
    text = answer.answer
    span = answer.answer_span
    if span is not None and citations:
        holder = next((c for c in citations if c.doc == span.doc and c.start <= span.start and span.end <= c.end),
                      None)
        if holder is not None:
            text = holder.text[span.start - holder.start:span.end - holder.start]
    withheld = answer.withheld
    if withheld and citations and citations[0].chunk_id in originals:
        pos = fold_aligned(citations[0].text).find(withheld)
        if pos >= 0:
            withheld = citations[0].text[pos:pos + len(withheld)]
    trace, alone = answer.trace, answer.trace.reader_alone
    if alone is not None and alone.chunk_id in originals:
        trace = replace(trace, reader_alone=replace(alone, text=originals[alone.chunk_id].text[alone.start:alone.end]))
    return replace(answer, answer=text, citations=citations, withheld=withheld, trace=trace)
