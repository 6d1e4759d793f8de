"""The index in Milvus: one collection per generation, switched by an alias.

The same ``pymilvus`` code talks to an embedded file (milvus-lite, ``milvus:./index/milvus.db``),
a local server or a cluster (``milvus://host:19530``). For a knowledge base ``kb``:

    rag_<kb>                 alias → the live generation's chunk collection
    rag_<kb>__g<n>           one row per chunk: row number (primary key), chunk id, document,
                             start, end, heading, page, text, keyword tokens, dense vector
    rag_<kb>__g<n>__files    the rest of the generation, as parts of files: manifest.json,
                             documents.jsonl, layout.npz, bm25.npz (what the FAISS folder holds)

A build writes a whole new generation, flushes it, and only then moves the alias (or creates
it): a reader resolves the alias once per load and sees one complete generation, never a
half-written one, and never rows of two. The generation replaced is kept until the next build,
so a server still reading it finishes; older ones, and any left by a killed build, are dropped.

Dense search runs in Milvus (:class:`MilvusVectorStore`, inner product over the unit vectors, as
FAISS does). Keyword search uses the generation's own BM25 table, the one the FAISS store keeps:
the same tokens (jieba with our dictionary and script folding) and the same scores, so both
stores rank and answer alike (docs/deploy.md says why not Milvus's analyzer).

``pymilvus`` is imported lazily (the ``milvus`` extra); nothing here runs for the FAISS store.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import check_kb_name
from rag.errors import StoreError
from rag.index.bm25 import BM25
from rag.index.store import Manifest, StoredIndex, load_documents, save_documents
from rag.types import Chunk, Document

log = logging.getLogger(__name__)

#: Milvus caps a VARCHAR at 65,535 bytes: files are stored in parts of this many bytes.
PART_BYTES = 60_000
#: Rows per insert or query batch (Milvus caps one query at 16,384 rows).
BATCH = 1_000
#: The files of a generation besides its chunk rows, in the order they are written.
FILES = ("bm25.npz", "documents.jsonl", "layout.npz", "manifest.json")
#: Seconds to wait for a server before saying it cannot be reached.
CONNECT_TIMEOUT = 10.0
#: pymilvus pings every 10 s even while idle; a gRPC server with default settings (milvus-lite's)
#: counts pings without data as strikes and answers GOAWAY "too_many_pings". Seen once in a 28-minute
#: test run against a milvus-lite server (a `rag ask` then failed), not reproduced alone in a
#: minute of idle calls; pinging only during calls, once a minute, removes the strikes altogether.
GRPC_OPTIONS = {"grpc.keepalive_time_ms": 60_000, "grpc.keepalive_permit_without_calls": False}
_KB_ALIAS = re.compile(r"^[a-z0-9_]{1,48}$")   # an alias rag_<kb> (a generation is rag_<kb>__g<n>)



def _pymilvus() -> Any:
    try:
        import pymilvus  # lazy: the optional ``milvus`` extra
    except ImportError:
        raise StoreError("the Milvus store needs the milvus extra: pip install -e '.[milvus]'") from None
    # pymilvus logs every failed call with a traceback on its own handler; the error reaches the
    # user once, as a one-line StoreError (_call)
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    # An embedded milvus-lite serves gRPC inside this process: a call it does not implement
    # (AllocTimestamp, which pymilvus asks for and then does without) was logged with a traceback
    # on every `rag index --store milvus:<file>`
    logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    return pymilvus


class MilvusVectorStore:
    """The :class:`~rag.index.protocol.VectorStore` of one Milvus generation (read-only).

    Rows are the collection's primary keys. A generation never changes once its alias is moved, so
    ``add`` and ``delete`` refuse: an update writes a new generation (``MilvusStore.save``).
    """

    def __init__(self, client: Any, collection: str, dim: int, row_docs: Sequence[str]) -> None:
        self._client = client
        self.collection = collection
        self._dim = dim
        self._docs = list(row_docs)

    @property
    def dim(self) -> int:
        return self._dim

    def __len__(self) -> int:
        return len(self._docs)

    @property
    def kind(self) -> str:
        """The Milvus index over the vectors."""
        return "milvus-flat"

    def add(self, doc: str, vectors: np.ndarray) -> None:
        raise StoreError(f"Milvus generation {self.collection} is read-only; a build writes a new one")

    def delete(self, doc: str) -> int:
        raise StoreError(f"Milvus generation {self.collection} is read-only; a build writes a new one")

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """At most ``k`` ``(rows, inner products)``, best first, searched in Milvus."""
        k = min(k, len(self))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        hits = _call(self._client.search, self.collection, data=[np.asarray(vector, np.float32).tolist()],
                     anns_field="dense", limit=k, search_params={"metric_type": "IP"}, output_fields=[])
        found = hits[0] if hits else []
        rows = np.array([int(h["row"]) for h in found], dtype=np.int64)
        scores = np.array([float(h["distance"]) for h in found], dtype=np.float32)
        return rows, scores

    def vectors(self, rows: Sequence[int] | None = None) -> np.ndarray:
        """The stored rows (all when None), in the order asked."""
        wanted = list(range(len(self))) if rows is None else [int(r) for r in rows]
        out = np.zeros((len(wanted), self._dim), dtype=np.float32)
        where = {r: n for n, r in enumerate(wanted)}
        for a in range(0, len(wanted), BATCH):
            part = wanted[a:a + BATCH]
            for rec in _call(self._client.query, self.collection, filter=f"row in {part}",
                             output_fields=["row", "dense"]):
                out[where[int(rec["row"])]] = rec["dense"]
        return out

    def save(self, folder: Path) -> None:
        raise StoreError(f"Milvus generation {self.collection} lives in Milvus; it is not saved to {folder}")


class MilvusStore:
    """Reads and atomically writes index generations of one knowledge base in Milvus.

    The same methods as :class:`~rag.index.store.IndexStore`, so the pipeline and the build
    use either.

    Args:
        uri: a milvus-lite file (``./index/milvus.db``) or a server (``http://host:19530``).
        kb: the knowledge base (lowercase letters, digits and ``_``; :func:`rag.config.check_kb_name`).
        token: the server's token (``user:password`` or an API key), if it asks for one.
        shown: how the store is named in messages (the ``--store`` value).
    """

    def __init__(self, uri: str, kb: str = "default", token: str = "", shown: str | None = None) -> None:
        kb = check_kb_name(kb)
        self.uri = uri
        self.kb = kb
        self.token = token
        self.shown = shown or uri
        self.alias = f"rag_{kb}"
        self._client: Any = None
        self._loaded: set[str] = set()

    #: Other processes, perhaps on other machines, read and write the same index: questions serve
    #: it as it is and never rebuild it (``QASystem.ensure_index``).
    shared = True

    @property
    def location(self) -> str:
        """Where the index lives, for messages."""
        return f"{self.shown} (knowledge base {self.kb})"

    @property
    def lock_path(self) -> Path | None:
        """Beside an embedded file, per knowledge base; None for a server (see docs/deploy.md)."""
        if "://" in self.uri:
            return None
        path = Path(self.uri)
        return path.with_name(f"{path.name}.{self.kb}.lock")

    # -- connection -------------------------------------------------------------------------------

    def client(self) -> Any:
        """The connected ``MilvusClient`` (connected on first use).

        Raises:
            StoreError: the server cannot be reached or the file cannot be opened.
        """
        if self._client is None:
            pm = _pymilvus()
            if not self.uri.startswith(("http://", "https://", "tcp://", "unix:")):
                Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
            try:
                self._client = pm.MilvusClient(uri=self.uri, token=self.token, timeout=CONNECT_TIMEOUT,
                                               grpc_options=GRPC_OPTIONS)
            except Exception as exc:  # pymilvus raises several types (MilvusException, grpc errors)
                raise StoreError(f"cannot reach Milvus at {self.shown}: {_first_line(exc)}") from None
        return self._client

    def close(self) -> None:
        """Close the connection (a later call reconnects)."""
        if self._client is not None:
            try:
                self._client.close()
            finally:
                self._client = None

    # -- reading ----------------------------------------------------------------------------------

    def knowledge_bases(self) -> list[str]:
        """Every knowledge base with a live generation in this Milvus (its ``rag_<kb>`` aliases)."""
        names = (a[len("rag_"):] for a in _call(self.client().list_aliases).get("aliases", [])
                 if a.startswith("rag_"))
        return sorted(n for n in names if _KB_ALIAS.match(n))

    def live_collection(self) -> str | None:
        """The chunk collection the alias points to, or None when there is no index yet."""
        client = self.client()
        if self.alias not in _call(client.list_aliases).get("aliases", []):
            return None
        live = str(_call(client.describe_alias, self.alias)["collection_name"])
        if live not in self._loaded:
            # a collection written by another process is released until loaded into memory here
            for name in (live, f"{live}__files"):
                _call(client.load_collection, name)
            self._loaded.add(live)
        return live

    def current_path(self) -> str | None:
        """The live generation's name (the FAISS store gives its folder), or None."""
        return self.live_collection()

    def read_manifest(self) -> Manifest | None:
        """The live manifest alone, or None when there is no readable index."""
        live = self.live_collection()
        if live is None:
            return None
        try:
            return Manifest.from_json(json.loads(self._read_file(live, "manifest.json")))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("Milvus manifest of %s unreadable (%s); it will be rebuilt", live, exc)
            return None

    def read_documents(self) -> dict[str, Document]:
        """The live generation's documents (texts, pages, layouts), or {} when unreadable."""
        live = self.live_collection()
        if live is None:
            return {}
        with tempfile.TemporaryDirectory(prefix="rag-milvus-") as tmp:
            folder = Path(tmp)
            for name in ("documents.jsonl", "layout.npz"):
                (folder / name).write_bytes(self._read_file(live, name))
            return load_documents(folder)

    def load(self) -> StoredIndex | None:
        """Load the live generation: rows, BM25 table and documents here, vectors searched in Milvus.

        Returns:
            The index, or None when there is none or it is unreadable.
        """
        live = self.live_collection()
        return None if live is None else self._load_collection(live)

    def _load_collection(self, live: str) -> StoredIndex | None:
        """A written generation (or shard) as an index, or None when it is unreadable or incomplete."""
        try:
            manifest = Manifest.from_json(json.loads(self._read_file(live, "manifest.json")))
            with tempfile.TemporaryDirectory(prefix="rag-milvus-") as tmp:
                folder = Path(tmp)
                for name in ("bm25.npz", "documents.jsonl", "layout.npz"):
                    (folder / name).write_bytes(self._read_file(live, name))
                bm25 = BM25.load(folder / "bm25.npz")
                documents = load_documents(folder)
            chunks, tokens = self._read_rows(live)
        except (ValueError, KeyError, TypeError, OSError) as exc:
            log.warning("Milvus generation %s unreadable (%s); it will be rebuilt", live, exc)
            return None
        if len(chunks) != bm25.size or len(chunks) != sum(e.chunks for e in manifest.documents.values()):
            log.warning("Milvus generation %s is incomplete (%d rows); it will be rebuilt", live, len(chunks))
            return None
        dense = MilvusVectorStore(self.client(), live, manifest.dim, [c.doc for c in chunks])
        return StoredIndex(manifest, chunks, tokens, dense, bm25, None, documents)

    def _read_rows(self, collection: str) -> tuple[list[Chunk], list[list[str]]]:
        """Every chunk row of a generation, in row order."""
        fields = ["row", "chunk_id", "doc", "start", "end", "heading", "page", "text", "tokens"]
        recs = self._by_keys(collection, "row", fields, lambda i: i)
        if [int(r["row"]) for r in recs] != list(range(len(recs))):
            raise ValueError(f"rows of {collection} are not 0..{len(recs) - 1}")
        chunks = [Chunk(chunk_id=r["chunk_id"], doc=r["doc"], start=int(r["start"]), end=int(r["end"]),
                        text=r["text"], heading=r["heading"] or None,
                        page=int(r["page"]) if int(r["page"]) >= 0 else None) for r in recs]
        return chunks, [json.loads(r["tokens"]) for r in recs]

    def _by_keys(self, collection: str, key: str, fields: list[str], key_of: Callable[[int], int | str],
                 expr: str = "") -> list[dict[str, Any]]:
        """The records ``key_of(0)``, ``key_of(1)``, … (primary keys), sorted by the integer ``key``.

        Primary-key lookups rather than range filters (``row >= a and row < b``) or ``query_iterator``:
        milvus-lite scans the whole collection for every range filter, which made reading a
        generation quadratic (1,000 rows a query: 65 s for 200k rows, over an hour for 1M), while a
        lookup by key is linear (5.6 s for 200k); Milvus caps one query at 16,384 rows, and milvus-lite
        has no timestamp service for the iterator.

        Raises:
            ValueError: the records matching ``expr`` (all when empty) are more than the keys found
                before the first gap: a part is missing.
        """
        out: list[dict[str, Any]] = []
        a = 0
        while True:
            batch = _call(self.client().query, collection, ids=[key_of(i) for i in range(a, a + BATCH)],
                          output_fields=fields)
            out.extend(batch)
            if len(batch) < BATCH:
                break
            a += BATCH
        # One counting scan: a gap would otherwise end the read early and hide what lies beyond it.
        (total,) = _call(self.client().query, collection, filter=expr, output_fields=["count(*)"])
        if int(total["count(*)"]) != len(out):
            raise ValueError(f"{collection} has {total['count(*)']} records{' where ' + expr if expr else ''}, "
                             f"but keys 0..{len(out) - 1} only")
        out.sort(key=lambda r: int(r[key]))
        return out

    def _read_file(self, live: str, name: str) -> bytes:
        """One file of a generation, joined from its parts."""
        recs = self._by_keys(f"{live}__files", "part", ["part", "data"], lambda i: f"{name}#{i}", f'name == "{name}"')
        if not recs:
            raise ValueError(f"{name} missing from {live}")
        if [int(r["part"]) for r in recs] != list(range(len(recs))):
            raise ValueError(f"{name} of {live} has missing parts")
        return base64.b64decode("".join(r["data"] for r in recs))

    # -- writing ----------------------------------------------------------------------------------

    def save(self, index: StoredIndex) -> str:
        """Write a new generation, then move the alias to it.

        Args:
            index: the index to write (its vectors are read from ``index.dense``).

        Returns:
            The new generation's collection name.
        """
        client = self.client()
        gen = f"{self.alias}__g{time.time_ns()}"
        live = self.live_collection()
        self._drop_stale(keep={live} if live else set())
        # A write that fails or is killed here never becomes live; the next build drops what it left.
        self._write_collection(gen, index)
        if live is None:
            _call(client.create_alias, gen, self.alias)
        else:
            _call(client.alter_alias, gen, self.alias)
        index.path = None
        log.info("index written to Milvus %s as %s (%d chunks)", self.shown, gen, len(index.chunks))
        return gen

    def _write_collection(self, gen: str, index: StoredIndex) -> None:
        """Create ``gen`` (and ``gen__files``), write the index into them and flush."""
        self._create(gen, index.manifest.dim)
        self._write_rows(gen, index)
        self._write_files(gen, index)
        for name in (gen, f"{gen}__files"):
            _call(self.client().flush, name)

    def _create(self, gen: str, dim: int) -> None:
        pm = _pymilvus()
        dt, client = pm.DataType, self.client()
        schema = client.create_schema(auto_id=False)
        schema.add_field("row", dt.INT64, is_primary=True)
        schema.add_field("chunk_id", dt.VARCHAR, max_length=1024)
        schema.add_field("doc", dt.VARCHAR, max_length=4096)
        schema.add_field("start", dt.INT64)
        schema.add_field("end", dt.INT64)
        schema.add_field("heading", dt.VARCHAR, max_length=4096)
        schema.add_field("page", dt.INT64)
        schema.add_field("text", dt.VARCHAR, max_length=65_535)
        schema.add_field("tokens", dt.VARCHAR, max_length=65_535)
        schema.add_field("dense", dt.FLOAT_VECTOR, dim=dim)
        params = client.prepare_index_params()
        params.add_index("dense", index_type="FLAT", metric_type="IP")
        _call(client.create_collection, gen, schema=schema, index_params=params)
        files = client.create_schema(auto_id=False)
        files.add_field("key", dt.VARCHAR, is_primary=True, max_length=512)
        files.add_field("name", dt.VARCHAR, max_length=256)
        files.add_field("part", dt.INT64)
        files.add_field("data", dt.VARCHAR, max_length=65_535)
        files.add_field("v", dt.FLOAT_VECTOR, dim=2)   # Milvus wants a vector field in every collection
        fparams = client.prepare_index_params()
        fparams.add_index("v", index_type="FLAT", metric_type="L2")
        _call(client.create_collection, f"{gen}__files", schema=files, index_params=fparams)

    def _write_rows(self, gen: str, index: StoredIndex) -> None:
        client = self.client()
        for a in range(0, len(index.chunks), BATCH):
            rows = list(range(a, min(a + BATCH, len(index.chunks))))
            vectors = index.dense.vectors(rows)
            batch = []
            for n, r in enumerate(rows):
                c = index.chunks[r]
                batch.append({"row": r, "chunk_id": c.chunk_id, "doc": c.doc, "start": c.start, "end": c.end,
                              "heading": c.heading or "", "page": -1 if c.page is None else c.page,
                              "text": c.text, "tokens": json.dumps(index.tokens[r], ensure_ascii=False),
                              "dense": vectors[n].tolist()})
            _call(client.insert, gen, batch)

    def _write_files(self, gen: str, index: StoredIndex) -> None:
        with tempfile.TemporaryDirectory(prefix="rag-milvus-") as tmp:
            folder = Path(tmp)
            index.bm25.save(folder / "bm25.npz")
            save_documents(folder, index.documents.values())
            (folder / "manifest.json").write_text(json.dumps(index.manifest.to_json(), ensure_ascii=False),
                                                  encoding="utf-8")
            for name in FILES:
                self._write_file(gen, name, (folder / name).read_bytes())

    def _write_file(self, gen: str, name: str, data: bytes) -> None:
        """One file into ``gen__files``, as base64 parts (Milvus caps a VARCHAR at 64 kB)."""
        client = self.client()
        text = base64.b64encode(data).decode("ascii")
        parts = [text[i:i + PART_BYTES] for i in range(0, len(text), PART_BYTES)] or [""]
        rows = [{"key": f"{name}#{n}", "name": name, "part": n, "data": p, "v": [0.0, 0.0]}
                for n, p in enumerate(parts)]
        for a in range(0, len(rows), 100):
            _call(client.insert, f"{gen}__files", rows[a:a + 100])

    def generations(self) -> list[str]:
        """This knowledge base's generation collections, oldest first."""
        pattern = re.compile(rf"^{re.escape(self.alias)}__g(\d+)$")
        names = [n for n in _call(self.client().list_collections) if pattern.match(n)]
        return sorted(names, key=lambda n: int(pattern.match(n).group(1)))  # type: ignore[union-attr]

    def _drop_stale(self, keep: set[str]) -> None:
        """Drop the generations not in ``keep`` (the one being replaced stays for its readers)."""
        client = self.client()
        for name in self.generations():
            if name in keep:
                continue
            for coll in (name, f"{name}__files"):
                if _call(client.has_collection, coll):
                    _call(client.drop_collection, coll)
            log.info("dropped old Milvus generation %s", name)

    def _drop(self, gen: str) -> None:
        client = self.client()
        for coll in (gen, f"{gen}__files"):
            if _call(client.has_collection, coll):
                _call(client.drop_collection, coll)

    # -- sharded builds ---------------------------------------------------------------------------

    def shard(self, generation: str, shard: int, shards: int, corpus: Sequence[tuple[str, str]]) -> "ShardWriter":
        """Where one shard of a many-machine build writes (``rag index --generation G --shard I/N``).

        Args:
            generation: the build's label (what ``--publish`` names).
            shard: this shard, 1..``shards``.
            shards: how many shards the corpus is cut into.
            corpus: every ``(document id, SHA-256 of its bytes)`` of the corpus this shard saw.
        """
        return ShardWriter(self, check_generation(generation), shard, shards, corpus)

    def shard_collection(self, generation: str, shard: int, shards: int) -> str:
        """The collection one shard writes (``rag_<kb>__s<G>_<I>of<N>``; never a generation's name)."""
        return f"{self.alias}__s{generation}_{shard}of{shards}"

    def _shards(self, generation: str) -> dict[tuple[int, int], str]:
        pattern = re.compile(rf"^{re.escape(self.alias)}__s{re.escape(generation)}_(\d+)of(\d+)$")
        found = {}
        for name in _call(self.client().list_collections):
            m = pattern.match(name)
            if m:
                found[(int(m.group(1)), int(m.group(2)))] = name
        return found

    def _marker(self, collection: str) -> dict[str, Any] | None:
        """A shard's ``shard.json``, written last: None while the shard is unfinished."""
        _call(self.client().load_collection, f"{collection}__files")
        try:
            return json.loads(self._read_file(collection, "shard.json"))
        except ValueError:
            return None

    def publish(self, generation: str, params: dict[str, Any], hnsw_min_chunks: int) -> PublishReport:
        """Join the finished shards of ``generation`` into one generation and move the alias to it.

        Every shard 1..N must have finished (its ``shard.json`` written), all must have seen the same
        corpus and been built with ``params``, their documents must not overlap, and with the unreadable
        files they must add up to the corpus. The joined index has the rows of a one-process build: the
        documents in id order, each with its chunks, and one BM25 table over all of them.

        Args:
            generation: the label the shards were built under.
            params: ``Settings.index_params()``: the settings the shards must have used.
            hnsw_min_chunks: from how many chunks the vector index is approximate (as in a build).

        Returns:
            What was published.

        Raises:
            StoreError: a shard missing or unfinished, or counts that do not add up (one line, saying which).
        """
        from rag.index.faiss_store import FaissStore

        generation = check_generation(generation)
        found = self._shards(generation)
        if not found:
            raise StoreError(f"no shard of generation {generation!r} in {self.location}: "
                             f"run rag index --generation {generation} --shard I/N first")
        counts = sorted({n for _, n in found})
        if len(counts) != 1:
            raise StoreError(f"generation {generation!r} has shards cut {', '.join(map(str, counts))} ways; "
                             f"build every shard with the same N")
        n = counts[0]
        markers = []
        for i in range(1, n + 1):
            coll = found.get((i, n))
            marker = self._marker(coll) if coll else None
            if marker is None:
                raise StoreError(f"generation {generation!r}: shard {i}/{n} has not finished "
                                 f"(run rag index --generation {generation} --shard {i}/{n})")
            markers.append((marker, coll))
        if len({m["corpus"] for m, _ in markers}) != 1:
            raise StoreError(f"the shards of generation {generation!r} read different corpora; "
                             f"build them again from the same files")
        corpus_docs = markers[0][0]["corpus_documents"]
        parts: list[StoredIndex] = []
        seen: set[str] = set()
        skipped: dict[str, list[str]] = {}
        for marker, coll in markers:
            skipped.update(marker.get("skipped", {}))
            if not marker["documents"]:
                continue
            for name in (coll, f"{coll}__files"):
                _call(self.client().load_collection, name)
            part = self._load_collection(coll)
            if part is None or len(part.manifest.documents) != marker["documents"] \
                    or len(part.chunks) != marker["chunks"]:
                raise StoreError(f"generation {generation!r}: shard {marker['shard']}/{n} is incomplete "
                                 f"(build it again)")
            why = part.manifest.mismatch(params)
            if why:
                raise StoreError(f"generation {generation!r}: shard {marker['shard']}/{n} was built with other "
                                 f"settings ({why})")
            overlap = seen & set(part.manifest.documents)
            if overlap:
                raise StoreError(f"generation {generation!r}: {sorted(overlap)[0]} is in two shards")
            seen |= set(part.manifest.documents)
            parts.append(part)
        if len(seen) + len(skipped) != corpus_docs:
            raise StoreError(f"generation {generation!r}: the shards hold {len(seen)} documents and "
                             f"{len(skipped)} unreadable files, the corpus has {corpus_docs}")
        if not parts:
            raise StoreError(f"generation {generation!r} holds no readable document")
        owner = {doc: part for part in parts for doc in part.manifest.documents}
        dim = parts[0].manifest.dim
        vectors = FaissStore(dim, hnsw_min_chunks)
        chunks: list[Chunk] = []
        tokens: list[list[str]] = []
        entries, documents = {}, {}
        for doc in sorted(owner):               # the order of a one-process build (the corpus, by id)
            part = owner[doc]
            rows = part.chunks_of(doc)
            chunks.extend(part.chunks[r] for r in rows)
            tokens.extend(part.tokens[r] for r in rows)
            vectors.add(doc, part.dense.vectors(rows))
            entries[doc] = part.manifest.documents[doc]
            documents[doc] = part.documents[doc]
        first = parts[0].manifest
        manifest = dataclasses.replace(first, documents=entries, built_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
                                       dense_index=vectors.kind, skipped=skipped)
        bm25 = BM25.build(tokens, float(params["bm25_k1"]), float(params["bm25_b"]))
        gen = self.save(StoredIndex(manifest, chunks, tokens, vectors, bm25, documents=documents))
        for _, coll in markers:
            self._drop(coll)
        for (i, m), coll in found.items():
            if m != n:
                self._drop(coll)
        log.info("published generation %s of %s: %d shards, %d documents, %d chunks", generation, self.shown, n,
                 len(entries), len(chunks))
        return PublishReport(generation, gen, n, len(entries), len(chunks))


@dataclasses.dataclass(frozen=True)
class PublishReport:
    """What ``rag index --publish G`` made live."""

    generation: str         # the label the shards were built under
    collection: str         # the live generation's collection
    shards: int
    documents: int
    chunks: int


class ShardWriter:
    """The store one shard of a many-machine build writes to (:meth:`MilvusStore.shard`).

    It reads like the live index (so documents it already holds are not embedded again) and writes
    the shard's own collections, never the alias; ``shard.json`` is written last, after the rest is
    flushed, and marks the shard finished for :meth:`MilvusStore.publish`.
    """

    shared = True

    def __init__(self, store: MilvusStore, generation: str, shard: int, shards: int,
                 corpus: Sequence[tuple[str, str]]) -> None:
        if not 1 <= shard <= shards:
            raise StoreError(f"shard {shard}/{shards}: expected 1 <= I <= N")
        self.store = store
        self.generation = generation
        self.shard = shard
        self.shards = shards
        listing = "\n".join(f"{doc}\t{sha}" for doc, sha in sorted(corpus))
        self.corpus = hashlib.sha256(listing.encode("utf-8")).hexdigest()
        self.corpus_documents = len(corpus)
        self.collection = store.shard_collection(generation, shard, shards)

    @property
    def location(self) -> str:
        return f"{self.store.location}, generation {self.generation} shard {self.shard}/{self.shards}"

    def read_manifest(self) -> Manifest | None:
        return self.store.read_manifest()

    def load(self) -> StoredIndex | None:
        """The live index: its vectors of unchanged documents are reused."""
        return self.store.load()

    def current_path(self) -> str | None:
        return self.store.current_path()

    def save(self, index: StoredIndex, skipped: dict[str, list[str]] | None = None) -> str:
        """Write the shard (an earlier attempt of the same shard is replaced), then its marker."""
        self.store._drop(self.collection)
        self.store._write_collection(self.collection, index)
        self.write_marker(len(index.manifest.documents), len(index.chunks),
                          index.manifest.skipped if skipped is None else skipped)
        return self.collection

    def write_marker(self, documents: int, chunks: int, skipped: dict[str, list[str]]) -> None:
        """``shard.json``: the shard is finished (a shard without documents writes only this)."""
        client = self.store.client()
        if not _call(client.has_collection, f"{self.collection}__files"):
            self.store._create(self.collection, 2)
        marker = {"generation": self.generation, "shard": self.shard, "of": self.shards, "corpus": self.corpus,
                  "corpus_documents": self.corpus_documents, "documents": documents, "chunks": chunks,
                  "skipped": skipped}
        self.store._write_file(self.collection, "shard.json", json.dumps(marker, ensure_ascii=False).encode("utf-8"))
        _call(client.flush, f"{self.collection}__files")


def check_generation(label: str) -> str:
    """A build label for ``--generation``: it becomes part of collection names.

    >>> check_generation("2026_12_01")
    '2026_12_01'
    >>> check_generation("v1.2")
    Traceback (most recent call last):
    ...
    rag.errors.StoreError: generation 'v1.2': use 1-32 lowercase letters, digits or _
    """
    value = str(label).strip().lower()
    if not re.fullmatch(r"[a-z0-9_]{1,32}", value):
        raise StoreError(f"generation {label!r}: use 1-32 lowercase letters, digits or _")
    return value


def shard_of(doc: str, shards: int) -> int:
    """The shard (1..``shards``) a document belongs to: a stable hash of its id, the same on every machine.

    >>> shard_of("报告/a.pdf", 3) == shard_of("报告/a.pdf", 3), 1 <= shard_of("x.txt", 4) <= 4
    (True, True)
    """
    return int(hashlib.sha256(doc.encode("utf-8")).hexdigest()[:16], 16) % shards + 1


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", "") or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call pymilvus, turning its errors into a one-line :class:`StoreError`."""
    try:
        return fn(*args, **kwargs)
    except StoreError:
        raise
    except Exception as exc:
        pm = _pymilvus()
        if isinstance(exc, pm.exceptions.MilvusException) or type(exc).__module__.startswith(("grpc", "pymilvus")):
            raise StoreError(f"Milvus: {_first_line(exc)}") from exc
        raise
