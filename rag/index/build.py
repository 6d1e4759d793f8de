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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace


import numpy as np

from rag.index.faiss_store import FaissStore
from rag.index.bm25 import BM25
from rag.ingest.chunking import chunk_document, embedding_text
from rag.embed.protocol import Encoder
from rag.config import INDEX_FORMAT_VERSION, Settings
from rag.index.protocol import IndexBackend
from rag.index.store import DocEntry, Manifest, StoredIndex
from rag.text.tokens import tokenize
from rag.types import Chunk, Document

log = logging.getLogger(__name__)

#: ``progress(doc, chunks embedded, chunks of that document)`` while new documents are embedded.
Progress = Callable[[str, int, int], None]

#: Chunks embedded between two progress calls.
_PROGRESS_BATCH = 32


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


@dataclass
class _Assembly:
    """The rows of the new index as they are gathered, in corpus order."""

    chunks: list[Chunk] = field(default_factory=list)
    tokens: list[list[str]] = field(default_factory=list)
    parts: list[np.ndarray | None] = field(default_factory=list)   # None: this document's rows are new
    entries: dict[str, DocEntry] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    new_docs: list[str] = field(default_factory=list)
    new_chunks: list[Chunk] = field(default_factory=list)
    new_counts: list[int] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=lambda: {"chunk": 0.0, "tokenize": 0.0, "embed": 0.0})


def build_index(docs: Sequence[Document], settings: Settings, encoder: Encoder,
                store: IndexBackend, show_progress: bool = False, force: bool = False,
                progress: Progress | None = None,
                skipped: dict[str, list[str]] | None = None) -> tuple[StoredIndex, BuildReport]:
    """Bring the stored index up to date with ``docs`` and return it loaded.

    Args:
        docs: the corpus.
        settings: chunking and index parameters.
        encoder: the embedding model (its ``name`` must match ``settings.embed.model_id``).
        store: where the index lives.
        show_progress: draw a progress bar while embedding.
        force: rebuild everything even if nothing changed.
        progress: called as new documents' chunks are embedded (the upload panel's "n/N").
        skipped: files that could not be read (id → [hash of the bytes, why, OCR mode]), kept in the manifest.

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
    skipped = dict(skipped or {})
    if plan.up_to_date and old is not None and not force:
        if skipped != old.manifest.skipped:
            # Nothing to embed, but the list of unreadable files changed: record it in place.
            old.manifest = replace(old.manifest, skipped=skipped)
            store.save(old)
            return old, BuildReport(plan, len(old.chunks), 0, time.perf_counter() - t0, written=True)
        return old, BuildReport(plan, len(old.chunks), 0, time.perf_counter() - t0, written=False)
    if plan.rebuild_reason:
        log.info("rebuilding the index: %s", plan.rebuild_reason)
    rows = _gather(docs, set(plan.unchanged), old, settings)
    vectors = _vector_store(rows, encoder, settings, show_progress, progress)
    t = time.perf_counter()
    vectors.search(np.zeros(encoder.dim, np.float32), 1)  # builds the FAISS index now, timed as "index"
    bm25 = BM25.build(rows.tokens, settings.index.bm25_k1, settings.index.bm25_b)
    rows.timings["index"] = time.perf_counter() - t
    manifest = Manifest(format_version=INDEX_FORMAT_VERSION, model=params["model"], dim=encoder.dim,
                        params=params, documents=rows.entries, built_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
                        dense_index=vectors.kind, skipped=skipped)
    index = StoredIndex(manifest, rows.chunks, rows.tokens, vectors, bm25, documents=rows.documents)
    t = time.perf_counter()
    store.save(index)
    rows.timings["write"] = time.perf_counter() - t
    report = BuildReport(plan, len(rows.chunks), len(rows.new_chunks), time.perf_counter() - t0, written=True,
                         timings=rows.timings)
    log.info("index: %d chunks (%d embedded) in %.1fs", len(rows.chunks), len(rows.new_chunks), report.seconds)
    return index, report


def _gather(docs: Sequence[Document], keep: set[str], old: StoredIndex | None, settings: Settings) -> _Assembly:
    """Every document's rows: taken from the old index when unchanged, else chunked and tokenized anew."""
    rows = _Assembly()
    for doc in docs:
        if doc.doc in keep and old is not None:
            kept = old.chunks_of(doc.doc)
            rows.chunks.extend(old.chunks[i] for i in kept)
            rows.tokens.extend(old.tokens[i] for i in kept)
            rows.parts.append(old.dense.vectors(kept))
            rows.entries[doc.doc] = old.manifest.documents[doc.doc]
            rows.documents[doc.doc] = old.documents.get(doc.doc, doc)
            continue
        t = time.perf_counter()
        doc_chunks = chunk_document(doc, settings.chunk.chars, settings.chunk.overlap_sentences,
                                    settings.chunk.max_sentence_chars, settings.chunk.heading_max_chars)
        rows.timings["chunk"] += time.perf_counter() - t
        t = time.perf_counter()
        rows.tokens.extend(tokenize(embedding_text(c), fold=settings.index.fold_scripts) for c in doc_chunks)
        rows.timings["tokenize"] += time.perf_counter() - t
        rows.chunks.extend(doc_chunks)
        rows.new_chunks.extend(doc_chunks)
        rows.new_counts.append(len(doc_chunks))
        rows.parts.append(None)
        rows.entries[doc.doc] = DocEntry(doc.sha256, len(doc_chunks), doc.encoding, doc.format, doc.page_count,
                                         doc.source_sha256, time.strftime("%Y-%m-%dT%H:%M:%S"))
        rows.documents[doc.doc] = doc
        rows.new_docs.append(doc.doc)
    return rows


def _embed(rows: _Assembly, encoder: Encoder, show_progress: bool, progress: Progress | None) -> np.ndarray:
    """The new chunks' vectors; with ``progress``, in batches, reporting each document's share done."""
    texts = [embedding_text(c) for c in rows.new_chunks]
    if not texts:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    if progress is None:
        return encoder.encode_passages(texts, show_progress=show_progress)
    bounds, offset = [], 0
    for doc, n in zip(rows.new_docs, rows.new_counts):
        bounds.append((doc, offset, offset + n))
        offset += n
    parts = []
    for a in range(0, len(texts), _PROGRESS_BATCH):
        b = min(len(texts), a + _PROGRESS_BATCH)
        parts.append(encoder.encode_passages(texts[a:b]))
        for doc, lo, hi in bounds:
            if lo < b and hi > a or (lo == hi and a == 0):
                progress(doc, min(hi, b) - lo, hi - lo)
    return np.concatenate(parts)


def _vector_store(rows: _Assembly, encoder: Encoder, settings: Settings, show_progress: bool,
                  progress: Progress | None) -> FaissStore:
    """The vector store of the new index: new chunks embedded in one pass, kept rows reused."""
    t = time.perf_counter()
    new_vectors = _embed(rows, encoder, show_progress, progress)
    rows.timings["embed"] = time.perf_counter() - t
    store = FaissStore(encoder.dim, settings.index.hnsw_min_chunks)
    counts, offset = iter(rows.new_counts), 0
    for doc, part in zip(rows.entries, rows.parts):
        if part is None:
            n = next(counts)
            part, offset = new_vectors[offset:offset + n], offset + n
        store.add(doc, part)
    return store
