"""Builders of real files (PDF, DOCX, HTML, EPUB) for the tests of every stage.

Each builder returns the file's bytes, made by the same tools people's files are made with
(fpdf2, python-docx, zipfile), so the converters are tested on real files, not on mocks. PDF
text is set in WenQuanYi Micro Hei (:data:`FONT_PATH`, subset per document and cached in
:data:`FONT_CACHE`); a test that needs it calls
``pytest.skip(NO_FONT)`` unless :func:`have_cjk_font`.

>>> from tests.docfactory import make_html
>>> make_html("<p>你好</p>", encoding="utf-8")[:15]
b'<!DOCTYPE html>'
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import tempfile
import zipfile
from pathlib import Path

#: The CJK font embedded in generated PDFs (a TrueType collection; face 0 is used).
FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
#: Why a PDF test is skipped without the font.
NO_FONT = f"the CJK font {FONT_PATH} is not installed (apt-get install fonts-wqy-microhei)"


def have_cjk_font() -> bool:
    """Whether :data:`FONT_PATH` is there (PDF builders need it)."""
    return FONT_PATH.is_file()


#: Subsets of the font, one per set of characters (loading the whole 5 MB collection takes seconds).
FONT_CACHE = Path(tempfile.gettempdir()) / "rag-zh-test-fonts"


def _font_for(text: str) -> Path:
    """A TrueType subset of face 0 of :data:`FONT_PATH` holding the characters of ``text`` (cached)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    chars = sorted({ord(c) for c in text if not c.isspace()} | set(range(0x20, 0x7F)))
    key = hashlib.sha1(",".join(map(str, chars)).encode()).hexdigest()[:20]
    path = FONT_CACHE / f"wqy-{key}.ttf"
    if not path.is_file():
        font = TTFont(str(FONT_PATH), fontNumber=0, lazy=True)
        options = subset.Options()
        options.layout_features, options.notdef_outline, options.name_IDs = [], True, ["*"]
        options.drop_tables += ["GSUB", "GPOS", "GDEF", "FFTM"]
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=chars)
        subsetter.subset(font)
        FONT_CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        font.save(str(tmp))
        os.replace(tmp, path)        # atomic: parallel test runs never read half a font
    return path


