"""Which trained reader the settings choose: its weights files, the loaded reader, its description.

``auto`` is the first shipped member, ``ensemble`` every shipped member where the CPU computes
bfloat16 natively (else the first alone), ``off`` none, and anything else a weights path (several
joined by commas). ``reader.runtime`` picks torch or ONNX Runtime for them. Torch and transformers
load only when a torch reader is loaded (or an ONNX export is made).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.choices import ReaderMode, ReaderRuntime
from rag.config import Settings
from rag.errors import ReaderWeightsError
from rag.reader.decoding import SpanScore
from rag.reader.predictor import WEIGHTS_DIR, bf16_default, default_weights, load_cached, weights_files

log = logging.getLogger(__name__)


def reader_files(settings: Settings) -> tuple[Path, ...] | None:
    """The weights files ``settings.reader`` names (None for ``off``; empty when none is installed).

    Args:
        settings: the settings.

    Returns:
        The files, in the order their logits are averaged.
    """
    spec = settings.reader
    if spec.mode is None:
        return weights_files(spec.weights)
    if spec.mode == ReaderMode.OFF:
        return None
    files = default_weights()
    if spec.mode == ReaderMode.AUTO or not bf16_default(spec.bf16):
        # One member is the default: the pair gains ~1 F1 on CMRC but costs twice the time and
        # answered fewer article questions (docs/reader.md). In float32 (no native bfloat16)
        # each member costs ~230 ms for 3 passages, so even "ensemble" keeps to one there.
        files = files[:1]
    return files


def load_reader(settings: Settings, lazy: bool = False) -> Any | None:
    """The reader the settings ask for (loaded once per process), or None for the rules alone.

    A path that does not hold reader weights is an error (``ReaderWeightsError``), not a silent
    fallback; ``auto`` without installed weights answers with the rules. ``reader.runtime`` says what
    computes the logits: torch (where ``reader.bf16`` applies), or ONNX Runtime in fp32 or int8
    (exported on first use, see :mod:`rag.reader.onnx_reader`); the files are the same either way.

    Args:
        settings: the settings.
        lazy: return a :class:`LazyReader` that loads on its first question (a missing file is
            still reported at once), so that commands that never read pay nothing.

    Returns:
        A :class:`~rag.reader.protocol.SpanReader`, or None.
    """
    files = reader_files(settings)
    if files is None:
        return None
    if not files:
        log.info("no reader weights in %s: answering with the rules", WEIGHTS_DIR)
        return None
    if lazy:
        return LazyReader(settings, files)
    return _load(settings, files)


def _load(settings: Settings, files: tuple[Path, ...]) -> Any:
    spec = ",".join(str(f) for f in files)
    runtime = settings.reader.runtime
    if runtime is ReaderRuntime.TORCH:
        return load_cached(spec, settings.reader.bf16, settings.paths.cache_dir)
    from rag.reader.onnx_reader import load_cached as load_onnx_cached

    return load_onnx_cached(spec, runtime is ReaderRuntime.ONNX_INT8, settings.paths.cache_dir,
                            threads=settings.reader.threads, workers=settings.reader.workers)


class LazyReader:
    """A :class:`~rag.reader.protocol.SpanReader` that loads the chosen reader on its first ``read``.

    Loading costs seconds (torch and transformers, or an ONNX session, and on first use an ONNX
    export); ``rag search``, ``rag index`` and a server that has not been asked anything need none
    of it. The loaded reader is the process-wide cached one, so many ``LazyReader`` share it.
    """

    def __init__(self, settings: Settings, files: tuple[Path, ...]) -> None:
        """Check the files exist; load nothing.

        Raises:
            ReaderWeightsError: a file is missing.
        """
        for f in files:
            if not f.is_file():
                raise ReaderWeightsError(f"reader weights not found: {f}")
        self.settings = settings
        self.files = files
        self._reader: Any | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the reader has been loaded."""
        return self._reader is not None

    def load(self) -> Any:
        """The reader, loaded now if it was not yet (once, whichever thread asks first)."""
        if self._reader is None:
            with self._lock:
                if self._reader is None:
                    self._reader = _load(self.settings, self.files)
        return self._reader

    def read(self, question: str, passages: Sequence[str], top_n: int = 5) -> list[SpanScore]:
        """See :class:`~rag.reader.protocol.SpanReader`."""
        return self.load().read(question, passages, top_n)


def describe(files: tuple[Path, ...]) -> dict[str, Any]:
    """The weights files and their training metadata (for reports)."""
    from rag.reader.model import read_meta

    members = []
    for path in files:
        meta = read_meta(path)
        members.append({"weights": str(path), "epoch": meta.get("epoch"), "dev": meta.get("dev"),
                        "config": meta.get("config")})
    return {"weights": [m["weights"] for m in members], "members": members}
