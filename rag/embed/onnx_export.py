"""What every ONNX export in the library shares: the record beside the files, the atomic
write-then-rename, the int8 quantisers, the session cache and batch padding.

An export folder holds one or more ``.onnx`` files and ``export.json`` (:data:`MARKER`), which says
what the files were made from (``source``), by which exporter version, and per file its size. A file is
current when the record's version and source match and the file has the recorded size
(:func:`is_current`); otherwise it is made again. Each file is written under a temporary name in the
same folder and renamed into place (:func:`write_atomically`), so an interrupted export never leaves
a broken file, and concurrent first uses each export and the last rename wins.

Users: :mod:`rag.embed.onnx_encoder` (the embedding model) and :mod:`rag.reader.onnx_reader` (the
span reader). Importing this module imports numpy only.

>>> ids, mask = pad_batch([[5, 6, 7], [8]], pad_id=0)
>>> ids.tolist(), mask.tolist()
([[5, 6, 7], [8, 0, 0]], [[1, 1, 1], [1, 0, 0]])
"""

from __future__ import annotations

import functools
import json
import logging
import os
import struct
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import onnx
    import onnxruntime
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

#: ONNX opset of every export: 17 has LayerNormalization as one op, which ONNX Runtime runs fused.
OPSET = 17
#: The record written beside the exported files.
MARKER = "export.json"


def read_json(path: Path) -> Any:
    """A JSON file's content, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def pad_token_id(model_dir: Path) -> int:
    """The id that pads a batch, from a model folder's ``config.json`` (0 if unset)."""
    return int((read_json(model_dir / "config.json") or {}).get("pad_token_id", 0))


def is_current(folder: Path, filename: str, source: Any, version: int) -> bool:
    """Whether ``folder/filename`` was exported from ``source`` by exporter ``version``, and is whole.

    Args:
        folder: the export folder.
        filename: the ``.onnx`` file in it.
        source: what the file must have been made from (compared with the record's ``source``).
        version: the exporter version the record must carry.

    Returns:
        True when the file can be used as it is.
    """
    marker = read_json(folder / MARKER)
    if not isinstance(marker, dict) or marker.get("exporter_version") != version:
        return False
    if marker.get("source") != source:
        return False
    entry = (marker.get("files") or {}).get(filename)
    try:
        return isinstance(entry, dict) and (folder / filename).stat().st_size == entry.get("bytes")
    except OSError:
        return False


def _record(folder: Path, source: Any, version: int, source_name: str, filename: str,
            entry: dict[str, Any]) -> None:
    """Add one file's entry to ``export.json`` (rewritten whole, then renamed into place)."""
    marker = read_json(folder / MARKER)
    if not isinstance(marker, dict) or marker.get("exporter_version") != version \
            or marker.get("source") != source:
        marker = {"exporter_version": version, "source_model": source_name, "source": source,
                  "opset": OPSET, "files": {}}
    marker.setdefault("files", {})[filename] = entry
    fd, tmp = tempfile.mkstemp(prefix=f".{MARKER}.", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(marker, indent=2, ensure_ascii=False) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, folder / MARKER)


def remove_stale_temps(folder: Path, max_age_s: float = 3600.0) -> None:
    """Delete temporary files a killed export left behind (older than ``max_age_s``)."""
    # A killed export leaves a temporary file of up to 0.5 GB; one this old has no live writer.
    for stale in folder.glob(".*.onnx"):
        try:
            if time.time() - stale.stat().st_mtime > max_age_s:
                stale.unlink()
        except OSError:
            pass


