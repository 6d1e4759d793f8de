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
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
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
