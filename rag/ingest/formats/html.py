"""Web pages (HTML) → text lines with heading ranges, by BeautifulSoup on lxml.

The encoding is taken from a BOM, then from ``<meta charset>`` or ``<meta http-equiv=
"Content-Type" content="…charset=…">`` in the first 4 KiB (GBK and GB2312 are read as their
superset GB18030), then UTF-8, then GB18030.

What is not the page's content is dropped: ``script style noscript template nav header footer
aside form iframe svg``, comments, and what the page hides (``hidden``, ``aria-hidden="true"``,
an inline ``display:none``, ``visibility:hidden``, ``font-size:0`` or ``opacity:0``, and classes or
ids that the page's own ``<style>`` hides so): a reader does not see it, so no answer may quote it. Block elements (``p div li tr h1–h6 br section article``,
…) start a new line; inline text is joined; table cells (``td``/``th``) of a row are joined with a
tab. Whitespace runs inside a line become one space (a line break between two CJK characters
becomes nothing, as a browser renders it); empty lines are dropped, so no two line breaks
follow each other.

Headings ``h1``–``h6`` are lines of their own and give :class:`~rag.types.HeadingRange` paths,
nested by level: a heading's range runs from its line to the next heading of the same or a
higher level. A page without ``h1`` whose ``<title>`` is set gets the title as its first line,
standing for an ``h1`` (the root of every path), so that the page's name is searchable and
heads its sections. :func:`extract_lines` and :func:`assemble` are shared with the EPUB reader.

>>> from rag.config import IngestSettings
>>> page = '<meta charset="gbk"><h1>总则</h1><p>第一条 <b>适用</b>范围。</p><script>x()</script>'
>>> d = convert(page.encode("gbk"), "a.html", IngestSettings())
>>> d.text, d.encoding, d.headings[0].path
('总则\\n第一条 适用范围。', 'gb18030', ('总则',))
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
from typing import Any

from rag.config import IngestSettings
from rag.errors import DocumentError
from rag.types import Document, HeadingRange

log = logging.getLogger(__name__)

#: Elements whose content is never the page's text.
DROP = frozenset("script style noscript template nav header footer aside form iframe svg head".split())
#: Elements that start and end a line.
BLOCKS = frozenset(("p div li tr br section article main ul ol dl dt dd table thead tbody tfoot blockquote "
                    "pre figure figcaption caption hr address body html h1 h2 h3 h4 h5 h6 title").split())
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_CELLS = frozenset(("td", "th"))

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)
_GB = {"gbk", "gb2312", "gb_2312-80", "x-gbk", "cp936", "gb18030", "x-gb2312", "euc-cn", "csgb2312"}
_WIDE = "\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_BREAK_BETWEEN_WIDE = re.compile(rf"(?<=[{_WIDE}])[ \t\r\f\v]*\n\s*(?=[{_WIDE}])")
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")

#: One line of extracted text and its heading level (None: body text).
Line = tuple[str, int | None]


def decode_html(data: bytes) -> tuple[str, str]:
    """A page's text and the encoding it was read in (see the module docstring).

    Args:
        data: the page's bytes.

    Returns:
        ``(text, encoding)``.
    """
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(enc, errors="replace"), enc.replace("-sig", "")
    candidates = []
    m = _META_CHARSET.search(data[:4096])
    if m:
        declared = m.group(1).decode("ascii", "replace").lower()
        candidates.append("gb18030" if declared in _GB else declared)
    candidates += ["utf-8", "gb18030"]
    for enc in candidates:
        try:
            return data.decode(enc), codecs.lookup(enc).name
        except (UnicodeDecodeError, LookupError):
            continue
    log.warning("a web page in no known encoding: read as UTF-8, bad bytes replaced")
    return data.decode("utf-8", errors="replace"), "utf-8"


def extract_lines(root: Any) -> list[Line]:
    """The text lines of a parsed page (a BeautifulSoup tree or element), in document order.

    Args:
        root: the tree.

    Returns:
        ``(line, heading level or None)`` per non-empty line.
    """
    from bs4 import NavigableString, Tag
    from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

    skip_strings = (Comment, Declaration, Doctype, ProcessingInstruction)
    hidden_rules = _hidden_selectors(root)
    lines: list[Line] = []
    pieces: list[str] = []
    level: list[int | None] = [None]
    pre = [0]                 # depth of <pre> elements around the walk

    def flush() -> None:
        line = "".join(pieces)
        pieces.clear()
        # Only trailing tabs go: a leading one is an empty first cell, whose column must not shift.
        line = "\t".join(_SPACES.sub(" ", cell).strip() for cell in line.split("\t")).rstrip("\t ").lstrip(" ")
        if line.strip("\t "):
            lines.append((line, level[0]))
        level[0] = None

    # Iterative walk: a deeply nested page must not exhaust the recursion limit.
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            if node.name == "pre":
                pre[0] -= 1
            if node.name in BLOCKS:
                flush()
            continue
        if isinstance(node, NavigableString):
            if isinstance(node, skip_strings):
                continue
            if pre[0]:       # preformatted: its line breaks are lines
                for n, part in enumerate(str(node).split("\n")):
                    if n:
                        flush()
                    pieces.append(part.replace("\t", " "))
            else:
                pieces.append(_BREAK_BETWEEN_WIDE.sub("", str(node)).replace("\t", " "))
            continue
        if not isinstance(node, Tag):
            continue
        name = (node.name or "").lower().split(":")[-1]
        if name in DROP or _hidden(node, hidden_rules):
            continue
        if name in BLOCKS:
            flush()
            if name in _HEADINGS:
                level[0] = _HEADINGS[name]
        elif name in _CELLS and node.find_previous_sibling(list(_CELLS)) is not None:
            pieces.append("\t")    # every cell but a row's first, even after an empty one
        if name == "br":
            continue
        if name == "pre":
            pre[0] += 1
        stack.append((node, True))
        for child in reversed(list(node.children)):
            stack.append((child, False))
    flush()
    return lines


#: An inline style that hides an element: nothing of it is shown, so nothing of it is indexed.
_HIDING_STYLE = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|pt|em)?\s*(?:;|$)"
                           r"|opacity\s*:\s*0(?:\.0*)?\s*(?:;|$))", re.I)
#: ``.name`` and ``#name`` rules of a page's ``<style>`` whose declarations hide (the common case).
_STYLE_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")


def _hidden_selectors(root: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The classes and ids a page's own ``<style>`` hides (simple selectors only)."""
    classes: set[str] = set()
    ids: set[str] = set()
    top = root
    while getattr(top, "parent", None) is not None:      # the <style> of the <head>, given the <body>
        top = top.parent
    for style in top.find_all("style") if hasattr(top, "find_all") else ():
        for selectors, body in _STYLE_RULE.findall(style.get_text() or ""):
            if not _HIDING_STYLE.search(";" + body):
                continue
            for sel in selectors.split(","):
                sel = sel.strip()
                if re.fullmatch(r"\.[\w-]+", sel):
                    classes.add(sel[1:])
                elif re.fullmatch(r"#[\w-]+", sel):
                    ids.add(sel[1:])
    return frozenset(classes), frozenset(ids)


