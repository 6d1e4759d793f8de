"""Converters: a file's bytes → a :class:`~rag.types.Document`, one module per format.

The format is decided by the bytes (:mod:`.detect`), not by the name alone; a name whose
extension claims another format is refused. Every converter has the same shape::

    def convert(data: bytes, doc: str, settings: IngestSettings) -> Document

and raises :class:`~rag.errors.DocumentError` (one line that names ``doc``) for a file it cannot
read: encrypted, corrupt, a zip bomb, no text at all. Pages it has to leave out (scanned without
OCR, garbled text layer) go into ``Document.warnings``, never into the text.

Holds: ``detect`` (magic bytes), ``plain`` (.txt/.md), ``pdf`` (pypdfium2), ``docx`` (python-docx),
``html`` (BeautifulSoup + lxml), ``epub`` (zipfile + lxml), ``quality`` (garbled / empty page
tests), ``ocr`` (the optional recognizer), ``zipsafe`` (zip-bomb guard).

May import: rag.text and below. Third-party parsers are imported inside the converter that
needs them, so that reading a folder of .txt files never loads pdfium.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from rag.config import IngestSettings
from rag.errors import DocumentError
from rag.types import Document

Converter = Callable[[bytes, str, IngestSettings], Document]

#: format name → module under rag.ingest.formats holding ``convert``.
MODULES = {"text": "plain", "pdf": "pdf", "docx": "docx", "html": "html", "epub": "epub"}


def converter(fmt: str) -> Converter:
    """The ``convert`` function of a format, imported on first use.

    Args:
        fmt: a key of :data:`MODULES`.

    Returns:
        The converter.

    Raises:
        DocumentError: an unknown format.
    """
    if fmt not in MODULES:
        raise DocumentError(f"unsupported format {fmt!r} (supported: {', '.join(MODULES)})", "unsupported")
    module = importlib.import_module(f"{__name__}.{MODULES[fmt]}")
    return module.convert


__all__ = ["Converter", "MODULES", "converter"]
