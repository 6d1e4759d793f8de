"""The ``Encoder`` seam: what indexing, retrieval and the cross-lingual step need of an embedding model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Encoder(Protocol):
    """Embeds queries and passages into one vector space.

    Contract: both methods return float32 ``[len(texts), dim]`` with L2-normalised rows (so an
    inner product is a cosine); a query and a passage are embedded differently where the model
    asks for it (e5's ``query: `` / ``passage: `` prompts); the same text always gives the same
    vector. ``name`` identifies the model in the index manifest: two encoders with one name must
    be interchangeable, since an index built by one is searched with the other.
    """

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray: ...
