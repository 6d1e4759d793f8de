"""The index's seams: ``IndexBackend`` (where whole index versions are kept) and ``VectorStore``
(the chunk vectors of one version, searchable by inner product)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from rag.index.store import Manifest, StoredIndex
    from rag.types import Document


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


@runtime_checkable
class IndexBackend(Protocol):
    """Keeps the versions of one corpus's index and says which one is live.

    Contract: ``save`` writes a complete new version and only then makes it live, atomically, so
    ``load`` (in this process or another) returns either the previous version or the new one,
    whole; ``load``, ``read_manifest`` and ``read_documents`` return None / ``{}`` when there is no
    readable version (the caller rebuilds), and raise :class:`~rag.errors.StoreError` only when the
    store itself cannot be reached. Implementations: ``IndexStore`` (FAISS files, ``store.py``) and
    ``MilvusStore`` (``milvus_store.py``), made by ``rag.index.factory.open_store``.
    """

    #: Whether other processes write the same index (then a question never rebuilds it).
    shared: bool

    @property
    def lock_path(self) -> "Path | None":
        """The file whose lock serialises writers on this machine (:mod:`rag.index.lock`); None
        where the store is a server (writers on other machines cannot share a file lock)."""
        ...

    @property
    def location(self) -> str:
        """Where the index lives, for messages."""
        ...

    def read_manifest(self) -> "Manifest | None": ...

    def read_documents(self) -> "dict[str, Document]": ...

    def load(self) -> "StoredIndex | None": ...

    def save(self, index: "StoredIndex") -> object: ...
