"""PDF → text with pages and a per-character layout, read by pdfium (pypdfium2).

Each page's characters come from pdfium's text page, with their boxes. Lines (pdfium's own line
breaks) are rebuilt into paragraphs, because a PDF only knows lines:

- the wrapped lines of one paragraph are joined: with nothing when either side is CJK (Chinese
  has no spaces between words), with one space between Latin words (unless the line is mostly
  Chinese and the wrap was not at a space: then the wrap split a number or a name);
- a line ends its paragraph (a ``"\\n"`` follows) when it ends with end punctuation
  (``。！？；：…`` and their ASCII forms, also before a closing quote), when it stops clearly short
  of the right margin (a heading such as ``第一章 总则`` or a paragraph's last line), when the next
  line starts after a clearly larger vertical gap, or when the next line is indented;
- a running page number alone on the first or last line (``- 2 -``, ``第 2 页``, ``2/10``,
  ``Page 2``, ``2``) is dropped.

Pages are joined with ``"\\n\\f\\n"``, except where the previous page stops mid-sentence (its
last line runs to the right margin and ends in a CJK character, a letter, a digit or a comma, and
the next page does not start indented): then as two wrapped lines (with nothing, or one space
between Latin words), so that a sentence across a page break stays one sentence. ``Document.pages`` maps each page to its characters; the joining
characters (``\\n``, ``\\f``, an inserted space) belong to no page and have NaN boxes.

Pages without a text layer (scans) and pages whose text layer is garbled
(:func:`~rag.ingest.formats.quality.page_problem`, or a font without a Unicode map) are left out
of the text with a warning naming file and page, unless OCR reads them
(``ingest.ocr``: ``auto`` when :mod:`rag.ingest.formats.ocr` is installed, ``on`` requires it).

>>> from rag.ingest.formats.pdf import _join_char
>>> _join_char("护", "国"), _join_char("the", "page")
('', ' ')
"""

from __future__ import annotations

import hashlib
import logging
import re
import statistics
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from rag.choices import OcrMode
from rag.config import IngestSettings
from rag.errors import DocumentError
from rag.ingest.formats.quality import page_problem
from rag.types import Document, PageLayout, PageRange

if TYPE_CHECKING:  # pragma: no cover
    from PIL.Image import Image

log = logging.getLogger(__name__)

#: Marks that end a paragraph when a line ends with them.
_PARA_ENDS = frozenset("。！？；：…!?;:")
_CLOSERS = frozenset("”’」』）)】》〉\"'")
#: A line ending this far (in line heights) short of the right margin ends its paragraph.
_SHORT_LINE = 2.0
#: A line starting this far (in line heights) right of the left margin is indented.
_INDENT = 0.8
#: A gap between lines this much (in line heights) above the page's usual gap separates paragraphs.
_GAP = 0.5
#: A page where more characters than this share have no Unicode mapping is garbled.
_MAX_MAP_ERRORS = 0.2
#: What to tell a person whose scans are left out.
OCR_HINT = "install the OCR extra: pip install -e '.[ocr]'"

_PAGE_NUMBER = re.compile(
    r"^(?:[-—–·\s]*\d{1,4}[-—–·\s]*"
    r"|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?"
    r"|[Pp]age\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?"
    r"|\d{1,4}\s*/\s*\d{1,4})$")

Box4 = tuple[float, float, float, float]


@dataclass
class _Line:
    """One line of a page: its characters and their boxes (None: not on the page)."""

    chars: list[str] = field(default_factory=list)
    boxes: list[Box4 | None] = field(default_factory=list)
    spaced: bool = False      # whitespace was cut from its start or end (a word boundary at the wrap)

    @property
    def text(self) -> str:
        return "".join(self.chars)

    def strip(self) -> "_Line":
        a, b = 0, len(self.chars)
        while a < b and self.chars[a].isspace():
            a += 1
        while b > a and self.chars[b - 1].isspace():
            b -= 1
        return _Line(self.chars[a:b], self.boxes[a:b], self.spaced or a > 0 or b < len(self.chars))

    def extent(self) -> Box4 | None:
        real = [b for b in self.boxes if b is not None]
        if not real:
            return None
        return (min(b[0] for b in real), min(b[1] for b in real), max(b[2] for b in real), max(b[3] for b in real))


