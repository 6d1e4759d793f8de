"""The ``VectorStore`` seam: the chunk vectors of an index, searchable by inner product."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class VectorStore(Protocol):
    """Unit vectors, one per chunk row, grouped by document.

    Contract: rows are numbered ``0..len-1`` in the order they were added and are the chunk rows
    of the index they belong to; ``add`` appends one document's rows; ``delete`` removes a
    document's rows (the rows after them move up, in order) and returns how many; ``search``
    returns at most ``k`` ``(rows, scores)`` best first, scores being inner products (cosines of
    unit vectors); ``vectors`` returns stored rows exactly as added; ``save`` writes everything
    to a folder that the implementation's ``load`` reads back unchanged.
    """

    @property
    def dim(self) -> int: ...

    def __len__(self) -> int: ...

    def add(self, doc: str, vectors: np.ndarray) -> None: ...

    def delete(self, doc: str) -> int: ...

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def vectors(self, rows: Sequence[int] | None = None) -> np.ndarray: ...

    def save(self, folder: Path) -> None: ...
