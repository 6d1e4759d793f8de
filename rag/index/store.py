"""The index on disk: versioned folders switched atomically by a pointer file.

Layout under the index directory::

    CURRENT            name of the live version (replaced atomically)
    v-<time>-<pid>/    manifest.json, chunks.jsonl, documents.jsonl, layout.npz,
                       vectors.npy, dense.faiss, bm25.npz

``documents.jsonl`` holds each document's text (what every offset points into), its page map,
heading ranges and warnings; ``layout.npz`` the character boxes of PDF documents. A converted
file is therefore never converted again to show its text, and the index answers for exactly the
text it was built from.

A build writes a new version folder completely, fsyncs it, then replaces
``CURRENT`` with ``os.replace``. A crash at any point leaves ``CURRENT``
naming the previous, complete version; half-written folders are removed by
the next build.

>>> import tempfile
>>> store = IndexStore(tempfile.mkdtemp())
>>> store.load() is None
True
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.index.faiss_store import FaissStore
from rag.index.protocol import VectorStore
from rag.index.bm25 import BM25
from rag.config import INDEX_FORMAT_VERSION
from rag.errors import StoreError
from rag.text.wordtable import file_sha256
from rag.types import Chunk, Document, HeadingRange, PageLayout, PageRange

log = logging.getLogger(__name__)

POINTER = "CURRENT"


@dataclass(frozen=True)
class DocEntry:
    """What the manifest records of one document."""

    sha256: str
    chunks: int
    encoding: str = "utf-8"
    format: str = "text"
    pages: int = 0
    source_sha256: str | None = None    # of the file's bytes: unchanged files are not converted again
    added_at: str = ""                  # when this content was first indexed (ISO 8601, local time)


@dataclass(frozen=True)
class Manifest:
    """What an index was built from; a mismatch with the settings forces a rebuild."""

    format_version: int
    model: str
    dim: int
    params: dict[str, Any]
    documents: dict[str, DocEntry] = field(default_factory=dict)
    built_at: str = ""
    dense_index: str = "flat"
    #: files of the corpus that could not be read: id → [SHA-256 of their bytes, why, OCR mode]; while
    #: those stay the same they are not tried again (an encrypted PDF is not re-read at every start)
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain dict for ``manifest.json``."""
        d = asdict(self)
        d["documents"] = {k: asdict(v) for k, v in self.documents.items()}
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Manifest":
        """Parse ``manifest.json``.

        Args:
            d: the decoded JSON.

        Returns:
            The manifest.
        """
        docs = {k: DocEntry(**v) for k, v in d.get("documents", {}).items()}
        return cls(format_version=d["format_version"], model=d["model"], dim=d["dim"],
                   params=d["params"], documents=docs, built_at=d.get("built_at", ""),
                   dense_index=d.get("dense_index", "flat"), skipped=d.get("skipped", {}))

    def mismatch(self, params: dict[str, Any]) -> str | None:
        """Why this index cannot serve these settings, or None if it can.

        Args:
            params: ``Settings.index_params()`` of the caller.

        Returns:
            A short reason, or None.
        """
        if self.format_version != INDEX_FORMAT_VERSION:
            return f"index format {self.format_version} != {INDEX_FORMAT_VERSION}"
        for key, want in params.items():
            if self.params.get(key) != want:
                return f"{key} changed ({self.params.get(key)!r} -> {want!r})"
        return None


@dataclass
class StoredIndex:
    """A loaded index: chunks with their keyword tokens, the vector store and the BM25 table (rows aligned)."""

    manifest: Manifest
    chunks: list[Chunk]
    tokens: list[list[str]]
    dense: VectorStore
    bm25: BM25
    path: Path | None = None
    documents: dict[str, Document] = field(default_factory=dict)

    @property
    def vectors(self) -> np.ndarray:
        """Every chunk's vector, by row."""
        return self.dense.vectors()

    def chunks_of(self, doc: str) -> list[int]:
        """Row numbers of one document's chunks.

        Args:
            doc: the document id.

        Returns:
            Row numbers, in order.
        """
        return [i for i, c in enumerate(self.chunks) if c.doc == doc]


