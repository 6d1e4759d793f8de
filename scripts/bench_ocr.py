"""OCR accuracy and speed on scanned pages of known Chinese text (the ``ocr`` extra, docs/ocr.md).

Two pages of known text are drawn with PIL in WenQuanYi Micro Hei (12 pt on A4, 1.5 line
spacing): the first ~600 characters of ../shared/seed/article.txt and the first CMRC 2018
train context. Each is scanned at 150 and 300 dpi, clean and "degraded" (tilted 0.5°,
blurred, grey noise, JPEG-compressed, as a cheap office scanner does), saved as an image-only
PDF page, and read back with :func:`rag.ingest.formats.ocr.read_page` at each ``--read-dpi``.

Character accuracy = 1 − edit distance / reference length, over both texts with whitespace
removed; "NFKC" folds full- and half-width forms first (，/, ：/: …), which the recognizer
mixes freely and which retrieval folds too. Seconds per page: median of ``--repeats`` reads
(render + recognise), engine loaded.

    HF_HUB_OFFLINE=1 python scripts/bench_ocr.py [--read-dpi 150,200,300]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import platform
import statistics
import time
import unicodedata
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")   # the OCR models are in the wheel; nothing may download

ROOT = Path(__file__).resolve().parent.parent
FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
A4_POINTS = (595.0, 842.0)
MARGIN_POINTS = 72.0
FONT_POINTS = 12.0

log = logging.getLogger("bench_ocr")


def render_text_page(text: str, dpi: int, font_path: Path = FONT, degrade: bool = False):
    """A4 page image of ``text`` (PIL, mode L), wrapped by width; newlines start new lines.

    Args:
        text: what to draw; characters that do not fit on the page are dropped (see the return).
        dpi: scan resolution.
        font_path: a CJK TrueType font.
        degrade: tilt, blur, add noise and JPEG-compress, like a cheap scanner.

    Returns:
        ``(image, drawn)``: the page and the text actually drawn (the reference).
    """
    from PIL import Image, ImageDraw, ImageFont

    px = dpi / 72
    width, height = round(A4_POINTS[0] * px), round(A4_POINTS[1] * px)
    margin = round(MARGIN_POINTS * px)
    font = ImageFont.truetype(str(font_path), round(FONT_POINTS * px))
    step = round(FONT_POINTS * px * 1.5)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    y, drawn = margin, []
    for paragraph in text.split("\n"):
        line = ""
        for char in paragraph + "\n":
            if char != "\n" and draw.textlength(line + char, font=font) <= width - 2 * margin:
                line += char
                continue
            if y + step > height - margin:
                return _finish(image, degrade, dpi), "".join(drawn)
            draw.text((margin, y), line, font=font, fill=0)
            drawn.append(line + "\n")
            y += step
            line = "" if char == "\n" else char
    return _finish(image, degrade, dpi), "".join(drawn)


def _finish(image, degrade: bool, dpi: int):
    """The page as scanned: unchanged, or tilted, blurred, noisy and JPEG-compressed."""
    if not degrade:
        return image
    import numpy as np
    from PIL import Image, ImageFilter

    image = image.rotate(0.5, resample=Image.BICUBIC, expand=False, fillcolor=255)
    image = image.filter(ImageFilter.GaussianBlur(radius=0.4 * dpi / 150))
    rng = np.random.default_rng(0)   # fixed: the same page every run
    pixels = np.asarray(image, dtype=np.float32) * 0.85 + 20 + rng.normal(0, 12, image.size[::-1])
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=60)
    return Image.open(io.BytesIO(buf.getvalue()))


def image_pdf(images, dpi: int) -> bytes:
    """An image-only PDF (no text layer), one page per image, page size = pixels at ``dpi``."""
    buf = io.BytesIO()
    first, *rest = [im.convert("RGB") for im in images]
    first.save(buf, "PDF", resolution=float(dpi), save_all=True, append_images=rest)
    return buf.getvalue()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions all cost 1).

    >>> edit_distance("人工智能", "人エ智能发展")
    3
    """
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def char_accuracy(reference: str, hypothesis: str, nfkc: bool = False) -> float:
    """1 − edit distance / reference length, whitespace removed (floored at 0).

    >>> char_accuracy("人工 智能", "人工智慧")
    0.75
    """
    if nfkc:
        reference, hypothesis = unicodedata.normalize("NFKC", reference), unicodedata.normalize("NFKC", hypothesis)
    reference, hypothesis = "".join(reference.split()), "".join(hypothesis.split())
    return max(0.0, 1 - edit_distance(reference, hypothesis) / max(len(reference), 1))


def sample_texts(shared: Path, article_chars: int = 600) -> dict[str, str]:
    """The two known texts: the article's opening and the first CMRC 2018 train context."""
    article = (shared / "seed" / "article.txt").read_text(encoding="utf-8")
    cut = article[:article_chars]
    cmrc = json.loads((shared / "bench" / "cmrc2018" / "cmrc2018_train.json").read_text(encoding="utf-8"))
    context = cmrc["data"][0]["paragraphs"][0]["context"]
    return {"article.txt": cut, "CMRC train #1": context}


def bench(texts: dict[str, str], scan_dpis: list[int], read_dpis: list[int], repeats: int) -> list[dict]:
    import pypdfium2

    from rag.ingest.formats import ocr

    if not ocr.available():
        raise SystemExit("OCR is not available: pip install -e '.[ocr]'")
    rows = []
    for name, text in texts.items():
        for degrade in (False, True):
            for scan_dpi in scan_dpis:
                image, reference = render_text_page(text, scan_dpi, degrade=degrade)
                pdf = pypdfium2.PdfDocument(image_pdf([image], scan_dpi))
                page = pdf[0]
                assert not page.get_textpage().get_text_range().strip(), "the page must have no text layer"
                for read_dpi in read_dpis:
                    times, lines = [], []
                    for _ in range(repeats):
                        started = time.perf_counter()
                        lines = ocr.read_page(page, scale=read_dpi / 72)
                        times.append(time.perf_counter() - started)
                    hypothesis = "\n".join(t for t, _ in lines)
                    rows.append({"page": name, "scan": "degraded" if degrade else "clean", "scan_dpi": scan_dpi,
                                 "read_dpi": read_dpi, "chars": len("".join(reference.split())),
                                 "lines": len(lines), "accuracy": char_accuracy(reference, hypothesis),
                                 "accuracy_nfkc": char_accuracy(reference, hypothesis, nfkc=True),
                                 "seconds": statistics.median(times)})
                    log.info("%s", rows[-1])
                pdf.close()
    return rows


def table(rows: list[dict]) -> str:
    out = ["| page | scan | scan dpi | read dpi | chars | char accuracy | NFKC | s / page |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['page']} | {r['scan']} | {r['scan_dpi']} | {r['read_dpi']} | {r['chars']} | "
                   f"{r['accuracy']:.3f} | {r['accuracy_nfkc']:.3f} | {r['seconds']:.2f} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared", help="the shared data folder (../shared)")
    ap.add_argument("--scan-dpi", default="150,300", help="scan resolutions, comma-separated")
    ap.add_argument("--read-dpi", default="200", help="render resolutions for read_page, comma-separated")
    ap.add_argument("--repeats", type=int, default=3, help="reads per page; the median time is reported")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    log.setLevel(logging.INFO)   # one line per row on stderr: the run takes minutes
    rows = bench(sample_texts(args.shared), [int(d) for d in args.scan_dpi.split(",")],
                 [int(d) for d in args.read_dpi.split(",")], args.repeats)
    print(table(rows))
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
