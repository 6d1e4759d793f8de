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
