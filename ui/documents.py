"""Adding, listing and reading documents over HTTP, and the viewer of a cited place.

Routes (registered by :func:`ui.server.create_app` through :func:`add_document_routes`):

* ``POST /api/documents`` multipart, field ``files`` (repeatable) → 202
  ``{"job": id, "files": [status, …]}``; indexing runs in the background and
  questions keep being answered from the previous index until it is swapped in.
  With ``?wait=true`` the answer comes when the job is done: 200 with the final
  statuses, or, when no file was added, the 4xx of the first failure with
  ``{"error": message, "job", "files"}``.
* ``GET /api/jobs/{id}`` → ``{"job", "finished", "files"}`` (404 unknown job).
* ``GET /api/documents`` → ``{"documents": [DocInfo, …]}``.
* ``DELETE /api/documents/{doc}`` → the removed DocInfo (404 unknown document).
* ``GET /api/documents/{doc}/text`` → ``{"doc", "format", "text", "pages", "headings"}``;
  every citation's ``start``/``end`` index this ``text``.
* ``GET /api/documents/{doc}/pages/{n}.png?start=&end=&crop=`` → the page image of a PDF,
  with the character boxes of ``text[start:end]`` drawn when given (``crop=1``: only the
  band of the page around them).
* ``GET /view/{doc}?start=&end=&astart=&aend=`` → an HTML page with the document's
  text, the passage ``[start, end)`` highlighted and the answer ``[astart, aend)`` marked;
  for a PDF also the page images of the passage with the answer's boxes drawn.

Document ids may hold ``/`` (a file in a sub-folder of the corpus).

Status codes: 413 too large / too many files, 415 unsupported type or an extension
that lies, 409 a duplicate (same content hash as a document already indexed), 422
encrypted / corrupt / empty / zip bomb, 404 unknown document or job, 400 a malformed
request. Every error body is ``{"error": "one line"}``.
"""

# No ``from __future__ import annotations``: FastAPI must see the real ``Request`` class
# in the signature of the handlers defined inside add_document_routes().

import functools
import html
import inspect
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from ui.urls import page_url, view_url

log = logging.getLogger(__name__)

#: Seconds ``?wait=true`` waits for a job before answering with its statuses so far.
WAIT_LIMIT_S = 900.0
#: Room for the multipart framing (boundaries, part headers) on top of the files' bytes.
MULTIPART_SLACK = 64 * 1024
#: Scale of page images (1.5 × 72 dpi = 108 dpi: readable, a few hundred KB).
PAGE_SCALE = 1.5
#: Points of page kept above and below the boxes in a cropped page image (a source card).
CROP_MARGIN_PT = 72.0

#: What the panel shows for each state of a file (:class:`rag.library.FileStatus`).
STATE_LABELS = {"queued": "排队中", "converting": "转换中", "embedding": "嵌入", "done": "完成",
                "duplicate": "重复", "failed": "失败"}

#: Words of a :class:`~rag.errors.DocumentError` message → the HTTP status it deserves, tried
#: in order, when the error does not say its own status (``status`` / ``kind`` attribute).
#: Damage comes before type ("a damaged ZIP archive (not a readable DOCX …)" is corrupt, 422).
_STATUS_WORDS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (409, ("duplicate", "already indexed", "重复")),
    (422, ("zip bomb", "encrypted", "password", "damaged", "corrupt", "empty", "no text", "readable",
           "ocr is required", "空")),
    (415, ("unsupported", "not supported", "not a supported", "binary", "the content is", "rename it",
           "not text", "不支持", "类型")),
    (413, ("limit", "too large", "too many", "over the", "过大", "超过")),
)
_KIND_STATUS = {"duplicate": 409, "too_large": 413, "too_many": 413, "limit": 413, "unsupported": 415,
                "type": 415, "encrypted": 422, "corrupt": 422, "empty": 422, "zip_bomb": 422, "unknown": 404,
                "not_found": 404}


