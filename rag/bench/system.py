"""The system a benchmark measures: a :class:`~rag.pipeline.QASystem` over in-memory paragraphs, and its cached index.

A set's index lives in a cache folder keyed by the file's hash, the model and the
index settings (:func:`cache_key`); :func:`ensure_bench_index` loads or builds it
and keeps the build record beside it. :func:`rag.bench.run.run_eval` asks every
question through the systems :func:`systems_under_test` makes.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.bench.cache import EmbeddingCache
from rag.bench.figures import peak_rss_mb
from rag.bench.squad import SquadSet
from rag.config import Settings
from rag.embed.protocol import Encoder
from rag.index.build import BuildReport
from rag.pipeline import QASystem
from rag.types import Document

#: The file beside a benchmark index that records how it was built.
BUILD_RECORD = "bench_build.json"


def bench_system(docs: Sequence[Document], index_dir: Path | str, settings: Settings,
                 encoder: Encoder) -> QASystem:
    """A system whose corpus is the given in-memory documents (no files).

    Args:
        docs: the benchmark's paragraphs as documents.
        index_dir: where the index lives.
        settings: the settings.
        encoder: the embedding model (shared by every system of a run).

    Returns:
        The system (nothing loaded yet).
    """
    return QASystem(corpus_dir=index_dir, index_dir=index_dir, settings=settings, encoder=encoder, documents=docs)


def systems_under_test(qa: QASystem, docs: Sequence[Document], index_dir: Path, encoder: Encoder,
                       compare_rules: bool) -> list[tuple[str, QASystem]]:
    """The systems one run asks, by row suffix: ``""`` for ``qa``, and ``":rules"`` for the rules alone
    when ``qa`` answers with the trained reader and ``compare_rules`` asks for them (same index, same
    passages, one load), so that the two compare in the same run.

    Args:
        qa: the system under test, its index loaded.
        docs: its documents.
        index_dir: its index.
        encoder: its encoder.
        compare_rules: add the rules-alone system when the reader answers.

    Returns:
        ``(suffix, system)`` pairs, ``qa`` first.
    """
    systems = [("", qa)]
    if compare_rules and qa.uses_reader():
        rules = bench_system(docs, index_dir, qa.settings.with_overrides({"reader.weights": "off"}), encoder)
        rules.ensure_index()
        systems.append((":rules", rules))
    return systems


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
    """Where :func:`~rag.bench.run.run_eval` keeps a set's index by default.

    Args:
        sset: the set.
        settings: the settings.
        encoder_name: the model's name.
        cache_dir: the root (default ``<settings.paths.cache_dir>/bench``).

    Returns:
        The index directory.
    """
    root = Path(cache_dir) if cache_dir else settings.paths.cache_dir / "bench"
    return root / cache_key(sset, settings, encoder_name)


def ensure_bench_index(qa: QASystem, index_dir: Path, show_progress: bool,
                       cache: EmbeddingCache | None = None) -> dict[str, Any]:
    """Load or build the index; the build record is kept beside it for later runs.

    Args:
        qa: the system (see :func:`bench_system`).
        index_dir: its index directory.
        show_progress: draw a progress bar while embedding.
        cache: the run's embedding cache, if any: it takes the vectors of a reused index.

    Returns:
        The index facts of the summary (``chunks``, ``documents``, ``dense_index``, the build
        record and ``reused``).
    """
    report = qa.ensure_index(show_progress=show_progress)
    index = qa.index
    info: dict[str, Any] = {"dir": str(index_dir), "chunks": len(index.chunks),
                            "documents": len(index.manifest.documents), "dense_index": index.manifest.dense_index}
    if report is not None and report.written:
        rec = _build_record(report, cache)
        try:
            (index_dir / BUILD_RECORD).write_text(json.dumps(rec, indent=1), encoding="utf-8")
        except OSError:
            pass
        info.update(rec, reused=False)
        return info
    try:
        rec = json.loads((index_dir / BUILD_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        rec = {}
    info.update(rec, reused=True)
    if cache is not None:   # an index built without the cache hands its vectors to it
        from rag.ingest.chunking import embedding_text

        cache.add([embedding_text(c) for c in index.chunks], index.vectors)
    return info


def _build_record(report: BuildReport, cache: EmbeddingCache | None) -> dict[str, Any]:
    """How long the build took and how fast it embedded (what the model really embedded, with a cache)."""
    embed_s = report.timings.get("embed", 0.0)
    embedded = report.embedded_chunks
    if cache is not None:   # the rest came from the cache
        embedded, embed_s = cache.embedded, cache.embed_seconds
    rate = embedded / embed_s if embedded and embed_s else (cache.rate() if cache is not None else None)
    return {"built_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "seconds": round(report.seconds, 2),
            "embedded_chunks": embedded, "embed_seconds": round(embed_s, 2),
            "from_embedding_cache": report.embedded_chunks - embedded if cache is not None else 0,
            "timings": {k: round(v, 3) for k, v in report.timings.items()},
            "chunks_per_s": round(report.chunks / report.seconds, 2) if report.seconds else None,
            "embed_chunks_per_s": round(rate, 2) if rate else None,
            "peak_rss_mb": round(peak_rss_mb(), 1)}
