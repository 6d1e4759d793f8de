"""Plain text (.txt, .md): the bytes decoded, kept exactly as they are.

Decoding tries, in order: UTF-16 with a BOM, UTF-8 with a BOM, UTF-8, GB18030 (a superset of GBK
and GB2312). The decoded text is kept exactly (BOM removed, newlines untouched) because every
offset the system reports points into it.

>>> from rag.config import IngestSettings
>>> d = convert("你好。".encode("gbk"), "a.txt", IngestSettings())
>>> (d.text, d.encoding, d.format)
('你好。', 'gb18030', 'text')
"""

from __future__ import annotations

import codecs
import hashlib

from rag.config import IngestSettings
from rag.errors import DocumentError
from rag.types import Document

#: A decoded text with more than this share of control characters is binary.
_MAX_CONTROL_SHARE = 0.01


def decode_bytes(data: bytes) -> tuple[str, str] | None:
    """Decode a file's bytes, or say that it is not text.

    Args:
        data: the raw file content.

    Returns:
        ``(text, encoding)``, or ``None`` when the bytes are binary or in no
        supported encoding.

    >>> decode_bytes("中文".encode("utf-8")), decode_bytes(b"a\\x00b")
    (('中文', 'utf-8'), None)
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


def convert(data: bytes, doc: str, settings: IngestSettings) -> Document:
    """A text file as a document: decoded, not changed.

    Args:
        data: the file's bytes.
        doc: the document id (named in errors).
        settings: the ingest settings (unused: text has no pages or members).

    Returns:
        The document (``format="text"``).

    Raises:
        DocumentError: not text in a supported encoding, or empty.
    """
    decoded = decode_bytes(data)
    if decoded is None:
        raise DocumentError(f"{doc}: not text in UTF-8, UTF-16 or GB18030 (binary?)", "unsupported")
    text, encoding = decoded
    if not text.strip():
        raise DocumentError(f"{doc}: empty document", "empty")
    return Document(doc=doc, text=text, encoding=encoding.replace("-sig", ""), format="text",
                    source_sha256=hashlib.sha256(data).hexdigest())


__all__ = ["convert", "decode_bytes"]