@dataclass
class _Page:
    """One page's final text and per-character boxes, before pages are joined."""

    number: int
    chars: list[str]
    boxes: list[Box4 | None]
    ends_mid_sentence: bool
    starts_indented: bool
    first_line: _Line
    last_line: _Line


def _is_wide(ch: str) -> bool:
    """CJK ideographs, kana, hangul and full-width punctuation: no space around them."""
    o = ord(ch)
    return (0x2E80 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or 0xF900 <= o <= 0xFAFF
            or 0xFE30 <= o <= 0xFE4F or 0xFF00 <= o <= 0xFFEF or 0x20000 <= o <= 0x3134F or ch in "“”‘’…—")


def _is_word_char(ch: str) -> bool:
    """A character after which a sentence goes on: a CJK character, a letter, a digit, a comma."""
    o = ord(ch)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x3134F
            or ch in "，、," or ch.isalnum())


def _join_char(left: str, right: str, spaced: bool = False) -> str:
    """What joins two wrapped lines of one paragraph.

    Nothing next to a CJK character. Between two Latin characters one space when the wrap was
    at a space (whitespace cut at the line ends) or the line is mostly Latin (English is wrapped
    at spaces); in a mostly Chinese line, nothing: Chinese typesetting may wrap anywhere, even
    inside ``1950`` or a Latin name.
    """
    if not left or not right:
        return ""
    if _is_wide(left[-1]) or _is_wide(right[0]):
        return ""
    if spaced:
        return " "
    wide = sum(1 for ch in left if _is_wide(ch))
    return "" if wide > len(left) / 2 else " "


def _ends_paragraph(text: str) -> bool:
    t = text.rstrip()
    while t and t[-1] in _CLOSERS:
        t = t[:-1]
    return bool(t) and t[-1] in _PARA_ENDS


def _open(data: bytes, doc: str) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        import pypdfium2.raw as raw

        if getattr(exc, "err_code", None) in (raw.FPDF_ERR_PASSWORD, raw.FPDF_ERR_SECURITY):
            raise DocumentError(f"{doc}: encrypted (password-protected) PDF; remove the password and add it again", "encrypted") from None
        raise DocumentError(f"{doc}: not a readable PDF (damaged?)", "corrupt") from None


def _ocr_module(settings: IngestSettings) -> ModuleType | None:
    """The OCR module when it is wanted and works, else None."""
    if settings.ocr is OcrMode.OFF:
        return None
    try:
        from rag.ingest.formats import ocr
    except ImportError:
        return None
    try:
        return ocr if ocr.available() else None
    except Exception as exc:  # an optional extra that fails to load must not break reading text PDFs
        log.warning("OCR unavailable: %s", exc)
        return None


def _text_lines(page: Any, height: float) -> tuple[list[_Line], float, int]:
    """A page's lines from its text layer, the share of characters without a Unicode mapping, and
    how many characters were left out as invisible (:func:`_drop_invisible`)."""
    import ctypes

    import pypdfium2.raw as raw

    tp = page.get_textpage()
    try:
        n = tp.count_chars()
        lines = [_Line()]
        errors = 0
        suspects: list[tuple[_Line, int]] = []     # light or transparent characters: maybe invisible
        rgba = [ctypes.c_uint() for _ in range(4)]
        i = 0
        while i < n:
            u = raw.FPDFText_GetUnicode(tp.raw, i)
            step = 1
            if 0xD800 <= u < 0xDC00 and i + 1 < n:   # an astral character stored as a surrogate pair
                low = raw.FPDFText_GetUnicode(tp.raw, i + 1)
                if 0xDC00 <= low < 0xE000:
                    u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00)
                    step = 2
            if raw.FPDFText_HasUnicodeMapError(tp.raw, i) == 1:
                errors += 1
            generated = raw.FPDFText_IsGenerated(tp.raw, i) == 1
            if u in (0x0A, 0x0D):
                if lines[-1].chars:
                    lines.append(_Line())
            elif u and not 0xD800 <= u < 0xE000:
                ch = chr(u)
                box: Box4 | None = None
                if not generated:
                    left, bottom, right, top = tp.get_charbox(i, loose=True)
                    box = (left, height - top, right, height - bottom)   # top-left origin
                    if raw.FPDFText_GetFillColor(tp.raw, i, *(ctypes.byref(c) for c in rgba)) and (
                            rgba[3].value == 0 or min(c.value for c in rgba[:3]) >= _LIGHT) and not ch.isspace():
                        suspects.append((lines[-1], len(lines[-1].chars)))
                lines[-1].chars.append(ch)
                lines[-1].boxes.append(box)
            i += step
        hidden = _drop_invisible(page, suspects) if suspects else 0
        return [ln for ln in (x.strip() for x in lines) if ln.chars], errors / max(n, 1), hidden
    finally:
        tp.close()


