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
class Document:
    """One decoded file of the corpus."""

    doc: DocId
    text: str
    encoding: str = "utf-8"

    @property
    def sha256(self) -> str:
        """Hash of the decoded text: the manifest's notion of "changed"."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Span:
    """A character range of one document."""

    doc: DocId
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences, the unit that is embedded and retrieved."""

    chunk_id: ChunkId
    doc: DocId
    start: int
    end: int
    text: str
    heading: str | None = None


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
                   start=c.start, end=c.end, text=c.text, score=round(p.score, 6))


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
        out["answer_span"] = asdict(self.answer_span) if self.answer_span else None
        out["sentence_span"] = asdict(self.sentence_span) if self.sentence_span else None
        out["citations"] = [asdict(c) for c in self.citations]
        if self.resolved_question is not None:
            out["resolved_question"] = self.resolved_question
        return out
