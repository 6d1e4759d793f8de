"""The ``SpanReader`` seam: a question and some passages in, scored candidate spans out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from rag.reader.decoding import SpanScore


@runtime_checkable
class SpanReader(Protocol):
    """An extractive reader (the trained network, or a fake in the unit tests).

    Contract: ``read`` returns distinct spans over all ``passages``, best ``score`` first; each
    span's ``passage`` indexes ``passages`` and ``start``/``end`` are character offsets into that
    string; ``null_score`` is the no-answer score of the window the span came from, on the same
    scale as ``score`` (a span below it is one the reader itself doubts). It never raises for an
    empty list.
    """

    def read(self, question: str, passages: Sequence[str], top_n: int = 5) -> list[SpanScore]: ...
