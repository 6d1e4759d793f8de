"""People's files: conversion throughput per format, and a 100-page PDF from upload to first answer.

The documents are real files built here (``tests/docfactory.py``: fpdf2 with the embedded
WenQuanYi Micro Hei font, python-docx, GBK HTML, EPUB) from real Chinese text: the contexts of
CMRC 2018 *train* (Wikipedia, CC BY-SA 4.0, ../shared/bench), about 600 characters a page.

* Conversion: each converter on the same text, median of ``--repeat`` runs; PDF in pages/s,
  the others in MB/s of the file and in characters/s.
* Upload to first answer: a corpus holding the article is indexed first (not timed); then
  :meth:`rag.library.Library.add` (what ``POST /api/documents`` and ``rag add`` call) takes a
  100-page PDF through checking, conversion, chunking, embedding and the atomic index switch, and
  a question whose answer is on a known page is asked. The time from the upload to that answer
  is reported with its parts.

    python scripts/bench_ingest.py --json docs/bench/ingest.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")   # before the model libraries are imported
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # tests.docfactory builds the files

from rag.bench.figures import machine_info  # noqa: E402
from rag.config import IngestSettings, Settings  # noqa: E402
from rag.ingest.documents import convert_bytes  # noqa: E402
from rag.library import Library, Upload  # noqa: E402
from rag.pipeline import QASystem  # noqa: E402
from tests.docfactory import make_docx, make_epub, make_html, make_pdf  # noqa: E402
from tests.helpers import ARTICLE  # noqa: E402

PAGE_CHARS = 600


def cmrc_pages(n: int, bench: Path) -> tuple[list[str], list[dict]]:
    """``n`` pages of CMRC train contexts, and per page the questions whose context is on it."""
    data = json.loads((bench / "cmrc2018" / "cmrc2018_train.json").read_text(encoding="utf-8"))["data"]
    pages, questions, cur, cur_qs = [], [], "", []
    for art in data:
        for para in art["paragraphs"]:
            ctx = para["context"].replace("\n", "")
            if cur and len(cur) + len(ctx) > PAGE_CHARS:
                pages.append(cur)
                questions.append(cur_qs)
                cur, cur_qs = "", []
                if len(pages) == n:
                    return pages, [{"page": p + 1, **q} for p, qs in enumerate(questions) for q in qs]
            cur += ctx
            cur_qs += [{"question": q["question"], "answer": q["answers"][0]["text"]} for q in para["qas"]]
    raise SystemExit(f"CMRC train holds fewer than {n} pages of text")


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """``(median seconds, first run's seconds, result)``: the first run also loads the parser."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times[0], out


def conversion(pages: list[str], repeat: int) -> list[dict]:
    """Each format's converter on the same text."""
    settings = IngestSettings(ocr="off")
    files = {
        "pdf": ("b.pdf", make_pdf(pages)),
        "docx": ("b.docx", make_docx([p for page in pages for p in page.split("。") if p])),
        "html": ("b.html", make_html("".join(f"<h2>第{n + 1}节</h2><p>{p}</p>" for n, p in enumerate(pages)), encoding="gb18030")),
        "epub": ("b.epub", make_epub([(f"第{n + 1}章", p) for n, p in enumerate(pages)])),
    }
    rows = []
    for fmt, (name, data) in files.items():
        seconds, first, doc = timed(lambda: convert_bytes(data, name, settings), repeat)
        rows.append({"format": fmt, "bytes": len(data), "chars": len(doc.text), "pages": doc.page_count or None,
                     "seconds": round(seconds, 3), "first_run_s": round(first, 3), "pages_per_s": round(len(pages) / seconds, 1) if fmt == "pdf" else None,
                     "mb_per_s": round(len(data) / 1048576 / seconds, 2), "chars_per_s": round(len(doc.text) / seconds)})
    return rows


def upload_to_answer(pages: list[str], questions: list[dict], workdir: Path) -> dict:
    """A 100-page PDF added to an indexed corpus, then one question about a page in its middle."""
    corpus = workdir / "corpus"
    corpus.mkdir()
    shutil.copy(ARTICLE, corpus / "article.txt")
    qa = QASystem(corpus, workdir / "index", Settings.from_env())
    qa.ensure_index()
    qa.ask("人工智能产业规模是多少?")        # model and reader warm, as in a running server
    pdf = make_pdf(pages)
    target = next(q for q in questions if q["page"] >= len(pages) // 2 and len(q["answer"]) <= 10)
    marks: dict[str, float] = {}

    def on_status(n: int, status) -> None:
        marks.setdefault(status.state, time.perf_counter())

    lib = Library(qa)
    t0 = time.perf_counter()
    [status] = lib.add([Upload("百页文档.pdf", pdf)], on_status)
    t_indexed = time.perf_counter()
    ans = qa.ask(target["question"])
    t_answer = time.perf_counter()
    return {
        "pages": len(pages), "file_mb": round(len(pdf) / 1048576, 2), "chunks": status.total, "state": status.state,
        "convert_s": round(marks.get("embedding", t_indexed) - marks.get("converting", t0), 2),
        "embed_and_index_s": round(t_indexed - marks.get("embedding", t0), 2),
        "first_answer_s": round(t_answer - t_indexed, 3),
        "upload_to_answer_s": round(t_answer - t0, 2),
        "question": target["question"], "gold": target["answer"], "gold_page": target["page"],
        "answer": ans.answer, "answer_page": ans.answer_span.page if ans.answer_span else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--skip-upload", action="store_true", help="conversion only (no model)")
    args = ap.parse_args()
    settings = Settings.from_env()
    pages, questions = cmrc_pages(args.pages, settings.paths.bench_data)
    out = {"machine": machine_info(), "pages": args.pages, "repeat": args.repeat,
           "conversion": conversion(pages, args.repeat)}
    print("| format | file MB | characters | seconds (median) | first run s | throughput |")
    print("|---|---|---|---|---|---|")
    for r in out["conversion"]:
        rate = f"{r['pages_per_s']} pages/s" if r["pages_per_s"] else f"{r['mb_per_s']} MB/s"
        print(f"| {r['format']} | {r['bytes'] / 1048576:.2f} | {r['chars']} | {r['seconds']} | {r['first_run_s']} | {rate} "
              f"({r['chars_per_s']} chars/s) |")
    if not args.skip_upload:
        with tempfile.TemporaryDirectory() as tmp:
            out["upload"] = upload_to_answer(pages, questions, Path(tmp))
        print(json.dumps(out["upload"], ensure_ascii=False, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
