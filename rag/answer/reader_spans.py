"""Checks and trims of a span the trained reader read, before it is weighed against the rules.

The reader was trained on short encyclopaedic answers; in news text it tends to
take a reporting frame (…提出，), a stray particle, the speaker of a quote or a
person's name beside the office asked for. These functions fix or reject such
spans; offsets are into the passage text.
"""

from __future__ import annotations

import functools

from rag.answer.names import person_spans
from rag.text.lexicon import COMMAS_COLONS

#: Characters never kept at either end of a reader span.
_EDGE = set(" \t\r\n\u3000，。、；：！？,.;:!?…—-·")


def clean_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop spaces and punctuation at the ends of a span, keeping 《》 and quotes balanced.

    A title that fills its 《》 exactly is returned with them.

    Args:
        text: the passage.
        start: span start.
        end: span end.

    Returns:
        The narrowed (start, end); empty when nothing but punctuation was inside.
    """
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    for a, b in ("《》", "“”", "（）", "()", "「」"):
        piece = text[start:end]
        if piece.count(a) > piece.count(b) and text[end:end + 1] == b:
            end += 1
        elif piece.count(b) > piece.count(a) and start > 0 and text[start - 1] == a:
            start -= 1
    if start > 0 and text[start - 1] == "《" and text[end:end + 1] == "》":
        start, end = start - 1, end + 1  # a title is quoted whole, as the document writes it
    return start, end


#: Function words that are never an answer's first or last word (1789年的 → 1789年, 在中国 → 中国).
_LEADING_WORDS = frozenset("在于从自")
_TRAILING_WORDS = frozenset("的了")


def trim_particles(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop a leading preposition and a trailing particle that stand as words of their own.

    The reader's subword tokens can join a particle to the answer (年的 is one token), so its
    span may end on 的 where the answer ends a character earlier. jieba decides what is a word
    of its own: 目的 and 在线 stay whole.

    >>> t = "条约于1789年的夏天签订"
    >>> t[slice(*trim_particles(t, 3, 9))]
    '1789年'
    >>> t = "他的目的"
    >>> t[slice(*trim_particles(t, 2, 4))]
    '目的'

    Args:
        text: the passage.
        start: span start.
        end: span end.

    Returns:
        The narrowed (start, end); a span of a single word is kept as it is.
    """
    from rag.text.tokens import words as cut

    words = cut(text[start:end], hmm=False)
    while len(words) > 1 and words[-1] in _TRAILING_WORDS:
        end -= len(words.pop())
    while len(words) > 1 and words[0] in _LEADING_WORDS:
        start += len(words.pop(0))
    return start, end


#: Verbs that end a "who says" frame: 《措施》提出，… / 报告指出：… (a source, then what it says).
_REPORTING = ("提出", "指出", "表示", "强调", "明确", "要求", "显示")
#: The longest "source says," frame dropped from a span's start, in characters (verb and mark included).
MAX_FRAME_CHARS = 12


def drop_reporting_frame(text: str, start: int, end: int, max_frame: int = MAX_FRAME_CHARS) -> int:
    """The start of a span past a leading "source says," frame.

    The reader sometimes starts a span at the sentence's source (《措施》提出，建设…中心): what the
    source says is the answer, the frame is not.

    >>> t = "《措施》提出，建设国家级大模型测试验证与协同创新中心。"
    >>> t[drop_reporting_frame(t, 0, len(t) - 1):-1]
    '建设国家级大模型测试验证与协同创新中心'
    >>> t = "他提出了三点，均获通过"
    >>> drop_reporting_frame(t, 0, len(t))
    0

    Args:
        text: the passage.
        start: span start.
        end: span end.
        max_frame: the longest frame dropped, in characters (verb and mark included).

    Returns:
        The new start (``start`` when there is no such frame or nothing would be left).
    """
    piece = text[start:end]
    for i, ch in enumerate(piece[: max_frame + 1]):
        if ch in COMMAS_COLONS:
            if i + 1 < len(piece) and piece[:i].endswith(_REPORTING):
                return start + i + 1
            return start
    return start


def drop_question_echo(text: str, start: int, end: int, left: str) -> int:
    """The start of a span past the question's own word before its gap.

    广东提出建设什么交易平台? asks what follows 建设: a span that starts with 建设 repeats the
    question (建设算力算法交易平台 → 算力算法交易平台). Only a word of two or more characters is
    dropped (是, 于, 了 are too common to be the question's own), and only when jieba reads it as a
    word of its own at the span's start (建设者 stays whole).

    >>> t = "广东提出建设算力算法交易平台。"
    >>> t[drop_question_echo(t, 4, 14, "广东提出建设"):14]
    '算力算法交易平台'
    >>> drop_question_echo(t, 4, 6, "广东提出建设")
    4

    Args:
        text: the passage.
        start: span start.
        end: span end.
        left: the question's text before its question word (:attr:`rag.query.question.Question.left`).

    Returns:
        The new start (``start`` when the span does not open with that word or nothing would be left).
    """
    from rag.text.tokens import words as cut

    echo = _last_word(left)
    piece = text[start:end]
    if len(echo) < 2 or len(piece) <= len(echo) or not piece.startswith(echo) or cut(piece, hmm=False)[0] != echo:
        return start
    return start + len(echo)


