"""The errors a caller of the library can meet; each message is one line for a person.

Every error the library raises on bad input or a missing resource derives from
:class:`RagError`, so a front end (CLI, web server) can catch one type and show
its message without a traceback.

>>> from rag.errors import QuestionError, RagError
>>> issubclass(QuestionError, RagError)
True
"""

from __future__ import annotations


class RagError(Exception):
    """Base class: something the user can fix (input, files, settings)."""


class CorpusError(RagError):
    """The corpus directory is missing, not a directory, or holds no document."""


class DocumentError(RagError):
    """A file that cannot be added, or a document that is not there. The message names the file;
    ``kind`` says which case it is, for a front end that maps it (to an HTTP status, say):

    ``too_large`` (a size, count or page limit), ``unsupported`` (the content is no supported
    format, or the name claims another), ``encrypted``, ``corrupt`` (damaged, or a zip bomb),
    ``empty`` (no text), ``duplicate``, ``not_found`` (no such document or page).

    >>> DocumentError("a.pdf: encrypted (password-protected) PDF", "encrypted").kind
    'encrypted'
    """

    KINDS = ("too_large", "unsupported", "encrypted", "corrupt", "empty", "duplicate", "not_found")

    def __init__(self, message: str, kind: str = "corrupt"):
        super().__init__(message)
        if kind not in self.KINDS:
            raise ValueError(f"unknown DocumentError kind {kind!r}")
        self.kind = kind


class QuestionError(RagError, ValueError):
    """A question that cannot be asked (empty, or too long)."""


class UsageError(RagError):
    """A command line or request that cannot be carried out as given (a missing file, a bad flag)."""


class SettingsError(RagError, ValueError):
    """An unknown setting, choice or value (the message lists the valid ones)."""


class ModelLoadError(RagError, RuntimeError):
    """The embedding model cannot be loaded."""


class StoreError(RagError, RuntimeError):
    """The index store cannot be reached or used (a Milvus server that does not answer, say)."""


class ReaderWeightsError(RagError, RuntimeError):
    """The reader weights are missing or do not fit the base model."""


class KnowledgeBaseError(RagError, LookupError):
    """A knowledge base that has neither a corpus folder nor an index (the API answers 404)."""


__all__ = ["CorpusError", "DocumentError", "KnowledgeBaseError", "ModelLoadError", "QuestionError", "RagError", "ReaderWeightsError", "SettingsError", "StoreError", "UsageError"]
