"""rag: offline Chinese document question answering with verbatim, cited answers.

The stages, one package each, in data-flow order (each imports only those above it in this list):

* :mod:`rag.types`, :mod:`rag.errors`, :mod:`rag.choices`, :mod:`rag.config`: the values, errors,
  named choices and settings every stage shares;
* :mod:`rag.text`: script folding, tokens, sentences, the one lexicon;
* :mod:`rag.ingest`: documents → text → chunks; :mod:`rag.embed`: the encoder;
* :mod:`rag.index`: BM25 and the vector store on disk; :mod:`rag.query`: a question analysed once;
* :mod:`rag.retrieve`: ranked, fused passages; :mod:`rag.reader`: the trained span reader;
* :mod:`rag.answer`: the verbatim span, its confidence, declining, citations;
* :mod:`rag.pipeline`: :class:`QASystem`, the whole system behind one object;
* :mod:`rag.bench`, :mod:`rag.training`, :mod:`rag.cli`: benchmarks, reader training and the
  ``rag`` command, on the public API. The web UI and its server live outside, in ``ui/``.

The public API (the names below are loaded on first use, so ``import rag`` stays cheap):

>>> from rag import Settings, Answer, Citation, Passage, QASystem, RagError
>>> Settings().retrieval.top_k
5
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "QASystem", "Settings", "Query", "Answer", "Citation", "Passage", "Span", "Document",
    "Fusion", "RetrievalMode", "ReaderMode", "ReaderShape",
    "RagError", "CorpusError", "QuestionError", "SettingsError", "ModelLoadError", "ReaderWeightsError", "UsageError",
]

_WHERE = {
    "QASystem": "rag.pipeline", "Settings": "rag.config", "Query": "rag.query.types",
    **{n: "rag.types" for n in ("Answer", "Citation", "Passage", "Span", "Document")},
    **{n: "rag.choices" for n in ("Fusion", "RetrievalMode", "ReaderMode", "ReaderShape")},
    **{n: "rag.errors" for n in ("RagError", "CorpusError", "QuestionError", "SettingsError", "ModelLoadError",
                                 "ReaderWeightsError", "UsageError")},
}

if TYPE_CHECKING:
    from rag.choices import Fusion, ReaderMode, ReaderShape, RetrievalMode
    from rag.config import Settings
    from rag.errors import (CorpusError, ModelLoadError, QuestionError, RagError, ReaderWeightsError, SettingsError,
                            UsageError)
    from rag.pipeline import QASystem
    from rag.query.types import Query
    from rag.types import Answer, Citation, Document, Passage, Span


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rag' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