#: A fill colour whose every channel is at least this light may be drawn on white (white on white).
_LIGHT = 224
#: A character's box whose rendered pixels vary less than this, in every channel, shows nothing.
_FLAT = 12


def _drop_invisible(page: Any, suspects: list[tuple[_Line, int]]) -> int:
    """Remove the characters that draw nothing visible (white on white, transparent), in place.

    A character is left out when the page, rendered, is one flat colour over its box: whatever
    its colour, it changed no pixel there. Text in light colours on a dark background, and the
    invisible text layer of an OCR'd scan (drawn over the scan's own glyphs), are kept.

    Returns:
        The number of characters removed.
    """
    import numpy as np

    scale = 2.0
    bitmap = page.render(scale=scale)
    try:
        pixels = np.asarray(bitmap.to_numpy())[..., :3].astype(np.int16)
    finally:
        bitmap.close()
    h, w = pixels.shape[:2]
    drop: dict[int, tuple[_Line, set[int]]] = {}
    for line, k in suspects:
        box = line.boxes[k]
        if box is None:
            continue
        x0, y0 = max(0, int(box[0] * scale)), max(0, int(box[1] * scale))
        x1, y1 = min(w, max(x0 + 1, int(box[2] * scale + 0.5))), min(h, max(y0 + 1, int(box[3] * scale + 0.5)))
        region = pixels[y0:y1, x0:x1].reshape(-1, 3)
        if region.size == 0 or int((region.max(axis=0) - region.min(axis=0)).max()) < _FLAT:
            drop.setdefault(id(line), (line, set()))[1].add(k)
    removed = 0
    for line, ks in drop.values():
        line.chars[:] = [c for j, c in enumerate(line.chars) if j not in ks]
        line.boxes[:] = [b for j, b in enumerate(line.boxes) if j not in ks]
        removed += len(ks)
    return removed


def _ocr_lines(ocr: ModuleType, page: Any) -> list[_Line]:
    """A page read by OCR: each character gets an even share of its line's box."""
    out = []
    for text, (x0, y0, x1, y1) in ocr.read_page(page):
        chars = list(text)
        if not chars:
            continue
        w = (x1 - x0) / len(chars)
        boxes: list[Box4 | None] = [(x0 + k * w, y0, x0 + (k + 1) * w, y1) for k in range(len(chars))]
        line = _Line(chars, boxes).strip()
        if line.chars:
            out.append(line)
    return out


def _tidy(lines: list[_Line]) -> list[_Line]:
    """Control characters left out (pdfium marks a soft hyphen as U+0002), and the spaces pdfium
    made up (no box) next to a CJK character: justified Chinese text has wide gaps, not words."""
    out = []
    for ln in lines:
        chars, boxes = ln.chars, ln.boxes
        keep = []
        for k, ch in enumerate(chars):
            if ord(ch) < 32 and ch != "\t":
                continue
            if ch == " " and boxes[k] is None and (
                    (k > 0 and _is_wide(chars[k - 1])) or (k + 1 < len(chars) and _is_wide(chars[k + 1]))):
                continue
            keep.append(k)
        line = _Line([chars[k] for k in keep], [boxes[k] for k in keep], ln.spaced).strip()
        if line.chars:
            out.append(line)
    return out


def _drop_page_numbers(lines: list[_Line]) -> list[_Line]:
    """Without a running page number alone on the first or last line."""
    if len(lines) > 1 and _PAGE_NUMBER.match(lines[-1].text.strip()):
        lines = lines[:-1]
    if len(lines) > 1 and _PAGE_NUMBER.match(lines[0].text.strip()):
        lines = lines[1:]
    return lines