def error_status(error: BaseException | str) -> int:
    """The HTTP status for a document error.

    An error that carries ``status`` (an int) or ``kind`` (a word) is trusted; otherwise
    its message decides, and whatever is left (encrypted, corrupt, empty, zip bomb) is 422.

    Args:
        error: a :class:`~rag.errors.DocumentError` or its message.

    Returns:
        A 4xx status.

    >>> error_status("a.pdf: the content is a DOCX document, not PDF; rename it to .docx")
    415
    >>> error_status("b.pdf: encrypted (password-protected) PDF; remove the password and add it again")
    422
    >>> error_status("c.pdf: 61.0 MB is over the 50 MB limit for one file (ingest.max_file_mb)")
    413
    """
    status = getattr(error, "status", None)
    if isinstance(status, int) and 400 <= status < 500:
        return status
    kind = getattr(error, "kind", None)
    if isinstance(kind, str) and kind in _KIND_STATUS:
        return _KIND_STATUS[kind]
    text = str(error).lower()
    for code, words in _STATUS_WORDS:
        if any(w in text for w in words):
            return code
    return 422


def one_line(message: object) -> str:
    """A message on one line (an error body never carries a newline or a traceback)."""
    return " ".join(str(message).split()) or "error"


def status_json(status: Any) -> dict[str, Any]:
    """A :class:`rag.library.FileStatus` as JSON."""
    return asdict(status)


def job_json(job: Any) -> dict[str, Any]:
    """A :class:`rag.library.Job` as JSON: ``{"job", "finished", "files"}``."""
    return {"job": job.id, "finished": bool(job.finished), "files": [status_json(f) for f in job.files]}


def describe(status: Any) -> str:
    """The panel's words for one file's progress, e.g. ``嵌入 12/40`` or ``失败: …``.

    Args:
        status: a :class:`rag.library.FileStatus`.

    Returns:
        Plain text (escape before showing).
    """
    label = STATE_LABELS.get(status.state, status.state)
    if status.state == "embedding":
        return f"{label} {status.done}/{status.total}" if status.total else label
    if status.state in ("failed", "duplicate") and status.message:
        return f"{label}: {one_line(status.message)}"
    return label


def render_progress(job: Any | None) -> str:
    """HTML of one upload's per-file progress.

    Args:
        job: a :class:`rag.library.Job`, or None (nothing running).

    Returns:
        Safe HTML (every name and message escaped).
    """
    if job is None or not job.files:
        return '<div class="rag-progress rag-empty"></div>'
    rows = []
    for f in job.files:
        pct = ""
        if f.state == "embedding" and f.total:
            pct = f'<progress max="{int(f.total)}" value="{int(f.done)}"></progress>'
        rows.append(f'<li class="rag-file rag-file-{html.escape(f.state)}">'
                    f'<span class="rag-file-name">{html.escape(f.name)}</span> '
                    f'<span class="rag-file-state">{html.escape(describe(f))}</span>{pct}</li>')
    head = "已完成" if job.finished else "正在建立索引, 期间仍可提问 (使用之前的索引)"
    return f'<div class="rag-progress"><div class="rag-progress-head">{head}</div><ul>{"".join(rows)}</ul></div>'


def _date(iso: str) -> str:
    """``2026-11-30T22:05:20+00:00`` → ``2026-11-30 22:05``."""
    return str(iso).replace("T", " ")[:16]


