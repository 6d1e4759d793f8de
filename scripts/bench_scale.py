"""Retrieval at scale: build time, memory, query latency and Recall@5 from ~1k to 100k chunks.

The corpus is the pooled chunks of the three public sets (CMRC 2018 dev, DRCD
dev, XQuAD zh: about 6.5k real chunks, embedded once by ``rag eval`` and read
from its cached indexes). Embedding 100k chunks on a 2-core CPU would take
hours, so larger corpora add *synthetic copies* of real chunks:

* dense: a copy keeps the corpus-mean direction of its source and gets Gaussian
  noise on the rest (the residual), renormalised, so that it is as close to its
  source as a real nearest neighbour is (median cosine of a chunk to the nearest
  chunk of another paragraph) and as far from everything else as real chunks are
  from each other (e5 vectors share a strong common direction: isotropic noise
  would push every copy away from every query and test nothing);
* keyword: the source's BM25 tokens with 30% of them replaced by tokens drawn
  from the pooled token frequencies.

Smaller corpora are subsets of whole paragraphs. The questions are a seeded
sample of the real questions whose paragraph is in the corpus. Every size runs
in its own process (clean peak RSS) and measures: BM25 / flat / HNSW build
time and memory, the latency of ``Retriever.search`` (dense search + BM25 +
fusion, the query vector precomputed) and of the FAISS search alone, flat
against HNSW, Recall@5 (a chunk of the gold paragraph in the top 5; "by source"
also counts copies of it), and the share of flat's top 30 that HNSW finds.
The cost of embedding a query is measured separately, with the real model.

    python scripts/bench_scale.py --json docs/bench/scale.json     # sizes 1k,10k,30k,50k,100k
    python scripts/bench_scale.py --sizes 1000,10000 --questions 100
    python scripts/bench_scale.py --sizes 10000,100000,1000000 --stores faiss,milvus-embedded,milvus-server \
        --json docs/bench/scale_milvus.json                              # issue #20: FAISS against Milvus

With ``--stores`` the same chunks, tokens and vectors are also written to Milvus (a milvus-lite file
in the measuring process, and a ``milvus-lite server`` process on loopback) through the project's
``MilvusStore``: write time, the client's and the server's memory, disk, load time, and the
retriever's latency with dense search in Milvus.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")   # before the model libraries are imported

import numpy as np  # noqa: E402

from rag.bench.cache import EmbeddingCache  # noqa: E402
from rag.bench.figures import machine_info, percentile  # noqa: E402
from rag.bench.squad import KNOWN_SETS, load_squad, resolve  # noqa: E402
from rag.bench.system import bench_system, default_index_dir, ensure_bench_index  # noqa: E402
from rag.config import INDEX_FORMAT_VERSION, Settings  # noqa: E402
from rag.index import faiss_store as dense  # noqa: E402
from rag.index.bm25 import BM25  # noqa: E402
from rag.index.store import DocEntry, Manifest, StoredIndex  # noqa: E402
from rag.query.analyse import QueryAnalyser  # noqa: E402
from rag.retrieve.retriever import Retriever  # noqa: E402
from rag.types import Chunk  # noqa: E402

SETS = ("cmrc", "drcd", "xquad")
TOKEN_REPLACE = 0.3
ANN_DEPTH = 30          # the retrievers' candidate depth (Settings.retrieval.candidates)


def rss_mb() -> float:
    """Current resident set size in MiB."""
    with open("/proc/self/status", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    """Peak resident set size of this process in MiB (VmHWM: unlike ru_maxrss, not inherited over fork)."""
    with open("/proc/self/status", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- parent: the pool

def prepare(work: Path, args: argparse.Namespace) -> dict:
    """Load (or build) the three cached indexes, pool them, embed the sampled questions."""
    from rag.embed.factory import make_encoder

    settings = Settings.from_env().with_overrides({"reader.weights": "off"})   # retrieval only
    enc = make_encoder(settings)
    root = Path(args.cache) if args.cache else settings.paths.cache_dir / "bench"
    cached = EmbeddingCache(enc, root / "embeddings")
    rng = random.Random(args.seed)
    chunks, vectors, questions, sets = [], [], [], {}
    for name in SETS:
        sset = load_squad(resolve(name, args.data))
        index_dir = default_index_dir(sset, settings, enc.name, root)
        qa = bench_system(sset.documents(), index_dir, settings, cached)
        t = time.perf_counter()
        ensure_bench_index(qa, index_dir, sys.stderr.isatty(), cached)
        ix = qa.index
        sets[sset.name] = {"paragraphs": len(sset.paragraphs), "chunks": len(ix.chunks),
                           "load_s": round(time.perf_counter() - t, 2)}
        for c, toks in zip(ix.chunks, ix.tokens):
            chunks.append({"id": c.chunk_id, "doc": c.doc, "start": c.start, "end": c.end, "text": c.text,
                           "heading": c.heading, "tokens": toks})
        vectors.append(ix.vectors)
        questions += [{"id": q.qid, "question": q.question, "doc": q.doc, "set": sset.name} for q in sset.questions]
        print(f"bench_scale: {sset.name}: {len(ix.chunks)} chunks", file=sys.stderr)
    V = np.concatenate(vectors).astype(np.float32)
    rng.shuffle(questions)
    questions = questions[:args.pool_questions]
    # Query vectors: batch-embedded once (the per-query cost is measured below, alone).
    texts = [q["question"] for q in questions]
    t = time.perf_counter()
    Q = enc.encode_queries(texts)
    batch_s = time.perf_counter() - t
    threads0, by_threads = query_embedding_ms(enc, texts[:args.embed_samples])
    np.save(work / "vectors.npy", V)
    np.save(work / "queries.npy", Q.astype(np.float32))
    with open(work / "chunks.jsonl", "w", encoding="utf-8") as fh:
        for c in chunks:
            fh.write(json.dumps(c, ensure_ascii=False) + "\n")
    (work / "questions.json").write_text(json.dumps(questions, ensure_ascii=False), encoding="utf-8")
    return {"sets": sets, "real_chunks": len(chunks), "questions_pooled": len(questions),
            "torch_threads": threads0,
            "query_embedding_ms_p50": by_threads[str(threads0)]["p50"],
            "query_embedding_ms_p95": by_threads[str(threads0)]["p95"],
            "query_embedding_ms_by_threads": by_threads,
            "query_embedding_batch_ms_per_query": 1000 * batch_s / max(1, len(texts)),
            "embed_samples": min(args.embed_samples, len(texts)), "load_avg": list(os.getloadavg())}


def query_embedding_ms(enc, texts: list[str]) -> tuple[int, dict[str, dict[str, float]]]:
    """Embedding one query at a time, as ``ask`` does, with 1 and with 2 torch threads (on a shared 2-core
    machine, 2 threads wait on each other whenever another process holds a core): p50/p95 ms by threads."""
    import torch

    threads0 = torch.get_num_threads()
    by_threads = {}
    for th in sorted({1, max(1, min(2, os.cpu_count() or 1)), threads0}):
        torch.set_num_threads(th)
        for q in texts[:3]:
            enc.encode_queries([q])
        lat = []
        for q in texts:
            t = time.perf_counter()
            enc.encode_queries([q])
            lat.append((time.perf_counter() - t) * 1000)
        by_threads[str(th)] = {"p50": statistics.median(lat), "p95": percentile(lat, 95)}
    torch.set_num_threads(threads0)
    return threads0, by_threads


# --------------------------------------------------------------------------- child: one size

class LookupEncoder:
    """Hands the retriever precomputed query vectors (so that search latency excludes the model)."""

    def __init__(self, table: dict[str, np.ndarray], dim: int):
        self.table, self._dim = table, dim

    name = "precomputed"

    @property
    def dim(self) -> int:
        return self._dim

    def encode_queries(self, texts):
        return np.stack([self.table[t] for t in texts])

    def encode_passages(self, texts, show_progress=False):  # pragma: no cover - never called
        raise NotImplementedError


class PrebuiltStore:
    """The vector store of a measured size: the pooled matrix and a FAISS index built (and timed) beforehand.

    Read-only: the :class:`~rag.index.protocol.VectorStore` methods the retriever uses.
    """

    def __init__(self, vectors: np.ndarray, index) -> None:
        self.matrix, self.index = vectors, index

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def __len__(self) -> int:
        return len(self.matrix)

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return dense.search(self.index, vector, k)

    def vectors(self, rows: Sequence[int] | None = None) -> np.ndarray:
        return self.matrix if rows is None else self.matrix[list(rows)]

    def add(self, doc: str, vectors: np.ndarray) -> None:  # pragma: no cover - never called
        raise NotImplementedError

    def delete(self, doc: str) -> int:  # pragma: no cover - never called
        raise NotImplementedError

    def save(self, folder: Path) -> None:  # pragma: no cover - never called
        raise NotImplementedError


def make_copies(V: np.ndarray, src: np.ndarray, target_cos: float, rng: np.random.Generator) -> np.ndarray:
    """Perturbed copies of rows ``src`` of ``V`` (see the module docstring)."""
    mu = V.mean(axis=0)
    mu_n2 = float(mu @ mu)
    base = V[src]
    resid = base - mu
    rnorm = np.linalg.norm(resid, axis=1, keepdims=True)
    # cos(copy, source) = (|mu|^2 + mu.r + |r|^2 cos(theta)) approximately; solve for the residual angle.
    r2 = float(np.mean(rnorm ** 2))
    cos_theta = float(np.clip((target_cos - mu_n2 - float(np.mean(resid @ mu))) / max(r2, 1e-9), -1, 1))
    tau = float(np.sqrt(max(1.0 / max(cos_theta, 1e-3) ** 2 - 1.0, 0.0)))
    g = rng.standard_normal(base.shape).astype(np.float32)
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    new_r = resid + tau * rnorm * g
    new_r *= rnorm / np.linalg.norm(new_r, axis=1, keepdims=True)
    out = mu + new_r
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out.astype(np.float32)


def nn_cos_median(V: np.ndarray, docs: list[str], sample: int, rng: np.random.Generator) -> float:
    """Median cosine of a chunk to its nearest chunk from another paragraph."""
    idx = rng.choice(len(V), size=min(sample, len(V)), replace=False)
    S = V[idx] @ V.T
    d = np.asarray(docs)
    S[d[idx][:, None] == d[None, :]] = -1
    return float(np.median(S.max(axis=1)))


def timed(fn, *a, **k):
    t = time.perf_counter()
    out = fn(*a, **k)
    return out, time.perf_counter() - t


def _subset(rows: list[dict], Vreal: np.ndarray, size: int, seed: int) -> tuple[np.ndarray, list, list, dict]:
    """A corpus of about ``size`` chunks made of whole real paragraphs (seeded order)."""
    docs_real = [r["doc"] for r in rows]
    order = list(dict.fromkeys(docs_real))
    random.Random(seed).shuffle(order)
    by_doc: dict[str, list[int]] = {}
    for i, d in enumerate(docs_real):
        by_doc.setdefault(d, []).append(i)
    take: list[int] = []
    for d in order:
        if len(take) >= size:
            break
        take += by_doc[d]
    sel = np.array(sorted(take))
    toks = [rows[i]["tokens"] for i in sel]
    chunks = [Chunk(rows[i]["id"], rows[i]["doc"], rows[i]["start"], rows[i]["end"], rows[i]["text"],
                    rows[i]["heading"]) for i in sel]
    return Vreal[sel], toks, chunks, {"synthetic": 0}


def _keyword_copies(rows: list[dict], src: np.ndarray, rng: np.random.Generator) -> list[list[str]]:
    """Every real chunk's tokens, then one copy per ``src`` row with 30% of its tokens redrawn from the pool."""
    vocab: dict[str, int] = {}
    flat = []
    for r in rows:
        for t in r["tokens"]:
            flat.append(vocab.setdefault(t, len(vocab)))
    inv = list(vocab)
    flat_a = np.asarray(flat)
    toks = [r["tokens"] for r in rows]
    for s in src:
        base = rows[s]["tokens"]
        mask = rng.random(len(base)) < TOKEN_REPLACE
        draws = flat_a[rng.integers(0, len(flat_a), size=int(mask.sum()))]
        it = iter(draws)
        toks.append([inv[next(it)] if m else t for t, m in zip(base, mask)])
    return toks


