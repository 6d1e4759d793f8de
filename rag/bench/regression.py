"""The CMRC regression subset: the first questions of a set over their paragraphs plus evenly spread distractors.

``tests/regression/test_regression_cmrc.py`` holds floors under it and
``scripts/behaviour_snapshot.py`` records its predictions. The first 200 questions of CMRC 2018
dev are written on 55 paragraphs; 145 more, spread evenly over the rest of the file, make the
corpus 200 paragraphs (about 700 chunks).
"""

from __future__ import annotations

from rag.bench.squad import SquadSet

N_QUESTIONS = 200
N_PARAGRAPHS = 200


def subset(full: SquadSet, n_questions: int = N_QUESTIONS, n_paragraphs: int = N_PARAGRAPHS) -> SquadSet:
    """The first ``n_questions`` questions over ``n_paragraphs`` paragraphs: theirs, then distractors.

    Args:
        full: the whole set.
        n_questions: how many questions, from the start.
        n_paragraphs: how many paragraphs in all (at least as many as the questions need).

    Returns:
        The subset, named ``cmrc_regression``.
    """
    questions = full.questions[:n_questions]
    need = list(dict.fromkeys(q.doc for q in questions))
    rest = [p for p in full.paragraphs if p.doc not in set(need)]
    extra = n_paragraphs - len(need)
    step = len(rest) / extra
    picked = set(need) | {rest[int(i * step)].doc for i in range(extra)}
    paragraphs = tuple(p for p in full.paragraphs if p.doc in picked)
    return SquadSet(name="cmrc_regression", paragraphs=paragraphs, questions=questions)