def render_library(docs: Sequence[Any], kb: str | None = None) -> str:
    """HTML table of the indexed documents: name, format, pages, chunks, date added.

    Args:
        docs: :class:`rag.library.DocInfo` records.
        kb: their knowledge base (the viewer links name it; None: the server's default).

    Returns:
        Safe HTML.
    """
    if not docs:
        return '<div class="rag-doclist rag-empty">还没有文档。</div>'
    rows = []
    for d in docs:
        warn = (f' <span class="rag-warn" title="{html.escape("; ".join(d.warnings))}">⚠</span>'
                if d.warnings else "")
        rows.append(f"<tr><td class=\"rag-doc-name\"><a href=\"{html.escape(view_url(d.doc, kb=kb))}\" target=\"_blank\" "
                    f"rel=\"noopener\">{html.escape(d.doc)}</a>{warn}</td>"
                    f"<td>{html.escape(str(d.format))}</td><td>{int(d.pages) or '–'}</td>"
                    f"<td>{int(d.chunks)}</td><td>{html.escape(_date(d.added_at))}</td></tr>")
    return ('<div class="rag-doclist"><table><thead><tr><th>文档</th><th>格式</th><th>页数</th>'
            f'<th>段落</th><th>添加时间</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
            f'<div class="rag-doclist-count">共 {len(docs)} 篇</div></div>')


def text_json(document: Any) -> dict[str, Any]:
    """The body of ``GET /api/documents/{doc}/text``.

    Args:
        document: a :class:`rag.types.Document`.

    Returns:
        ``{"doc", "format", "text", "pages": [{start, end, page}], "headings": [{start, end, path}]}``.
    """
    return {"doc": document.doc, "format": document.format, "text": document.text,
            "pages": [{"start": p.start, "end": p.end, "page": p.page} for p in document.pages],
            "headings": [{"start": h.start, "end": h.end, "path": list(h.path)} for h in document.headings]}


def crop_band(png: bytes, boxes: Sequence[Any], scale: float, margin: float = CROP_MARGIN_PT) -> bytes:
    """The full-width band of a page image around some boxes (what a source card shows).

    Args:
        png: the page image.
        boxes: boxes on that page, in PDF points (top-left origin).
        scale: pixels per point of the image.
        margin: points kept above and below.

    Returns:
        PNG bytes of the band (the image unchanged when there is no box).
    """
    import io

    from PIL import Image

    if not boxes:
        return png
    image = Image.open(io.BytesIO(png))
    top = max(0, int((min(b.y0 for b in boxes) - margin) * scale))
    bottom = min(image.height, int((max(b.y1 for b in boxes) + margin) * scale) + 1)
    if bottom <= top:
        return png
    out = io.BytesIO()
    image.crop((0, top, image.width, bottom)).save(out, format="PNG", optimize=True)
    return out.getvalue()


# --- the viewer -------------------------------------------------------------------------------

VIEWER_CSS = """
:root{color-scheme:light;font-family:"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC",
"WenQuanYi Micro Hei",system-ui,sans-serif}
body{margin:0;background:#f8fafc;color:#0f172a}
header{position:sticky;top:0;background:#fff;border-bottom:1px solid #e2e8f0;padding:10px 16px;z-index:2}
header h1{font-size:17px;margin:0;word-break:break-all}
header .meta{font-size:13px;color:#475569;margin-top:2px}
main{display:flex;flex-wrap:wrap;gap:16px;padding:16px;align-items:flex-start}
.text{flex:3 1 420px;min-width:0;background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:16px;
white-space:pre-wrap;word-break:break-word;line-height:1.8;font-size:15px}
.pages{flex:2 1 320px;min-width:0;position:sticky;top:64px}
.pages figure{margin:0 0 16px;background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:8px}
.pages img{max-width:100%;height:auto;display:block}
.pages figcaption,.page-label{font-size:12px;color:#475569}
.page-label{display:block;margin:12px 0 4px;border-top:1px dashed #cbd5e1;padding-top:4px}
.passage{background:#e0e7ff;border-radius:3px;scroll-margin-top:120px}
mark{background:#fde047;padding:0 1px;border-radius:2px}
.empty{color:#64748b}
"""

#: No script at all, nothing from another origin: the page is text, styles and page images.
VIEWER_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def _clamp_span(start: int | None, end: int | None, n: int) -> tuple[int, int] | None:
    if start is None or end is None:
        return None
    start, end = max(0, min(start, n)), max(0, min(end, n))
    return (start, end) if start < end else None


