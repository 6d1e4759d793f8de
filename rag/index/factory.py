"""Open the index backend the settings name: FAISS files or Milvus.

>>> from rag.config import StoreSettings
>>> open_store(StoreSettings(), "index").location
'index'
"""

from __future__ import annotations

from pathlib import Path

from rag.choices import StoreKind
from rag.config import StoreSettings
from rag.index.protocol import IndexBackend


def open_store(settings: StoreSettings, index_dir: Path | str) -> IndexBackend:
    """The backend of ``settings.uri``; nothing is connected until it is first used.

    Args:
        settings: the *store* settings.
        index_dir: the FAISS index folder (unused by Milvus).

    Returns:
        ``IndexStore`` for ``faiss``, ``MilvusStore`` for ``milvus:…``.
    """
    if settings.kind is StoreKind.MILVUS:
        from rag.index.milvus_store import MilvusStore  # lazy: the optional milvus extra

        return MilvusStore(settings.target, kb=settings.kb, token=settings.token, shown=settings.uri)
    from rag.index.store import IndexStore

    return IndexStore(index_dir)
