"""Start/end logits of one window → the best-scoring answer spans.

A span's score is the log-probability of its start plus that of its end, each a
softmax over the window's tokens; the window's no-answer score is the same sum
at the first (``<s>``) token. Normalising per window lets spans of different
windows and passages compete on probabilities rather than raw logits (on the
reader's held-out DRCD/XQuAD questions: +1.2 F1 end to end for one member, +0.5
for the pair); within a window it changes nothing, and a span's margin over
no-answer is the same as with raw logits. Only tokens of the passage may bound a
span, the end may not precede the start, and a span is at most ``max_tokens``
long.

>>> import numpy as np
>>> from rag.reader.windows import Window
>>> w = Window([0, 9, 2, 2, 5, 6, 7, 2], [0, 0, 0, 0, 1, 1, 1, 0],
...            [(0, 0)] * 4 + [(0, 1), (1, 3), (3, 4), (0, 0)], passage=0)
>>> s = np.array([0, 0, 0, 0, 1, 5, 0, 0.]); e = np.array([0, 0, 0, 0, 0, 1, 4, 0.])
>>> best = best_spans(w, s, e)[0]
>>> (best.start, best.end, round(best.score - best.null_score, 3))
(1, 4, 9.0)
>>> best.score < 0          # a log-probability
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.reader.windows import Window, char_span


@dataclass(frozen=True)
class SpanScore:
    """One candidate answer within one passage."""

    passage: int
    start: int          # character offsets into that passage
    end: int
    score: float        # log p(start) + log p(end), softmax over the window
    null_score: float   # the window's no-answer score, on the same scale


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities over one window's tokens.

    >>> np.round(np.exp(log_softmax(np.array([0.0, 0.0]))), 2).tolist()
    [0.5, 0.5]

    Args:
        logits: one logit per token.

    Returns:
        ``logits`` minus their log-sum-exp, in float64.
    """
    x = np.asarray(logits, dtype=np.float64)
    m = float(x.max()) if x.size else 0.0
    return x - (m + np.log(np.exp(x - m).sum()))


def best_spans(
    window: Window,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    top_n: int = 5,
    max_tokens: int = 40,
) -> list[SpanScore]:
    """The highest-scoring spans of one window.

    Args:
        window: the window the logits belong to.
        start_logits: one logit per token.
        end_logits: one logit per token.
        top_n: how many spans to return.
        max_tokens: the longest span, in tokens.

    Returns:
        Up to ``top_n`` spans, best first.
    """
    mask = np.asarray(window.context_mask, dtype=bool)[: len(start_logits)]
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    start_lp = log_softmax(start_logits)
    end_lp = log_softmax(end_logits)
    s = start_lp[idx]
    e = end_lp[idx]
    pos = np.asarray(idx)
    # every (start, end) pair among the passage tokens, scored at once
    table = s[:, None] + e[None, :]
    gap = pos[None, :] - pos[:, None]
    table[(gap < 0) | (gap >= max_tokens)] = -np.inf
    null = float(start_lp[0] + end_lp[0])
    out: list[SpanScore] = []
    for flat in np.argsort(table, axis=None)[::-1][:top_n]:
        i, j = divmod(int(flat), table.shape[1])
        if not np.isfinite(table[i, j]):
            break
        a, b = char_span(window, int(pos[i]), int(pos[j]))
        out.append(SpanScore(window.passage, a, b, float(table[i, j]), null))
    return out


def merge_spans(
    windows: Sequence[Window],
    logits: Iterable[tuple[np.ndarray, np.ndarray]],
    top_n: int = 5,
    max_tokens: int = 40,
) -> list[SpanScore]:
    """The best spans of every window, each distinct span once (at its best score), best first.

    What every reader's ``read`` returns, whatever computed the logits (torch or ONNX Runtime).

    >>> w = Window([0, 9, 2, 2, 5, 6, 2], [0, 0, 0, 0, 1, 1, 0], [(0, 0)] * 4 + [(0, 1), (1, 2), (0, 0)], passage=0)
    >>> s = np.array([0, 0, 0, 0, 3, 0, 0.])
    >>> spans = merge_spans([w, w], [(s, s), (s + 1, s)], top_n=2)
    >>> [(x.start, x.end) for x in spans]          # the overlap's twice-read span is kept once
    [(0, 1), (0, 2)]

    Args:
        windows: the windows read.
        logits: (start, end) logits of each window, in the same order.
        top_n: spans kept per window before merging.
        max_tokens: the longest span, in tokens.

    Returns:
        Distinct spans over all windows, best ``score`` first.
    """
    seen: dict[tuple[int, int, int], SpanScore] = {}
    for w, (s, e) in zip(windows, logits):
        for span in best_spans(w, s, e, top_n=top_n, max_tokens=max_tokens):
            key = (span.passage, span.start, span.end)
            if key not in seen or seen[key].score < span.score:
                seen[key] = span
    return sorted(seen.values(), key=lambda x: -x.score)
