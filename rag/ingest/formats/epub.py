"""E-books (EPUB) → text with heading ranges: the chapters in reading (spine) order.

``META-INF/container.xml`` names the package (OPF) file; its spine gives the chapters' order
(``linear="no"`` items, such as a cover, included: they are part of the book). Each XHTML
chapter goes through the same block extraction as a web page
(:func:`rag.ingest.formats.html.extract_lines`; a chapter's ``<title>`` is not used, as it
usually repeats the book's). Chapters are separated by an empty line (``"\\n\\n"``); headings give
paths across the whole book. The archive is checked for a zip bomb before anything is read,
and each member is read with a byte cap; XML is parsed without entities or network access.

(Examples: ``tests/unit/test_formats.py``, on books made by ``tests/docfactory.make_epub``.)
"""

from __future__ import annotations

import hashlib
import posixpath
from typing import Any
from urllib.parse import unquote

from rag.config import IngestSettings
from rag.errors import DocumentError
from rag.ingest.formats.html import Line, assemble, decode_html, extract_lines, parse
from rag.ingest.formats.zipsafe import check_zip, open_zip, read_member
from rag.types import Document

_CONTAINER = "META-INF/container.xml"
_XHTML = {"application/xhtml+xml", "text/html", "application/xml", "text/xml"}


def _xml(data: bytes, doc: str, what: str) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        root = None
    if root is None:
        raise DocumentError(f"{doc}: not a readable EPUB ({what} is damaged)", "corrupt")
    return root


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _chapters(z: Any, doc: str, settings: IngestSettings) -> list[str]:
    """The members of the spine, in reading order."""
    container = _xml(read_member(z, _CONTAINER, doc, settings), doc, _CONTAINER)
    rootfile = next((e.get("full-path") for e in container.iter() if _local(e.tag) == "rootfile" and e.get("full-path")), None)
    if not rootfile:
        raise DocumentError(f"{doc}: not a readable EPUB (no package file named in {_CONTAINER})", "corrupt")
    opf = _xml(read_member(z, rootfile, doc, settings), doc, rootfile)
    base = posixpath.dirname(rootfile)
    manifest = {}
    for e in opf.iter():
        if _local(e.tag) == "item" and e.get("id") and e.get("href"):
            manifest[e.get("id")] = (posixpath.normpath(posixpath.join(base, unquote(e.get("href").split("#")[0]))),
                                     (e.get("media-type") or "").lower())
    out = []
    for e in opf.iter():
        if _local(e.tag) == "itemref" and e.get("idref") in manifest:
            path, media = manifest[e.get("idref")]
            if media in _XHTML and path not in out:
                out.append(path)
    return out


def convert(data: bytes, doc: str, settings: IngestSettings) -> Document:
    """An EPUB book as a document.

    Args:
        data: the file's bytes.
        doc: the document id (named in errors).
        settings: the zip limits.

    Returns:
        The document (``format="epub"``, ``headings``).

    Raises:
        DocumentError: a zip bomb, a damaged book, or no text.
    """
    check_zip(data, doc, settings)
    parts: list[list[Line]] = []
    with open_zip(data, doc) as z:
        for path in _chapters(z, doc, settings):
            text, _ = decode_html(read_member(z, path, doc, settings))
            soup = parse(text)
            parts.append(extract_lines(soup.body or soup))
    text, headings = assemble(parts, separator="\n\n")
    if not text.strip():
        raise DocumentError(f"{doc}: empty document (no text in any chapter)", "empty")
    return Document(doc=doc, text=text, encoding="utf-8", format="epub", headings=headings,
                    source_sha256=hashlib.sha256(data).hexdigest())


__all__ = ["convert"]
