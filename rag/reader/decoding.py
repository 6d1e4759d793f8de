"""Start/end logits of one window → the best-scoring answer spans.

A span's score is its start logit plus its end logit; the window's no-answer
score is the same sum at the first (``<s>``) token. Only tokens of the passage
may bound a span, the end may not precede the start, and a span is at most
``max_tokens`` long.

>>> import numpy as np
>>> from rag.reader.windows import Window
>>> w = Window([0, 9, 2, 2, 5, 6, 7, 2], [0, 0, 0, 0, 1, 1, 1, 0],
...            [(0, 0)] * 4 + [(0, 1), (1, 3), (3, 4), (0, 0)], passage=0)
>>> s = np.array([0, 0, 0, 0, 1, 5, 0, 0.]); e = np.array([0, 0, 0, 0, 0, 1, 4, 0.])
>>> best = best_spans(w, s, e)[0]
>>> (best.start, best.end, best.score)
(1, 4, 9.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.reader.windows import Window, char_span


@dataclass(frozen=True)
class SpanScore:
    """One candidate answer within one passage."""

    passage: int
    start: int          # character offsets into that passage
    end: int
    score: float        # start + end logit
    null_score: float   # the window's no-answer score


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
    s = np.asarray(start_logits, dtype=np.float64)[idx]
    e = np.asarray(end_logits, dtype=np.float64)[idx]
    pos = np.asarray(idx)
    # every (start, end) pair among the passage tokens, scored at once
    table = s[:, None] + e[None, :]
    gap = pos[None, :] - pos[:, None]
    table[(gap < 0) | (gap >= max_tokens)] = -np.inf
    null = float(start_logits[0] + end_logits[0])
    out: list[SpanScore] = []
    for flat in np.argsort(table, axis=None)[::-1][:top_n]:
        i, j = divmod(int(flat), table.shape[1])
        if not np.isfinite(table[i, j]):
            break
        a, b = char_span(window, int(pos[i]), int(pos[j]))
        out.append(SpanScore(window.passage, a, b, float(table[i, j]), null))
    return out
