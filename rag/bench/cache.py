"""Caches of a benchmark run: query vectors in memory, passage vectors on disk.

:class:`QueryMemo` lets the retrieval metrics reuse the query vector that the timed
``ask`` has just paid for; :class:`EmbeddingCache` keeps passage vectors by text, so
that a rebuilt or new benchmark index embeds nothing twice. Both wrap an encoder
(same interface) and sit between :func:`rag.bench.run.run_eval` and the model.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from rag.embed.protocol import Encoder

log = logging.getLogger(__name__)


class _Wrapper:
    """An encoder wrapper: the inner encoder's name and dimension, passed through."""

    def __init__(self, encoder: Encoder):
        self.inner = encoder

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim


class QueryMemo(_Wrapper):
    """An encoder wrapper that remembers query vectors.

    ``ask`` and the separate ranking call for the retrieval metrics embed the
    same question; inside :meth:`reuse` the second call is served from memory,
    so the timed ``ask`` always pays for its own embedding and the metrics cost
    no second one. Every query vector is kept (by text) for the oracle row.
    """

    def __init__(self, encoder: Encoder):
        super().__init__(encoder)
        self.vectors: dict[str, np.ndarray] = {}
        self._reuse = False

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if self._reuse and texts and all(t in self.vectors for t in texts):
            return np.stack([self.vectors[t] for t in texts])
        out = self.inner.encode_queries(texts)
        for t, v in zip(texts, out):
            self.vectors[t] = v
        return out

    def encode_passages(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        return self.inner.encode_passages(texts, show_progress=show_progress)

    @contextmanager
    def reuse(self) -> Iterator[None]:
        """Serve already-embedded queries from memory inside this block."""
        self._reuse = True
        try:
            yield
        finally:
            self._reuse = False


class EmbeddingCache(_Wrapper):
    """Passage vectors kept on disk by text, so that a rebuild with other keyword settings
    (BM25 parameters, script folding) or a new benchmark corpus made of the same chunks
    embeds nothing again.

    Wraps an encoder (same interface). Vectors live in ``<dir>/<model key>/shard-*.npz``
    (keys, vectors, and how long the embedding took); a shard is written whole and then
    renamed, so concurrent runs at worst embed something twice.
    """

    def __init__(self, encoder: Encoder, root: Path | str):
        super().__init__(encoder)
        spec = f"{encoder.name}|{getattr(encoder, 'passage_prompt', '')}"
        self.dir = Path(root) / hashlib.sha256(spec.encode()).hexdigest()[:16]
        self._table: dict[str, np.ndarray] | None = None
        self.embedded = 0            # texts embedded by this object (cache misses)
        self.embed_seconds = 0.0
        self._stored_n = 0           # texts embedded (not imported) in the stored shards
        self._stored_s = 0.0

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def _load(self) -> dict[str, np.ndarray]:
        if self._table is None:
            self._table = {}
            for f in sorted(self.dir.glob("shard-*.npz")):
                try:
                    with np.load(f, allow_pickle=False) as z:
                        keys, vecs, meta = z["keys"], z["vectors"], z["meta"]
                except (OSError, ValueError, KeyError) as exc:
                    log.warning("embedding cache shard %s unreadable (%s); ignored", f, exc)
                    continue
                self._table.update(zip(keys.tolist(), vecs))
                if float(meta[1]) > 0:
                    self._stored_n += int(meta[0])
                    self._stored_s += float(meta[1])
        return self._table

    def _write(self, keys: list[str], vecs: np.ndarray, seconds: float) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            name = f"shard-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.time_ns() % 10**9:09d}.npz"
            tmp = self.dir / f".tmp-{name}"
            with open(tmp, "wb") as fh:
                np.savez(fh, keys=np.array(keys), vectors=np.ascontiguousarray(vecs, dtype=np.float32),
                         meta=np.array([len(keys), seconds], dtype=np.float64))
            os.replace(tmp, self.dir / name)
        except OSError as exc:
            log.warning("embedding cache not written (%s)", exc)

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> int:
        """Remember vectors computed elsewhere (e.g. those of an existing index).

        Args:
            texts: the embedded texts.
            vectors: their vectors, row by row.

        Returns:
            How many were new.
        """
        table = self._load()
        new = [(self.key(t), v) for t, v in zip(texts, vectors) if self.key(t) not in table]
        if new:
            keys = [k for k, _ in dict(new).items()]
            vecs = np.stack([v for _, v in dict(new).items()])
            table.update(zip(keys, vecs))
            self._write(keys, vecs, 0.0)
        return len(new)

    def rate(self) -> float | None:
        """Embedding throughput measured on this machine: this run's, else the cache's record (chunks/s)."""
        if self.embedded and self.embed_seconds:
            return self.embedded / self.embed_seconds
        self._load()
        return self._stored_n / self._stored_s if self._stored_s else None

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        table = self._load()
        keys = [self.key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in table))
        if missing:
            first = {k: t for k, t in zip(keys, texts)}
            t0 = time.perf_counter()
            vecs = self.inner.encode_passages([first[k] for k in missing], show_progress=show_progress)
            dt = time.perf_counter() - t0
            self.embedded += len(missing)
            self.embed_seconds += dt
            table.update(zip(missing, vecs))
            self._write(missing, vecs, dt)
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([table[k] for k in keys]).astype(np.float32)
