"""The ``Answerer`` seam: an analysed question and its passages in, one :class:`~rag.types.Answer` out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from rag.query.types import Query
from rag.types import Answer, Passage


@runtime_checkable
class Answerer(Protocol):
    """Picks a verbatim answer span from retrieved passages, or declines.

    Contract: ``passages`` are ranked best first; the answer's ``answer_span`` and
    ``sentence_span`` are offsets into the documents such that ``text[start:end]`` is the
    answer, and the passage holding it is cited first; at most ``top_k`` passages are cited
    (all when None); when the evidence is too weak, ``answer`` is None and the span that
    would have been given is kept in ``withheld``. An answerer never retrieves.
    """

    def answer(self, query: Query, passages: Sequence[Passage], top_k: int | None = None) -> Answer: ...