def _layout_page(number: int, lines: list[_Line]) -> _Page:
    """A page's lines joined into paragraphs."""
    extents = [ln.extent() for ln in lines]
    known = [e for e in extents if e is not None]
    if known:
        left_edge = min(e[0] for e in known)
        right_edge = max(e[2] for e in known)
        line_h = statistics.median(e[3] - e[1] for e in known) or 1.0
        # gaps from one line's bottom to the next one's top: a line pdfium merged from two
        # (a tall one) does not look like a paragraph gap, as its top-to-top pitch would
        gaps = [b[1] - a[3] for a, b in zip(extents, extents[1:]) if a and b and b[1] > a[1]]
        usual_gap = statistics.median(gaps) if gaps else None
    chars: list[str] = []
    boxes: list[Box4 | None] = []
    short_last = True
    for k, ln in enumerate(lines):
        chars += ln.chars
        boxes += ln.boxes
        if k + 1 == len(lines):
            a = extents[k]
            short_last = not known or a is None or a[2] < right_edge - _SHORT_LINE * line_h
            break
        a, b = extents[k], extents[k + 1]
        brk = _ends_paragraph(ln.text)
        if not brk and a is not None and b is not None:
            brk = (a[2] < right_edge - _SHORT_LINE * line_h          # stops short: heading or last line
                   or b[0] > left_edge + _INDENT * line_h            # next line indented
                   or b[1] < a[1] - 0.5 * line_h                     # next line above: another column
                   or (usual_gap is not None and b[1] - a[3] > usual_gap + _GAP * line_h))
        sep = "\n" if brk else _join_char(ln.text, lines[k + 1].text, ln.spaced or lines[k + 1].spaced)
        chars += list(sep)
        boxes += [None] * len(sep)
    last = "".join(chars).rstrip()[-1:] if chars else ""
    first = extents[0] if extents else None
    return _Page(
        number=number, chars=chars, boxes=boxes,
        ends_mid_sentence=bool(last) and _is_word_char(last) and not short_last,
        starts_indented=bool(known) and first is not None and first[0] > left_edge + _INDENT * line_h,
        first_line=lines[0] if lines else _Line(), last_line=lines[-1] if lines else _Line())


def convert(data: bytes, doc: str, settings: IngestSettings) -> Document:
    """A PDF as a document: text by pages, each character's box, pages left out as warnings.

    Args:
        data: the file's bytes.
        doc: the document id (named in errors and warnings).
        settings: ``max_pages`` and ``ocr``.

    Returns:
        The document (``format="pdf"``, ``pages``, ``layout``).

    Raises:
        DocumentError: encrypted, damaged, too many pages, OCR required but missing, or no
            usable text on any page.
    """
    import numpy as np

    pdf = _open(data, doc)
    try:
        count = len(pdf)
        if count > settings.max_pages:
            raise DocumentError(f"{doc}: {count} pages, more than the limit of {settings.max_pages} (ingest.max_pages)", "too_large")
        ocr = _ocr_module(settings)
        sizes: list[tuple[float, float]] = []
        pages: list[_Page] = []
        warnings: list[str] = []
        problems: list[str] = []
        for index in range(count):
            page = pdf[index]
            try:
                width, height = page.get_size()
                sizes.append((float(width), float(height)))
                lines, map_errors, hidden = _text_lines(page, height)
                if hidden:
                    warnings.append(f"{doc} 第 {index + 1} 页: {hidden} 个不可见字符未收录 / {hidden} invisible "
                                    "characters (e.g. white on white) left out")
                problem = page_problem("\n".join(ln.text for ln in lines))
                if problem is None and map_errors > _MAX_MAP_ERRORS:
                    problem = "garbled"
                if problem is not None:
                    problems.append(problem)
                    if ocr is None and settings.ocr is OcrMode.ON:
                        raise DocumentError(f"{doc} 第 {index + 1} 页: {_reason(problem)}, and OCR is required "
                                            f"(ingest.ocr=on) but not available; {OCR_HINT}", "empty")
                    if ocr is None:
                        hint = OCR_HINT + (" and set ingest.ocr=auto" if settings.ocr is OcrMode.OFF else "")
                        warnings.append(f"{doc} 第 {index + 1} 页: {_reason(problem)} — left out; {hint}")
                        continue
                    try:
                        lines = _ocr_lines(ocr, page)
                    except Exception as exc:  # one page the recognizer fails on must not lose the document
                        log.debug("OCR failed on %s page %d", doc, index + 1, exc_info=True)
                        warnings.append(f"{doc} 第 {index + 1} 页: {_reason(problem)}, and OCR failed ({exc}) — left out")
                        continue
                    if not lines:
                        warnings.append(f"{doc} 第 {index + 1} 页: {_reason(problem)}, and OCR found no text — left out")
                        continue
                lines = _drop_page_numbers(_tidy(lines))
                pages.append(_layout_page(index + 1, lines))
            finally:
                page.close()
    finally:
        pdf.close()
    if not pages or not any(c.strip() for p in pages for c in p.chars):
        raise DocumentError(_nothing_message(doc, count, problems, ocr is not None), "empty")
    text, ranges, boxes = _join_pages(pages)
    layout = np.full((len(text), 4), np.nan, dtype=np.float32)
    for row, box in enumerate(boxes):
        if box is not None:
            layout[row] = box
    # The warnings travel with the document; whoever reads it (rag.ingest.documents) logs them once.
    log.debug("%s: %d page(s) read, %d left out", doc, len(pages), len(warnings))
    return Document(doc=doc, text=text, encoding="utf-8", format="pdf", pages=tuple(ranges),
                    layout=PageLayout(sizes=tuple(sizes), boxes=layout),
                    source_sha256=hashlib.sha256(data).hexdigest(), warnings=tuple(warnings))


