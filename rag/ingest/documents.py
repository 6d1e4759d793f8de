"""Reading a corpus directory: text, Markdown, PDF, Word, web pages and EPUB, never crashing.

A folder is first *scanned* (:func:`scan_corpus`: each file's id, path and SHA-256 of its bytes,
cheap) and then *read* (:func:`read_source`: the format decided by the bytes, then converted by
:mod:`rag.ingest.formats`). The scan alone tells whether the index is stale, so an unchanged PDF
is never converted twice. A file that cannot be read is skipped with a warning naming it.

Plain text is decoded trying, in order: UTF-16 with a BOM, UTF-8 with a BOM, UTF-8, GB18030 (a
superset of GBK and GB2312). The decoded text is kept exactly (BOM removed, newlines untouched)
because every offset the system reports points into it.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "a.txt").write_bytes("你好。".encode("gbk"))
>>> [(x.doc, x.text, x.encoding) for x in load_corpus(d)]
[('a.txt', '你好。', 'gb18030')]
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.config import IngestSettings
from rag.errors import CorpusError, DocumentError
from rag.ingest.formats.detect import SUFFIXES
from rag.types import Document

log = logging.getLogger(__name__)



def doc_id(path: Path, root: Path) -> str:
    """The document id: the path relative to the corpus root, with ``/``.

    Args:
        path: the file.
        root: the corpus directory.

    Returns:
        e.g. ``"policies/shanghai.txt"``.
    """
    return path.relative_to(root).as_posix()


@dataclass(frozen=True)
class SourceFile:
    """One file of a corpus folder, before it is read."""

    doc: str
    path: Path
    sha256: str     # of the file's bytes
    size: int


def iter_corpus_files(root: Path) -> Iterator[Path]:
    """Every file with a supported suffix under ``root``, recursively, in a stable order.

    Hidden files and folders (name starting with ``.``) are left out.

    Args:
        root: the corpus directory.

    Returns:
        An iterator of paths, sorted.
    """
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            yield path


def check_root(root: Path | str) -> Path:
    """The corpus directory, checked.

    Raises:
        CorpusError: it is missing or not a directory.
    """
    root = Path(root)
    if not root.exists():
        raise CorpusError(f"corpus directory not found: {root}")
    if not root.is_dir():
        raise CorpusError(f"corpus path is not a directory: {root}")
    return root


def scan_corpus(root: Path | str) -> list[SourceFile]:
    """Every supported file under ``root`` with the hash of its bytes (nothing is converted).

    Args:
        root: the corpus directory.

    Returns:
        The files, sorted by id; unreadable ones are skipped with a warning.

    Raises:
        CorpusError: the directory is missing.
    """
    root = check_root(root)
    out = []
    for path in iter_corpus_files(root):
        try:
            data = path.read_bytes()
        except OSError as exc:
            log.warning("skipping %s: cannot read it (%s)", doc_id(path, root), exc.strerror or exc)
            continue
        out.append(SourceFile(doc_id(path, root), path, hashlib.sha256(data).hexdigest(), len(data)))
    return out


def check_size(data: bytes, doc: str, settings: IngestSettings) -> None:
    """Refuse a file over ``settings.max_file_mb``.

    Raises:
        DocumentError: too large (kind ``too_large``), naming the file.
    """
    if len(data) > settings.max_file_mb * 1048576:
        raise DocumentError(f"{doc}: {len(data) / 1048576:.1f} MB is over the {settings.max_file_mb:g} MB "
                            "limit for one file (ingest.max_file_mb)", "too_large")


def convert_bytes(data: bytes, doc: str, settings: IngestSettings | None = None) -> Document:
    """Turn one file's bytes into a document: format decided by content, then converted.

    Args:
        data: the file's bytes.
        doc: its document id (the name checked against the content, and named in errors).
        settings: limits and OCR (default ``IngestSettings()``).

    Returns:
        The document, ``source_sha256`` set.

    Raises:
        DocumentError: unsupported, lying, too large, encrypted, corrupt or empty.
    """
    from rag.ingest.formats import converter
    from rag.ingest.formats.detect import sniff

    settings = settings or IngestSettings()
    check_size(data, doc, settings)
    fmt = sniff(data, doc)
    document = converter(fmt)(data, doc, settings)
    if not document.text.strip():
        raise DocumentError(f"{doc}: empty document (no text)", "empty")
    if document.source_sha256 is None:
        from dataclasses import replace

        document = replace(document, source_sha256=hashlib.sha256(data).hexdigest())
    for warning in document.warnings:
        log.warning("%s", warning)
    return document


def read_source(src: SourceFile, settings: IngestSettings | None = None) -> Document:
    """Read and convert one scanned file.

    Args:
        src: from :func:`scan_corpus`.
        settings: limits and OCR.

    Returns:
        The document.

    Raises:
        DocumentError: it cannot be read (the message names the file and says why).
    """
    try:
        data = src.path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{src.doc}: cannot read it ({exc.strerror or exc})", "not_found") from None
    return convert_bytes(data, src.doc, settings)


def load_document(path: Path, root: Path, settings: IngestSettings | None = None) -> Document | None:
    """Read and convert one file of a corpus folder.

    Args:
        path: the file.
        root: the corpus directory (for the document id).
        settings: limits and OCR.

    Returns:
        The document, or ``None`` (with a warning) when it cannot be read.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        log.warning("skipping %s: cannot read it (%s)", doc_id(path, root), exc.strerror or exc)
        return None
    try:
        return convert_bytes(data, doc_id(path, root), settings)
    except DocumentError as exc:
        log.warning("skipping %s", exc)
        return None


def load_corpus(root: Path | str, settings: IngestSettings | None = None) -> list[Document]:
    """Load every readable document under ``root``.

    Args:
        root: the corpus directory.
        settings: limits and OCR.

    Returns:
        The documents, sorted by id. Empty documents are kept out.

    Raises:
        CorpusError: the directory is missing or holds no readable document.
    """
    root = check_root(root)
    docs = [d for d in (load_document(src.path, root, settings) for src in scan_corpus(root)) if d is not None]
    if not docs:
        raise CorpusError(f"no readable document in {root} (supported: {', '.join(SUFFIXES)})")
    log.info("loaded %d document(s) from %s", len(docs), root)
    return docs
