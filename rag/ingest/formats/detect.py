"""Which format a file is, decided by its bytes; a name that claims another format is refused.

Content decides: ``%PDF-`` in the first KiB is a PDF; a ZIP holding ``word/document.xml`` is
DOCX; a ZIP whose ``mimetype`` member reads ``application/epub+zip`` is EPUB; HTML markup at the
start is HTML; anything that decodes as text is text. The extension is then checked against it:
``.pdf``, ``.docx`` and ``.epub`` must be what they say; ``.html``/``.htm``/``.xhtml`` may be
HTML or plain text; ``.txt``/``.md`` are always read as plain text, even when they hold markup
(a Markdown file may quote HTML, and what a person saved as text should be shown as written); an
unknown or missing extension is decided by the content alone.

>>> sniff(b"%PDF-1.7 ...", "a.pdf"), sniff("你好".encode(), "a.txt"), sniff(b"<!DOCTYPE html><p>x", "x")
('pdf', 'text', 'html')
>>> sniff(b"%PDF-1.7 ...", "a.docx")
Traceback (most recent call last):
...
rag.errors.DocumentError: a.docx: the content is a PDF, not a Word document (DOCX); rename it to .pdf
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePosixPath

from rag.errors import DocumentError
from rag.ingest.formats.plain import decode_bytes

#: What a folder scan picks up (the format itself is decided by the bytes).
SUFFIXES = (".txt", ".md", ".pdf", ".docx", ".html", ".htm", ".xhtml", ".epub")

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_HTML_START = re.compile(rb"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_HTML_ANYWHERE = re.compile(rb"<head[\s>]|<body[\s>]|<meta\s+charset", re.IGNORECASE)

#: A person's name for each format (in messages).
_NAMES = {"pdf": "a PDF", "docx": "a Word document (DOCX)", "epub": "an EPUB e-book",
          "html": "a web page (HTML)", "text": "plain text"}
#: The extension each format should carry (suggested in messages).
SUFFIX_OF = {"pdf": ".pdf", "docx": ".docx", "epub": ".epub", "html": ".html", "text": ".txt"}
#: Extension → the formats it may hold.
_ALLOWED = {".pdf": {"pdf"}, ".docx": {"docx"}, ".epub": {"epub"},
            ".html": {"html", "text"}, ".htm": {"html", "text"}, ".xhtml": {"html", "text"},
            ".txt": {"text", "html"}, ".md": {"text", "html"}}
#: Extension → the format it claims (named in messages).
_CLAIMS = {".pdf": "pdf", ".docx": "docx", ".epub": "epub", ".html": "html", ".htm": "html",
           ".xhtml": "html", ".txt": "text", ".md": "text"}


def detect(data: bytes, name: str) -> str:
    """The format of a file's bytes.

    Args:
        data: the file's content.
        name: the file's name (only for messages).

    Returns:
        ``"pdf"``, ``"docx"``, ``"epub"``, ``"html"`` or ``"text"``.

    Raises:
        DocumentError: an archive, legacy Office or binary file that is no supported document.
    """
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(_ZIP):
        return _zip_format(data, name)
    if data.startswith(_OLE2):
        raise DocumentError(f"{name}: a legacy Office file (.doc/.xls/.ppt) is not supported; "
                            "save it as .docx (or PDF) and add it again", "unsupported")
    if _looks_html(data):
        return "html"
    if decode_bytes(data) is not None:
        return "text"
    raise DocumentError(f"{name}: not a supported document (binary content, not text, PDF, DOCX, HTML or EPUB)", "unsupported")


def _zip_format(data: bytes, name: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            if "word/document.xml" in names:
                return "docx"
            if "mimetype" in names:
                info = z.getinfo("mimetype")
                if info.file_size < 100:
                    mime = z.read("mimetype").decode("ascii", "replace").strip()
                    if mime == "application/epub+zip":
                        return "epub"
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, ValueError, EOFError):
        raise DocumentError(f"{name}: a damaged ZIP archive (not a readable DOCX or EPUB)", "corrupt") from None
    raise DocumentError(f"{name}: a ZIP archive, not a supported document (DOCX or EPUB)", "unsupported")


def _looks_html(data: bytes) -> bool:
    head = data[:2048]
    for bom in (b"\xef\xbb\xbf",):
        if head.startswith(bom):
            head = head[len(bom):]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):     # UTF-16: sniff the decoded start
        try:
            head = data[:4096].decode("utf-16", "ignore").encode("utf-8", "ignore")[:2048]
        except UnicodeError:
            return False
    stripped = head.lstrip()
    if _HTML_START.match(stripped) or (stripped.startswith(b"<?xml") and _HTML_START.search(stripped)):
        return True
    return bool(_HTML_ANYWHERE.search(head))


def check_name(fmt: str, name: str) -> None:
    """Refuse a name whose extension claims a different format than the content.

    Args:
        fmt: the detected format.
        name: the file's name.

    Raises:
        DocumentError: e.g. ``report.pdf`` holding a Word document.
    """
    suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
    allowed = _ALLOWED.get(suffix)
    if allowed is None or fmt in allowed:
        return
    claimed = _NAMES[_CLAIMS[suffix]]
    raise DocumentError(f"{name}: the content is {_NAMES[fmt]}, not {claimed}; rename it to {SUFFIX_OF[fmt]}", "unsupported")


def sniff(data: bytes, name: str) -> str:
    """The format of a file, checked against its name: :func:`detect`, then :func:`check_name`.

    Args:
        data: the file's content.
        name: its name.

    Returns:
        The format (a key of :data:`rag.ingest.formats.MODULES`).

    Raises:
        DocumentError: unsupported content, or an extension that lies.
    """
    fmt = detect(data, name)
    check_name(fmt, name)
    # A .txt/.md holding markup is read as written (see the module docstring).
    if fmt == "html" and PurePosixPath(name).suffix.lower() in (".txt", ".md"):
        return "text"
    return fmt


__all__ = ["SUFFIXES", "check_name", "detect", "sniff"]
