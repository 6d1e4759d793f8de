"""The values that flow through the pipeline: documents → chunks → passages → answers.

All are frozen: a result never changes after it is made. Every ``start``/``end``
is a character offset into the *decoded original text* of ``doc``, so that
``document.text[start:end] == text`` always holds.

>>> from rag.types import Document, Chunk
>>> d = Document(doc="a.txt", text="标题\\n正文。")
>>> c = Chunk(chunk_id="a.txt#0", doc="a.txt", start=3, end=6, text="正文。", heading="标题")
>>> d.text[c.start:c.end] == c.text
True
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

#: A document's path relative to the corpus directory, always with ``/``.
DocId = str
#: ``"<doc>#<n>"``: stable while the document does not change.
ChunkId = str


@dataclass(frozen=True)
class PageRange:
    """The characters ``text[start:end]`` of a document that came from one page (1-based)."""

    start: int
    end: int
    page: int


@dataclass(frozen=True)
class HeadingRange:
    """The characters ``text[start:end]`` under one heading path (outermost first)."""

    start: int
    end: int
    path: tuple[str, ...]


@dataclass(frozen=True)
class Box:
    """A rectangle on a PDF page, in PDF points with the origin at the page's *top*-left
    (y grows downwards, as on screen); ``page`` is 1-based."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class PageLayout:
    """Where each character of a PDF document's text sits on its page.

    ``boxes`` is float32 ``[len(text), 4]`` (x0, y0, x1, y1 in points, top-left origin, like
    :class:`Box`); a row of NaN is a character that was not on a page (a joining newline, a page
    break). ``sizes`` is ``(width, height)`` in points of each page, page 1 first.
    """

    sizes: tuple[tuple[float, float], ...]
    boxes: Any = field(repr=False, compare=False)   # numpy.ndarray; Any keeps numpy out of this module