def _hidden(node: Any, rules: tuple[frozenset[str], frozenset[str]]) -> bool:
    """Whether an element is not shown: ``hidden``, ``aria-hidden="true"``, a hiding inline style,
    or a class or id the page's style hides."""
    attrs = getattr(node, "attrs", None) or {}
    if not attrs:
        return False
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    if _HIDING_STYLE.search(";" + str(attrs.get("style", ""))):
        return True
    classes, ids = rules
    cls = attrs.get("class") or []
    cls = cls.split() if isinstance(cls, str) else cls
    return bool(classes.intersection(cls)) or attrs.get("id") in ids


def assemble(parts: list[list[Line]], separator: str = "\n") -> tuple[str, tuple[HeadingRange, ...]]:
    """Lines → the document's text and heading ranges.

    Args:
        parts: groups of lines (an EPUB's chapters; a page is one group).
        separator: what joins two groups (lines within a group are joined with ``"\\n"``).

    Returns:
        ``(text, headings)``: each heading's range runs from its line to the next heading of
        the same or a higher level (or the end), with the path of the headings above it.
    """
    out: list[str] = []
    starts: list[tuple[int, int, str]] = []     # (offset, level, heading) for each heading line
    pos = 0
    for g, group in enumerate(p for p in parts if p):
        if g:
            out.append(separator)
            pos += len(separator)
        for n, (line, level) in enumerate(group):
            if n:
                out.append("\n")
                pos += 1
            if level is not None:
                starts.append((pos, level, line))
            out.append(line)
            pos += len(line)
    text = "".join(out)
    ranges: list[HeadingRange] = []
    stack: list[tuple[int, str]] = []
    for k, (start, level, title) in enumerate(starts):
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        end = next((s for s, lv, _ in starts[k + 1:] if lv <= level), len(text))
        ranges.append(HeadingRange(start=start, end=end, path=tuple(t for _, t in stack)))
    return text, tuple(ranges)


def parse(text: str) -> Any:
    """The page parsed by BeautifulSoup with lxml's HTML parser (XHTML too: EPUB chapters)."""
    import warnings

    from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

    with warnings.catch_warnings():
        # An XHTML chapter read as HTML is what we want: lenient, and the same blocks as a web page.
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        return BeautifulSoup(text, "lxml")


def page_lines(soup: Any) -> list[Line]:
    """A parsed page's lines, with ``<title>`` as the first line when the page has no ``h1``."""
    lines = extract_lines(soup.body or soup)
    if not any(level == 1 for _, level in lines):
        title = soup.title.get_text(" ", strip=True) if soup.title else ""
        title = _SPACES.sub(" ", title).strip()
        if title:
            lines.insert(0, (title, 1))
    return lines


def convert(data: bytes, doc: str, settings: IngestSettings) -> Document:
    """A web page as a document.

    Args:
        data: the page's bytes.
        doc: the document id (named in errors).
        settings: the ingest settings (unused).

    Returns:
        The document (``format="html"``, ``headings``).

    Raises:
        DocumentError: no text on the page.
    """
    text, encoding = decode_html(data)
    try:
        soup = parse(text)
    except Exception as exc:  # lxml rarely fails, but a failure must name the file
        raise DocumentError(f"{doc}: not a readable web page ({exc})", "corrupt") from None
    body, headings = assemble([page_lines(soup)])
    if not body.strip():
        raise DocumentError(f"{doc}: empty document (no text on the page)", "empty")
    return Document(doc=doc, text=body, encoding=encoding, format="html", headings=headings,
                    source_sha256=hashlib.sha256(data).hexdigest())


__all__ = ["BLOCKS", "DROP", "Line", "assemble", "convert", "decode_html", "extract_lines", "page_lines", "parse"]
