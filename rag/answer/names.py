"""Names in a sentence: people, organisations and places, for the answer types that ask for them.

jieba's part-of-speech tags find most names; fixed patterns add the speaker of a
quote (主任王海峰说), organisations by their suffix (…研究中心) and the whole
location after 位于. Offsets are relative to the sentence.

>>> s = "深度学习技术及应用国家工程研究中心主任王海峰说。"
>>> [s[a:b] for a, b in org_spans(s)]
['深度学习技术及应用国家工程研究中心']
"""

from __future__ import annotations

import re

from rag.answer.clauses import CLAUSE_END, clause_end, trim
from rag.text.lexicon import ORG_SUFFIX, RELATIVE_DATES, SPEAKER_TITLE_ENDINGS, SPEECH_VERBS
from rag.text.tokens import words_with_pos

_SPEECH = re.compile(r"(?:" + "|".join(SPEAKER_TITLE_ENDINGS) + r")([\u4e00-\u9fff]{2,3}?)(?:"
                     + "|".join(SPEECH_VERBS) + ")")
_HAN = re.compile(r"[\u4e00-\u9fff]+")
#: An organisation's name: two to fourteen characters before one or more :data:`ORG_SUFFIX`.
_ORG_NAME = re.compile(r"[\u4e00-\u9fff]{2,14}?(?:" + ORG_SUFFIX.pattern + ")+")
#: Verbs after which a sentence names a location: X位于[…].
LOCATED = re.compile(r"(位于|坐落于|坐落在|地处|设于|设在|座落于|分布于|分布在|产于|原产于|生活在|栖息于|栖息在)$")
#: The longest location taken after 位于, in characters.
PLACE_PHRASE_MAX = 30


def person_spans(sent: str) -> list[tuple[int, int]]:
    """Where a sentence names people: jieba's names (surname and given name joined) and the
    speaker of 主任王海峰说.

    >>> s = "百度首席技术官、深度学习技术及应用国家工程研究中心主任王海峰说。"
    >>> [s[a:b] for a, b in person_spans(s)]
    ['王海峰']

    Args:
        sent: a sentence.

    Returns:
        Sorted (start, end) spans.
    """
    out = [(m.start(1), m.end(1)) for m in _SPEECH.finditer(sent)]
    words = words_with_pos(sent)
    pos = 0
    for n, (w, flag) in enumerate(words):
        if flag == "nr":
            end = pos + len(w)
            # jieba often splits a name into surname + given name (王 / 海峰).
            if len(w) == 1 and n + 1 < len(words) and 1 <= len(words[n + 1][0]) <= 2 and \
                    _HAN.fullmatch(words[n + 1][0]):
                end += len(words[n + 1][0])
            if end - pos >= 2:
                out.append((pos, end))
        pos += len(w)
    return sorted(set(out))


def tagged_spans(sent: str, want: str) -> list[tuple[int, int]]:
    """The words jieba tags with a part of speech starting with ``want`` (``ns`` places, ``nt``
    organisations), in order."""
    spans, pos = [], 0
    for w, flag in words_with_pos(sent):
        if flag.startswith(want):
            spans.append((pos, pos + len(w)))
        pos += len(w)
    return spans


def strip_time(sent: str, a: int, b: int) -> tuple[int, int]:
    """Drop a leading time word (近日福建省… → 福建省…)."""
    for w in sorted(RELATIVE_DATES, key=len, reverse=True):
        if sent.startswith(w, a) and b - a > len(w) + 1:
            return a + len(w), b
    return a, b


def org_spans(sent: str) -> list[tuple[int, int]]:
    """Organisations named by their suffix (…研究中心, …政府), without a leading time word; a name
    that opens with 多/等/各/该/其 is a description (多家实验室), not a name."""
    return [strip_time(sent, *m.span()) for m in _ORG_NAME.finditer(sent) if m.group()[0] not in "多等各该其"]


def place_phrase(sent: str, pick: tuple[int, int], anchor: int) -> tuple[int, int]:
    """位于冰岛西南部法赫萨湾东南岸: a place right after the anchor is the start of the whole
    location (country, region, street, number), which runs to the end of its clause.

    Args:
        sent: the sentence.
        pick: the place name found.
        anchor: where the question's left context ends in the sentence.

    Returns:
        The widened span, or ``pick`` when it does not open a short clause after the anchor.
    """
    s0, _ = trim(sent, anchor, pick[1])
    if s0 != pick[0]:
        return pick
    if pick[1] >= len(sent) or sent[pick[1]] in CLAUSE_END:
        return pick
    end = clause_end(sent, pick[1])
    # 浙江省嘉兴市海盐县的一个镇 / 瑞典是…: the location stops where a description of the thing starts.
    stop = re.compile(r"的?一[个条片座所种处间家]|[是为﹐]").search(sent, pick[1], end)
    end = stop.start() if stop else end
    return (pick[0], end) if end - pick[0] <= PLACE_PHRASE_MAX else pick


def name_core(sent: str, start: int, end: int) -> tuple[int, int]:
    """The name inside a description of a person: 曾任总编辑的「William」朱嘉伟 → 「William」朱嘉伟,
    张姚宏影女士为董事长 → 张姚宏影."""
    last_de = sent.rfind("的", start, end)
    if start <= last_de < end - 2:
        start = last_de + 1
    m = re.compile(r"女士|先生|教授|博士|[为是，,]").search(sent, start + 2, end)
    return trim(sent, start, m.start() if m else end)