@dataclass(frozen=True)
class Document:
    """One document of the corpus, as text: decoded (.txt/.md) or converted (PDF, DOCX, HTML, EPUB).

    ``text`` is what every offset points into. A converted document also carries where its
    characters came from: ``pages`` (PDF; empty otherwise), ``headings`` (the heading path over
    each range; empty when the format has none) and, for a PDF with a text layer, ``layout``.
    """

    doc: DocId
    text: str
    encoding: str = "utf-8"
    format: str = "text"                        # "text", "pdf", "docx", "html", "epub"
    pages: tuple[PageRange, ...] = ()
    headings: tuple[HeadingRange, ...] = ()
    layout: PageLayout | None = field(default=None, repr=False, compare=False)
    source_sha256: str | None = None            # hash of the file's bytes (duplicates, "changed?")
    warnings: tuple[str, ...] = ()              # pages left out (scanned, garbled), with file and page

    @property
    def sha256(self) -> str:
        """Hash of the decoded text: the manifest's notion of "changed"."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def page_count(self) -> int:
        """Pages of the source (0 for a format without pages)."""
        return max((p.page for p in self.pages), default=0)

    def page_at(self, offset: int) -> int | None:
        """The page holding character ``offset`` (the next page's when it falls on a page break).

        >>> Document("a.pdf", "ab\\fcd", pages=(PageRange(0, 2, 1), PageRange(3, 5, 2))).page_at(3)
        2
        """
        if not self.pages:
            return None
        for p in self.pages:
            if offset < p.end:
                return p.page
        return self.pages[-1].page

    def heading_at(self, offset: int) -> tuple[str, ...]:
        """The heading path over character ``offset`` (empty when there is none)."""
        best: tuple[str, ...] = ()
        for h in self.headings:
            if h.start <= offset < h.end:
                best = h.path if len(h.path) >= len(best) else best
        return best


@dataclass(frozen=True)
class Span:
    """A character range of one document; ``page`` and ``boxes`` are filled for a PDF's answer."""

    doc: DocId
    start: int
    end: int
    page: int | None = None
    boxes: tuple[Box, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences, the unit that is embedded and retrieved."""

    chunk_id: ChunkId
    doc: DocId
    start: int
    end: int
    text: str
    heading: str | None = None
    page: int | None = None      # the page the chunk starts on (PDF), else None


@dataclass(frozen=True)
class Passage:
    """A chunk as retrieved for one query, with its scores."""

    chunk: Chunk
    rank: int                 # 1-based
    score: float              # fused score
    dense_score: float | None = None
    bm25_score: float | None = None


@dataclass(frozen=True)
class Citation:
    """A passage as shown to the user, numbered."""

    rank: int
    doc: DocId
    chunk_id: ChunkId
    heading: str | None
    start: int
    end: int
    text: str
    score: float
    page: int | None = None

    @classmethod
    def from_passage(cls, p: Passage) -> "Citation":
        """Make the citation for a retrieved passage.

        Args:
            p: the passage.

        Returns:
            The citation, carrying the chunk's offsets.
        """
        c = p.chunk
        return cls(rank=p.rank, doc=c.doc, chunk_id=c.chunk_id, heading=c.heading,
                   start=c.start, end=c.end, text=c.text, score=round(p.score, 6), page=c.page)


@dataclass(frozen=True)
class ReadSpan:
    """The trained reader's best span as read, before any check (offsets into its chunk's text)."""

    text: str
    chunk_id: ChunkId
    start: int
    end: int


@dataclass(frozen=True)
class ReaderVerdict:
    """What the trained reader read for the span the answer step weighed, and how it was judged."""

    text: str
    score: float            # span log-probability
    null: float             # the window's no-answer score
    margin: float           # score - null: below 0 the reader itself doubts the span
    total: float            # score plus the passage's retrieval weight
    judged: float           # the rules' confidence model on this span
    confidence: float       # after bias, margin and conflict penalty
    ms: float               # time spent reading
    features: dict[str, float] = field(default_factory=dict, compare=False)
    doubted: bool = False   # kept although the reader scores "no answer" above it


@dataclass(frozen=True)
class Trace:
    """How the answer step chose: for benchmarks, logs and tests, never read to decide."""

    picked: str = "rules"                       # "rules", "reader", "rules (shape)" or "crosslingual"
    rules_answer: str | None = None             # the rules' span (even when they would decline)
    rules_confidence: float | None = None
    reader: ReaderVerdict | None = None
    reader_alone: ReadSpan | None = None        # the reader's own best span (the "reader alone" rows)
    names: tuple[str, ...] = ()                 # names matched in pinyin (cross-lingual)


@dataclass(frozen=True)
class Answer:
    """An extractive answer: a verbatim span, or ``None`` when not found."""

    question: str
    answer: str | None
    confidence: float
    answer_span: Span | None
    citations: tuple[Citation, ...] = ()
    #: the sentence holding the span (context for display); None when not found
    sentence_span: Span | None = None
    #: index into ``citations`` of the passage holding the answer
    cited_rank: int | None = None
    #: the span that was found but not given (confidence below the threshold); None otherwise
    withheld: str | None = None
    #: the named evidence behind ``confidence`` (rag/answer/confidence.py)
    features: dict[str, float] = field(default_factory=dict, compare=False)
    trace: Trace = field(default_factory=Trace, compare=False)
    #: the self-contained question used for a follow-up (``那宁夏呢?`` → ``宁夏每年…?``); None otherwise
    resolved_question: str | None = None

    @property
    def found(self) -> bool:
        """Whether an answer was given."""
        return self.answer is not None

    def to_json(self, qid: Any = None) -> dict[str, Any]:
        """The public JSON object of ``rag ask --json``.

        Args:
            qid: an ``id`` to echo (batch mode); omitted when None.

        Returns:
            A JSON-serialisable dict.
        """
        out: dict[str, Any] = {}
        if qid is not None:
            out["id"] = qid
        out["question"] = self.question
        out["answer"] = self.answer
        out["confidence"] = round(float(self.confidence), 4)
        out["answer_span"] = _span_json(self.answer_span)
        out["sentence_span"] = _span_json(self.sentence_span)
        out["citations"] = [asdict(c) for c in self.citations]
        if self.resolved_question is not None:
            out["resolved_question"] = self.resolved_question
        return out


def _span_json(span: Span | None) -> dict[str, Any] | None:
    """A span as JSON: boxes as a list of objects, as a JSON round trip would give them."""
    if span is None:
        return None
    return {"doc": span.doc, "start": span.start, "end": span.end, "page": span.page,
            "boxes": [asdict(b) for b in span.boxes]}
