"""Paired lists: 成都、宁夏…分别1000万元、4000万元, the value in the position of the item asked about.

Offsets are relative to the sentence.

>>> from rag.query.question import analyze
>>> s = "成都、宁夏每年分别发放不超过1000万元、4000万元的算力券。"
>>> a, b = respectively(analyze("宁夏每年发放的算力券总额不超过多少?"), s, (14, 20)); s[a:b]
'4000万元'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.typed import NUMBER_RE
from rag.query.question import Question
from rag.text.lexicon import places_in
from rag.text.tokens import words_with_pos

#: Words that say two lists are paired item by item.
_RESPECTIVELY = ("分别", "依次", "各为")
#: Answer types that an item of a paired list can be (the value of 成都 in 成都、宁夏…1000万元、4000万元).
PAIRED_TYPES = ("number", "place", "org", "person")


def _parallel_lists(sent: str) -> list[list[tuple[int, int]]]:
    """The 、-separated lists of single words or numbers in a sentence, each as item spans."""
    numbers = [m.span() for m in NUMBER_RE.finditer(sent) if re.search(r"\d", m.group())]
    atoms, pos = list(numbers), 0
    for w, _ in words_with_pos(sent):
        if not any(a < pos + len(w) and pos < b for a, b in numbers):
            atoms.append((pos, pos + len(w)))
        pos += len(w)
    atoms.sort()
    out: list[list[tuple[int, int]]] = []
    cur = atoms[:1]
    k = 1
    while k < len(atoms):
        if sent[atoms[k][0]:atoms[k][1]] == "、" and k + 1 < len(atoms) and cur:
            cur.append(atoms[k + 1])
            k += 2
            continue
        if len(cur) >= 2:
            out.append(cur)
        cur = [atoms[k]]
        k += 1
    if len(cur) >= 2:
        out.append(cur)
    return [lst for lst in out if all(sent[a:b] != "、" for a, b in lst)]


def _all_numbers(sent: str, items: list[tuple[int, int]]) -> bool:
    return all(re.search(r"\d", sent[a:b]) for a, b in items)


def _other_places(q: Question, items: Sequence[str]) -> bool:
    """Whether every item names a place and the question asks about a place none of them is."""
    asked = places_in(q.text)
    found = [places_in(item) for item in items]
    return bool(asked) and all(found) and not any(asked & f for f in found)


def respectively(q: Question, sent: str, pick: tuple[int, int]) -> tuple[int, int] | None:
    """成都、宁夏…分别1000万元、4000万元: the item of the answer's list in the position of the
    item of another list that the question names. Lists are paired when one holds figures and
    the other does not, or when the sentence says 分别/依次/各为.

    A question about a place that the paired list of places leaves out (深圳 asked, 成都、宁夏
    listed) is not answered by any of the list's values: None.

    Args:
        q: the analysed question.
        sent: the sentence.
        pick: the chosen span.

    Returns:
        The corresponding span, ``pick`` unchanged, or None when the values belong to other places.
    """
    lists = _parallel_lists(sent)
    said = any(w in sent for w in _RESPECTIVELY)
    for answer_list in lists:
        if not any(a <= pick[0] < b or pick[0] <= a < pick[1] for a, b in answer_list):
            continue
        for other in lists:
            if other is answer_list or len(other) != len(answer_list):
                continue
            if not said and _all_numbers(sent, other) == _all_numbers(sent, answer_list):
                # 上海电视大学、杨浦区业余大学 beside 复旦大学、同济大学: two lists of names that merely
                # have the same length are not paired; names with figures are, or 分别 says so
                continue
            named = [i for i, (a, b) in enumerate(other) if sent[a:b] in q.text]
            if not named and _other_places(q, [sent[a:b] for a, b in other]):
                return None
            if len(named) == 1:
                a, b = answer_list[named[0]]
                if q.unit and sent.startswith(q.unit, b):
                    b += len(q.unit)
                if sent[a:b] in q.text:
                    return pick  # a misread list (新刊5卷、版4卷 gave 卷 for 多少卷): nothing the question lacks
                return a, b
    return pick
