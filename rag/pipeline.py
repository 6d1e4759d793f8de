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

import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rag import followup, scripts
from rag.answering import Answerer
from rag.config import Settings
from rag.crosslingual import CrossLingualAnswerer
from rag.documents import load_corpus
from rag.indexer import BuildReport, Encoder, build_index, plan_update
from rag.question import validate
from rag.reading import ReaderAnswerer
from rag.retrieval import Retriever
from rag.store import IndexStore, StoredIndex
from rag.types import Answer, Document, Passage

log = logging.getLogger(__name__)


class QASystem:
    """Question answering over one corpus directory with one index directory."""

    def __init__(self, corpus_dir: Path | str = "corpus", index_dir: Path | str = "index",
                 settings: Settings | None = None, encoder: Encoder | None = None):
        self.corpus_dir = Path(corpus_dir)
        self.store = IndexStore(index_dir)
        self.settings = settings or Settings()
        self._encoder = encoder
        self._index: StoredIndex | None = None
        self._retriever: Retriever | None = None
        self._answerer: Answerer | ReaderAnswerer | None = None
        self._crosslingual: CrossLingualAnswerer | None = None
        self._docs: dict[str, Document] = {}
        self._lock = threading.Lock()

    @property
    def encoder(self) -> Encoder:
        """The embedding model, loaded on first use."""
        if self._encoder is None:
            from rag.embeddings import Embedder

            s = self.settings
            self._encoder = Embedder(s.model, s.query_prompt, s.passage_prompt, s.embed_batch_size)
        return self._encoder

    def documents(self) -> list[Document]:
        """Load the corpus afresh.

        Returns:
            The documents.

        Raises:
            CorpusError: missing or empty corpus.
        """
        docs = load_corpus(self.corpus_dir)
        self._docs = {d.doc: d for d in docs}
        return docs

    def document_text(self, doc: str) -> str:
        """The decoded original text of a document (the text offsets refer to).

        Args:
            doc: the document id.

        Returns:
            Its text.
        """
        if doc not in self._docs:
            self.documents()
        return self._docs[doc].text

    def is_stale(self) -> bool:
        """Whether the stored index differs from the corpus or settings (no model needed)."""
        manifest = self.store.read_manifest()
        plan = plan_update(self.documents(), manifest, self.settings.index_params())
        return manifest is None or not plan.up_to_date

    def build(self, show_progress: bool = False, force: bool = False) -> BuildReport:
        """Bring the index up to date with the corpus (only changed documents are embedded).

        Args:
            show_progress: draw a progress bar while embedding.
            force: rebuild everything.

        Returns:
            What the build did.
        """
        with self._lock:
            index, report = build_index(self.documents(), self.settings, self.encoder, self.store,
                                        show_progress=show_progress, force=force)
            self._use(index)
            return report

    def ensure_index(self, show_progress: bool = False) -> BuildReport | None:
        """Load the index, building or updating it first if it is missing or stale.

        Args:
            show_progress: draw a progress bar if a build is needed.

        Returns:
            The build report, or None when the stored index was used as it was.
        """
        if self._retriever is not None:
            return None
        if self.is_stale():
            return self.build(show_progress=show_progress)
        with self._lock:
            index = self.store.load()
        if index is None:
            return self.build(show_progress=show_progress)
        self._use(index)
        return None

    def _use(self, index: StoredIndex) -> None:
        self._index = index
        self._retriever = Retriever(index, self.encoder, self.settings)
        vocab, idf = index.bm25.vocab, index.bm25.idf
        rules = Answerer(self.settings, {t: float(idf[n]) for t, n in vocab.items()})
        reader = self._reader()
        self._answerer = ReaderAnswerer(reader, rules, self.settings) if reader is not None else rules
        self._crosslingual = CrossLingualAnswerer(self.encoder, self.settings, vocab)

    def _reader(self) -> object | None:
        """The trained reader the settings ask for, or None for the rules alone.

        ``auto`` uses the shipped weights when they are installed; a path that does not
        hold reader weights is an error, not a silent fallback.
        """
        from rag.reader.reader import WEIGHTS_DIR, load_cached

        files = self._reader_files()
        if files is None:
            return None
        if not files:
            log.info("no reader weights in %s: answering with the rules", WEIGHTS_DIR)
            return None
        return load_cached(",".join(str(f) for f in files))

    def _reader_files(self) -> tuple[Path, ...] | None:
        """The weights files the ``reader`` setting names (None for ``off``)."""
        from rag.reader.reader import bf16_default, default_weights, weights_files

        spec = self.settings.reader
        if spec == "off":
            return None
        if spec not in ("auto", "ensemble"):
            return weights_files(spec)
        files = default_weights()
        if spec == "auto" or not bf16_default():
            # One member is the default: the pair gains ~1 F1 on CMRC but costs twice the time and
            # answered fewer article questions (docs/reader.md). In float32 (no native bfloat16)
            # each member costs ~230 ms for 3 passages, so even "ensemble" keeps to one there.
            files = files[:1]
        return files

    def uses_reader(self) -> bool:
        """Whether answers come from the trained reader (else from the rules alone)."""
        self.ensure_index()
        return isinstance(self._answerer, ReaderAnswerer)

    def reader_info(self) -> dict | None:
        """Which reader answers: its weights file and training metadata, or None (rules)."""
        if not self.uses_reader():
            return None
        from rag.reader.model import read_meta

        members = []
        for path in self._reader_files() or ():
            meta = read_meta(path)
            members.append({"weights": str(path), "epoch": meta.get("epoch"), "dev": meta.get("dev"),
                            "config": meta.get("config")})
        return {"weights": [m["weights"] for m in members], "members": members}

    @property
    def index(self) -> StoredIndex:
        """The loaded index (built if needed)."""
        self.ensure_index()
        assert self._index is not None
        return self._index

    def search(self, query: str, top_k: int | None = None, mode: str = "hybrid") -> list[Passage]:
        """Ranked passages for a query.

        Args:
            query: the query.
            top_k: how many (default ``settings.top_k``).
            mode: ``"hybrid"``, ``"dense"`` or ``"bm25"``.

        Returns:
            Passages, best first.

        Raises:
            QuestionError: empty or over-long query.
        """
        query = validate(query)
        self.ensure_index()
        assert self._retriever is not None
        return self._retriever.search(query, top_k=top_k, mode=mode, keyword_query=self._keyword_query(query))

    def _keyword_query(self, query: str) -> str | None:
        """The BM25 side's text when it differs from the query: script-folded (traditional → simplified)."""
        if not self.settings.fold_scripts:
            return None
        folded = scripts.to_simplified(query)
        return folded if folded != query else None

    def ask(self, question: str, top_k: int | None = None, history: Sequence[str] | None = None,
            mode: str = "hybrid") -> Answer:
        """Answer a question with a verbatim span and its citations.

        A follow-up (``那宁夏呢?`` after ``成都每年发放多少算力券?``) is resolved against
        ``history`` into a self-contained question (:mod:`rag.followup`) that retrieval and
        answering use. Traditional and simplified Chinese match each other (:mod:`rag.scripts`);
        a question without Chinese characters is answered cross-lingually (:mod:`rag.crosslingual`).

        Args:
            question: the question.
            top_k: how many passages to cite (default ``settings.top_k``).
            history: earlier questions of the same conversation, oldest first, as typed.
            mode: retrieval mode, as in :meth:`search`.

        Returns:
            The answer (``answer`` None when the documents do not hold it). Its ``question`` is
            the one given; ``resolved_question`` is the rewritten follow-up, or None.

        Raises:
            QuestionError: empty or over-long question.
        """
        question = validate(question)
        self.ensure_index()
        assert self._retriever is not None and self._answerer is not None
        top_k = top_k or self.settings.top_k
        # A follow-up (那宁夏呢? / 它聚焦哪些领域?) is answered as the self-contained question it stands for.
        rewritten = followup.rewrite(question, history) if history else None
        effective = rewritten.question if rewritten is not None and rewritten.is_followup else question
        if scripts.is_latin_question(effective):
            ans = self._ask_crosslingual(effective, top_k, mode)
        else:
            passages = self._retriever.search(effective, top_k=max(top_k, 3), mode=mode,
                                              keyword_query=self._keyword_query(effective))
            ans = self._answer_chinese(effective, passages, top_k)
            if not ans.found and rewritten is not None and rewritten.kind == "pronoun":
                # The carried words found the passages but did not let the answer through (a name
                # outside the answer's chunk): the question as asked, over the same passages.
                alt = self._answer_chinese(question, passages, top_k)
                ans = alt if alt.found else ans
        # The answer shows the user's own question; the effective one goes along for a follow-up.
        return replace(ans, question=question, resolved_question=effective if effective != question else None)

    def _answer_chinese(self, question: str, passages: Sequence[Passage], top_k: int) -> Answer:
        """Answer a Chinese question from its passages, in whichever script it and the documents are written.

        Keywords were matched script-folded (traditional → simplified, both in the index and in the
        query). The answer step works on a simplified view of the passages that has the same length
        as the original text, with the simplified question; the answer and the citations are then
        taken from the original text at the same offsets.
        """
        assert self._answerer is not None
        if not self.settings.fold_scripts:
            return self._answerer.answer(question, passages, top_k=top_k)
        view, originals = scripts.folded_view(passages)
        ans = self._answerer.answer(scripts.fold_question(question), view, top_k=top_k)
        return scripts.restore_answer(ans, originals) if originals else ans

    def _ask_crosslingual(self, question: str, top_k: int, mode: str) -> Answer:
        """Answer a question without Chinese characters (English): dense retrieval plus the names
        it spells in pinyin, then the best sentence's typed span (:mod:`rag.crosslingual`)."""
        assert self._retriever is not None and self._crosslingual is not None
        keywords = self._crosslingual.keyword_query(question)
        if mode == "hybrid" and not keywords:
            mode = "dense"  # English words match nothing in a Chinese index: keywords would only add noise
        passages = self._retriever.search(question, top_k=max(top_k, 3), mode=mode,
                                          keyword_query=keywords or None)
        return self._crosslingual.answer(question, passages, top_k=top_k)