def _with_copies(rows: list[dict], Vreal: np.ndarray, size: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, list, list, dict]:
    """Every real chunk plus synthetic copies up to ``size`` (see the module docstring), with how close they are."""
    real = len(rows)
    docs_real = [r["doc"] for r in rows]
    n_copy = size - real
    src = np.arange(n_copy) % real
    rng.shuffle(src)
    target = nn_cos_median(Vreal, docs_real, 1000, rng)
    copies = make_copies(Vreal, src, target, rng)
    V = np.concatenate([Vreal, copies])
    toks = _keyword_copies(rows, src, rng)
    chunks = [Chunk(r["id"], r["doc"], r["start"], r["end"], r["text"], r["heading"]) for r in rows]
    chunks += [Chunk(f"copy/{j}#0", f"copy/{j}", 0, len(rows[s]["text"]), rows[s]["text"])
               for j, s in enumerate(src)]
    sample = rng.choice(n_copy, size=min(2000, n_copy), replace=False)
    other = rng.integers(0, real, size=len(sample))
    facts = {"synthetic": n_copy, "copy_target_cos": round(target, 4),
             "copy_to_source_cos": round(float(np.mean(np.sum(copies[sample] * Vreal[src[sample]], axis=1))), 4),
             "copy_to_random_real_cos": round(float(np.mean(np.sum(copies[sample] * Vreal[other], axis=1))), 4),
             "real_random_pair_cos": round(float(np.mean(np.sum(Vreal[sample % real] * Vreal[other], axis=1))), 4),
             "_source_doc": docs_real + [docs_real[s] for s in src]}
    return V, toks, chunks, facts


