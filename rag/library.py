"""Adding and removing people's files: what ``rag add`` / ``rag remove``, the upload panel and
``/api/documents`` share.

A file is checked (size, count, type by content, duplicate by the hash of its bytes), converted,
stored under the corpus directory with a safe name, and indexed; the index is switched only when
the new one is complete, so questions asked meanwhile are answered from the previous one. A file
that fails is not kept, and nothing already indexed is lost. Writes are serialised per process.

Example (loads the real model, so not run as a doctest)::

    lib = Library(QASystem("corpus", "index"))
    [status] = lib.add([Upload("报告.pdf", open("报告.pdf", "rb").read())])
    status.state, status.doc     # ('done', '报告.pdf')
    lib.remove("报告.pdf")

>>> safe_name("../../etc/passwd"), safe_name("..\\\\a:b?.pdf"), safe_name("  .bashrc ")
('passwd', 'a_b_.pdf', 'bashrc')
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rag.errors import DocumentError, RagError
from rag.ingest.documents import SUFFIXES, check_size, convert_bytes
from rag.ingest.layout import boxes_of
from rag.pipeline import QASystem
from rag.types import Box, Document

log = logging.getLogger(__name__)

#: The longest stored file name, in characters (the suffix is kept).
MAX_NAME_CHARS = 120
#: Jobs remembered for the progress display.
_KEEP_JOBS = 50
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*\\/]')


@dataclass(frozen=True)
class Upload:
    """One file as received: the name it was given and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class DocInfo:
    """One indexed document, as listed."""

    doc: str
    format: str
    pages: int
    chunks: int
    chars: int
    size: int
    added_at: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileStatus:
    """Where one uploaded file stands.

    ``state``: ``queued``, ``converting``, ``embedding`` (``done`` of ``total`` chunks), ``done``,
    ``duplicate`` (``doc`` is the document already holding the same bytes) or ``failed``
    (``message`` says why, in one line).
    """

    name: str
    doc: str | None = None
    state: str = "queued"
    done: int = 0
    total: int = 0
    message: str = ""
    kind: str = ""          # a failure's :attr:`DocumentError.kind` ("duplicate" for a duplicate)


class Job:
    """A background upload: its files' statuses, updated as it runs."""

    def __init__(self, names: Sequence[str]):
        self.id = uuid.uuid4().hex[:12]
        self._files = [FileStatus(n) for n in names]
        self._lock = threading.Lock()
        self.finished = False
        self.started_at = time.time()

    @property
    def files(self) -> tuple[FileStatus, ...]:
        """A consistent snapshot of every file's status."""
        with self._lock:
            return tuple(self._files)

    def update(self, n: int, status: FileStatus) -> None:
        """Set file ``n``'s status."""
        with self._lock:
            self._files[n] = status

    def to_json(self) -> dict:
        """``{"job", "finished", "files": [...]}`` for the API."""
        return {"job": self.id, "finished": self.finished, "files": [s.__dict__ for s in self.files]}


def safe_name(name: str) -> str:
    """A file name that stays inside the corpus directory: no folders, no control or reserved
    characters, no leading dot, at most :data:`MAX_NAME_CHARS` characters.

    Args:
        name: the name as uploaded (may hold a path, from any system).

    Returns:
        A non-empty name (``"upload"`` when nothing is left).
    """
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip().lstrip(".").strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    suffix = f".{suffix}" if suffix else ""
    stem = stem.strip()[: MAX_NAME_CHARS - len(suffix)] or "upload"
    return stem + suffix


