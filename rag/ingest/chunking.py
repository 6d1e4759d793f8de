"""Grouping sentences into chunks: whole sentences, bounded size, with overlap.

A chunk never crosses a heading (each chunk has one heading) or a page (each chunk of a PDF
has one page) and prefers to end at a paragraph break once it is reasonably full.
Plain text finds its headings by the shape of its lines (:mod:`rag.text.sentences`); a converted
Word, web or EPUB document brings its own (``Document.headings``), and its short lines (table
rows, list items) are then sentences like any other. The last
``overlap_sentences`` sentences of a chunk open the next one, so that an
answer whose context straddles a boundary is whole in at least one chunk.

>>> from rag.types import Document
>>> doc = Document("a.txt", "第一句。第二句。第三句。")
>>> [c.text for c in chunk_document(doc, chunk_chars=8, overlap_sentences=1)]
['第一句。第二句。', '第二句。第三句。']
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace

from rag.text.sentences import Sentence, split_sentences
from rag.types import Chunk, Document

#: Formats whose converter knows the headings: their lines are never guessed to be headings.
STRUCTURED_FORMATS = ("docx", "html", "epub")

#: A chunk this full (share of ``chunk_chars``) may end at a paragraph break.
_PARAGRAPH_FILL = 0.6


#: Joins a heading path into the one-line heading of a chunk.
HEADING_JOIN = " > "


def group_sentences(text: str, sentences: Sequence[Sentence], chunk_chars: int,
                    overlap_sentences: int,
                    section: Callable[[Sentence], Hashable] | None = None) -> list[list[Sentence]]:
    """Pack consecutive sentences into groups of about ``chunk_chars`` characters.

    Args:
        text: the document (to see paragraph breaks between sentences).
        sentences: the document's sentences, in order.
        chunk_chars: target chunk size in characters.
        overlap_sentences: sentences carried over to the next group.
        section: what a group may not cross (default: the sentence's heading).

    Returns:
        The groups, each a non-empty list of sentences.
    """
    key = section or (lambda s: s.heading)
    groups: list[list[Sentence]] = []
    cur: list[Sentence] = []
    fresh = 0  # sentences in ``cur`` that are not overlap from the previous group

    def close() -> list[Sentence]:
        groups.append(cur)
        keep = cur[-overlap_sentences:] if 0 < overlap_sentences < len(cur) else []
        # Overlap never crosses a heading: the next chunk carries one heading only.
        return [s for s in keep if key(s) == key(cur[-1])]

    for s in sentences:
        if cur:
            size = s.end - cur[0].start
            new_section = key(s) != key(cur[-1])
            paragraph_break = "\n" in text[cur[-1].end:s.start]
            full = cur[-1].end - cur[0].start >= _PARAGRAPH_FILL * chunk_chars
            if fresh and (new_section or size > chunk_chars or (paragraph_break and full)):
                cur = close()
                fresh = 0
                if cur and (new_section or s.end - cur[0].start > chunk_chars * 1.5):
                    cur = []
        cur.append(s)
        fresh += 1
    if cur and fresh:
        groups.append(cur)
    return groups


def chunk_document(doc: Document, chunk_chars: int = 220, overlap_sentences: int = 1,
                   max_sentence_chars: int = 160, heading_max_chars: int = 30) -> list[Chunk]:
    """Split one document into chunks.

    Args:
        doc: the document.
        chunk_chars: target chunk size in characters.
        overlap_sentences: sentences repeated at the start of the next chunk.
        max_sentence_chars: the longest sentence (longer runs are cut).
        heading_max_chars: the longest line that can be a heading.

    Returns:
        Chunks in document order, ids ``"<doc>#<n>"``; ``doc.text[c.start:c.end] == c.text``;
        ``page`` is the page the chunk starts on (PDF) or None.
    """
    structured = bool(doc.headings) or doc.format in STRUCTURED_FORMATS
    sentences = split_sentences(doc.text, max_chars=max_sentence_chars,
                                heading_max_chars=0 if structured else heading_max_chars)
    if structured:
        sentences = [replace(s, heading=HEADING_JOIN.join(doc.heading_at(s.start)) or None) for s in sentences]

    def section(s: Sentence) -> Hashable:
        return s.heading, doc.page_at(s.start)

    chunks = []
    for n, group in enumerate(group_sentences(doc.text, sentences, chunk_chars, overlap_sentences,
                                              section if doc.pages else None)):
        start, end = group[0].start, group[-1].end
        chunks.append(Chunk(chunk_id=f"{doc.doc}#{n}", doc=doc.doc, start=start, end=end,
                            text=doc.text[start:end], heading=group[0].heading, page=doc.page_at(start)))
    return chunks


def embedding_text(chunk: Chunk) -> str:
    """What is embedded and keyword-indexed for a chunk: its heading, then its text.

    The heading is context for retrieval only; citations quote ``chunk.text``.

    Args:
        chunk: the chunk.

    Returns:
        The text to index.
    """
    return f"{chunk.heading}\n{chunk.text}" if chunk.heading else chunk.text