def _marked_text(text: str, pages: Sequence[Any], passage: tuple[int, int] | None,
                 answer: tuple[int, int] | None) -> str:
    """The text cut at every boundary (page starts, passage, answer), each piece escaped alone."""
    cuts = {0, len(text)}
    labels: dict[int, int] = {}
    for p in pages:
        if 0 <= p.start <= len(text):
            cuts.add(p.start)
            labels.setdefault(p.start, p.page)
    for span in (passage, answer):
        if span:
            cuts.update(span)
    points = sorted(cuts)
    out: list[str] = []
    anchored = False
    for a, b in zip(points, points[1:] + [None]):
        if a in labels:
            out.append(f'<span class="page-label" id="page-{labels[a]}">第 {labels[a]} 页</span>')
        if b is None:
            break
        piece = html.escape(text[a:b])
        if answer and answer[0] <= a and b <= answer[1]:
            piece = f"<mark>{piece}</mark>"
        if passage and passage[0] <= a and b <= passage[1]:
            attr = "" if anchored else ' id="cited"'
            anchored = True
            piece = f'<span class="passage"{attr}>{piece}</span>'
        elif answer and answer[0] <= a and b <= answer[1] and not anchored:
            piece = f'<span id="cited">{piece}</span>'
            anchored = True
        out.append(piece)
    return "".join(out)


def _pages_between(document: Any, start: int, end: int) -> list[int]:
    first, last = document.page_at(start), document.page_at(max(start, end - 1))
    if first is None or last is None:
        return []
    return list(range(first, last + 1))


def render_viewer(document: Any, start: int | None = None, end: int | None = None,
                  astart: int | None = None, aend: int | None = None, kb: str | None = None) -> str:
    """The viewer page of a document at a cited place.

    Args:
        document: a :class:`rag.types.Document`.
        start: the cited passage's start (character offset into ``document.text``).
        end: its end.
        astart: the answer's start.
        aend: its end.
        kb: the knowledge base the document belongs to (None: the server's default).

    Returns:
        A complete HTML page; all text escaped, no script, no outside URL.
    """
    text = document.text
    passage = _clamp_span(start, end, len(text))
    answer = _clamp_span(astart, aend, len(text))
    body = _marked_text(text, document.pages, passage, answer) if text else '<span class="empty">(空文档)</span>'
    figures = []
    around = passage or answer
    if document.pages and around is not None:
        sizes = getattr(document.layout, "sizes", None) or ()
        for n in _pages_between(document, *around):
            src = page_url(document.doc, n, *(answer or (None, None)), kb=kb)
            dims = ""
            if 0 < n <= len(sizes) and all(math.isfinite(v) and v > 0 for v in sizes[n - 1]):
                # width/height attributes reserve the space, so the text does not jump when images load
                w, h = sizes[n - 1]
                dims = f' width="{round(w * PAGE_SCALE)}" height="{round(h * PAGE_SCALE)}"'
            figures.append(f'<figure><img src="{html.escape(src)}" alt="第 {n} 页"{dims}>'
                           f"<figcaption>第 {n} 页</figcaption></figure>")
    where = []
    if document.pages:
        where.append(f"{document.page_count} 页")
        if around is not None:
            where.append("引用在 " + "、".join(f"第 {n} 页" for n in _pages_between(document, *around)))
    if passage:
        where.append(f"字符 {passage[0]}–{passage[1]}")
    meta = " · ".join([html.escape(str(document.format))] + where)
    pages_html = f'<aside class="pages">{"".join(figures)}</aside>' if figures else ""
    title = html.escape(document.doc)
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{title} · 原文</title><style>{VIEWER_CSS}</style></head><body>"
            f'<header><h1>{title}</h1><div class="meta">{meta}</div></header>'
            f'<main><article class="text">{body}</article>{pages_html}</main></body></html>')


# --- the routes -------------------------------------------------------------------------------

def _int_param(request: Any, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f'"{name}" 应为整数 / "{name}" must be an integer') from None


