"""Word documents (DOCX) → text lines with heading ranges, by python-docx.

The body is read in order, paragraphs and tables alike: each paragraph is a line (a manual
line break inside it starts another); each table row is a line whose cells are joined with a
tab, a merged cell given once (a horizontal merge is skipped, the lower parts of a vertical
merge are empty). Headings (style "Heading N"/"标题 N", "Title", or an outline level in the
paragraph's own properties) are lines too and give :class:`~rag.types.HeadingRange` paths, nested
by level ("Title" above level 1), exactly as for HTML (:func:`rag.ingest.formats.html.assemble`).

The archive is checked for a zip bomb (:mod:`.zipsafe`) before python-docx opens it.

>>> import io, docx as _docx
>>> from rag.config import IngestSettings
>>> d = _docx.Document(); _ = d.add_heading("总则", 1); _ = d.add_paragraph("第一条 正文。")
>>> buf = io.BytesIO(); d.save(buf)
>>> doc = convert(buf.getvalue(), "a.docx", IngestSettings())
>>> doc.text, doc.headings[0].path
('总则\\n第一条 正文。', ('总则',))
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from typing import Any

from rag.config import IngestSettings
from rag.errors import DocumentError
from rag.ingest.formats.html import Line, assemble
from rag.ingest.formats.zipsafe import check_zip
from rag.types import Document

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _level(paragraph: Any, by_style: dict[str | None, int | None]) -> int | None:
    """The heading level of a paragraph (0 for a title), or None for body text.

    ``by_style`` caches the level of each style id: python-docx's ``paragraph.style`` scans every
    style of the document, which made a 1,000-paragraph file take seconds.
    """
    own = _outline_level(paragraph._p.pPr)
    if own is not None:
        return own
    style_id = paragraph._p.style
    if style_id not in by_style:
        by_style[style_id] = _style_level(paragraph.style)
    return by_style[style_id]


def _style_level(style: Any) -> int | None:
    """The heading level a paragraph style (or the styles it is based on) gives."""
    depth = 0
    while style is not None and depth < 20:       # a style's base chain (bounded: files can loop)
        name = (style.name or "").strip()
        if name.lower() == "title" or name == "标题":
            return 0
        m = _HEADING_STYLE.match(name)
        if m:
            return int(m.group(1))
        level = _outline_level(style.element.pPr)
        if level is not None:
            return level
        style, depth = style.base_style, depth + 1
    return None


def _outline_level(p_pr: Any) -> int | None:
    """The heading level an outline level in paragraph properties gives (its value 9 is body text)."""
    if p_pr is None:
        return None
    outline = p_pr.find(f"{_W}outlineLvl")
    value = outline.get(f"{_W}val") if outline is not None else None
    if value is not None and value.isdigit() and int(value) < 9:
        return int(value) + 1
    return None


def _blocks(parent: Any, body: Any) -> Iterator[Any]:
    """The paragraphs and tables of a body element in order (content controls opened)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in body.iterchildren():
        if child.tag == f"{_W}p":
            yield Paragraph(child, parent)
        elif child.tag == f"{_W}tbl":
            yield Table(child, parent)
        elif child.tag == f"{_W}sdt":
            content = child.find(f"{_W}sdtContent")
            if content is not None:
                yield from _blocks(parent, content)


def _table_lines(table: Any) -> list[Line]:
    lines: list[Line] = []
    seen: set[Any] = set()    # the cells' elements themselves: holding them keeps lxml's proxies (and identities) alive
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:          # a horizontal merge repeats the cell
                continue
            previous = cell._tc
            if cell._tc in seen:              # the lower part of a vertical merge
                cells.append("")
                continue
            seen.add(cell._tc)
            cells.append(" ".join(_clean(t) for t in cell.text.splitlines() if _clean(t)))
        if any(cells):
            lines.append(("\t".join(cells).rstrip("\t"), None))
    return lines


def convert(data: bytes, doc: str, settings: IngestSettings) -> Document:
    """A Word document as a document.

    Args:
        data: the file's bytes.
        doc: the document id (named in errors).
        settings: the zip limits.

    Returns:
        The document (``format="docx"``, ``headings``).

    Raises:
        DocumentError: a zip bomb, a damaged file, or no text.
    """
    check_zip(data, doc, settings)
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[Line] = []
        by_style: dict[str | None, int | None] = {}
        for block in _blocks(document, document.element.body):
            if isinstance(block, Table):
                lines += _table_lines(block)
                continue
            level = _level(block, by_style)
            for part in block.text.split("\n"):
                part = _clean(part)
                if part:
                    lines.append((part, level))
    except DocumentError:
        raise
    except Exception:  # python-docx raises many types (KeyError, XMLSyntaxError, PackageNotFoundError…)
        raise DocumentError(f"{doc}: not a readable Word document (damaged?)", "corrupt") from None
    text, headings = assemble([lines])
    if not text.strip():
        raise DocumentError(f"{doc}: empty document", "empty")
    return Document(doc=doc, text=text, encoding="utf-8", format="docx", headings=headings,
                    source_sha256=hashlib.sha256(data).hexdigest())


__all__ = ["convert"]
