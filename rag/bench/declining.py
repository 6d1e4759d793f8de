"""Is declining honest? Questions asked with and without their own paragraph, and the threshold curve.

Every question is asked twice over the same index: once normally (it should
be answered) and once with every chunk of its own paragraph removed from the
ranking (nothing left answers it: it should be declined). The removal drops the
paragraph's chunks from a deeper ranking and keeps the next ones, which is what
retrieval over the corpus without that paragraph returns, except that fusion
normalised the scores with the removed chunks present. Both runs record the
confidence and the answer the system would give if it never declined; sweeping
the threshold over the confidences gives precision and recall of declining and
the score of the mixed set. The operating point is the highest threshold that
still answers 95% of the questions that have their paragraph.

>>> t = [Trial("a", "own", 0.9, 1.0, 1.0), Trial("a", "removed", 0.2, 0.0, 0.0)]
>>> p = curve(t, [0.5])[0]
>>> (p["precision"], p["recall"], p["answered_own"], p["mixed_score"])
(1.0, 1.0, 1.0, 1.0)
>>> operating_point(curve(t, [0.0, 0.5, 0.95]))["threshold"]
0.5
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rag.bench.metrics import exact_match, f1_score
from rag.types import Passage

#: How deep the ranking is read before the question's own paragraph is removed.
REMOVAL_DEPTH = 20


@dataclass(frozen=True)
class Trial:
    """One question asked one way."""

    qid: str
    kind: str           # "own": its paragraph is there; "removed": it is not
    confidence: float
    f1: float           # of the answer it would give if it never declined (0 for "removed")
    em: float


def without_doc(passages: Sequence[Passage], doc: str, top_k: int) -> list[Passage]:
    """The ranking with one document's chunks taken out, renumbered.

    Args:
        passages: a ranking, best first.
        doc: the document to remove.
        top_k: how many passages to keep.

    Returns:
        The remaining top passages, ranks 1..n.
    """
    kept = [p for p in passages if p.chunk.doc != doc][:top_k]
    return [replace(p, rank=i + 1) for i, p in enumerate(kept)]


def curve(trials: Sequence[Trial], thresholds: Sequence[float]) -> list[dict[str, float]]:
    """Precision and recall of declining, and what answering keeps, at each threshold.

    Declining means confidence below the threshold. *Precision*: the share of
    declined questions that had no paragraph. *Recall*: the share of
    paragraph-less questions declined. ``answered_own``: the share of normal
    questions still answered; ``own_f1``: their mean F1 counting declines as 0;
    ``mixed_score``: mean over all trials of F1 (answered, own) or 1 (declined,
    removed).

    Args:
        trials: both kinds of trial.
        thresholds: the thresholds to try.

    Returns:
        One dict per threshold.
    """
    own = [t for t in trials if t.kind == "own"]
    gone = [t for t in trials if t.kind == "removed"]
    out = []
    for th in thresholds:
        d_own = sum(1 for t in own if t.confidence < th)
        d_gone = sum(1 for t in gone if t.confidence < th)
        kept_f1 = sum(t.f1 for t in own if t.confidence >= th)
        kept_em = sum(t.em for t in own if t.confidence >= th)
        declined = d_own + d_gone
        out.append({
            "threshold": round(float(th), 4),
            "precision": round(d_gone / declined, 4) if declined else 1.0,
            "recall": round(d_gone / len(gone), 4) if gone else 0.0,
            "answered_own": round(1 - d_own / len(own), 4) if own else 0.0,
            "own_f1": round(100 * kept_f1 / len(own), 2) if own else 0.0,
            "own_em": round(100 * kept_em / len(own), 2) if own else 0.0,
            "mixed_score": round((kept_f1 + d_gone) / max(1, len(trials)), 4),
        })
    return out


#: The share of questions that have their paragraph that must still be answered at the operating
#: point: a product whose documents usually hold the answer must not decline much more than that.
MIN_ANSWERED = 0.95


def operating_point(points: Sequence[dict[str, float]], min_answered: float = MIN_ANSWERED) -> dict[str, float]:
    """The highest threshold that still answers ``min_answered`` of the normal questions.

    Declining recall only grows with the threshold, so this is the point that declines the most
    paragraph-less questions within the answering budget. When no threshold above 0 keeps the
    budget, the point with the best mixed-set score.

    Args:
        points: the output of :func:`curve`.
        min_answered: the share of normal questions that must be answered.

    Returns:
        The chosen point.
    """
    within = [p for p in points if p["answered_own"] >= min_answered]
    return max(within, key=lambda p: p["threshold"]) if within else best_mixed(points)


def best_mixed(points: Sequence[dict[str, float]]) -> dict[str, float]:
    """The threshold with the best mixed-set score (the lowest one on a tie).

    With as many paragraph-less questions as normal ones this favours declining: a correct
    decline scores 1, a correct answer its F1.

    Args:
        points: the output of :func:`curve`.

    Returns:
        The point.
    """
    return max(points, key=lambda p: (p["mixed_score"], -p["threshold"]))


def run_trials(ask: Callable[[str, list[Passage]], Any], search: Callable[[str], list[Passage]],
               questions: Sequence[Any], top_k: int) -> list[Trial]:
    """Ask every question with and without its own paragraph.

    Args:
        ask: answers a question from given passages, never declining (threshold 0);
            returns an :class:`~rag.types.Answer` whose ``confidence`` is the score.
        search: the ranking of a question, at least :data:`REMOVAL_DEPTH` deep.
        questions: objects with ``qid``, ``question``, ``answers`` and ``doc``.
        top_k: passages given to the answer step.

    Returns:
        Two trials per question.
    """
    out: list[Trial] = []
    for q in questions:
        ranking = search(q.question)
        for kind, passages in (("own", ranking[:top_k]), ("removed", without_doc(ranking, q.doc, top_k))):
            ans = ask(q.question, passages)
            text = ans.answer if ans is not None else None
            conf = float(ans.confidence) if ans is not None and text is not None else 0.0
            f1 = f1_score(text, q.answers) if kind == "own" else 0.0
            em = exact_match(text, q.answers) if kind == "own" else 0.0
            out.append(Trial(q.qid, kind, conf, f1, em))
    return out


def default_thresholds(trials: Sequence[Trial], steps: int = 50) -> list[float]:
    """Evenly spaced thresholds over the observed confidences (and 0).

    Args:
        trials: the trials.
        steps: how many thresholds.

    Returns:
        Increasing thresholds.
    """
    top = max((t.confidence for t in trials), default=1.0)
    return [0.0] + [round(top * (i + 1) / steps, 4) for i in range(steps)]