def _build(V: np.ndarray, toks: list, settings: Settings, out: dict) -> tuple[BM25, object, object]:
    """BM25, flat and HNSW indexes, each timed, with their size and the memory they took."""
    rss0 = rss_mb()
    out["rss_base_mb"] = round(rss0, 1)
    bm25, s = timed(BM25.build, toks, settings.index.bm25_k1, settings.index.bm25_b)
    out["bm25_build_s"] = round(s, 3)
    out["bm25_mb"] = round((bm25.indptr.nbytes + bm25.doc_ids.nbytes + bm25.tfs.nbytes + bm25.doc_len.nbytes) / 2**20, 1)
    rss1 = rss_mb()
    out["bm25_rss_delta_mb"] = round(rss1 - rss0, 1)
    flat_ix, s = timed(dense.build_faiss, V, len(V) + 1)      # exact
    out["flat_build_s"] = round(s, 3)
    out["flat_mb"] = round(V.nbytes / 2**20, 1)
    rss2 = rss_mb()
    out["flat_rss_delta_mb"] = round(rss2 - rss1, 1)
    hnsw_ix, s = timed(dense.build_faiss, V, 0)               # HNSW, the project's M / efConstruction / efSearch
    out["hnsw_build_s"] = round(s, 3)
    import faiss

    out["hnsw_mb"] = round(len(faiss.serialize_index(hnsw_ix)) / 2**20, 1)
    out["rss_after_build_mb"] = round(rss_mb(), 1)
    out["hnsw_params"] = {"M": dense.HNSW_M, "efConstruction": dense.HNSW_EF_CONSTRUCTION,
                          "efSearch": dense.HNSW_EF_SEARCH}
    return bm25, flat_ix, hnsw_ix