def write_atomically(folder: Path, filename: str, source: Any, version: int, source_name: str,
                     write: Callable[[Path], dict[str, Any] | None]) -> None:
    """Make ``folder/filename`` with ``write(temporary path)``, rename it into place and record it.

    Args:
        folder: the export folder (exists).
        filename: the file to make.
        source: what it is made from, for the record.
        version: the exporter version, for the record.
        source_name: a readable name of the source (``source_model`` in the record).
        write: writes the file at the path it is given; returns details for the record.
    """
    fd, name = tempfile.mkstemp(prefix=f".{filename}.", suffix=".onnx", dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        t0 = time.perf_counter()
        info = write(tmp) or {}
        os.chmod(tmp, 0o644)    # mkstemp's 0600 would survive the rename
        os.replace(tmp, folder / filename)
    finally:
        tmp.unlink(missing_ok=True)
    seconds = time.perf_counter() - t0
    _record(folder, source, version, source_name, filename,
            {"bytes": (folder / filename).stat().st_size, "seconds": round(seconds, 1), **info})
    log.info("exported %s in %.0f s", folder / filename, seconds)


#: The MatMuls :func:`quantize_onnx` keeps in fp32 by default: each BERT layer's feed-forward output
#: (``layer.N/output/dense``). Their input is the GELU's output, whose few very large values make one
#: int8 scale for the whole tensor too coarse for the rest; measured on DRCD dev (development data),
#: dense Recall@1 with everything int8 lost 1.1 points to fp32, with these 12 of 72 kept fp32 and one
#: text per run 0.3 (README, "Start-up").
FP32_MATMULS = ("/output/dense/MatMul",)


def fp32_matmuls(graph: "onnx.GraphProto", patterns: Sequence[str] = FP32_MATMULS) -> list[str]:
    """Names of the weight MatMuls to keep fp32: those whose name contains a pattern, outside attention."""
    return [n.name for n in graph.node
            if n.op_type == "MatMul" and "/attention/" not in n.name and any(p in n.name for p in patterns)]


def quantize_onnx(src: Path, dest: Path, keep_fp32: Sequence[str] = FP32_MATMULS) -> dict[str, Any]:
    """Dynamic int8 quantisation of an fp32 ONNX file (weights per channel, activations per run).

    Args:
        src: the fp32 file.
        dest: the file to write.
        keep_fp32: name fragments of the weight MatMuls left in fp32 (:func:`fp32_matmuls`).

    Returns:
        What made the file and which op types were quantised, for ``export.json``.
    """
    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    kept = fp32_matmuls(onnx.load(str(src), load_external_data=False).graph, keep_fp32)
    with _quiet_quantizer():
        quantize_dynamic(str(src), str(dest), per_channel=True, weight_type=QuantType.QInt8, nodes_to_exclude=kept)
    graph = onnx.load(str(dest), load_external_data=False).graph
    counts: dict[str, int] = {}
    for node in graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    quantized = {op: n for op, n in sorted(counts.items())
                 if op in ("MatMulInteger", "DynamicQuantizeLinear", "DequantizeLinear")}
    return {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
            "quantization": {"per_channel": True, "weight_type": "QInt8", "ops": quantized,
                             "kept_fp32": sorted(keep_fp32), "matmuls_kept_fp32": len(kept)}}


#: The weight MatMuls :func:`quantize_per_token` leaves fp32 by default: the reader's answer head
#: (384 x 2: no time to save, and its logits are what declining compares).
PER_TOKEN_FP32 = ("/head/",)


def _quantized_weight(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per output column: (int8 ``[in, out]``, float32 scale ``[out]``)."""
    scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale.astype(np.float32)


def quantize_per_token(src: Path, dest: Path, keep_fp32: Sequence[str] = PER_TOKEN_FP32) -> dict[str, Any]:
    """Int8 weight MatMuls whose activations get one scale per token, built from standard ONNX ops.

    :func:`quantize_onnx` (ONNX Runtime's dynamic quantiser) gives a whole run's activations one
    scale, so a few very large values anywhere in the batch (the GELU outputs reach 50 where most
    tokens stay under 2) coarsen every other token's, and a window's logits depend on its batch-mates.
    Here each weight MatMul ``y = x @ W`` becomes: ``x`` flattened to rows, one scale per row
    (``max|row| / 127``, ``QuantizeLinear`` on axis 0, zero point 128), ``MatMulInteger`` with ``W``
    quantised symmetrically per output column, then both scales multiplied back in. Rows are
    independent, so the result does not depend on the batch. Measured on the reader (README, "Speed
    on a laptop"): the answers of the fp32 file on the article and the CMRC train selection slice
    within 0.5 F1, and faster than the per-run quantiser's file (which must keep the feed-forward
    outputs fp32 to stay accurate).

    Args:
        src: the fp32 file.
        dest: the file to write.
        keep_fp32: name fragments of weight MatMuls to leave fp32.

    Returns:
        What made the file and how, for ``export.json``.
    """
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    weights = {t.name: t for t in graph.initializer}
    consts = {"pt/inv127": np.array(1 / 127, np.float32), "pt/eps": np.array(1e-10, np.float32),
              "pt/zero": np.array(0, np.float32), "pt/128f": np.array(128, np.float32),
              "pt/128u8": np.array(128, np.uint8), "pt/axis1": np.array([1], np.int64),
              "pt/from0": np.array([0], np.int64), "pt/to-1": np.array([-1], np.int64)}
    added = [numpy_helper.from_array(v, k) for k, v in consts.items()]
    nodes: list[Any] = []
    rows: dict[str, str] = {}   # activation -> prefix of its quantised rows (shared by Q, K and V)
    done: set[str] = set()
    converted = kept = 0
    for node in graph.node:
        if node.op_type != "MatMul" or node.input[1] not in weights:
            nodes.append(node)
            continue
        if any(p in node.name for p in keep_fp32):
            nodes.append(node)
            kept += 1
            continue
        x, w = node.input
        wq, ws = _quantized_weight(numpy_helper.to_array(weights[w]))
        k_in, n_out = wq.shape
        if x not in rows:
            p = rows[x] = f"pt/{x}/"
            added.append(numpy_helper.from_array(np.array([-1, k_in], np.int64), p + "rows_shape"))
            nodes += [
                helper.make_node("Shape", [x], [p + "shape"]),
                helper.make_node("Reshape", [x, p + "rows_shape"], [p + "rows"]),
                helper.make_node("Abs", [p + "rows"], [p + "abs"]),
                helper.make_node("ReduceMax", [p + "abs"], [p + "amax"], axes=[1], keepdims=0),
                helper.make_node("Mul", [p + "amax", "pt/inv127"], [p + "scale0"]),
                # an all-zero row would divide by zero
                helper.make_node("Max", [p + "scale0", "pt/eps"], [p + "scale"]),
                # QuantizeLinear wants a zero point shaped like the scale: 128s, one per row
                helper.make_node("Mul", [p + "scale", "pt/zero"], [p + "zp0"]),
                helper.make_node("Add", [p + "zp0", "pt/128f"], [p + "zp1"]),
                helper.make_node("Cast", [p + "zp1"], [p + "zp"], to=TensorProto.UINT8),
                helper.make_node("QuantizeLinear", [p + "rows", p + "scale", p + "zp"], [p + "q"], axis=0),
                helper.make_node("Unsqueeze", [p + "scale", "pt/axis1"], [p + "scale_col"]),
                helper.make_node("Slice", [p + "shape", "pt/from0", "pt/to-1"], [p + "lead"]),
            ]
        p = rows[x]
        if w not in done:
            added += [numpy_helper.from_array(wq, f"pt/{w}/q"), numpy_helper.from_array(ws, f"pt/{w}/scale"),
                      numpy_helper.from_array(np.array([n_out], np.int64), f"pt/{w}/n")]
            done.add(w)
        y, o = node.output[0], f"pt/{node.name}/"
        nodes += [
            helper.make_node("MatMulInteger", [p + "q", f"pt/{w}/q", "pt/128u8"], [o + "int32"],
                             name=node.name + "_int8"),
            helper.make_node("Cast", [o + "int32"], [o + "float"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [o + "float", f"pt/{w}/scale"], [o + "by_weight"]),
            helper.make_node("Mul", [o + "by_weight", p + "scale_col"], [o + "rows"]),
            helper.make_node("Concat", [p + "lead", f"pt/{w}/n"], [o + "shape"], axis=0),
            helper.make_node("Reshape", [o + "rows", o + "shape"], [y]),
        ]
        converted += 1
    used = {i for n in nodes for i in n.input}
    initializers = [t for t in graph.initializer if t.name in used] + [t for t in added if t.name in used]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    onnx.checker.check_model(model)
    onnx.save(model, str(dest))
    return {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
            "quantization": {"scheme": "per-token activations (uint8, one scale per row), per-channel int8 weights",
                             "ops": {"MatMulInteger": converted, "QuantizeLinear": len(rows)},
                             "kept_fp32": sorted(keep_fp32), "matmuls_kept_fp32": kept}}


class _BelowErrorFrom(logging.Filter):
    def __init__(self, fragment: str) -> None:
        super().__init__()
        self.fragment = fragment

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or self.fragment not in record.pathname


@contextmanager
def _quiet_quantizer() -> Iterator[None]:
    # The quantiser logs a line per tensor it leaves alone, and advice about image models, on the
    # root logger: hundreds of lines that say nothing about whether the export worked.
    flt = _BelowErrorFrom(os.path.join("onnxruntime", "quantization"))
    root = logging.getLogger()
    root.addFilter(flt)
    try:
        yield
    finally:
        root.removeFilter(flt)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):     # not on Linux
        return max(1, os.cpu_count() or 1)


def worker_count(workers: int) -> int:
    """Runs side by side for an ``embed.workers`` / ``reader.workers`` setting: 0 means one per core.

    >>> worker_count(3), worker_count(0) >= 1
    (3, True)
    """
    return int(workers) if workers > 0 else available_cores()


@functools.lru_cache(maxsize=None)
def load_session(path: str, threads: int = 0) -> "onnxruntime.InferenceSession":
    """An ONNX Runtime session on the CPU (once per file and thread count per process).

    Optimising a graph (fusing attention, LayerNorm, GELU) costs about as much as loading it, and
    is the same every time: the first session saves the optimised graph beside the file
    (``<stem>.opt-ort<version>.onnx``, newer than the file it came from) and later processes load
    that with optimisation off. Level "extended" (no layout changes, which only convolutions get) is
    the level ONNX Runtime documents as safe to save for the CPU.

    Args:
        path: the ``.onnx`` file.
        threads: intra-op threads; 0 lets ONNX Runtime choose (one per physical core).

    Returns:
        The session (``run`` may be called from several threads at once).
    """
    import onnxruntime as ort

    src = Path(path)
    opt = src.with_name(f"{src.stem}.opt-ort{ort.__version__}.onnx")
    try:
        fresh = opt.stat().st_mtime_ns >= src.stat().st_mtime_ns
    except OSError:
        fresh = False
    if fresh:
        try:
            return _session(opt, threads, ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
        except Exception as e:  # noqa: BLE001 - any failure of a derived file: make it again
            log.warning("cannot load %s (%s); optimising %s again", opt, e, src.name)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{opt.name}.", suffix=".onnx", dir=src.parent)
        os.close(fd)
    except OSError:         # a read-only cache: optimise in memory every time
        return _session(src, threads, ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED)
    tmp = Path(name)
    try:
        session = _session(src, threads, ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, save_to=tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, opt)
    finally:
        tmp.unlink(missing_ok=True)
    return session


def _session(path: Path, threads: int, level: Any, save_to: Path | None = None) -> "onnxruntime.InferenceSession":
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(0, int(threads))
    options.graph_optimization_level = level
    if save_to is not None:
        options.optimized_model_filepath = str(save_to)
    options.log_severity_level = 3      # its warnings about unused initialisers mean nothing to a reader
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


#: The word-embedding matrix in a converted model's ``model.safetensors``.
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


@functools.lru_cache(maxsize=None)
def word_vectors(model_dir: Path) -> np.ndarray:
    """The model's word-embedding matrix, memory-mapped from its ``model.safetensors`` (float32 ``[vocab, dim]``).

    The exported graphs take word vectors rather than token ids: this matrix (250,037 × 384, 96 M of
    the encoder's 118 M parameters) is the same in the embedding model and in the reader, whose
    word embeddings are frozen, so one read-only map serves both, and a question touches only the
    rows of its tokens. ONNX files without it load in a fraction of the time and memory.

    Args:
        model_dir: the converted model folder.

    Returns:
        A read-only memory map; ``word_vectors(d)[ids]`` is the lookup the graph's Gather did.

    Raises:
        ValueError: the file does not hold a float32 matrix under :data:`WORD_EMBEDDINGS`.
    """
    path = Path(model_dir) / "model.safetensors"
    with open(path, "rb") as fh:
        (length,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(length))
    entry = header.get(WORD_EMBEDDINGS) or next(
        (v for k, v in header.items() if k.endswith("." + WORD_EMBEDDINGS)), None)
    if not isinstance(entry, dict) or entry.get("dtype") != "F32" or len(entry.get("shape", ())) != 2:
        raise ValueError(f"{path}: no float32 {WORD_EMBEDDINGS}")
    start, end = entry["data_offsets"]
    rows, dim = entry["shape"]
    if end - start != rows * dim * 4:
        raise ValueError(f"{path}: {WORD_EMBEDDINGS} has {end - start} bytes, not {rows} x {dim} floats")
    return np.memmap(path, dtype="<f4", mode="r", offset=8 + length + start, shape=(rows, dim))


def embed_batch(table: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The word vectors of a padded batch of ids (float32 ``[batch, tokens, dim]``, the graphs' input)."""
    return np.ascontiguousarray(table[ids], dtype=np.float32)


@functools.lru_cache(maxsize=None)
def load_tokenizer(path: str) -> "Tokenizer":
    """A ``tokenizer.json`` loaded once per process, with no truncation or padding set.

    The default model's 250,002-piece vocabulary takes one to two seconds to load, so the embedding
    model and the reader (same base model, same file) share one object; each cuts its own input
    (:func:`encode_truncated`, :func:`rag.reader.windows.make_windows_tokenizers`) rather than
    changing the shared settings.

    Args:
        path: the ``tokenizer.json`` file.

    Returns:
        The tokenizer (shared: do not change its settings).
    """
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(path)
    tok.no_truncation()
    tok.no_padding()
    return tok


def encode_truncated(tokenizer: "Tokenizer", texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids of each text with the special tokens, cut to ``max_length`` as sentence-transformers
    cuts them (the text's tokens from the end, the special tokens kept).

    Args:
        tokenizer: a tokenizer with no truncation set (:func:`load_tokenizer`).
        texts: the texts.
        max_length: tokens per text, special tokens included.

    Returns:
        One id list per text.
    """
    rows = [e.ids for e in tokenizer.encode_batch(list(texts))]
    for i, ids in enumerate(rows):
        if len(ids) > max_length:       # the few over-long texts, again, cut before the specials go on
            raw = tokenizer.encode(texts[i], add_special_tokens=False)
            raw.truncate(max_length - tokenizer.num_special_tokens_to_add(False))
            rows[i] = tokenizer.post_process(raw).ids
    return rows


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Token id rows padded to the longest, with their attention mask (both int64 ``[rows, width]``)."""
    width = max((len(r) for r in rows), default=0)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
    return ids, mask


__all__ = ["FP32_MATMULS", "MARKER", "OPSET", "PER_TOKEN_FP32", "WORD_EMBEDDINGS", "available_cores", "embed_batch",
           "encode_truncated", "fp32_matmuls", "is_current", "load_session", "load_tokenizer", "pad_batch",
           "pad_token_id", "quantize_onnx", "quantize_per_token", "read_json", "remove_stale_temps", "word_vectors",
           "worker_count", "write_atomically"]
