"""The named choices of the pipeline, as Enums that refuse an unknown value.

Each ``from_str`` accepts the value as typed on the command line, in the API or
in ``--set``, and raises :class:`~rag.errors.SettingsError` listing the valid
values otherwise, so a typo never silently selects a default.

>>> Fusion.from_str("RRF")
<Fusion.RRF: 'rrf'>
>>> Fusion.from_str("sum")
Traceback (most recent call last):
...
rag.errors.SettingsError: unknown fusion 'sum' (choose from mix, rrf)
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from rag.errors import SettingsError

_C = TypeVar("_C", bound="Choice")


class Choice(str, Enum):
    """A string Enum with a validating parser; ``str(member)`` is its value."""

    def __str__(self) -> str:
        return self.value

    @classmethod
    def label(cls) -> str:
        """The name used in messages (``fusion``, ``retrieval mode``)."""
        return cls.__name__.lower()

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """The valid values, in declaration order."""
        return tuple(m.value for m in cls)

    @classmethod
    def from_str(cls: type[_C], value: "str | _C") -> _C:
        """Parse a value (case and surrounding blanks ignored).

        Args:
            value: the text, or already a member.

        Returns:
            The member.

        Raises:
            SettingsError: not one of :meth:`values`.
        """
        if isinstance(value, cls):
            return value
        text = str(value).strip().lower()
        for member in cls:
            if member.value == text:
                return member
        raise SettingsError(f"unknown {cls.label()} {value!r} (choose from {', '.join(cls.values())})")


class Fusion(Choice):
    """How the dense and BM25 rankings are joined."""

    MIX = "mix"     # weighted min-max-normalised scores
    RRF = "rrf"     # reciprocal rank


class RetrievalMode(Choice):
    """Which retrievers run."""

    HYBRID = "hybrid"
    DENSE = "dense"
    BM25 = "bm25"

    @classmethod
    def label(cls) -> str:
        return "retrieval mode"


class ReaderShape(Choice):
    """Where the rules' fuller span may replace the trained reader's."""

    NAMED = "named"   # lists, titles, and additions the question itself names
    LISTS = "lists"   # 、-lists and 《titles》 only
    ALL = "all"       # also any modifiers or head noun
    OFF = "off"

    @classmethod
    def label(cls) -> str:
        return "reader shape"


class SpanCheck(Choice):
    """A rule that may change or refuse the trained reader's span (``reader.checks``); each can be
    switched off to measure what it earns (docs/reader.md)."""

    PARTICLES = "particles"         # trailing 的/了 and leading 在/对 words trimmed off the span
    FRAME = "frame"                 # a leading "《措施》提出，" frame cut off
    ECHO = "echo"                   # the question's word before its gap cut off (建设什么 read 建设X → X)
    SOURCE = "source"               # a span naming who says something passed over (not asked who)
    TYPE = "type"                   # a person's name never answers an organisation or number question
    RESPECTIVELY = "respectively"   # 分别 lists: the value in the asked item's position
    TITLE = "title"                 # who someone is: the title before the name
    OVERRIDE = "override"           # the rules' span when the reader doubts its own and the rules are surer

    @classmethod
    def label(cls) -> str:
        return "reader check"

    @classmethod
    def parse_set(cls, value: str) -> frozenset["SpanCheck"]:
        """A comma-separated list of checks, or ``all`` / ``none``.

        >>> sorted(c.value for c in SpanCheck.parse_set("title, frame"))
        ['frame', 'title']
        >>> len(SpanCheck.parse_set("all")), SpanCheck.parse_set("none")
        (8, frozenset())
        """
        text = str(value).strip().lower()
        if text == "all":
            return frozenset(cls)
        if text in ("none", ""):
            return frozenset()
        return frozenset(cls.from_str(part) for part in text.split(",") if part.strip())


class ReaderMode(Choice):
    """Which trained reader answers beside the rules (a weights path is also accepted, see ``ReaderSettings``)."""

    AUTO = "auto"           # the first shipped member, else the rules alone
    ENSEMBLE = "ensemble"   # every shipped member, logits averaged
    OFF = "off"             # the rules alone

    @classmethod
    def label(cls) -> str:
        return "reader"




class EmbedRuntime(Choice):
    """What computes the embeddings (``embed.runtime``): the reference, or ONNX Runtime (rag/embed/onnx_encoder.py)."""

    TORCH = "torch"         # sentence-transformers: the reference, and the only runtime for a non-default model
    ONNX = "onnx"           # ONNX Runtime, fp32 (the default model only, exported once)
    ONNX_INT8 = "onnx-int8"  # ONNX Runtime, weights quantised to int8 (the default model only)

    @classmethod
    def label(cls) -> str:
        return "embedding runtime"

    @property
    def model_suffix(self) -> str:
        """What this runtime adds to the model's name in an index manifest ("" for the reference).

        The int8 suffix names its recipe (feed-forward outputs kept fp32, one text per run), so an
        index made by the earlier all-int8 recipe is rebuilt rather than searched with other vectors.

        >>> [r.model_suffix for r in EmbedRuntime]
        ['', '@onnx', '@onnx-int8+ffn-fp32']
        """
        return {"torch": "", "onnx": "@onnx", "onnx-int8": "@onnx-int8+ffn-fp32"}[self.value]


class ReaderRuntime(Choice):
    """What computes the reader's logits (``reader.runtime``): torch, or ONNX Runtime (rag/reader/onnx_reader.py)."""

    TORCH = "torch"         # the reference; the only one where ``reader.bf16`` applies
    ONNX = "onnx"           # ONNX Runtime, fp32, exported once per weights file
    ONNX_INT8 = "onnx-int8"  # ONNX Runtime, int8 weights, activations quantised per token

    @classmethod
    def label(cls) -> str:
        return "reader runtime"


class OcrMode(Choice):
    """Whether scanned PDF pages are read by OCR (``ingest.ocr``; the ``ocr`` extra)."""

    AUTO = "auto"   # when the OCR extra is installed; otherwise a warning per scanned page
    ON = "on"       # required: a scanned page without the extra is an error
    OFF = "off"     # never: scanned pages are left out with a warning

    @classmethod
    def label(cls) -> str:
        return "OCR mode"


__all__ = ["Choice", "EmbedRuntime", "Fusion", "OcrMode", "ReaderMode", "ReaderRuntime", "ReaderShape",
           "RetrievalMode"]


class StoreKind(Choice):
    """Where the index lives: FAISS files in the index folder, or Milvus (a file, a server, a cluster)."""

    FAISS = "faiss"
    MILVUS = "milvus"

    @classmethod
    def label(cls) -> str:
        return "store"