def add_document_routes(app: Any, kbs: Any, settings: Any) -> None:
    """Register the document routes and the viewer on a FastAPI app.

    Every route takes ``?kb=NAME`` (default: the server's knowledge base); an unknown one is a 404.

    Args:
        app: the FastAPI app.
        kbs: the :class:`rag.kb.KnowledgeBases` served (its ``library(name)`` adds and removes documents).
        settings: the :class:`rag.config.Settings` (``ingest`` limits).
    """
    import anyio
    from fastapi import Request
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from starlette.formparsers import MultiPartException, MultiPartParser
    from starlette.datastructures import UploadFile

    from rag.errors import DocumentError, KnowledgeBaseError, RagError, SettingsError
    from rag.library import Upload

    ingest = settings.ingest
    max_body = int(float(ingest.max_upload_mb) * 1024 * 1024) + MULTIPART_SLACK
    max_files = int(ingest.max_files)

    def error(message: object, status: int, **extra: Any) -> Any:
        return JSONResponse({"error": one_line(message), **extra}, status_code=status)

    class _NoKb(Exception):
        pass

    def library(request: Request) -> Any:
        """The library of the knowledge base the request names."""
        try:
            return kbs.library(request.query_params.get("kb") or None)
        except (KnowledgeBaseError, SettingsError) as exc:
            raise _NoKb(exc) from None

    def no_kb(handler: Any) -> Any:
        """The route, answering 404 for an unknown or malformed ``kb`` (a blocking route stays
        synchronous, so FastAPI still runs it off the event loop)."""
        if inspect.iscoroutinefunction(handler):
            @functools.wraps(handler)
            async def async_route(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await handler(*args, **kwargs)
                except _NoKb as exc:
                    return error(exc.args[0], 404)
            return async_route

        @functools.wraps(handler)
        def route(*args: Any, **kwargs: Any) -> Any:
            try:
                return handler(*args, **kwargs)
            except _NoKb as exc:
                return error(exc.args[0], 404)
        return route

    class _TooLarge(Exception):
        pass

    async def limited(request: Request) -> Any:
        """The body, refused as soon as it grows past the upload limit (never all read into memory)."""
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > max_body:
                raise _TooLarge
            yield chunk

    too_large = (f"上传超过总大小上限 {ingest.max_upload_mb:g} MB / upload larger than the limit of "
                 f"{ingest.max_upload_mb:g} MB (ingest.max_upload_mb)")

    @app.post("/api/documents")
    @no_kb
    async def post_documents(request: Request) -> Any:
        """Add files (multipart field ``files``); 202 with the job, or the final statuses with ``?wait=true``."""
        lib = library(request)
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_body:
            return error(too_large, 413)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return error('请用 multipart/form-data 上传, 字段名 "files" / expected multipart/form-data '
                         'with one or more "files" fields', 400)
        try:
            # one more file than allowed is let through so that the library's check names the limit
            parser = MultiPartParser(request.headers, limited(request), max_files=max_files + 1, max_fields=20)
            form = await parser.parse()
        except _TooLarge:
            return error(too_large, 413)
        except MultiPartException as exc:
            return error(f"上传格式错误 / malformed upload: {exc}", 400)
        try:
            parts = [v for k, v in form.multi_items() if k == "files" and isinstance(v, UploadFile)]
            if not parts:
                return error('没有文件: 请用字段名 "files" 上传 / no file: send one or more "files" fields', 400)
            uploads = []
            for part in parts:
                uploads.append(Upload(name=part.filename or "upload", data=await part.read()))
        finally:
            await form.close()
        try:
            lib.check(uploads)
            job = lib.submit(uploads)
        except DocumentError as exc:
            return error(exc, error_status(exc))
        except RagError as exc:     # e.g. a system over an in-memory corpus: nowhere to store files
            return error(exc, 409)
        if request.query_params.get("wait", "").lower() not in ("1", "true", "yes"):
            return JSONResponse(job_json(job), status_code=202)
        with anyio.move_on_after(WAIT_LIMIT_S):
            while not job.finished:
                await anyio.sleep(0.1)
                job = lib.job(job.id) or job
        body = job_json(job)
        if job.finished and not any(f.state == "done" for f in job.files):
            first = next((f for f in job.files if f.state in ("failed", "duplicate")), None)
            if first is not None:
                status = error_status(DocumentError(first.message, first.kind) if first.kind else first.message)
                return error(first.message, status, job=body["job"], files=body["files"])
        return JSONResponse(body, status_code=200 if job.finished else 202)

    @app.get("/api/jobs/{job_id}")
    @no_kb
    def get_job(job_id: str, request: Request) -> Any:
        """One upload's progress."""
        job = library(request).job(job_id)
        if job is None:
            return error(f"没有这个任务 / unknown job: {job_id}", 404)
        return job_json(job)

    @app.get("/api/documents")
    @no_kb
    def list_documents(request: Request) -> Any:
        """The indexed documents."""
        return {"documents": [asdict(d) for d in library(request).list()]}

    class _NotFound(Exception):
        pass

    def load(lib: Any, doc: str) -> Any:
        try:
            return lib.document(doc)
        except DocumentError as exc:
            raise _NotFound(exc) from None

    @app.delete("/api/documents/{doc:path}")
    @no_kb
    def delete_document(doc: str, request: Request) -> Any:
        """Remove a document and rebuild the index without it."""
        lib = library(request)
        try:
            return asdict(lib.remove(doc))
        except DocumentError as exc:
            return error(exc, 404)
        except RagError as exc:
            return error(exc, 409)

    @app.get("/api/documents/{doc:path}/text")
    @no_kb
    def document_text(doc: str, request: Request) -> Any:
        """The document's text (what every offset points into), its pages and headings."""
        try:
            return text_json(load(library(request), doc))
        except _NotFound as exc:
            return error(exc, 404)

    @app.get("/api/documents/{doc:path}/pages/{page}.png")
    @no_kb
    def page_image(doc: str, page: str, request: Request) -> Any:
        """A PDF page as PNG, with the boxes of ``text[start:end]`` drawn when given."""
        lib = library(request)
        try:
            document = load(lib, doc)
        except _NotFound as exc:
            return error(exc, 404)
        if not page.isdigit() or not 1 <= int(page) <= document.page_count:
            return error(f"{doc}: 没有第 {page} 页 / no page {page} (the document has "
                         f"{document.page_count} pages)", 404)
        try:
            start, end = _int_param(request, "start"), _int_param(request, "end")
        except ValueError as exc:
            return error(exc, 400)
        n = int(page)
        boxes: tuple[Any, ...] = ()
        if start is not None and end is not None and start < end:
            boxes = tuple(b for b in lib.boxes(doc, max(0, start), min(end, len(document.text))) if b.page == n)
        try:
            png = lib.page_png(doc, n, boxes, scale=PAGE_SCALE)
        except DocumentError as exc:
            return error(exc, 404)
        if boxes and request.query_params.get("crop", "") in ("1", "true"):
            png = crop_band(png, boxes, PAGE_SCALE)
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-cache"})

    @app.get("/view/{doc:path}")
    @no_kb
    def view(doc: str, request: Request) -> Any:
        """The document's text at a cited place, and the page images of a PDF."""
        try:
            document = load(library(request), doc)
        except _NotFound as exc:
            page = f'<!doctype html><meta charset="utf-8"><title>未找到</title><p>{html.escape(one_line(exc))}</p>'
            return HTMLResponse(page, status_code=404, headers={"Content-Security-Policy": VIEWER_CSP})
        try:
            spans = [_int_param(request, k) for k in ("start", "end", "astart", "aend")]
        except ValueError as exc:
            return error(exc, 400)
        kb = request.query_params.get("kb") or None
        return HTMLResponse(render_viewer(document, *spans, kb=kb), headers={"Content-Security-Policy": VIEWER_CSP})
