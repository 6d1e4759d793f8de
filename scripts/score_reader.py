"""Score reader weights as training scores each epoch: the best span of each question's gold
paragraph, CMRC-metric EM/F1 (``rag.training.objective.evaluate``), on a development set.

The learning curve in docs/reader.md needs the point before training (epoch 0: the weights a run
starts from); the training log holds the later ones, scored by the same function on the same
examples.

    OMP_NUM_THREADS=1 python scripts/score_reader.py runs/init-seed41.safetensors [--set cmrc-select] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")   # before the model libraries are imported

from rag.reader import Reader  # noqa: E402
from rag.training.data import split_examples  # noqa: E402
from rag.training.objective import evaluate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("weights", help="a reader weights file (.safetensors)")
    ap.add_argument("--set", default="cmrc-select", help="a split part: cmrc-select (default) or cmrc-train")
    ap.add_argument("--data", default=None, help="bench data directory (default: ../shared/bench)")
    ap.add_argument("--bf16", action="store_true", help="compute in bfloat16 (only where the CPU has it natively)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not os.path.isfile(args.weights):
        print(f"score_reader: weights not found: {args.weights}", file=sys.stderr)
        return 2
    try:
        examples = split_examples(args.set, args.data)
    except (KeyError, OSError, ValueError) as e:
        print(f"score_reader: cannot read {args.set}: {e}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    scores = evaluate(Reader.load(args.weights, bf16=args.bf16), examples)
    out = {"weights": args.weights, "set": args.set, **scores, "seconds": round(time.perf_counter() - t0, 1)}
    print(json.dumps(out) if args.json else
          f"{args.set}: {out['n']} questions, F1 {out['f1']:.2f} EM {out['em']:.2f} ({out['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