@functools.lru_cache(maxsize=256)
def _last_word(text: str) -> str:
    """jieba's last word of ``text`` ('' when empty): cut once per question, not once per candidate span."""
    from rag.text.tokens import words as cut

    found = cut(text.rstrip(), hmm=False)
    return found[-1] if found else ""


def names_the_source(text: str, start: int, end: int, question: str) -> bool:
    """Whether a span is who says something (《措施》 in 《措施》提出…) where the question asks what.

    >>> t = "《措施》提出，建设测评中心。"
    >>> names_the_source(t, 0, 4, "上海要建设什么中心?"), names_the_source(t, 0, 4, "哪份文件提出建设测评中心?")
    (True, False)

    Args:
        text: the passage.
        start: span start.
        end: span end.
        question: the question (a question that uses the verb asks for the source).

    Returns:
        True when a reporting verb follows the span and the question does not use it.
    """
    return end > start and any(text.startswith(v, end) and v not in question for v in _REPORTING)


#: Question types whose answer is never a person's name alone (哪个机构 asked, 王海峰 read). On
#: CMRC 2018 dev no gold answer of these types is tagged a name; places and titles are left out
#: because jieba tags transliterated places (斯洛文尼亚, 科林斯) and a person's 原名 as names.
_NOT_A_PERSON = frozenset({"org", "number"})
#: The context read around a span to see whether it is a person's name: characters before and after it.
NAME_CONTEXT_BEFORE, NAME_CONTEXT_AFTER = 20, 10


def wrong_type_name(text: str, start: int, end: int, qtype: str) -> bool:
    """Whether a span is just a person's name where the question asks an organisation or number.

    >>> t = "百度首席技术官、深度学习技术及应用国家工程研究中心主任王海峰说。"
    >>> wrong_type_name(t, 27, 30, "org"), wrong_type_name(t, 27, 30, "person")
    (True, False)
    >>> wrong_type_name(t, 8, 25, "org")
    False

    Args:
        text: the passage.
        start: span start.
        end: span end.
        qtype: the question's type (:func:`rag.query.question.analyze`).

    Returns:
        True when the span is exactly a name :func:`rag.answer.names.person_spans` finds in its context.
    """
    if qtype not in _NOT_A_PERSON:
        return False
    lo = max(0, start - NAME_CONTEXT_BEFORE)
    return (start - lo, end - lo) in person_spans(text[lo:end + NAME_CONTEXT_AFTER])


#: Where a title before a name stops: any clause mark or quote, but not the 、 joining two titles.
_TITLE_BOUNDS = set("，。；：！？,.;:!?“”\"「」『』（）()\n")
#: The longest title taken before a name, in characters.
MAX_TITLE_CHARS = 40


def title_before(text: str, start: int, end: int, name: str,
                 max_chars: int = MAX_TITLE_CHARS) -> tuple[int, int]:
    """The whole title standing before ``name`` when a span lies in it: 王海峰是谁? read 首席技术官 in
    百度首席技术官、深度学习技术及应用国家工程研究中心主任王海峰说 and is answered with all of it.

    >>> t = "”百度首席技术官、深度学习技术及应用国家工程研究中心主任王海峰说。"
    >>> a, b = title_before(t, 3, 8, "王海峰"); t[a:b]
    '百度首席技术官、深度学习技术及应用国家工程研究中心主任'
    >>> title_before(t, 30, 31, "王海峰")  # not before the name: unchanged
    (30, 31)

    Args:
        text: the passage.
        start: span start.
        end: span end.
        name: the person asked about.
        max_chars: the longest title taken.

    Returns:
        The title's span, or ``(start, end)`` unchanged when the span is not in a title before the name.
    """
    at = text.find(name, end)
    if at < 0 or any(ch in _TITLE_BOUNDS for ch in text[end:at]):
        return start, end
    lo = start
    while lo > 0 and text[lo - 1] not in _TITLE_BOUNDS and at - (lo - 1) <= max_chars:
        lo -= 1
    if at - lo > max_chars or (lo > 0 and text[lo - 1] not in _TITLE_BOUNDS):
        return start, end
    return lo, at
