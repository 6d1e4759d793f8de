"""Building the index incrementally: only new or changed documents are embedded.

Unchanged documents (same SHA-256 of their decoded text) keep their chunks,
tokens and vectors; removed ones are dropped. An index built with another
model, other chunking parameters or another format version is not reused at
all. The result is written as a new version (see :mod:`rag.index.store`).

>>> from rag.types import Document
>>> plan = plan_update([Document("a.txt", "x")], None)
>>> plan.added, plan.changed, plan.removed, plan.unchanged
(['a.txt'], [], [], [])
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


import numpy as np

from rag.index import faiss_store as dense
from rag.index.bm25 import BM25
from rag.ingest.chunking import chunk_document, embedding_text
from rag.embed.protocol import Encoder
from rag.config import INDEX_FORMAT_VERSION, Settings
from rag.index.store import DocEntry, IndexStore, Manifest, StoredIndex
from rag.text.tokens import tokenize
from rag.types import Document

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpdatePlan:
    """Which documents to embed, keep or drop."""

    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: list[str]
    rebuild_reason: str | None = None

    @property
    def up_to_date(self) -> bool:
        """Whether the stored index already matches the corpus."""
        return not (self.added or self.changed or self.removed or self.rebuild_reason)


@dataclass(frozen=True)
class BuildReport:
    """What a build did, for the CLI and benchmarks."""

    plan: UpdatePlan
    chunks: int
    embedded_chunks: int
    seconds: float
    written: bool
    timings: dict[str, float] = field(default_factory=dict)


def plan_update(docs: Sequence[Document], manifest: Manifest | None,
                params: dict | None = None) -> UpdatePlan:
    """Compare the corpus with a stored manifest.

    Args:
        docs: the corpus as loaded now.
        manifest: the stored manifest, or None when there is no index.
        params: ``Settings.index_params()``; when given, a mismatch means a full rebuild.

    Returns:
        The plan.
    """
    reason = None
    if manifest is None:
        reason = "no index yet"
    elif params is not None:
        reason = manifest.mismatch(params)
    old = {} if manifest is None or reason else manifest.documents
    now = {d.doc: d.sha256 for d in docs}
    added = [d for d in now if d not in old]
    changed = [d for d in now if d in old and old[d].sha256 != now[d]]
    unchanged = [d for d in now if d in old and old[d].sha256 == now[d]]
    removed = sorted(d for d in old if d not in now)
    if manifest is None:
        reason = None  # a first build is just "everything added"
    return UpdatePlan(added, changed, removed, unchanged, reason)


def build_index(docs: Sequence[Document], settings: Settings, encoder: Encoder,
                store: IndexStore, show_progress: bool = False, force: bool = False) -> tuple[StoredIndex, BuildReport]:
    """Bring the stored index up to date with ``docs`` and return it loaded.

    Args:
        docs: the corpus.
        settings: chunking and index parameters.
        encoder: the embedding model (its ``name`` must match ``settings.embed.model``).
        store: where the index lives.
        show_progress: draw a progress bar while embedding.
        force: rebuild everything even if nothing changed.

    Returns:
        ``(index, report)``.
    """
    t0 = time.perf_counter()
    params = settings.index_params()
    old = store.load()
    old_manifest = old.manifest if old else None
    if old is not None and old.manifest.dim != encoder.dim:
        old_manifest = None
    plan = plan_update(docs, old_manifest, params)
    if force and plan.rebuild_reason is None:
        plan = plan_update(docs, None)
    if plan.up_to_date and old is not None and not force:
        return old, BuildReport(plan, len(old.chunks), 0, time.perf_counter() - t0, written=False)
    if plan.rebuild_reason:
        log.info("rebuilding the index: %s", plan.rebuild_reason)

    keep = set(plan.unchanged)
    chunks, tokens, vector_parts, entries = [], [], [], {}
    new_chunks, pending_rows = [], []
    timings = {"chunk": 0.0, "tokenize": 0.0, "embed": 0.0}
    for doc in docs:
        if doc.doc in keep and old is not None:
            rows = old.chunks_of(doc.doc)
            chunks.extend(old.chunks[i] for i in rows)
            tokens.extend(old.tokens[i] for i in rows)
            vector_parts.append(old.vectors[rows])
            entries[doc.doc] = old.manifest.documents[doc.doc]
            continue
        t = time.perf_counter()
        doc_chunks = chunk_document(doc, settings.chunk.chars, settings.chunk.overlap_sentences,
                                    settings.chunk.max_sentence_chars, settings.chunk.heading_max_chars)
        timings["chunk"] += time.perf_counter() - t
        t = time.perf_counter()
        doc_tokens = [tokenize(embedding_text(c), fold=settings.index.fold_scripts) for c in doc_chunks]
        timings["tokenize"] += time.perf_counter() - t
        pending_rows.append((len(chunks), len(doc_chunks)))
        chunks.extend(doc_chunks)
        tokens.extend(doc_tokens)
        new_chunks.extend(doc_chunks)
        vector_parts.append(None)
        entries[doc.doc] = DocEntry(doc.sha256, len(doc_chunks), doc.encoding)

    t = time.perf_counter()
    new_vectors = (encoder.encode_passages([embedding_text(c) for c in new_chunks], show_progress=show_progress)
                   if new_chunks else np.zeros((0, encoder.dim), dtype=np.float32))
    timings["embed"] = time.perf_counter() - t
    parts, offset = [], 0
    for part in vector_parts:
        if part is None:
            n = pending_rows.pop(0)[1]
            parts.append(new_vectors[offset:offset + n])
            offset += n
        else:
            parts.append(part)
    vectors = np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, encoder.dim), np.float32)

    t = time.perf_counter()
    faiss_index = dense.build_faiss(vectors, settings.index.hnsw_min_chunks)
    bm25 = BM25.build(tokens, settings.index.bm25_k1, settings.index.bm25_b)
    timings["index"] = time.perf_counter() - t
    manifest = Manifest(format_version=INDEX_FORMAT_VERSION, model=settings.embed.model, dim=encoder.dim,
                        params=params, documents=entries, built_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
                        dense_index="hnsw" if len(vectors) >= settings.index.hnsw_min_chunks else "flat")
    index = StoredIndex(manifest, chunks, tokens, vectors, faiss_index, bm25)
    t = time.perf_counter()
    store.save(index)
    timings["write"] = time.perf_counter() - t
    report = BuildReport(plan, len(chunks), len(new_chunks), time.perf_counter() - t0, written=True,
                         timings=timings)
    log.info("index: %d chunks (%d embedded) in %.1fs", len(chunks), len(new_chunks), report.seconds)
    return index, report
