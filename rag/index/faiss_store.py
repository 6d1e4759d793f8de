"""The dense half of the index: FAISS inner product over L2-normalised vectors.

Inner product of unit vectors is cosine similarity. Small collections use an
exact ``IndexFlatIP``; from ``hnsw_min_chunks`` on, an ``IndexHNSWFlat`` with
the inner-product metric, because exact search grows linearly with the corpus.

>>> import numpy as np
>>> v = np.eye(3, dtype="float32")
>>> ix = build_faiss(v)
>>> ids, scores = search(ix, v[2], k=1)
>>> int(ids[0]), float(scores[0])
(2, 1.0)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: HNSW graph degree and search depth (measured in docs/benchmarks.md).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


def _faiss() -> Any:
    import faiss  # lazy: heavy native library

    return faiss


def build_faiss(vectors: np.ndarray, hnsw_min_chunks: int = 50_000) -> Any:
    """Build the FAISS index for a matrix of unit vectors.

    Args:
        vectors: float32 ``[n, dim]``, rows L2-normalised.
        hnsw_min_chunks: from this many rows on, build HNSW instead of flat.

    Returns:
        A ``faiss.Index`` whose ids are row numbers.
    """
    faiss = _faiss()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    if len(vectors) >= hnsw_min_chunks:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
        log.info("building HNSW index over %d vectors", len(vectors))
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(vectors)
    return index


def search(index: Any, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows to one query vector.

    Args:
        index: a FAISS index from :func:`build_faiss`.
        query: float32 ``[dim]``, L2-normalised.
        k: how many.

    Returns:
        ``(ids, cosine scores)``, best first.
    """
    k = min(k, index.ntotal)
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    scores, ids = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
    keep = ids[0] >= 0
    return ids[0][keep], scores[0][keep]


def save(index: Any, path: Path) -> None:
    """Write a FAISS index to a file.

    Args:
        index: the index.
        path: the file.
    """
    _faiss().write_index(index, str(path))


def load(path: Path) -> Any:
    """Read a FAISS index written by :func:`save`.

    Args:
        path: the file.

    Returns:
        The index (HNSW search depth restored).
    """
    index = _faiss().read_index(str(path))
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


class FaissStore:
    """The FAISS :class:`~rag.index.protocol.VectorStore`: a float32 matrix and the index over it.

    The FAISS index is (re)built from the matrix on the first search after a change: exact
    ``IndexFlatIP`` below ``hnsw_min_chunks`` rows, HNSW from there on.

    >>> import numpy as np
    >>> s = FaissStore(dim=2)
    >>> s.add("a.txt", np.array([[1, 0]], "float32")); s.add("b.txt", np.array([[0, 1], [1, 0]], "float32"))
    >>> rows, scores = s.search(np.array([0, 1], "float32"), k=1)
    >>> int(rows[0]), s.delete("a.txt"), len(s)
    (1, 1, 2)
    """

    VECTORS_FILE = "vectors.npy"
    INDEX_FILE = "dense.faiss"

    def __init__(self, dim: int, hnsw_min_chunks: int = 50_000) -> None:
        self._dim = dim
        self.hnsw_min_chunks = hnsw_min_chunks
        self._parts: list[np.ndarray] = []
        self._matrix = np.zeros((0, dim), dtype=np.float32)
        self._docs: list[str] = []
        self._index: Any = None

    @property
    def dim(self) -> int:
        return self._dim

    def __len__(self) -> int:
        return len(self._docs)

    @property
    def kind(self) -> str:
        """``"hnsw"`` or ``"flat"``: the FAISS index this many rows get."""
        return "hnsw" if len(self) >= self.hnsw_min_chunks else "flat"

    def add(self, doc: str, vectors: np.ndarray) -> None:
        """Append one document's rows (float32 ``[n, dim]``, L2-normalised)."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self._dim)
        self._parts.append(vectors)
        self._docs.extend([doc] * len(vectors))
        self._index = None

    def delete(self, doc: str) -> int:
        """Remove a document's rows; later rows move up. Returns how many were removed."""
        keep = [i for i, d in enumerate(self._docs) if d != doc]
        removed = len(self._docs) - len(keep)
        if removed:
            self._matrix = self._all()[keep]
            self._parts = []
            self._docs = [self._docs[i] for i in keep]
            self._index = None
        return removed

    def _all(self) -> np.ndarray:
        if self._parts:
            self._matrix = np.concatenate([self._matrix, *self._parts]).astype(np.float32)
            self._parts = []
        return self._matrix

    def _faiss_index(self) -> Any:
        if self._index is None:
            self._index = build_faiss(self._all(), self.hnsw_min_chunks)
        return self._index

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """At most ``k`` ``(rows, inner products)``, best first."""
        return search(self._faiss_index(), vector, k)

    def vectors(self, rows: Sequence[int] | None = None) -> np.ndarray:
        """The stored rows (all when None)."""
        return self._all() if rows is None else self._all()[list(rows)]

    def save(self, folder: Path) -> None:
        """Write the matrix and the FAISS index into ``folder``."""
        np.save(folder / self.VECTORS_FILE, np.ascontiguousarray(self._all(), dtype=np.float32))
        save(self._faiss_index(), folder / self.INDEX_FILE)

    @classmethod
    def load(cls, folder: Path, row_docs: Sequence[str], hnsw_min_chunks: int = 50_000) -> "FaissStore":
        """Read a store written by :meth:`save`.

        Args:
            folder: the folder.
            row_docs: the document of every row (the index's chunks, in order).
            hnsw_min_chunks: as when it was built.

        Returns:
            The store.

        Raises:
            ValueError: the files disagree with ``row_docs``.
        """
        matrix = np.load(folder / cls.VECTORS_FILE, allow_pickle=False)
        if len(matrix) != len(row_docs):
            raise ValueError(f"{len(matrix)} vectors for {len(row_docs)} chunks")
        store = cls(int(matrix.shape[1]) if matrix.ndim == 2 else 0, hnsw_min_chunks)
        store._matrix = np.asarray(matrix, dtype=np.float32)
        store._docs = list(row_docs)
        store._index = load(folder / cls.INDEX_FILE)
        return store