def _reason(problem: str) -> str:
    return "no text layer (scanned?)" if problem == "no text layer" else "garbled text layer (a font without a Unicode map?)"


def _nothing_message(doc: str, count: int, problems: list[str], had_ocr: bool) -> str:
    pages = f"{count} page" + ("s" if count != 1 else "")
    if had_ocr:
        return f"{doc}: no text found on any of its {pages}, even by OCR"
    if problems and all(p == "no text layer" for p in problems):
        return f"{doc}: no text layer on any of its {pages} (a scan?); {OCR_HINT}"
    if problems:
        return f"{doc}: no usable text on any of its {pages} (no text layer or garbled text); {OCR_HINT}"
    return f"{doc}: empty document (no text on any of its {pages})"


def _join_pages(pages: list[_Page]) -> tuple[str, list[PageRange], list[Box4 | None]]:
    """The pages' texts joined (see the module docstring), their ranges and the boxes."""
    chars: list[str] = []
    boxes: list[Box4 | None] = []
    ranges: list[PageRange] = []
    prev: _Page | None = None
    for p in pages:
        if prev is not None:
            if prev.ends_mid_sentence and p.number == prev.number + 1 and not p.starts_indented:
                glue = _join_char(prev.last_line.text, p.first_line.text, prev.last_line.spaced or p.first_line.spaced)
            else:
                glue = "\n\f\n"
            chars += list(glue)
            boxes += [None] * len(glue)
        start = len(chars)     # one element per character (an astral one included)
        chars += p.chars
        boxes += p.boxes
        ranges.append(PageRange(start=start, end=len(chars), page=p.number))
        prev = p
    text = "".join(chars)
    assert len(text) == len(boxes), "every character has one box row"
    return text, ranges, boxes


def render_page(data: bytes, page: int, scale: float = 1.5) -> "Image":
    """One page as an image, for showing where an answer is.

    Args:
        data: the PDF's bytes.
        page: the page, 1-based.
        scale: pixels per point (1.5 ≈ 108 dpi).

    Returns:
        A PIL image.

    Raises:
        DocumentError: unreadable PDF or no such page.
    """
    pdf = _open(data, "PDF")
    try:
        if not 1 <= page <= len(pdf):
            raise DocumentError(f"page {page} does not exist (the PDF has {len(pdf)} pages)", "not_found")
        p = pdf[page - 1]
        try:
            return p.render(scale=scale).to_pil()
        finally:
            p.close()
    finally:
        pdf.close()


__all__ = ["OCR_HINT", "convert", "render_page"]
