"""Average reader weight files into one (a "model soup", Wortsman et al. 2022).

The members were fine-tuned from the same converted e5-small, so their weights can be averaged
tensor by tensor; the result reads at one member's cost. Measured and not shipped: see
docs/reader.md ("Averaging the two members' weights").

    python scripts/average_readers.py /tmp/soup.safetensors \
        rag/reader/weights/reader-e5small-zh-seed13.safetensors \
        rag/reader/weights/reader-e5small-zh-seed41.safetensors
    RAG_READER=/tmp/soup.safetensors python scripts/eval_article.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file


def average(files: list[Path], weights: list[float] | None = None) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The weighted mean of the files' tensors (float32 sums, stored as float16) and the metadata.

    Args:
        files: reader weight files with the same tensors.
        weights: one weight per file (default: equal).

    Returns:
        The averaged tensors and the first file's metadata, with a ``soup`` entry added.
    """
    weights = weights or [1 / len(files)] * len(files)
    states = [load_file(str(f)) for f in files]
    if any(set(s) != set(states[0]) for s in states):
        raise ValueError("the files hold different tensors")
    tensors = {k: sum(w * s[k].astype(np.float32) for w, s in zip(weights, states)).astype(np.float16)
               for k in states[0]}
    with safe_open(str(files[0]), "np") as f:
        meta = dict(f.metadata() or {})
    info = json.loads(meta.get("rag_reader", "{}"))
    info["soup"] = {"files": [f.name for f in files], "weights": weights}
    meta["rag_reader"] = json.dumps(info)
    return tensors, meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("files", type=Path, nargs="+")
    ap.add_argument("--weights", help="comma-separated, one per file (default: equal)")
    args = ap.parse_args()
    weights = [float(w) for w in args.weights.split(",")] if args.weights else None
    tensors, meta = average(args.files, weights)
    save_file(tensors, str(args.out), meta)


if __name__ == "__main__":
    main()