class Library:
    """The documents of one :class:`~rag.pipeline.QASystem` that people add and remove."""

    def __init__(self, qa: QASystem):
        self.qa = qa
        self.limits = qa.settings.ingest
        self.root = qa.corpus_dir
        self._write = threading.Lock()
        self._jobs: dict[str, Job] = {}

    # -- reading --------------------------------------------------------------------------------

    def list(self) -> list[DocInfo]:
        """The indexed documents, in index order."""
        index = self.qa.index
        out = []
        for doc, entry in index.manifest.documents.items():
            d = index.documents.get(doc)
            path = self._path(doc)
            size = path.stat().st_size if path.is_file() else 0
            out.append(DocInfo(doc, entry.format, entry.pages, entry.chunks, len(d.text) if d else 0, size,
                               entry.added_at, d.warnings if d else ()))
        return out

    def document(self, doc: str) -> Document:
        """An indexed document (text, pages, headings, layout).

        Raises:
            DocumentError: no such document.
        """
        return self.qa.document(doc)

    def text(self, doc: str) -> str:
        """The text that every offset into ``doc`` points into."""
        return self.document(doc).text

    def boxes(self, doc: str, start: int, end: int) -> tuple[Box, ...]:
        """The boxes of ``text[start:end]`` of a PDF document, merged per line (``()`` otherwise)."""
        return boxes_of(self.document(doc), start, end)

    def page_png(self, doc: str, page: int, boxes: Sequence[Box] = (), scale: float = 1.5) -> bytes:
        """A PDF page as PNG, with ``boxes`` drawn over it (translucent yellow, orange outline).

        Args:
            doc: a PDF document id.
            page: 1-based page number.
            boxes: boxes to draw (those of other pages are ignored).
            scale: pixels per PDF point.

        Returns:
            PNG bytes.

        Raises:
            DocumentError: not a PDF, no such page, or the file changed since it was indexed.
        """
        d = self.document(doc)
        if d.format != "pdf" or d.layout is None and not d.pages:
            raise DocumentError(f"{doc}: not a PDF, it has no page images", "not_found")
        if not 1 <= page <= max(d.page_count, len(d.layout.sizes) if d.layout else 0):
            raise DocumentError(f"{doc}: no page {page}", "not_found")
        try:
            data = self._path(doc).read_bytes()
        except OSError:
            raise DocumentError(f"{doc}: the file is no longer in the corpus", "not_found") from None
        if d.source_sha256 and hashlib.sha256(data).hexdigest() != d.source_sha256:
            raise DocumentError(f"{doc}: the file changed since it was indexed; index it again", "not_found")
        from PIL import Image, ImageDraw

        from rag.ingest.formats.pdf import render_page

        image = render_page(data, page, scale).convert("RGBA")
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for b in boxes:
            if b.page == page:
                rect = (b.x0 * scale - 1, b.y0 * scale - 1, b.x1 * scale + 1, b.y1 * scale + 1)
                draw.rectangle(rect, fill=(255, 220, 0, 90), outline=(230, 120, 0, 255), width=2)
        out = io.BytesIO()
        image.alpha_composite(overlay)
        image.convert("RGB").save(out, format="PNG", optimize=True)
        return out.getvalue()

    # -- writing --------------------------------------------------------------------------------

    def check(self, uploads: Sequence[Upload]) -> None:
        """Refuse an upload at once when it breaks a limit (nothing is stored).

        Raises:
            DocumentError: no files, too many, one too large, or all together too large.
        """
        if not uploads:
            raise DocumentError("no file given", "empty")
        if len(uploads) > self.limits.max_files:
            raise DocumentError(f"{len(uploads)} files is over the limit of {self.limits.max_files} per upload "
                                "(ingest.max_files)", "too_large")
        for u in uploads:
            check_size(u.data, u.name, self.limits)
        total = sum(len(u.data) for u in uploads)
        if total > self.limits.max_upload_mb * 1048576:
            raise DocumentError(f"{total / 1048576:.1f} MB in all is over the {self.limits.max_upload_mb:g} MB "
                                "limit for one upload (ingest.max_upload_mb)", "too_large")

    def add(self, uploads: Sequence[Upload],
            on_status: Callable[[int, FileStatus], None] | None = None) -> list[FileStatus]:
        """Check, convert, store and index files; each file succeeds or fails on its own.

        Args:
            uploads: the files.
            on_status: called with ``(file number, status)`` whenever a file's status changes.

        Returns:
            The final status of each file, in order.

        Raises:
            DocumentError: a limit of :meth:`check` (nothing is stored).
        """
        self.check(uploads)
        self._need_folder()
        statuses = [FileStatus(u.name) for u in uploads]

        def say(n: int, status: FileStatus) -> None:
            statuses[n] = status
            if on_status is not None:
                on_status(n, status)

        with self._write:
            fresh = self._convert_all(uploads, say)
            if fresh:
                self._index_new(fresh, statuses, say)
        return statuses

    def submit(self, uploads: Sequence[Upload]) -> Job:
        """Start :meth:`add` in the background and return at once.

        Raises:
            DocumentError: a limit of :meth:`check` (nothing is started).
        """
        self.check(uploads)
        self._need_folder()
        job = Job([u.name for u in uploads])

        def run() -> None:
            try:
                self.add(uploads, job.update)
            except Exception as exc:  # noqa: BLE001 - the job reports it; the log has the trace
                log.exception("upload job %s failed", job.id)
                message = str(exc) if isinstance(exc, RagError) else f"internal error: {type(exc).__name__}"
                for n, s in enumerate(job.files):
                    if s.state not in ("done", "duplicate", "failed"):
                        job.update(n, replace(s, state="failed", message=message))
            finally:
                job.finished = True

        self._jobs[job.id] = job
        for old in list(self._jobs)[:-_KEEP_JOBS]:
            self._jobs.pop(old, None)
        threading.Thread(target=run, name=f"rag-upload-{job.id}", daemon=True).start()
        return job

    def job(self, job_id: str) -> Job | None:
        """A background upload by id (None when unknown or forgotten)."""
        return self._jobs.get(job_id)

    def remove(self, doc: str) -> DocInfo:
        """Delete a document's file and take it out of the index.

        Args:
            doc: the document id.

        Returns:
            What was removed.

        Raises:
            DocumentError: no such document (nothing changes).
        """
        self._need_folder()
        with self._write:
            info = next((i for i in self.list() if i.doc == doc), None)
            path = self._path(doc)
            if info is None:
                raise DocumentError(f"no document {doc!r} in the index", "not_found")
            hidden = path.with_name(f".removing-{uuid.uuid4().hex[:8]}-{path.name}")
            if path.is_file():
                os.replace(path, hidden)
            try:
                self.qa.build()
            except BaseException:
                if hidden.exists():
                    os.replace(hidden, path)   # the index was not switched: put the file back
                raise
            hidden.unlink(missing_ok=True)
            log.info("removed %s", doc)
            return info

    # -- helpers --------------------------------------------------------------------------------

    def _need_folder(self) -> None:
        if getattr(self.qa, "_given_docs", None) is not None:
            raise RagError("this system answers from an in-memory corpus; files cannot be added to it")
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, doc: str) -> Path:
        """The corpus file of a document id, never outside the corpus directory."""
        root = self.root.resolve()
        path = (root / doc).resolve()
        if root not in path.parents:
            raise DocumentError(f"{doc!r} is not a document of this corpus", "not_found")
        return path

    def _convert_all(self, uploads: Sequence[Upload],
                     say: Callable[[int, FileStatus], None]) -> dict[int, tuple[Document, bytes]]:
        """Each file converted under its final name; duplicates and failures are reported, not kept."""
        held = {e.source_sha256: d for d, e in self.qa.index.manifest.documents.items() if e.source_sha256}
        taken = {p.relative_to(self.root).as_posix() for p in self.root.rglob("*")}
        fresh: dict[int, tuple[Document, bytes]] = {}
        for n, u in enumerate(uploads):
            sha = hashlib.sha256(u.data).hexdigest()
            if sha in held:
                say(n, FileStatus(u.name, held[sha], "duplicate", kind="duplicate",
                                  message=f"{u.name}: the same content is already indexed as {held[sha]}"))
                continue
            say(n, FileStatus(u.name, None, "converting"))
            try:
                name = self._stored_name(u, taken)
                doc = convert_bytes(u.data, name, self.limits)
            except DocumentError as exc:
                say(n, FileStatus(u.name, None, "failed", message=str(exc), kind=exc.kind))
                continue
            taken.add(name)
            held[sha] = name
            fresh[n] = (doc, u.data)
            say(n, FileStatus(u.name, name, "embedding", 0, 0))
        return fresh

    def _stored_name(self, upload: Upload, taken: set[str]) -> str:
        """A safe, unused name with the suffix of the content's format."""
        from rag.ingest.formats.detect import SUFFIX_OF, sniff

        name = safe_name(upload.name)
        fmt = sniff(upload.data, name)
        if Path(name).suffix.lower() not in SUFFIXES:
            name += SUFFIX_OF[fmt]
        stem, suffix = Path(name).stem, Path(name).suffix
        n = 2
        while name in taken or (self.root / name).exists():
            name = f"{stem} ({n}){suffix}"
            n += 1
        return name

    def _index_new(self, fresh: dict[int, tuple[Document, bytes]], statuses: list[FileStatus],
                   say: Callable[[int, FileStatus], None]) -> None:
        """Write the converted files into the corpus and index them; on failure take them out again."""
        by_doc = {d.doc: n for n, (d, _) in fresh.items()}
        written: list[Path] = []
        try:
            for d, data in fresh.values():
                written.append(self._write_file(d.doc, data))
            self.qa.remember([d for d, _ in fresh.values()])

            def progress(doc: str, done: int, total: int) -> None:
                if doc in by_doc:
                    n = by_doc[doc]
                    say(n, replace(statuses[n], state="embedding", done=done, total=total))

            self.qa.build(progress=progress)
        except BaseException as exc:
            for p in written:
                p.unlink(missing_ok=True)
            for n in fresh:
                say(n, replace(statuses[n], state="failed", message=str(exc) if isinstance(exc, RagError)
                               else "indexing failed; nothing was changed"))
            if not isinstance(exc, Exception):
                raise
            log.exception("indexing uploads failed")
            return
        for n, (d, _) in fresh.items():
            chunks = self.qa.index.manifest.documents[d.doc].chunks
            say(n, replace(statuses[n], state="done", done=chunks, total=chunks))
            log.info("added %s (%d chunks)", d.doc, chunks)

    def _write_file(self, name: str, data: bytes) -> Path:
        """Write a new corpus file atomically (a reader of the folder never sees half of it)."""
        path = self._path(name)
        tmp = path.with_name(f".upload-{uuid.uuid4().hex[:8]}")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return path
