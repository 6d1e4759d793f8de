"""BM25 keyword scoring over token lists, stored as term-major sparse postings.

Postings are a CSR matrix of term → (document, term frequency), so scoring a
query touches only the documents that share a term with it; the matrix and
vocabulary are saved as one ``.npz`` (no pickle).

>>> bm = BM25.build([["上海", "算力"], ["广东", "数据"], ["上海", "芯片"]])
>>> [int(i) for i in bm.top(["上海", "芯片"], k=2)[0]]
[2, 0]
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: ``(indices, scores)`` of the best documents, best first.
Ranking = tuple[np.ndarray, np.ndarray]


class BM25:
    """Okapi BM25 (Lucene's idf) over a fixed collection."""

    def __init__(self, vocab: dict[str, int], indptr: np.ndarray, doc_ids: np.ndarray,
                 tfs: np.ndarray, doc_len: np.ndarray, k1: float = 1.5, b: float = 0.75):
        self.vocab = vocab
        self.indptr = indptr
        self.doc_ids = doc_ids
        self.tfs = tfs
        self.doc_len = doc_len.astype(np.float32)
        self.k1 = k1
        self.b = b
        n = len(doc_len)
        df = np.diff(indptr).astype(np.float64)
        self.idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avg = float(self.doc_len.mean()) if n else 1.0
        self._norm = (k1 * (1 - b + b * self.doc_len / max(avg, 1e-9))).astype(np.float32)

    @property
    def size(self) -> int:
        """Number of documents."""
        return len(self.doc_len)

    @classmethod
    def build(cls, docs: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75) -> "BM25":
        """Index token lists.

        Args:
            docs: one token list per document.
            k1: term-frequency saturation.
            b: length normalisation.

        Returns:
            The index.
        """
        postings: dict[str, list[tuple[int, int]]] = {}
        for i, toks in enumerate(docs):
            for term, tf in Counter(toks).items():
                postings.setdefault(term, []).append((i, tf))
        vocab = {t: n for n, t in enumerate(sorted(postings))}
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        for t, n in vocab.items():
            indptr[n + 1] = len(postings[t])
        indptr = np.cumsum(indptr)
        doc_ids = np.empty(indptr[-1], dtype=np.int32)
        tfs = np.empty(indptr[-1], dtype=np.float32)
        for t, n in vocab.items():
            p = np.asarray(postings[t], dtype=np.int64).reshape(-1, 2)
            doc_ids[indptr[n]:indptr[n + 1]] = p[:, 0]
            tfs[indptr[n]:indptr[n + 1]] = p[:, 1]
        doc_len = np.array([len(d) for d in docs], dtype=np.float32)
        return cls(vocab, indptr, doc_ids, tfs, doc_len, k1, b)

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for a query.

        Args:
            query: query tokens (repeats count once).

        Returns:
            float32 array of length ``size``; 0 where no term matches.
        """
        out = np.zeros(self.size, dtype=np.float32)
        for term in set(query):
            n = self.vocab.get(term)
            if n is None:
                continue
            a, z = self.indptr[n], self.indptr[n + 1]
            ids, tf = self.doc_ids[a:z], self.tfs[a:z]
            out[ids] += self.idf[n] * tf * (self.k1 + 1) / (tf + self._norm[ids])
        return out

    def top(self, query: Sequence[str], k: int) -> Ranking:
        """The ``k`` best documents with a positive score.

        Args:
            query: query tokens.
            k: how many.

        Returns:
            ``(indices, scores)``, best first.
        """
        s = self.scores(query)
        k = min(k, self.size)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        idx = np.argpartition(-s, k - 1)[:k]
        idx = idx[np.argsort(-s[idx], kind="stable")]
        idx = idx[s[idx] > 0]
        return idx, s[idx]

    def save(self, path: Path) -> None:
        """Write the index to one ``.npz`` file.

        Args:
            path: the file to write.
        """
        terms = json.dumps(sorted(self.vocab, key=self.vocab.__getitem__), ensure_ascii=False)
        with open(path, "wb") as fh:
            np.savez(fh, indptr=self.indptr, doc_ids=self.doc_ids, tfs=self.tfs, doc_len=self.doc_len,
                     params=np.array([self.k1, self.b]), terms=np.frombuffer(terms.encode(), dtype=np.uint8))

    @classmethod
    def load(cls, path: Path) -> "BM25":
        """Read an index written by :meth:`save`.

        Args:
            path: the ``.npz`` file.

        Returns:
            The index.
        """
        with np.load(path, allow_pickle=False) as z:
            terms = json.loads(z["terms"].tobytes().decode())
            k1, b = (float(x) for x in z["params"])
            return cls({t: n for n, t in enumerate(terms)}, z["indptr"], z["doc_ids"], z["tfs"],
                       z["doc_len"], k1, b)