def _pdf(font_size: float, text: str) -> "object":
    """An FPDF with the CJK font (a subset holding the characters of ``text``) selected."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("cjk", fname=str(_font_for(text)))
    pdf.set_font("cjk", size=font_size)
    return pdf


def _mostly_cjk(text: str) -> bool:
    return sum(1 for c in text if "\u4e00" <= c <= "\u9fff") > len(text) / 2


def make_pdf(pages: list[list[str]] | list[str], *, font_size: float = 12) -> bytes:
    """A PDF with a text layer: one entry per page, each a paragraph or a list of paragraphs.

    Paragraphs are wrapped to the page width (fpdf2 ``multi_cell``) with no blank line between
    them, as in most Chinese documents; the CJK font is embedded with a ToUnicode map. A mostly
    Chinese paragraph is wrapped at any character, as Chinese typesetting does (fpdf2's word
    wrap would break at its last space and leave a short line); a mostly Latin one at spaces.

    Args:
        pages: the pages' paragraphs (a page whose text overflows continues on the next page).
        font_size: in points.

    Returns:
        The PDF's bytes.
    """
    paragraphs = [[page] if isinstance(page, str) else page for page in pages]
    pdf = _pdf(font_size, "".join("".join(p) for p in paragraphs))
    for page in paragraphs:
        pdf.add_page()
        for para in page:
            wrap = "CHAR" if _mostly_cjk(para) else "WORD"
            pdf.multi_cell(0, font_size * 0.6, para, new_x="LMARGIN", new_y="NEXT", wrapmode=wrap)
    return bytes(pdf.output())


def make_coloured_pdf(paragraphs: list[tuple[str, tuple[int, int, int], tuple[int, int, int] | None]],
                      font_size: float = 12) -> bytes:
    """A one-page PDF whose paragraphs have their own text colour and, optionally, a filled box
    behind them: ``(text, rgb, background rgb or None)``. White on white is hidden text; white
    on a dark box is not.
    """
    pdf = _pdf(font_size, "".join(p for p, _, _ in paragraphs))
    pdf.add_page()
    for text, colour, background in paragraphs:
        if background is not None:
            pdf.set_fill_color(*background)
        pdf.set_text_color(*colour)
        pdf.multi_cell(0, font_size * 0.6, text, new_x="LMARGIN", new_y="NEXT", wrapmode="CHAR",
                       fill=background is not None)
    return bytes(pdf.output())


def make_pdf_without_tounicode(pages: list[list[str]] | list[str]) -> bytes:
    """A PDF whose font has no ToUnicode map: its text extracts as garbage.

    fpdf2 embeds a subset font whose glyph codes are small numbers; the ``/ToUnicode`` key is
    renamed to ``/ToUnicodX`` (same length, so the xref offsets stay valid). pdfium then
    returns the codes themselves (control and ASCII characters) and flags every character with
    a Unicode map error; it does not recover the text from the subset font.
    """
    data = make_pdf(pages)
    assert b"/ToUnicode" in data
    return data.replace(b"/ToUnicode", b"/ToUnicodX")


def make_scanned_pdf(pages: list[str], dpi: int = 150) -> bytes:
    """A PDF of images only (no text layer): each page's text drawn by PIL, as a scanner would.

    Args:
        pages: one text per page (wrapped at about 30 characters a line).
        dpi: image resolution.

    Returns:
        The PDF's bytes.
    """
    from fpdf import FPDF
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT_PATH), size=int(12 * dpi / 72), index=0)
    pdf = FPDF(format="A4")
    w_px, h_px = int(210 / 25.4 * dpi), int(297 / 25.4 * dpi)
    for text in pages:
        img = Image.new("L", (w_px, h_px), 255)
        draw = ImageDraw.Draw(img)
        lines = [text[i:i + 30] for i in range(0, len(text), 30)] or [""]
        y = int(0.8 * dpi)
        for line in lines:
            draw.text((int(0.8 * dpi), y), line, font=font, fill=0)
            y += int(20 * dpi / 72)
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        pdf.add_page()
        pdf.image(io.BytesIO(buf.getvalue()), x=0, y=0, w=210, h=297)
    return bytes(pdf.output())


def make_encrypted_pdf(pages: list[str], password: str = "secret") -> bytes:
    """A PDF that needs a password to open (RC4, user and owner password; AES would need ``cryptography``)."""
    from fpdf.enums import EncryptionMethod

    pdf = _pdf(12, "".join(pages))
    pdf.set_encryption(owner_password=password + "-owner", user_password=password,
                       encryption_method=EncryptionMethod.RC4)
    for page in pages:
        pdf.add_page()
        pdf.multi_cell(0, 7, page, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def make_docx(blocks: list[str | tuple]) -> bytes:
    """A Word document from blocks, in order.

    Args:
        blocks: each one of ``"text"`` or ``("p", text)`` (a paragraph), ``("h", level, text)``
            (a heading, style "Heading N"; level 0 is "Title"), ``("outline", level, text)`` (a
            Normal paragraph made a heading by its own outline level, as some editors do) and
            ``("table", rows)`` (rows of cell texts; a cell ``None`` is merged with the cell on
            its left).

    Returns:
        The DOCX's bytes.
    """
    import docx

    d = docx.Document()
    for block in blocks:
        if isinstance(block, str):
            d.add_paragraph(block)
        elif block[0] == "p":
            d.add_paragraph(block[1])
        elif block[0] == "h":
            d.add_heading(block[2], level=block[1])
        elif block[0] == "outline":
            from docx.oxml import OxmlElement
            from docx.oxml.ns import qn

            p = d.add_paragraph(block[2])
            outline = OxmlElement("w:outlineLvl")
            outline.set(qn("w:val"), str(block[1] - 1))
            p._p.get_or_add_pPr().append(outline)
        elif block[0] == "table":
            rows = block[1]
            table = d.add_table(rows=len(rows), cols=max(len(r) for r in rows))
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    if value is None:
                        table.cell(r, c - 1).merge(table.cell(r, c))
                    else:
                        table.cell(r, c).text = value
        else:
            raise ValueError(f"unknown block {block!r}")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


class _RepeatDeflate:
    """A stand-in compressor for 1 MiB chunks of zeros: each compresses to the same bytes.

    A deflate stream cut with a full flush is byte-aligned and refers to nothing before it, so
    one compressed chunk can be repeated; this makes a 300 MB bomb in a fraction of a second
    (zlib itself takes seconds).
    """

    def __init__(self, chunk: bytes) -> None:
        import zlib

        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        self.chunk, self.block = chunk, c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
        self.end = zlib.compressobj(9, zlib.DEFLATED, -15).flush()   # an empty final block

    def compress(self, data: bytes) -> bytes:
        assert data == self.chunk
        return self.block

    def flush(self) -> bytes:
        return self.end


@functools.lru_cache(maxsize=1)
def make_zip_bomb_docx(inflated_mb: int = 300) -> bytes:
    """A small DOCX (about 0.3 MB) one of whose members inflates to ``inflated_mb`` MiB of zeros.

    The member's deflate stream is one compressed MiB repeated (:class:`_RepeatDeflate`), a
    valid stream that really inflates to that size; the archive's declared sizes are honest.
    A test must refuse it without inflating it.
    """
    base = make_docx(["正文。"])
    out = io.BytesIO()
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info.filename))
        info = zipfile.ZipInfo("word/media/zeros.bin")
        info.compress_type = zipfile.ZIP_DEFLATED    # a bare ZipInfo would store the zeros as they are
        with z.open(info, "w", force_zip64=True) as f:
            f._compressor = _RepeatDeflate(chunk)    # zipfile's writer calls .compress() and .flush()
            for _ in range(inflated_mb):
                f.write(chunk)
    return out.getvalue()


def make_html(body: str, encoding: str = "gbk", meta: bool = True, title: str | None = None) -> bytes:
    """A web page: ``body`` (markup) inside html/head/body, encoded.

    Args:
        body: the body's inner markup.
        encoding: how the bytes are encoded.
        meta: declare the encoding in ``<meta charset>``.
        title: the ``<title>``, if any.

    Returns:
        The page's bytes.
    """
    head = (f'<meta charset="{encoding}">' if meta else "") + (f"<title>{title}</title>" if title else "")
    page = f"<!DOCTYPE html>\n<html><head>{head}</head>\n<body>\n{body}\n</body></html>\n"
    return page.encode(encoding)


def make_epub(chapters: list[tuple[str, str]], title: str = "测试书") -> bytes:
    """An EPUB 3 book: one XHTML file per chapter, in spine order.

    The manifest lists the chapters in reverse, so that a reader that follows the manifest
    instead of the spine gets them in the wrong order.

    Args:
        chapters: ``(heading, body markup)`` per chapter; the heading becomes the chapter's ``<h1>``.
        title: the book's title.

    Returns:
        The EPUB's bytes.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")   # stored, first
        z.writestr("META-INF/container.xml",
                   '<?xml version="1.0"?><container version="1.0" '
                   'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
                   '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
                   '</rootfiles></container>')
        items, refs = [], []
        for n, (heading, body) in enumerate(chapters, 1):
            z.writestr(f"OEBPS/text/ch{n}.xhtml",
                       '<?xml version="1.0" encoding="utf-8"?><!DOCTYPE html>'
                       '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>'
                       f'{heading}</title></head><body><h1>{heading}</h1>{body}</body></html>')
            items.append(f'<item id="ch{n}" href="text/ch{n}.xhtml" media-type="application/xhtml+xml"/>')
            refs.append(f'<itemref idref="ch{n}"/>')
        z.writestr("OEBPS/content.opf",
                   '<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf" '
                   'version="3.0" unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
                   f'<dc:identifier id="id">test</dc:identifier><dc:title>{title}</dc:title><dc:language>zh</dc:language>'
                   f'</metadata><manifest>{"".join(reversed(items))}</manifest><spine>{"".join(refs)}</spine></package>')
    return out.getvalue()


__all__ = ["FONT_PATH", "NO_FONT", "have_cjk_font", "make_docx", "make_encrypted_pdf", "make_epub", "make_html",
           "make_pdf", "make_pdf_without_tounicode", "make_scanned_pdf", "make_zip_bomb_docx"]
