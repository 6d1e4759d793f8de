"""Knowledge bases: separate corpora, each with its own index and store collection.

The default knowledge base is ``corpus/`` indexed into ``index/`` (or the Milvus alias
``rag_default``). Another, say ``hr``, lives in ``kb/hr/corpus`` and ``kb/hr/index`` (or
``rag_hr``); ``paths.kb_root`` moves the ``kb/`` folder. Each is answered by its own
:class:`~rag.pipeline.QASystem`, so a question never sees another knowledge base's chunks; the
models are cached per process and shared by all of them.

>>> locate("hr").corpus_dir.as_posix(), locate("hr").index_dir.as_posix()
('kb/hr/corpus', 'kb/hr/index')
>>> locate("default").corpus_dir.as_posix(), locate("default", index="/srv/idx").index_dir.as_posix()
('corpus', '/srv/idx')
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config import DEFAULT_KB, Settings, check_kb_name
from rag.errors import KnowledgeBaseError, RagError

if TYPE_CHECKING:
    from rag.library import Library
    from rag.pipeline import QASystem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KnowledgeBase:
    """Where one knowledge base's documents and index live."""

    name: str
    corpus_dir: Path
    index_dir: Path


def locate(name: str, corpus: Path | str | None = None, index: Path | str | None = None,
           root: Path | str = Path("kb")) -> KnowledgeBase:
    """The folders of a knowledge base; ``corpus`` and ``index`` override them.

    Args:
        name: the knowledge base (checked by :func:`rag.config.check_kb_name`).
        corpus: its corpus folder (default ``corpus`` for the default one, else ``<root>/<name>/corpus``).
        index: its FAISS index folder (default ``index``, else ``<root>/<name>/index``).
        root: the folder of the named knowledge bases.

    Returns:
        The knowledge base.
    """
    name = check_kb_name(name)
    home = Path(root) / name
    default_corpus, default_index = ((Path("corpus"), Path("index")) if name == DEFAULT_KB
                                     else (home / "corpus", home / "index"))
    return KnowledgeBase(name, Path(corpus) if corpus is not None else default_corpus,
                         Path(index) if index is not None else default_index)


class KnowledgeBases:
    """The knowledge bases one server answers from: a :class:`QASystem` and a :class:`Library`
    each, made on first use.

    Known are the default, every ``<kb_root>/<name>/`` folder and, on a Milvus store, every
    ``rag_<name>`` alias (an index built on another machine, whose corpus is not here).
    """

    def __init__(self, settings: Settings, first: "QASystem | None" = None,
                 corpus: Path | str | None = None, index: Path | str | None = None,
                 first_library: "Library | None" = None, encoder: Any | None = None):
        """
        Args:
            settings: the configuration; ``settings.store.kb`` is the one a request without ``kb`` gets.
            first: that knowledge base's system, already made (e.g. by ``rag serve``).
            corpus: its corpus folder when not the usual one (``--corpus``).
            index: its index folder when not the usual one (``--index``).
            first_library: its document library, already made.
            encoder: the :class:`rag.embed.Encoder` of the systems made here (None: the settings' model,
                loaded once per process).
        """
        self.settings = settings
        self.encoder = encoder
        self.default = settings.store.kb
        self._paths = {self.default: (corpus, index)}
        self._systems: dict[str, QASystem] = {} if first is None else {self.default: first}
        self._libraries: dict[str, Library] = {} if first_library is None else {self.default: first_library}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Every knowledge base known now (the default first, then by name)."""
        found = set(self._systems)
        root = Path(self.settings.paths.kb_root)
        if root.is_dir():
            for d in root.iterdir():
                if d.is_dir() and (d / "corpus").is_dir():
                    try:
                        found.add(check_kb_name(d.name))
                    except RagError:
                        log.debug("%s is not a knowledge base name; skipped", d)
        found.update(self._store_names())
        found.discard(self.default)
        return [self.default, *sorted(found)]

    def _store_names(self) -> list[str]:
        lister = getattr(self.system(self.default).store, "knowledge_bases", None)
        if lister is None:
            return []
        try:
            return list(lister())
        except RagError as exc:
            log.warning("could not list the knowledge bases of the store: %s", exc)
            return []

    def resolve(self, name: str | None) -> str:
        """The checked name: ``None`` or ``""`` is the default.

        Raises:
            KnowledgeBaseError: no such knowledge base (the message lists the known ones).
        """
        if not name:
            return self.default
        name = check_kb_name(name)
        if name == self.default or name in self._systems:
            return name
        known = self.names()
        if name not in known:
            raise KnowledgeBaseError(f"unknown knowledge base {name!r} (choose from {', '.join(known)})")
        return name

    def system(self, name: str | None = None) -> "QASystem":
        """The question-answering system of a knowledge base (made on first use).

        Raises:
            KnowledgeBaseError: no such knowledge base.
        """
        from dataclasses import replace

        from rag.pipeline import QASystem

        name = self.default if not name else check_kb_name(name)
        with self._lock:
            qa = self._systems.get(name)
        if qa is not None:
            return qa
        if name != self.default:
            name = self.resolve(name)
        with self._lock:
            if name not in self._systems:
                corpus, index = self._paths.get(name, (None, None))
                kb = locate(name, corpus, index, self.settings.paths.kb_root)
                settings = replace(self.settings, store=replace(self.settings.store, kb=name))
                # the models are loaded once per process and shared (rag.embed, rag.reader caches)
                self._systems[name] = QASystem(kb.corpus_dir, kb.index_dir, settings, encoder=self.encoder)
            return self._systems[name]

    def library(self, name: str | None = None) -> "Library":
        """The documents of a knowledge base that people add and remove (one per knowledge base,
        so that its jobs are found again)."""
        from rag.library import Library

        qa = self.system(name)
        with self._lock:
            key = qa.settings.store.kb
            if key not in self._libraries:
                self._libraries[key] = Library(qa)
            return self._libraries[key]

    def has_library(self, name: str) -> bool:
        """Whether the library of ``name`` has been made (its jobs exist only then)."""
        with self._lock:
            return name in self._libraries

    def describe(self) -> list[dict[str, Any]]:
        """Each knowledge base's name, and its chunks and documents where its index is loaded."""
        out = []
        for name in self.names():
            with self._lock:
                qa = self._systems.get(name)
            row: dict[str, Any] = {"name": name, "default": name == self.default}
            if qa is not None and qa.loaded:
                index = qa.index
                row.update(chunks=len(index.chunks), documents=len(index.manifest.documents))
            out.append(row)
        return out
