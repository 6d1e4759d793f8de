"""The whole system behind one object: corpus → index → retrieval → answer.

The CLI, the web UI and the benchmarks all go through :class:`QASystem`, so
they answer alike. The model and the index are loaded once per object; a
stale or missing index is (re)built on first use.

Example (loads the real model, so not run as a doctest)::

    qa = QASystem("corpus", "index")
    ans = qa.ask("湖北到2025年人工智能产业规模超过多少?")
    ans.answer           # '1500亿元'
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from pathlib import Path

from rag.answer.boundaries import ExpectedBoundaries
from rag.answer.crosslingual import CrossLingualAnswerer
from rag.answer.protocol import Answerer
from rag.answer.rules import RuleAnswerer
from rag.answer.step import AnswerStep, ScriptFolding
from rag.answer.with_reader import ReaderAnswerer
from rag.choices import RetrievalMode
from rag.config import Settings
from rag.embed.protocol import Encoder
from rag.errors import CorpusError, DocumentError, UsageError
from rag.index.build import BuildReport, Progress, build_index, plan_update
from rag.index.factory import open_store
from rag.index.lock import IndexLock
from rag.index.protocol import IndexBackend
from rag.index.store import StoredIndex
from rag.ingest.documents import SourceFile, read_source, scan_corpus
from rag.ingest.layout import boxes_of
from rag.query.analyse import QueryAnalyser
from rag.query.types import Query
from rag.reader.protocol import SpanReader
from rag.retrieve.retriever import Retriever
from rag.types import Answer, Document, Passage, Span

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Live:
    """Everything one question uses, made from one index generation and swapped as a whole: a
    question takes it once, so it is answered from one generation even while another is loaded."""

    index: StoredIndex
    retriever: Retriever
    analyser: QueryAnalyser
    step: AnswerStep
    reader: SpanReader | None
    generation: object = None       # the store's name of the generation (shared stores), to notice a new one
    checked: float = 0.0            # when the store was last asked which generation is live


class QASystem:
    """Question answering over one corpus directory with one index directory.

    A question goes down once: :meth:`analyse` (validated, folded, follow-up resolved, typed) →
    :meth:`retrieve` → :meth:`answer_query`. :meth:`answer` answers from passages given by the
    caller (the benchmarks' gold-paragraph rows).
    """

    def __init__(self, corpus_dir: Path | str = "corpus", index_dir: Path | str = "index",
                 settings: Settings | None = None, encoder: Encoder | None = None,
                 documents: Sequence[Document] | None = None):
        """Nothing is loaded or built until first use.

        Args:
            corpus_dir: the folder of documents (ignored when ``documents`` is given).
            index_dir: where the index lives.
            settings: the configuration (default :meth:`Settings.from_env`).
            encoder: an embedding model to share (default: the one ``settings.embed`` names).
            documents: an in-memory corpus instead of a folder (the benchmarks' paragraphs).
        """
        self.corpus_dir = Path(corpus_dir)
        self._given_docs = list(documents) if documents is not None else None
        self.settings = settings or Settings.from_env()
        self.store: IndexBackend = open_store(self.settings.store, index_dir)
        self._encoder = encoder
        self._live: _Live | None = None
        self._docs: dict[str, Document] = {}
        self._converted: dict[str, Document] = {}   # converted by the caller, not yet indexed
        self._skipped: dict[str, list[str]] = {}    # unreadable files of the last corpus read
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()

    @property
    def encoder(self) -> Encoder:
        """The embedding model, loaded on first use."""
        if self._encoder is None:
            from rag.embed.factory import make_encoder

            self._encoder = make_encoder(self.settings)
        return self._encoder

    def documents(self) -> list[Document]:
        """Load the corpus afresh: a file whose bytes the index already holds is not converted again.

        Returns:
            The documents.

        Raises:
            CorpusError: missing or empty corpus.
        """
        if self._given_docs is not None:
            docs = list(self._given_docs)
        else:
            docs = self._read_corpus()
            if not docs:
                raise CorpusError(f"no readable document in {self.corpus_dir}")
        self._docs = {d.doc: d for d in docs}
        return docs

    def _read_corpus(self, sources: Sequence[SourceFile] | None = None) -> list[Document]:
        """The corpus folder's documents (or those of ``sources``): stored ones reused, new or changed
        files converted, unreadable ones recorded in ``self._skipped`` (and not tried again while unchanged)."""
        manifest = self.store.read_manifest()
        known = self.store.read_documents() if manifest is not None else {}
        was_skipped = manifest.skipped if manifest is not None else {}
        docs: list[Document] = []
        ocr = self.settings.ingest.ocr.value
        self._skipped = {}
        for src in scan_corpus(self.corpus_dir) if sources is None else sources:
            entry = manifest.documents.get(src.doc) if manifest is not None else None
            if entry is not None and entry.source_sha256 == src.sha256 and src.doc in known:
                docs.append(known[src.doc])
                continue
            # Retried when the bytes or the OCR setting change (a scan skipped with OCR off is read
            # once OCR is on).
            if src.doc in was_skipped and was_skipped[src.doc][0::2] == [src.sha256, ocr]:
                self._skipped[src.doc] = was_skipped[src.doc]
                log.info("still skipping %s", was_skipped[src.doc][1])
                continue
            ready = self._converted.pop(src.doc, None)
            try:
                docs.append(ready if ready is not None and ready.source_sha256 == src.sha256
                            else read_source(src, self.settings.ingest))
            except DocumentError as exc:
                log.warning("skipping %s", exc)
                self._skipped[src.doc] = [src.sha256, str(exc), ocr]
        return docs

    def skipped_now(self) -> dict[str, str]:
        """Files of the corpus that could not be read in the last read of the corpus, and why."""
        return {d: entry[1] for d, entry in self._skipped.items()}

    def skipped(self) -> dict[str, str]:
        """Files of the corpus that could not be read, and why (as of the last build or check)."""
        manifest = self.store.read_manifest()
        return {d: entry[1] for d, entry in (manifest.skipped if manifest is not None else {}).items()}

    def remember(self, docs: Sequence[Document]) -> None:
        """Documents just converted from files written into the corpus, so the next build does
        not convert them again (used only while their ``source_sha256`` matches the file).

        Args:
            docs: the converted documents.
        """
        self._converted.update({d.doc: d for d in docs})

    def document(self, doc: str) -> Document:
        """An indexed document: its text (what offsets point into), pages, headings and layout.

        Args:
            doc: the document id.

        Returns:
            The document as the index holds it.

        Raises:
            DocumentError: no such document.
        """
        found = self.index.documents.get(doc) if self._given_docs is None else None
        if found is None:
            if doc not in self._docs:
                self.documents()
            found = self._docs.get(doc)
        if found is None:
            raise DocumentError(f"no document {doc!r} in the index", "not_found")
        return found

    def document_text(self, doc: str) -> str:
        """The text of a document that offsets refer to (the decoded or converted text).

        Args:
            doc: the document id.

        Returns:
            Its text.

        Raises:
            DocumentError: no such document.
        """
        return self.document(doc).text

    def is_stale(self) -> bool:
        """Whether the stored index differs from the corpus or settings (no model, no conversion)."""
        manifest = self.store.read_manifest()
        if manifest is None:
            return True
        if self._given_docs is not None:
            return not plan_update(self._given_docs, manifest, self.settings.index_params()).up_to_date
        if manifest.mismatch(self.settings.index_params()):
            return True
        sources = {s.doc: s.sha256 for s in scan_corpus(self.corpus_dir)}
        known = {d: e.source_sha256 for d, e in manifest.documents.items()}
        known.update({d: entry[0] for d, entry in manifest.skipped.items()
                      if entry[2:] == [self.settings.ingest.ocr.value]})
        return sources != known

    def build(self, show_progress: bool = False, force: bool = False,
              progress: Progress | None = None, lock_wait: float | None = None) -> BuildReport:
        """Bring the index up to date with the corpus (only changed documents are converted and embedded).

        Questions asked meanwhile are answered from the previous index; the new one replaces it
        when it is complete.

        Args:
            show_progress: draw a progress bar while embedding.
            force: rebuild everything.
            progress: called as each new document's chunks are embedded.
            lock_wait: seconds to wait for another writer (default ``store.lock_wait_s``).

        Returns:
            What the build did.

        Raises:
            StoreError: the index cannot be written (one line; the previous one is unchanged), or
                another process held the write lock too long (:class:`~rag.index.lock.IndexBusyError`).
        """
        with self._lock, self.write_lock(lock_wait):
            docs = self.documents()
            skipped = self._skipped if self._given_docs is None else {}
            index, report = build_index(docs, self.settings, self.encoder, self.store, show_progress=show_progress,
                                        force=force, progress=progress, skipped=skipped)
            self._use(index, self.store.current_path())
            return report

    def write_lock(self, wait: float | None = None) -> contextlib.AbstractContextManager[Any]:
        """The index's write lock across processes (:mod:`rag.index.lock`): a second writer waits up
        to ``store.lock_wait_s``, saying who writes, then gives up with
        :class:`~rag.index.lock.IndexBusyError`. A Milvus server has none (its alias swap is atomic)."""
        path = self.store.lock_path
        if path is None:
            return contextlib.nullcontext()
        wait = self.settings.store.lock_wait_s if wait is None else wait
        return IndexLock(path, wait=wait, on_wait=lambda m: log.warning("%s", m))

    def build_shard(self, generation: str, shard: int, shards: int, show_progress: bool = False) -> BuildReport:
        """Embed one slice of the corpus into ``generation`` of a shared store, not yet live
        (``rag index --generation G --shard I/N``, on any number of machines; then :meth:`publish`).

        A document's slice is a stable hash of its id (:func:`rag.index.milvus_store.shard_of`); only
        this slice's files are converted, and those the live generation already holds unchanged are
        not embedded again.

        Args:
            generation: the build's label.
            shard: this slice, 1..``shards``.
            shards: how many slices.
            show_progress: draw a progress bar while embedding.

        Returns:
            What the build did (its plan is against the live generation, so other slices show as removed).

        Raises:
            UsageError: the store is not a shared one (FAISS files).
        """
        from rag.index.milvus_store import shard_of

        if not hasattr(self.store, "shard"):
            raise UsageError("a sharded build needs a shared store: --store milvus://host[:port] (or milvus:<file>)")
        sources = scan_corpus(self.corpus_dir)
        target = self.store.shard(generation, shard, shards, [(s.doc, s.sha256) for s in sources])
        with self._lock:
            docs = self._read_corpus([s for s in sources if shard_of(s.doc, shards) == shard])
            skipped = dict(self._skipped)
            if not docs:
                target.write_marker(0, 0, skipped)
                return BuildReport(plan_update([], None), 0, 0, 0.0, written=True)
            index, report = build_index(docs, self.settings, self.encoder, target, show_progress=show_progress,
                                        skipped=skipped)
            if not report.written:      # nothing changed against the live generation: still a shard to publish
                target.save(index, skipped)
            return report

    def publish(self, generation: str) -> Any:
        """Make the finished shards of ``generation`` the live index (``rag index --publish G``).

        Returns:
            The :class:`rag.index.milvus_store.PublishReport`.

        Raises:
            UsageError: the store is not a shared one.
            StoreError: a shard is missing or unfinished, or the counts do not add up.
        """
        if not hasattr(self.store, "publish"):
            raise UsageError("--publish needs a shared store: --store milvus://host[:port] (or milvus:<file>)")
        with self._lock, self.write_lock():
            return self.store.publish(generation, self.settings.index_params(), self.settings.index.hnsw_min_chunks)

    def ensure_index(self, show_progress: bool = False) -> BuildReport | None:
        """Load the index, building or updating it first if it is missing or stale.

        Args:
            show_progress: draw a progress bar if a build is needed.

        Returns:
            The build report, or None when the stored index was used as it was.
        """
        if self._live is not None:
            if self.store.shared and self._given_docs is None:
                self._refresh_shared()
            return None
        if self.store.shared and self._given_docs is None:
            return self._use_shared()
        if self.is_stale():
            return self._update_or_keep(show_progress)
        with self._lock:
            generation = self.store.current_path()
            index = self.store.load()
        if index is None:
            return self.build(show_progress=show_progress)
        self._use(index, generation)
        return None

    def _update_or_keep(self, show_progress: bool) -> BuildReport | None:
        """Update a stale index; if that cannot be done now (another process is writing it, or the
        folder cannot be written), answer from the index as it is, with a warning, rather than not at all."""
        from rag.errors import StoreError

        with self._lock:
            generation = self.store.current_path()
            previous = self.store.load() if generation is not None else None
        try:
            # with an index in hand, do not queue behind another writer: its result comes next time
            return self.build(show_progress=show_progress, lock_wait=0.0 if previous is not None else None)
        except StoreError as exc:
            if previous is None:
                raise
            log.warning("answering from the index as it was: %s", exc)
            self._use(previous, generation)
            return None

    def _use_shared(self) -> None:
        """Serve a shared store (Milvus) as it is: ``rag index`` writes it, perhaps from another machine
        with the corpus, so a question never rebuilds it, and one built with other settings is refused
        rather than overwritten.

        Raises:
            StoreError: no index there yet, or one built with other model or chunking settings.
        """
        from rag.errors import StoreError

        with self._lock:
            generation = self.store.current_path()
            index = self.store.load()
        if index is None:
            raise StoreError(f"no index in {self.store.location}: build it with rag index --store {self.settings.store.uri}")
        why = index.manifest.mismatch(self.settings.index_params())
        if why:
            raise StoreError(f"the index in {self.store.location} was built with other settings ({why}); "
                             f"rebuild it with rag index --store {self.settings.store.uri}, or use its settings")
        self._use(index, generation)

    def _refresh_shared(self) -> None:
        """Load the generation a shared store now names, if it is another one (checked at most every
        ``store.refresh_seconds``): servers pick up a rebuild made elsewhere without a restart."""
        live = self._live
        now = time.monotonic()
        if live is None or now - live.checked < self.settings.store.refresh_seconds:
            return
        if not self._refreshing.acquire(blocking=False):
            return   # another thread is asking; this question uses the generation in hand
        try:
            self._refresh_from(live, now)
        finally:
            self._refreshing.release()

    def _refresh_from(self, live: _Live, now: float) -> None:
        try:
            current = self.store.current_path()
        except Exception as exc:  # noqa: BLE001 - a store that stops answering: keep the generation in hand
            log.warning("could not ask %s for its generation (%s)", self.store.location, exc)
            self._live = replace(live, checked=now)
            return
        if current == live.generation:
            self._live = replace(live, checked=now)
            return
        log.info("the index in %s is now %s; loading it", self.store.location, current)
        try:
            self._use_shared()
        except Exception as exc:  # noqa: BLE001 - keep answering from the generation in hand
            log.warning("could not load the new generation (%s); still answering from %s", exc, live.generation)
            self._live = replace(live, checked=now)

    def _use(self, index: StoredIndex, generation: object = None) -> None:
        # Everything is made first and switched together, so that a question being answered in
        # another thread sees either the old index or the new one, never a mix.
        retriever = Retriever(index, self.encoder, self.settings)
        vocab, idf = index.bm25.vocab, index.bm25.idf
        analyser = QueryAnalyser(self.settings, vocab)
        rules = RuleAnswerer(self.settings, {t: float(idf[n]) for t, n in vocab.items()})
        from rag.reader.selection import load_reader

        reader = load_reader(self.settings, lazy=True)
        chinese: Answerer = ReaderAnswerer(reader, rules, self.settings) if reader is not None else rules
        english: Answerer = CrossLingualAnswerer(self.encoder, self.settings)
        if self.settings.answer.expected_boundaries:
            chinese, english = ExpectedBoundaries(chinese), ExpectedBoundaries(english)
        step = AnswerStep(ScriptFolding(chinese, self.settings.index.fold_scripts), english)
        self._live = _Live(index, retriever, analyser, step, reader, generation, time.monotonic())

    @property
    def generation(self) -> str | None:
        """The index generation answering now: its version folder (FAISS) or collection (Milvus)."""
        live = self._current()
        return None if live.generation is None else str(live.generation)

    def _current(self) -> _Live:
        """The snapshot a question uses (the index loaded or built first)."""
        self.ensure_index()
        assert self._live is not None
        return self._live

    def load_reader(self) -> None:
        """Load the reader now rather than on the first question (a server does, so that a broken
        weights file stops it at start and the first person does not wait).

        Raises:
            ReaderWeightsError: the weights cannot be loaded.
        """
        load = getattr(self._current().reader, "load", None)
        if load is not None:
            load()

    def uses_reader(self) -> bool:
        """Whether answers come from the trained reader (else from the rules alone)."""
        return self._current().reader is not None

    def reader_info(self) -> dict | None:
        """Which reader answers: its weights file and training metadata, or None (rules)."""
        if not self.uses_reader():
            return None
        from rag.reader.selection import describe, reader_files

        return {**describe(reader_files(self.settings) or ()), "runtime": self.settings.reader.runtime.value}

    @property
    def loaded(self) -> bool:
        """Whether an index is in hand (loading one may mean building it)."""
        return self._live is not None

    @property
    def index(self) -> StoredIndex:
        """The loaded index (built if needed)."""
        return self._current().index

    def analyse(self, question: str, history: Sequence[str] | None = None) -> Query:
        """A question analysed once for the stages below, against this index's vocabulary
        (:meth:`rag.query.analyse.QueryAnalyser.analyse`; raises ``QuestionError`` for an empty or
        over-long question)."""
        return self._current().analyser.analyse(question, history)

    def retrieve(self, query: Query, top_k: int | None = None,
                 mode: RetrievalMode | str = RetrievalMode.HYBRID) -> list[Passage]:
        """Ranked passages for an analysed question.

        Args:
            query: from :meth:`analyse`.
            top_k: how many (default ``settings.retrieval.top_k``).
            mode: a :class:`~rag.choices.RetrievalMode` or its name.

        Returns:
            Passages, best first.

        Raises:
            SettingsError: an unknown mode.
        """
        return self._current().retriever.search(query, top_k=top_k, mode=mode)

    def retrieve_within(self, query: Query, doc: str, top_k: int | None = None) -> list[Passage]:
        """The passages of one document only, ranked as if it were the whole corpus (same scores, same fusion).

        Args:
            query: from :meth:`analyse`.
            doc: the document id.
            top_k: how many (default ``settings.retrieval.top_k``).

        Returns:
            Passages, best first (empty for an unknown document).
        """
        live = self._current()
        return live.retriever.search_rows(query, live.index.chunks_of(doc), top_k=top_k)

    def search(self, query: str, top_k: int | None = None,
               mode: RetrievalMode | str = RetrievalMode.HYBRID) -> list[Passage]:
        """Ranked passages for a query as typed.

        Args:
            query: the query.
            top_k: how many (default ``settings.retrieval.top_k``).
            mode: a :class:`~rag.choices.RetrievalMode` or its name.

        Returns:
            Passages, best first.

        Raises:
            QuestionError: empty or over-long query.
            SettingsError: an unknown mode.
        """
        live = self._current()
        return live.retriever.search(live.analyser.analyse(query), top_k=top_k, mode=mode)

    def answer_query(self, query: Query, passages: Sequence[Passage], top_k: int | None = None) -> Answer:
        """Answer an analysed question from the given passages (nothing is retrieved).

        Args:
            query: from :meth:`analyse`.
            passages: ranked best first.
            top_k: how many passages to cite (default: all given).

        Returns:
            The answer.
        """
        return self._answer_with(self._current(), query, passages, top_k)

    @staticmethod
    def _answer_with(live: _Live, query: Query, passages: Sequence[Passage], top_k: int | None) -> Answer:
        """Answer from ``live`` alone, with the answer's page and, for a PDF with a text layer, the
        boxes of its characters."""
        ans = live.step.answer(query, passages, top_k=top_k)
        span = ans.answer_span
        doc = live.index.documents.get(span.doc) if span is not None else None
        if span is None or doc is None or not doc.pages:
            return ans
        located = Span(span.doc, span.start, span.end, doc.page_at(span.start), boxes_of(doc, span.start, span.end))
        return replace(ans, answer_span=located)

    def answer(self, question: str, passages: Sequence[Passage], top_k: int | None = None) -> Answer:
        """Answer a question from passages the caller chose (e.g. one gold paragraph's chunks).

        Args:
            question: the question as typed.
            passages: ranked best first.
            top_k: how many passages to cite (default: all given).

        Returns:
            The answer.

        Raises:
            QuestionError: empty or over-long question.
        """
        return self.answer_query(self.analyse(question), passages, top_k=top_k)

    def ask(self, question: str, top_k: int | None = None, history: Sequence[str] | None = None,
            mode: RetrievalMode | str = RetrievalMode.HYBRID) -> Answer:
        """Answer a question with a verbatim span and its citations.

        A follow-up (``那宁夏呢?`` after ``成都每年发放多少算力券?``) is resolved against
        ``history`` into a self-contained question (:mod:`rag.query.followup`) that retrieval and
        answering use. Traditional and simplified Chinese match each other (:mod:`rag.text.folding`);
        a question without Chinese characters is answered cross-lingually (:mod:`rag.answer.crosslingual`).

        Args:
            question: the question.
            top_k: how many passages to cite (default ``settings.retrieval.top_k``).
            history: earlier questions of the same conversation, oldest first, as typed.
            mode: retrieval mode, as in :meth:`retrieve`.

        Returns:
            The answer (``answer`` None when the documents do not hold it). Its ``question`` is
            the one given; ``resolved_question`` is the rewritten follow-up, or None.

        Raises:
            QuestionError: empty or over-long question.
            SettingsError: an unknown mode.
        """
        live = self._current()   # one generation for the whole question
        query = live.analyser.analyse(question, history)
        top_k = top_k or self.settings.retrieval.top_k
        passages = live.retriever.search(query, top_k=max(top_k, 3), mode=mode)
        return self._answer_with(live, query, passages, top_k)