class IndexStore:
    """Reads and atomically writes :class:`StoredIndex` versions in one directory."""

    #: One process's own files: a question may bring the index up to date with the corpus first.
    shared = False

    def __init__(self, root: Path | str):
        self.root = Path(root)
        # version folders already reported unreadable: the pipeline finds a damaged index and then the
        # rebuild looks at it again for vectors to reuse, and one damage deserves one warning
        self._reported: set[Path] = set()

    @property
    def lock_path(self) -> Path:
        """``<index>/write.lock``: one writer at a time (:mod:`rag.index.lock`)."""
        return self.root / "write.lock"

    @property
    def location(self) -> str:
        """Where the index lives, for messages."""
        return str(self.root)

    def current_path(self) -> Path | None:
        """The live version folder, or None when there is no index."""
        try:
            name = (self.root / POINTER).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        path = self.root / name
        return path if name and (path / "manifest.json").is_file() else None

    def read_manifest(self) -> Manifest | None:
        """The live manifest alone (cheap), or None.

        Returns:
            The manifest, or None when there is no readable index.
        """
        path = self.current_path()
        if path is None:
            return None
        try:
            return Manifest.from_json(json.loads((path / "manifest.json").read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("index manifest unreadable (%s); it will be rebuilt", exc)
            return None

    def read_documents(self) -> dict[str, Document]:
        """The live version's documents alone (texts, pages, layouts), or {} when unreadable."""
        path = self.current_path()
        if path is None:
            return {}
        try:
            return load_documents(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("stored documents unreadable (%s); they will be read again", exc)
            return {}

    def load(self) -> StoredIndex | None:
        """Load the live version.

        Returns:
            The index, or None when there is none or it is unreadable.
        """
        path = self.current_path()
        manifest = self.read_manifest()
        if path is None or manifest is None:
            return None
        try:
            _verify(path)
            chunks, tokens = [], []
            with open(path / "chunks.jsonl", encoding="utf-8") as fh:
                for line in fh:
                    row = json.loads(line)
                    tokens.append(row.pop("tokens"))
                    chunks.append(Chunk(**row))
            store = FaissStore.load(path, [c.doc for c in chunks],
                                    int(manifest.params.get("hnsw_min_chunks", 50_000)))
            bm25 = BM25.load(path / "bm25.npz")
            documents = load_documents(path)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            (log.debug if path in self._reported else log.warning)(
                "index at %s unreadable (%s); it will be rebuilt", path, exc)
            self._reported.add(path)
            return None
        return StoredIndex(manifest, chunks, tokens, store, bm25, path, documents)

    def save(self, index: StoredIndex) -> Path:
        """Write a new version and make it live, atomically.

        Args:
            index: the index to write.

        Returns:
            The new version folder.

        Raises:
            StoreError: the folder cannot be written (a full disk, a read-only file system, no
                permission): one line naming the cause; the live version is untouched and the
                half-written one removed.
        """
        name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}-{os.getpid()}"
        tmp = self.root / f".tmp-{name}"
        try:
            return self._save(index, name, tmp)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)      # give the space back at once
            why = exc.strerror or str(exc) or type(exc).__name__
            raise StoreError(f"cannot write the index in {self.root}: {why}; the previous index is unchanged") \
                from None

    def _save(self, index: StoredIndex, name: str, tmp: Path) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        self._remove_stale()
        tmp.mkdir()
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for c, toks in zip(index.chunks, index.tokens):
                fh.write(json.dumps({**asdict(c), "tokens": toks}, ensure_ascii=False) + "\n")
        index.dense.save(tmp)
        index.bm25.save(tmp / "bm25.npz")
        save_documents(tmp, index.documents.values())
        _write_checksums(tmp)
        # The manifest goes last: a folder with a manifest is a complete one.
        (tmp / "manifest.json").write_text(json.dumps(index.manifest.to_json(), ensure_ascii=False, indent=1),
                                           encoding="utf-8")
        for f in tmp.iterdir():
            _fsync(f)
        final = self.root / name
        os.replace(tmp, final)
        pointer_tmp = self.root / f".{POINTER}.tmp"
        pointer_tmp.write_text(name + "\n", encoding="utf-8")
        _fsync(pointer_tmp)
        old = self.current_path()
        os.replace(pointer_tmp, self.root / POINTER)
        _fsync(self.root)
        if old is not None and old != final:
            shutil.rmtree(old, ignore_errors=True)
        index.path = final
        log.info("index written to %s (%d chunks)", final, len(index.chunks))
        return final

    def _remove_stale(self) -> None:
        """Delete folders left by crashed builds (never the live one)."""
        live = self.current_path()
        for p in self.root.iterdir():
            if p.is_dir() and (p.name.startswith(".tmp-v-") or p.name.startswith("v-")) and p != live:
                shutil.rmtree(p, ignore_errors=True)


#: The SHA-256 of every file of a version (but the manifest, written after it): a file that was
#: truncated or changed on disk is found at load, and the index rebuilt rather than misread.
CHECKSUMS = "checksums.json"


def _write_checksums(folder: Path) -> None:
    sums = {f.name: file_sha256(f) for f in sorted(folder.iterdir()) if f.is_file() and f.name != CHECKSUMS}
    (folder / CHECKSUMS).write_text(json.dumps(sums, indent=1), encoding="utf-8")


def _verify(folder: Path) -> None:
    """Check a version's files against its checksums (a version written before them has none).

    Raises:
        ValueError: a file is missing or differs, named.
    """
    try:
        sums = json.loads((folder / CHECKSUMS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    for name, want in sums.items():
        f = folder / name
        if not f.is_file():
            raise ValueError(f"{name} is missing")
        if file_sha256(f) != want:
            raise ValueError(f"{name} is corrupted (its checksum differs)")


def save_documents(folder: Path, documents: Iterable[Document]) -> None:
    """Write ``documents.jsonl`` (texts, page maps, headings) and ``layout.npz`` (PDF boxes).

    Args:
        folder: the version folder being written.
        documents: the indexed documents.
    """
    arrays: dict[str, np.ndarray] = {}
    with open(folder / "documents.jsonl", "w", encoding="utf-8") as fh:
        for n, d in enumerate(documents):
            row = {"doc": d.doc, "text": d.text, "encoding": d.encoding, "format": d.format,
                   "pages": [[p.start, p.end, p.page] for p in d.pages],
                   "headings": [[h.start, h.end, list(h.path)] for h in d.headings],
                   "source_sha256": d.source_sha256, "warnings": list(d.warnings), "layout": None}
            if d.layout is not None:
                row["layout"] = f"d{n}"
                arrays[f"d{n}"] = np.asarray(d.layout.boxes, dtype=np.float32)
                arrays[f"d{n}_sizes"] = np.asarray(d.layout.sizes, dtype=np.float32).reshape(-1, 2)
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(folder / "layout.npz", "wb") as fh:
        np.savez(fh, **arrays)


def load_documents(folder: Path) -> dict[str, Document]:
    """Read what :func:`save_documents` wrote.

    Args:
        folder: a version folder.

    Returns:
        Document id → document, in index order.
    """
    out: dict[str, Document] = {}
    with np.load(folder / "layout.npz") as arrays, open(folder / "documents.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            layout = None
            if row["layout"]:
                key = row["layout"]
                layout = PageLayout(tuple((float(w), float(h)) for w, h in arrays[f"{key}_sizes"]), arrays[key])
            out[row["doc"]] = Document(
                doc=row["doc"], text=row["text"], encoding=row["encoding"], format=row["format"],
                pages=tuple(PageRange(*p) for p in row["pages"]),
                headings=tuple(HeadingRange(a, b, tuple(path)) for a, b, path in row["headings"]),
                layout=layout, source_sha256=row["source_sha256"], warnings=tuple(row["warnings"]))
    return out


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
