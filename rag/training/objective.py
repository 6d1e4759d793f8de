"""What the reader learns from and is scored by: labelled windows, the loss, the development score.

>>> from rag.reader import Window
>>> f = Feature(Window(input_ids=[0, 5, 2], context_mask=[0, 1, 0], offsets=[(0, 0), (0, 1), (0, 0)], passage=0), 1, 1)
>>> (f.start, f.end)
(1, 1)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from rag.bench.metrics import exact_match, f1_score
from rag.reader import Window, make_windows, pad_batch, token_span
from rag.training.data import Example

if TYPE_CHECKING:
    from rag.training.train import TrainConfig


@dataclass(frozen=True)
class Feature:
    """One training window with its gold token positions (0, 0 when the answer is elsewhere)."""

    window: Window
    start: int
    end: int


def features(tokenizer: Any, examples: Sequence[Example], cfg: TrainConfig) -> list[Feature]:
    """Windows with labels: every window holding the answer, and a seeded sample of the rest.

    Args:
        tokenizer: the fast tokenizer.
        examples: training examples.
        cfg: the configuration (window size, negative rate, seed).

    Returns:
        The features, in example order.
    """
    rng = random.Random(cfg.seed)
    out: list[Feature] = []
    for ex in examples:
        for w in make_windows(tokenizer, ex.question, [ex.context], cfg.max_len, cfg.stride):
            span = token_span(w, ex.start, ex.end)
            if span:
                out.append(Feature(w, span[0], span[1]))
            elif rng.random() < cfg.negative_rate:
                out.append(Feature(w, 0, 0))
    return out


def span_loss(net: Any, batch: Sequence[Feature], pad_id: int, cfg: TrainConfig,
              teachers: Sequence[Any] = ()) -> Any:
    """Cross-entropy of the gold start and end, mixed with the teachers' soft targets if any.

    Distillation follows Hinton et al. (2015): KL divergence between the
    temperature-softened distributions, scaled by T² so its gradients keep
    their size; the teachers' logits are averaged, as :class:`~rag.reader.Reader` does.
    """
    import torch

    dev = torch.device(cfg.device)
    ids, mask = pad_batch([f.window for f in batch], pad_id)
    allowed = torch.zeros_like(mask, dtype=torch.bool)
    for i, f in enumerate(batch):
        allowed[i, : len(f.window.context_mask)] = torch.tensor(f.window.context_mask, dtype=torch.bool)
    allowed[:, 0] = True  # the no-answer position
    ids, mask, allowed = ids.to(dev), mask.to(dev), allowed.to(dev)
    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg.bf16):
        s, e = net(ids, mask)
    s = s.masked_fill(~allowed, -1e4)
    e = e.masked_fill(~allowed, -1e4)
    gs = torch.tensor([f.start for f in batch], device=dev)
    ge = torch.tensor([f.end for f in batch], device=dev)
    F = torch.nn.functional
    hard = (F.cross_entropy(s, gs) + F.cross_entropy(e, ge)) / 2
    if not teachers:
        return hard
    with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg.bf16):
        outs = [t(ids, mask) for t in teachers]
    ts = (sum(o[0].float() for o in outs) / len(outs)).masked_fill(~allowed, -1e4)
    te = (sum(o[1].float() for o in outs) / len(outs)).masked_fill(~allowed, -1e4)
    T = cfg.temperature

    def kd(student: Any, teacher: Any) -> Any:
        return F.kl_div(F.log_softmax(student / T, -1), F.log_softmax(teacher / T, -1),
                        log_target=True, reduction="batchmean") * T * T

    soft = (kd(s, ts) + kd(e, te)) / 2
    return (1 - cfg.distill_weight) * hard + cfg.distill_weight * soft


def evaluate(reader: Any, examples: Sequence[Example]) -> dict[str, float]:
    """CMRC-metric EM/F1 of the reader's best span, the gold context given.

    Args:
        reader: a :class:`rag.reader.Reader`.
        examples: examples to score.

    Returns:
        ``{"em", "f1", "n"}`` (EM and F1 ×100).
    """
    em = f1 = 0.0
    for ex in examples:
        spans = reader.read(ex.question, [ex.context], top_n=1)
        pred = ex.context[spans[0].start: spans[0].end] if spans else ""
        gold = [ex.context[ex.start: ex.end]]
        em += exact_match(pred, gold)
        f1 += f1_score(pred, gold)
    n = max(1, len(examples))
    return {"em": round(100 * em / n, 2), "f1": round(100 * f1 / n, 2), "n": len(examples)}
