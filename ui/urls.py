"""The URLs of the document viewer and of PDF page images (shared by the chat's HTML and the routes).

Document ids are percent-encoded segment by segment (``/`` kept): an id may hold spaces, CJK,
``?`` or ``#``, and none of them may end the path early.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode


def doc_path(doc: str) -> str:
    """A document id as a URL path (each segment percent-encoded, ``/`` kept)."""
    return quote(doc, safe="/")


def view_url(doc: str, start: int | None = None, end: int | None = None,
             astart: int | None = None, aend: int | None = None, kb: str | None = None) -> str:
    """The viewer's URL for a document, at a passage and answer when given (in knowledge base ``kb``:
    None is the server's default).

    >>> view_url("报告/a b.pdf", 10, 20, 12, 14)
    '/view/%E6%8A%A5%E5%91%8A/a%20b.pdf?start=10&end=20&astart=12&aend=14#cited'
    >>> view_url("a.txt", kb="hr")
    '/view/a.txt?kb=hr'
    """
    params = {k: v for k, v in (("kb", kb), ("start", start), ("end", end), ("astart", astart), ("aend", aend))
              if v is not None}
    url = f"/view/{doc_path(doc)}"
    cited = "#cited" if start is not None or astart is not None else ""
    return f"{url}?{urlencode(params)}{cited}" if params else url


def page_url(doc: str, page: int, start: int | None = None, end: int | None = None, crop: bool = False,
             kb: str | None = None) -> str:
    """The URL of a PDF page's image, with the boxes of ``text[start:end]`` drawn when given.

    Args:
        doc: the document id.
        page: 1-based page number.
        start: start of the characters to box.
        end: their end.
        crop: only the band of the page around those boxes (a source card), not the whole page.
        kb: the document's knowledge base (None: the server's default).

    >>> page_url("a.pdf", 2, 5, 9)
    '/api/documents/a.pdf/pages/2.png?start=5&end=9'
    >>> page_url("a b.pdf", 2, 5, 9, crop=True)
    '/api/documents/a%20b.pdf/pages/2.png?start=5&end=9&crop=1'
    >>> page_url("a.pdf", 2, kb="hr")
    '/api/documents/a.pdf/pages/2.png?kb=hr'
    """
    url = f"/api/documents/{doc_path(doc)}/pages/{int(page)}.png"
    params: dict[str, object] = {"kb": kb} if kb is not None else {}
    if start is not None and end is not None:
        params.update({"start": start, "end": end, **({"crop": 1} if crop else {})})
    return f"{url}?{urlencode(params)}" if params else url
