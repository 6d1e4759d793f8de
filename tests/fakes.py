"""Small stand-ins for unit tests (the end-to-end tests use the real model)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np


class _FakeEncoder:
    """The encoder interface around one ``_vec`` per text; records passage batch sizes in ``calls``."""

    def __init__(self, dim: int, name: str):
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
        raise NotImplementedError

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self._dim), np.float32)

    def encode_passages(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        self.calls.append(len(texts))
        return self.encode_queries(texts)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n else v


class HashEncoder(_FakeEncoder):
    """Bag of hashed character bigrams, L2-normalised: deterministic, instant, lexical.

    ``floor`` mixes in a component every text shares, so that cosines sit in ``[floor, 1]`` as a
    real sentence encoder's do (e5: about 0.75 for unrelated text, 0.9 for a match). With the
    default 0 unrelated texts score 0 and the confidence model, calibrated on e5, withholds every
    answer.
    """

    def __init__(self, dim: int = 256, name: str = "fake-hash", floor: float = 0.0):
        super().__init__(dim, name)
        self._floor = floor

    def _vec(self, text: str) -> np.ndarray:
        buckets = self._dim - 1 if self._floor else self._dim   # the last dimension is the shared one
        v = np.zeros(self._dim, dtype=np.float32)
        for a, b in zip(text, text[1:]):
            v[zlib.crc32((a + b).encode()) % buckets] += 1.0
        v = _unit(v)
        if self._floor:
            # cos = floor + (1 - floor) * cos(bigrams)
            v = v * np.sqrt(1 - self._floor)
            v[-1] = np.sqrt(self._floor)
        return v


class ConceptEncoder(_FakeEncoder):
    """Maps words of a small synonym table to shared directions, so that it matches texts that share
    no word (半导体 ↔ 芯片) and, knowing no other words, nothing else: a stand-in for a semantic model."""

    CONCEPTS: dict[str, int] = {"芯片": 0, "半导体": 0, "诈骗": 1, "反诈": 1, "骗局": 1, "补贴": 2, "资助": 2}

    def __init__(self, name: str = "fake-concepts"):
        super().__init__(max(self.CONCEPTS.values()) + 1, name)

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self._dim, dtype=np.float32)
        for word, concept in self.CONCEPTS.items():
            v[concept] += text.count(word)
        return _unit(v)
