"""Small stand-ins for unit tests (the end-to-end tests use the real model)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np


class HashEncoder:
    """Bag of hashed character bigrams, L2-normalised: deterministic, instant, lexical.

    ``floor`` mixes in a component every text shares, so that cosines sit in ``[floor, 1]`` as a
    real sentence encoder's do (e5: about 0.75 for unrelated text, 0.9 for a match). With the
    default 0 unrelated texts score 0 and the confidence model, calibrated on e5, withholds every
    answer.
    """

    def __init__(self, dim: int = 256, name: str = "fake-hash", floor: float = 0.0):
        self._dim = dim
        self._name = name
        self._floor = floor
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
        v = v / n if n else v
        if self._floor:
            # the last dimension is shared by all texts: cos = floor + (1 - floor) * cos(bigrams)
            v = v * np.sqrt(1 - self._floor)
            v[-1] = np.sqrt(self._floor)
        return v

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self._dim), np.float32)

    def encode_passages(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        self.calls.append(len(texts))
        return self.encode_queries(texts)


class ConceptEncoder:
    """Maps words of a small synonym table to shared directions, so that it matches texts that share
    no word (半导体 ↔ 芯片) and, knowing no other words, nothing else: a stand-in for a semantic model."""

    CONCEPTS: dict[str, int] = {"芯片": 0, "半导体": 0, "诈骗": 1, "反诈": 1, "骗局": 1, "补贴": 2, "资助": 2}

    def __init__(self, name: str = "fake-concepts"):
        self._name = name
        self._dim = max(self.CONCEPTS.values()) + 1

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self._dim, dtype=np.float32)
        for word, concept in self.CONCEPTS.items():
            v[concept] += text.count(word)
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self._dim), np.float32)

    def encode_passages(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        return self.encode_queries(texts)