def _measure(stored: StoredIndex, enc: LookupEncoder, settings: Settings, qs: list, queries: dict,
             source_doc: list[str], real: int, modes: Sequence[str]) -> dict:
    """Retriever.search latency and Recall@5 (also counting copies of the gold paragraph) per mode."""
    res = {}
    r = Retriever(stored, enc, settings)
    for q in [q for _, q in qs[:5]]:                  # warm-up
        r.search(queries[q["question"]], top_k=5, mode="hybrid")
    for mode in modes:
        lat, hit, hit_src = [], 0, 0
        for _, q in qs:
            query = queries[q["question"]]
            t = time.perf_counter()
            ps = r.search(query, top_k=5, mode=mode)
            lat.append((time.perf_counter() - t) * 1000)
            hit += any(p.chunk.doc == q["doc"] for p in ps)
            rows_hit = [int(p.chunk.chunk_id.split("#")[0].split("/")[1]) if p.chunk.doc.startswith("copy/")
                        else None for p in ps]
            hit_src += any(p.chunk.doc == q["doc"] or (j is not None and source_doc[real + j] == q["doc"])
                           for p, j in zip(ps, rows_hit))
        k = max(1, len(qs))
        res[mode] = {"recall@5": hit / k, "recall@5_by_source": hit_src / k,
                     "search_ms_p50": statistics.median(lat), "search_ms_p95": percentile(lat, 95)}
    return res


