"""The system a benchmark measures: :class:`BenchQA` over in-memory paragraphs, and its cached index.

A set's index lives in a cache folder keyed by the file's hash, the model and the
index settings (:func:`cache_key`); :func:`ensure_bench_index` loads or builds it
and keeps the build record beside it. :func:`rag.bench.run.run_eval` asks every
question through this system.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rag.bench.cache import EmbeddingCache
from rag.bench.figures import peak_rss_mb
from rag.config import Settings
from rag.embed.protocol import Encoder
from rag.pipeline import QASystem
from rag.bench.squad import SquadSet
from rag.types import Document, Passage


class BenchQA(QASystem):
    """A :class:`QASystem` whose corpus is a list of in-memory documents (no files)."""

    def __init__(self, docs: Sequence[Document], index_dir: Path | str, settings: Settings | None = None,
                 encoder: Encoder | None = None):
        super().__init__(corpus_dir=index_dir, index_dir=index_dir, settings=settings, encoder=encoder)
        self._bench_docs = list(docs)

    def documents(self) -> list[Document]:
        self._docs = {d.doc: d for d in self._bench_docs}
        return list(self._bench_docs)

    @contextmanager
    def fixed_passages(self) -> Iterator["_FixedRetriever"]:
        """Inside this block ``ask`` answers from passages set on the yielded object instead of
        retrieving them: the whole answer path except retrieval (used for the oracle row)."""
        self.ensure_index()
        real = self._retriever
        fixed = _FixedRetriever(real)
        self._retriever = fixed  # type: ignore[assignment]
        try:
            yield fixed
        finally:
            self._retriever = real

    def rows_of(self, doc: str) -> list[int]:
        """Row numbers of a document's chunks in the loaded index.

        Args:
            doc: the document id.

        Returns:
            Row numbers (empty for an unknown document).
        """
        index = self.index
        if getattr(self, "_rows_index", None) is not index:
            by_doc: dict[str, list[int]] = {}
            for i, c in enumerate(index.chunks):
                by_doc.setdefault(c.doc, []).append(i)
            self._rows_index, self._rows_by_doc = index, by_doc
        return self._rows_by_doc.get(doc, [])


    def gold_passages(self, question: str, doc: str) -> list[Passage]:
        """The system given one paragraph as its whole corpus: that paragraph's chunks, ranked by
        the usual retrieval scores computed over them alone (the ``oracle`` row).

        Args:
            question: the question.
            doc: the gold paragraph's document id.

        Returns:
            Up to ``top_k`` passages, best first.
        """
        self.ensure_index()
        retriever = getattr(self._retriever, "real", self._retriever)
        assert retriever is not None
        return retriever.search_rows(question, self.rows_of(doc), keyword_query=self._keyword_query(question))


class _FixedRetriever:
    """Stands in for the retriever: returns the passages it was given."""

    def __init__(self, real: Any = None) -> None:
        self.passages: list[Passage] = []
        self.real = real

    def search(self, query: str, top_k: int | None = None, mode: str = "hybrid", **kwargs: Any) -> list[Passage]:
        return list(self.passages)


def cache_key(sset: SquadSet, settings: Settings, encoder_name: str) -> str:
    """Folder name of a set's cached index: set name, file hash, settings hash.

    Args:
        sset: the set.
        settings: the settings (only the index parameters count).
        encoder_name: the model's name.

    Returns:
        E.g. ``cmrc2018_dev-e9ff7423a1b2-5c0ffee12345``.
    """
    blob = json.dumps({"params": settings.index_params(), "encoder": encoder_name}, sort_keys=True)
    content = sset.sha256 or hashlib.sha256(
        "\n".join(p.doc + "\t" + p.context for p in sset.paragraphs).encode()).hexdigest()
    return f"{sset.name}-{content[:12]}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def default_index_dir(sset: SquadSet, settings: Settings, encoder_name: str, cache_dir: Path | None = None) -> Path:
    """Where :func:`run_eval` keeps a set's index by default.

    Args:
        sset: the set.
        settings: the settings.
        encoder_name: the model's name.
        cache_dir: the root (default ``<rag cache>/bench``).

    Returns:
        The index directory.
    """
    root = Path(cache_dir) if cache_dir else settings.paths.cache_dir / "bench"
    return root / cache_key(sset, settings, encoder_name)


def ensure_bench_index(qa: BenchQA, index_dir: Path, show_progress: bool,
                  cache: EmbeddingCache | None = None) -> dict[str, Any]:
    """Load or build the index; the build record is kept beside it for later runs."""
    from rag.ingest.chunking import embedding_text

    record_path = index_dir / "bench_build.json"
    report = qa.ensure_index(show_progress=show_progress)
    index = qa.index
    info: dict[str, Any] = {"dir": str(index_dir), "chunks": len(index.chunks),
                            "documents": len(index.manifest.documents), "dense_index": index.manifest.dense_index}
    if report is not None and report.written:
        embed_s = report.timings.get("embed", 0.0)
        embedded = report.embedded_chunks
        if cache is not None:   # what the model really embedded (the rest came from the cache)
            embedded, embed_s = cache.embedded, cache.embed_seconds
        rate = embedded / embed_s if embedded and embed_s else (cache.rate() if cache is not None else None)
        rec = {"built_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "seconds": round(report.seconds, 2),
               "embedded_chunks": embedded, "embed_seconds": round(embed_s, 2),
               "from_embedding_cache": report.embedded_chunks - embedded if cache is not None else 0,
               "timings": {k: round(v, 3) for k, v in report.timings.items()},
               "chunks_per_s": round(report.chunks / report.seconds, 2) if report.seconds else None,
               "embed_chunks_per_s": round(rate, 2) if rate else None,
               "peak_rss_mb": round(peak_rss_mb(), 1)}
        try:
            record_path.write_text(json.dumps(rec, indent=1), encoding="utf-8")
        except OSError:
            pass
        info.update(rec, reused=False)
    else:
        try:
            rec = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            rec = {}
        info.update(rec, reused=True)
        if cache is not None:   # an index built without the cache hands its vectors to it
            cache.add([embedding_text(c) for c in index.chunks], index.vectors)
    return info
