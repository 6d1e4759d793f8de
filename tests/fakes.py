"""Small stand-ins for unit tests (the end-to-end tests use the real model)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np


class HashEncoder:
    """Bag of hashed character bigrams, L2-normalised: deterministic, instant, lexical."""

    def __init__(self, dim: int = 256, name: str = "fake-hash"):
        self._dim = dim
        self._name = name
        self.calls: list[int] = []  # sizes of encode_passages batches, to check incremental builds

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self._dim, dtype=np.float32)
        for a, b in zip(text, text[1:]):
            v[zlib.crc32((a + b).encode()) % self._dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self._dim), np.float32)

    def encode_passages(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        self.calls.append(len(texts))
        return self.encode_queries(texts)