def _faiss_alone(flat_ix, hnsw_ix, Q: np.ndarray, qs: list, out: dict) -> None:
    """FAISS search alone, flat against HNSW, and how much of flat's candidate list HNSW finds."""
    lat_f, lat_h, overlap = [], [], []
    for i, _ in qs:
        t = time.perf_counter()
        fi, _ = dense.search(flat_ix, Q[i], ANN_DEPTH)
        lat_f.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        hi, _ = dense.search(hnsw_ix, Q[i], ANN_DEPTH)
        lat_h.append((time.perf_counter() - t) * 1000)
        overlap.append(len(set(fi.tolist()) & set(hi.tolist())) / max(1, len(fi)))
    out["faiss_flat_ms_p50"] = statistics.median(lat_f)
    out["faiss_hnsw_ms_p50"] = statistics.median(lat_h)
    out["faiss_flat_ms_p95"] = percentile(lat_f, 95)
    out["faiss_hnsw_ms_p95"] = percentile(lat_h, 95)
    out[f"hnsw_recall_of_flat_top{ANN_DEPTH}"] = statistics.fmean(overlap) if overlap else float("nan")


def _proc_mb(pid: int, key: str = "VmRSS") -> float:
    """Resident (or peak, ``VmHWM``) memory of another process in MiB."""
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def _milvus(kind: str, stored: StoredIndex, flat_ix, enc: LookupEncoder, settings: Settings, qs: list,
            queries: dict, Q: np.ndarray, source_doc: list[str], real: int) -> dict:
    """The same index written to Milvus (``embedded``: a milvus-lite file in this process; ``server``: a
    ``milvus-lite server`` process on loopback): write time, memory, disk, and the retriever's latency
    and recall with dense search in Milvus (its FLAT index is exact: its top 30 should be flat's)."""
    from rag.index.milvus_store import MilvusStore

    out: dict = {}
    with tempfile.TemporaryDirectory(prefix=f"bench-milvus-{kind}-") as tmp:
        data = Path(tmp)
        proc = None
        if kind == "server":
            import socket

            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            exe = Path(sys.executable).with_name("milvus-lite")
            proc = subprocess.Popen([str(exe), "server", "--data-dir", str(data / "server"), "--host", "127.0.0.1",
                                     "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    time.sleep(0.2)
            uri = f"http://127.0.0.1:{port}"
            out["server_rss_idle_mb"] = round(_proc_mb(proc.pid), 1)
        else:
            uri = str(data / "milvus.db")
        try:
            store = MilvusStore(uri, kb="bench")
            rss0 = rss_mb()
            _, out["write_s"] = timed(store.save, stored)
            out["client_rss_delta_write_mb"] = round(rss_mb() - rss0, 1)
            store.close()
            store = MilvusStore(uri, kb="bench")
            rss1 = rss_mb()
            loaded, out["load_s"] = timed(store.load)
            out["client_rss_delta_load_mb"] = round(rss_mb() - rss1, 1)
            if proc is not None:
                out["server_rss_mb"] = round(_proc_mb(proc.pid), 1)
                out["server_peak_rss_mb"] = round(_proc_mb(proc.pid, "VmHWM"), 1)
            out["disk_mb"] = round(_du_mb(data), 1)
            out["search"] = _measure(loaded, enc, settings, qs, queries, source_doc, real, ("hybrid", "dense"))
            lat, overlap = [], []
            for i, _ in qs:
                t = time.perf_counter()
                mi, _ = loaded.dense.search(Q[i], ANN_DEPTH)
                lat.append((time.perf_counter() - t) * 1000)
                fi, _ = dense.search(flat_ix, Q[i], ANN_DEPTH)
                overlap.append(len(set(fi.tolist()) & set(mi.tolist())) / max(1, len(fi)))
            out["dense_alone_ms_p50"] = statistics.median(lat)
            out["dense_alone_ms_p95"] = percentile(lat, 95)
            out[f"recall_of_flat_top{ANN_DEPTH}"] = statistics.fmean(overlap) if overlap else float("nan")
            store.close()
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(30)
    return out


def run_size(work: Path, size: int, n_questions: int, seed: int, stores: Sequence[str] = ("faiss",)) -> dict:
    """Every figure of one corpus size (run in a child process: its own peak RSS)."""
    rng = np.random.default_rng(seed)
    rows = [json.loads(line) for line in (work / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
    Vreal = np.load(work / "vectors.npy")
    Q = np.load(work / "queries.npy")
    questions = json.loads((work / "questions.json").read_text(encoding="utf-8"))
    real = len(rows)
    if size <= real:
        V, toks, chunks, facts = _subset(rows, Vreal, size, seed)
    else:
        V, toks, chunks, facts = _with_copies(rows, Vreal, size, rng)
    source_doc = facts.pop("_source_doc", [c.doc for c in chunks])
    out: dict = {"size": size, **facts, "chunks": len(chunks)}
    in_corpus = set(c.doc for c in chunks)
    qs = [(i, q) for i, q in enumerate(questions) if q["doc"] in in_corpus]
    random.Random(seed + 1).shuffle(qs)
    qs = qs[:n_questions]
    out["questions"] = len(qs)
    del rows

    settings = Settings()
    bm25, flat_ix, hnsw_ix = _build(V, toks, settings, out)
    enc = LookupEncoder({questions[i]["question"]: Q[i] for i, _ in qs}, V.shape[1])
    manifest = Manifest(INDEX_FORMAT_VERSION, "precomputed", V.shape[1], {})
    # Analysed once, as QASystem does before retrieving (script folding of the keyword side included).
    analyser = QueryAnalyser(settings, bm25.vocab)
    queries = {q["question"]: analyser.analyse(q["question"]) for _, q in qs}
    for name, ix, modes in (("flat", flat_ix, ("hybrid", "dense", "bm25")), ("hnsw", hnsw_ix, ("hybrid", "dense"))):
        stored = StoredIndex(manifest, chunks, toks, PrebuiltStore(V, ix), bm25)
        out[name] = _measure(stored, enc, settings, qs, queries, source_doc, real, modes)
    _faiss_alone(flat_ix, hnsw_ix, Q, qs, out)
    out["peak_rss_mb"] = round(peak_mb(), 1)       # FAISS alone: before any Milvus client is loaded
    for kind in ("embedded", "server"):
        if f"milvus-{kind}" in stores:
            per_doc = Counter(c.doc for c in chunks)     # the store checks its rows against these counts
            entries = {d: DocEntry("", n) for d, n in per_doc.items()}
            stored = StoredIndex(Manifest(INDEX_FORMAT_VERSION, "precomputed", V.shape[1], {}, entries), chunks,
                                 toks, PrebuiltStore(V, flat_ix), bm25)
            out[f"milvus_{kind}"] = _milvus(kind, stored, flat_ix, enc, settings, qs, queries, Q, source_doc, real)
            print(f"bench_scale: {size}: milvus {kind} written in {out[f'milvus_{kind}']['write_s']:.1f}s",
                  file=sys.stderr)
    return out


# --------------------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000,30000,50000,100000", help="corpus sizes in chunks")
    ap.add_argument("--questions", type=int, default=300, help="questions per size")
    ap.add_argument("--pool-questions", type=int, default=2000,
                    help="questions sampled from the three sets and embedded (each size uses those it can)")
    ap.add_argument("--embed-samples", type=int, default=100, help="questions embedded one by one for the timing")
    ap.add_argument("--data", default=None, help="benchmark data directory (default <repo>/../shared/bench)")
    ap.add_argument("--cache", default=None, help="root of rag eval's cached indexes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stores", default="faiss",
                    help="besides FAISS flat and HNSW: milvus-embedded (a milvus-lite file), milvus-server "
                         "(a milvus-lite server process on loopback); comma-separated")
    ap.add_argument("--json", default=None, help="write the results here (after every size)")
    ap.add_argument("--resume", action="store_true",
                    help="keep the sizes already in --json (same questions, seed and stores) and run the rest")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_size(Path(args.child), args.size, args.questions, args.seed,
                                  [x.strip() for x in args.stores.split(",")])))
        return
    args.data = args.data or Settings.from_env().paths.bench_data
    for name in SETS:
        if not resolve(name, args.data).is_file():
            sys.exit(f"bench_scale: {KNOWN_SETS[name]} not found under the data directory; pass --data")
    t0 = time.perf_counter()
    done = _previous(args) if args.resume else {}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        work = Path(tmp)
        result = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine_info(),
                  "token_replace": TOKEN_REPLACE, "questions": args.questions, "seed": args.seed,
                  "stores": args.stores, "pool": prepare(work, args), "sizes": []}
        print(f"bench_scale: pool of {result['pool']['real_chunks']} real chunks; query embedding "
              f"p50 {result['pool']['query_embedding_ms_p50']:.1f} ms", file=sys.stderr)
        for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
            if size in done:
                # A size takes up to an hour at 1M chunks: a killed run keeps what it finished.
                result["sizes"].append(done[size])
                print(f"bench_scale: {size} chunks kept from {args.json}", file=sys.stderr)
                continue
            t = time.perf_counter()
            cp = subprocess.run([sys.executable, __file__, "--child", str(work), "--size", str(size),
                                 "--questions", str(args.questions), "--seed", str(args.seed),
                                 "--stores", args.stores],
                                capture_output=True, text=True)
            if cp.returncode != 0:
                sys.exit(f"bench_scale: size {size} failed:\n{cp.stderr[-3000:]}")
            row = json.loads(cp.stdout.strip().splitlines()[-1])
            row["wall_s"] = round(time.perf_counter() - t, 1)
            row["date"] = time.strftime("%Y-%m-%dT%H:%M:%S")
            result["sizes"].append(row)
            print(f"bench_scale: {row['chunks']} chunks: hybrid R@5 flat {row['flat']['hybrid']['recall@5']:.3f} "
                  f"hnsw {row['hnsw']['hybrid']['recall@5']:.3f}; search p50 flat "
                  f"{row['flat']['hybrid']['search_ms_p50']:.1f} ms hnsw {row['hnsw']['hybrid']['search_ms_p50']:.1f} ms;"
                  f" HNSW build {row['hnsw_build_s']:.1f}s; peak RSS {row['peak_rss_mb']:.0f} MiB "
                  f"({row['wall_s']:.0f}s)", file=sys.stderr)
            result["seconds"] = round(time.perf_counter() - t0, 1)
            _write(result, args.json)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    if args.json:
        _write(result, args.json)
    else:
        print(json.dumps(result, ensure_ascii=False, indent=1))


def _previous(args: argparse.Namespace) -> dict[int, dict]:
    """The rows of an earlier run in ``--json`` that measured the same thing, by size."""
    if not args.json or not Path(args.json).is_file():
        return {}
    old = json.loads(Path(args.json).read_text(encoding="utf-8"))
    wanted = {"questions": args.questions, "seed": args.seed, "stores": args.stores}
    # Files written before --resume existed lack these keys; their rows came from the same defaults.
    if any(old.get(k, v) != v for k, v in wanted.items()):
        sys.exit(f"bench_scale: {args.json} was measured with other settings "
                 f"({', '.join(f'{k}={old.get(k)}' for k in wanted)}); drop --resume or choose another --json")
    return {row["size"]: {"date": old["date"], **row} for row in old.get("sizes", [])}


def _write(result: dict, path: str | None) -> None:
    if not path:
        return
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(out)


if __name__ == "__main__":
    main()
