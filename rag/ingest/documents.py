"""Reading a corpus directory: every ``.txt``/``.md`` file, decoded, never crashing.

Decoding tries, in order: UTF-16 with a BOM, UTF-8 with a BOM, UTF-8, GB18030
(a superset of GBK and GB2312). A file that is none of these, or that looks
binary, is skipped with a warning naming it. The decoded text is kept exactly
(BOM removed, newlines untouched) because every offset the system reports
points into it.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "a.txt").write_bytes("你好。".encode("gbk"))
>>> [(x.doc, x.text, x.encoding) for x in load_corpus(d)]
[('a.txt', '你好。', 'gb18030')]
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Iterator
from pathlib import Path

from rag.types import Document

from rag.errors import CorpusError

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md")

#: A decoded text with more than this share of control characters is binary.
_MAX_CONTROL_SHARE = 0.01


def decode_bytes(data: bytes) -> tuple[str, str] | None:
    """Decode a file's bytes, or say that it is not text.

    Args:
        data: the raw file content.

    Returns:
        ``(text, encoding)``, or ``None`` when the bytes are binary or in no
        supported encoding.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    else:
        # A NUL byte never occurs in UTF-8 or GB18030 text, but in nearly every binary file.
        if b"\x00" in data:
            return None
        candidates = ["utf-8", "gb18030"]
    for enc in candidates:
        try:
            text = data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        if _looks_binary(text):
            return None
        return text, enc
    return None


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    control = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    return control / len(text) > _MAX_CONTROL_SHARE


def doc_id(path: Path, root: Path) -> str:
    """The document id: the path relative to the corpus root, with ``/``.

    Args:
        path: the file.
        root: the corpus directory.

    Returns:
        e.g. ``"policies/shanghai.txt"``.
    """
    return path.relative_to(root).as_posix()


def iter_corpus_files(root: Path) -> Iterator[Path]:
    """Every ``.txt``/``.md`` file under ``root``, recursively, in a stable order.

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


def load_document(path: Path, root: Path) -> Document | None:
    """Read and decode one file.

    Args:
        path: the file.
        root: the corpus directory (for the document id).

    Returns:
        The document, or ``None`` (with a warning) when it cannot be decoded.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        log.warning("skipping %s: cannot read it (%s)", doc_id(path, root), exc.strerror or exc)
        return None
    decoded = decode_bytes(data)
    if decoded is None:
        log.warning("skipping %s: not text in UTF-8, UTF-16 or GB18030 (binary?)", doc_id(path, root))
        return None
    text, encoding = decoded
    return Document(doc=doc_id(path, root), text=text, encoding=encoding.replace("-sig", ""))


def load_corpus(root: Path | str) -> list[Document]:
    """Load every readable document under ``root``.

    Args:
        root: the corpus directory.

    Returns:
        The documents, sorted by id. Empty documents are kept out.

    Raises:
        CorpusError: the directory is missing or holds no readable document.
    """
    root = Path(root)
    if not root.exists():
        raise CorpusError(f"corpus directory not found: {root}")
    if not root.is_dir():
        raise CorpusError(f"corpus path is not a directory: {root}")
    docs = []
    for path in iter_corpus_files(root):
        d = load_document(path, root)
        if d is None:
            continue
        if not d.text.strip():
            log.warning("skipping %s: empty", d.doc)
            continue
        docs.append(d)
    if not docs:
        raise CorpusError(f"no readable .txt or .md document in {root}")
    log.info("loaded %d document(s) from %s", len(docs), root)
    return docs
