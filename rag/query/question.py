"""What a question asks: its expected answer type and where its question word stands.

No model here: the question word (多少, 谁, 哪些, 何时, 什么, …) fixes the answer
type, and splits the question into a left and right context that the answer
span should sit between once the question is aligned with a sentence.

>>> q = analyze("湖北人工智能产业规模到2025年要超过多少?")
>>> q.qtype, q.left[-2:], q.right
('number', '超过', '')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.config import MAX_QUESTION_CHARS
from rag.errors import QuestionError
from rag.text.lexicon import MEASURE_WORDS, ORG_QUESTION_NOUNS, QUESTION_PUNCT, TITLE_QUESTION_NOUNS
from rag.text.tokens import words_with_pos

#: The expected answer type of a question.
QType = str

# Order matters: the first pattern that matches fixes the type.
_QWORDS: list[tuple[str, QType]] = [
    # 作为什么样的 / 称为什么: 为 belongs to the verb there.
    (r"(?:是|就是)?(?:因为|由于)什么|(?<![作成称认以视名改更封任选立列定拜分译化变转升降设奉尊推])为什么(?!样)"
     r"|为何|何故|因何|什么原因|何原因", "why"),
    (r"什么时候|何时|哪几年|哪几个月|哪几天|哪一年|哪年|哪个月|几月|几号|哪一天|哪天|什么时间|多久|多长时间|几年|何年", "date"),
    (r"哪位|哪个人|是谁|谁|何人", "person"),
    (r"多少|几[个条项家所种类点大倍十百千万亿方]?|多大|多高|多长|多远|多快|多重|多深|多宽|多厚|比例|百分之几", "number"),
    (r"哪国人|哪个国家(?![级队机部])|哪一个国家|哪国(?![级队])|哪个省|哪个市|哪个城市|哪个地区|哪些地方|哪些省|哪些城市|哪些地区|哪里|哪儿|何地|何处|什么地方|哪个地方|哪地|哪一?个[区县镇乡村州岛](?![长委政府])", "place?"),
    (r"哪些|哪几", "list"),
    (r"哪个|哪家|哪份|哪项|哪部|哪一|哪所|哪类|哪种|什么样的?|什么|啥|何种|有何|何为|何物|何事|怎样的?|如何|怎么|哪", "what"),
]
#: A question with no question word whose gap is its end: 三花酒的原料为？ 负责管理的单位为？ 规定于何？
#: (DRCD writes a tenth of its questions so). Only with a question mark: without one it is a keyword query.
_GAP_END = re.compile(r"(?:为|是|指|叫|叫做|称为|称作|名为|于何|何)$")
_QWORD_RE = re.compile("|".join(f"(?:{p})" for p, _ in _QWORDS))
_ORG_HINT = re.compile("(" + "|".join(ORG_QUESTION_NOUNS) + ")")
_TITLE_HINT = re.compile("(" + "|".join(TITLE_QUESTION_NOUNS) + ")")
_LIST_HINT = re.compile(r"(哪些|哪几|领域|方面|包括|有哪)")
_PLACE_WORDS = re.compile(r"(省|市|城市|地区|地方|地|哪里|哪儿|何地)")
_NUMBER_UNIT_HINT = re.compile(r"(多少|几)(\S?)")
#: How much of the right and left context is searched for a noun that narrows 什么/哪个, in characters.
_HINT_RIGHT_CHARS, _HINT_LEFT_CHARS = 6, 4
#: The longest name whose identity a question asks (王海峰是谁), and the longest one jieba may split.
_MAX_NAME_CHARS, _MAX_SPLIT_NAME_CHARS = 12, 4
#: The longest attribute of a copula question (X的Y是什么), and the longest noun after 是什么 (X是什么职业).
_MAX_ATTRIBUTE_CHARS, _MAX_TRAILING_ATTRIBUTE_CHARS = 8, 4


@dataclass(frozen=True)
class Question:
    """A parsed question."""

    text: str
    qtype: QType          # number, date, person, place, org, title, list, why, what
    qword: str            # the question word found ('' when none)
    left: str             # text before the question word
    right: str            # text after it (trailing punctuation removed)
    unit: str = ""        # the unit right after 多少/几, e.g. 条 in 几条
    person: str = ""      # the person whose identity is asked (王海峰 of 王海峰是谁), see identity_name


def validate(question: str) -> str:
    """Check a question as typed by a user.

    Args:
        question: the raw question.

    Returns:
        The question with surrounding whitespace removed.

    Raises:
        QuestionError: empty, whitespace-only, or over ``MAX_QUESTION_CHARS``.
    """
    if question is None or not str(question).strip():
        raise QuestionError("问题为空 / the question is empty")
    q = str(question).strip()
    if len(q) > MAX_QUESTION_CHARS:
        raise QuestionError(f"问题过长 ({len(q)} 字, 上限 {MAX_QUESTION_CHARS}) / "
                            f"the question is too long ({len(q)} > {MAX_QUESTION_CHARS} characters)")
    return q


def analyze(question: str) -> Question:
    """Find the question word, its answer type and the contexts around it.

    Args:
        question: the question text.

    Returns:
        The analysis; ``qtype`` is ``"what"`` when no question word is found.
    """
    text = question.strip()
    body = text.rstrip(QUESTION_PUNCT)
    m = _QWORD_RE.search(body)
    if not m:
        g = _GAP_END.search(body) if text.endswith(("?", "？")) else None
        if g is not None and g.start() > 0:
            # 于何 / 何 is the question word; after 为 / 是 the question mark stands in for it
            qword = "何" if body.endswith("何") else text[-1]
            left = body[:-1] if qword == "何" else body
            return Question(text, _refine("what", qword, left, ""), qword, left, "")
        return Question(text, _refine("what", "", body, ""), "", body, "")
    qword = m.group(0)
    qtype = next(t for p, t in _QWORDS if re.fullmatch(p, qword))
    left, right = body[:m.start()], body[m.end():]
    unit = ""
    if qtype == "number":
        um = _NUMBER_UNIT_HINT.match(qword + right)
        unit = (qword[1:] if qword.startswith("几") and len(qword) > 1 else um.group(2) if um else "").strip()
        if unit not in MEASURE_WORDS:
            unit = ""  # 多少算力券: 算 is no unit
    person = _identity(qword, left, right)
    return Question(text, _refine(qtype, qword, left, right, person), qword, left, right, unit, person)


def _refine(qtype: QType, qword: str, left: str, right: str, person: str = "") -> QType:
    """Narrow 什么/哪个 questions by the noun they ask about (``person``: see :func:`_identity`)."""
    around = right[:_HINT_RIGHT_CHARS] + "|" + left[-_HINT_LEFT_CHARS:]
    if qtype == "person" and re.match(r"(来)?(印发|发布|出台|制定|主办|批准|颁布|下发|组织|牵头)", right):
        return "org"  # 由谁印发: documents are issued by organisations
    if qtype == "person" and person:
        return "what"  # 王海峰是谁: who a named person is, a description, not another name
    if qtype == "place?":
        if qword == "哪" and not _PLACE_WORDS.search(right[:3]):
            qtype = "what"
        else:
            return "place"
    if qword in ("哪些", "哪几"):
        return "list"
    if qtype == "what" and re.search(r"(原因|理由|缘故|缘由)(主要|究竟|到底)?(是|为)$", left) and not right.strip(QUESTION_PUNCT):
        return "why"  # X的原因是什么 asks 为什么X
    if qtype in ("what", "list"):
        if (_TITLE_HINT.search(right[:_HINT_RIGHT_CHARS]) or re.search(r"(全称|名称|名字|标题|题目)(是|为|叫)?$", left)
                or (re.search(r"(叫|称为|名为)$", left) and _TITLE_HINT.search(left[-8:]))) \
                and ("《" not in left):
            return "title"
        if _ORG_HINT.search(right[:_HINT_RIGHT_CHARS]):
            return "org"
        if qtype == "list" or _LIST_HINT.search(around):
            return "list"
    return qtype


def _identity_subject(left: str, right: str) -> str:
    """The person named in 王海峰是谁 / 谁是王海峰 / 王海峰是何人, or ''.

    A name is what jieba tags as one (nr) whole, or a 2–4 character word that opens with a
    surname it tags so (王 + 海峰: jieba splits names it does not know).
    """
    right = right.strip(QUESTION_PUNCT)
    if right:
        if left.strip() or not right.startswith("是"):
            return ""
        name = right[1:]
    else:
        name = re.sub(r"(究竟|到底)?(是|为)?$", "", left.strip())
    if not 2 <= len(name) <= _MAX_NAME_CHARS or not re.fullmatch(r"[\u4e00-\u9fff·]+", name):
        return ""
    words = words_with_pos(name)
    whole = len(words) == 1 and words[0][1] == "nr"
    surname = len(name) <= _MAX_SPLIT_NAME_CHARS and words[0][1] == "nr" and len(words[0][0]) == 1 and len(words) <= 2
    return name if whole or surname else ""


def _identity(qword: str, left: str, right: str) -> str:
    """The person whose identity a question asks (王海峰是谁? 王海峰担任什么职务?), or ''."""
    if qword in ("是谁", "谁", "何人", "哪位"):
        return _identity_subject(left, right)
    if qword == "什么":
        # 王海峰担任什么职务? 王海峰的职务是什么? 王海峰是什么人?
        m = (re.fullmatch(r"(.+?)(?:现|目前|还|曾)?(?:担任|任|是)", left)
             if re.fullmatch(rf"(职务|职位|身份|头衔|人)[{QUESTION_PUNCT}]*", right) else
             re.fullmatch(r"(.+?)的(?:职务|职位|身份|头衔)(?:是|为)", left) if not right.strip(QUESTION_PUNCT) else None)
        return _identity_subject(m.group(1), "") if m else ""
    return ""


def identity_name(q: Question) -> str:
    """The person whose identity a question asks, as in 王海峰是谁? or 王海峰担任什么职务? (else '').

    The answer is the title or description standing with the name in the text (百度首席技术官…主任王海峰),
    not a person. Found once, by :func:`analyze` (``Question.person``).

    >>> identity_name(analyze("王海峰是谁?"))
    '王海峰'
    >>> identity_name(analyze("《措施》由谁印发?"))
    ''
    """
    return q.person


#: 是 / 为 / 叫 … ending the left context of a 什么 question: X(的Y)是什么.
_COPULA_END = re.compile(r"(?:主要|分别|究竟|到底|具体|最初|原来|原先|一般|通常)?"
                         r"(?:是|为|叫做|叫|称为|被称为|名为|指的是|指|属于|乃)$")
#: Words after 什么 that only ask for more (是什么样的, 是什么呢).
_TRAILERS = re.compile(r"(?:样的?|呢|呀|啊|吗|的)?")


def copula_parts(q: Question) -> tuple[str, str] | None:
    """The topic and the attribute of a copula question.

    ``X的Y是什么`` → ``(X, Y)``; ``X是什么`` → ``(X, "")``; ``X是什么Y`` → ``(X, Y)``
    (Y a short noun such as 职业). Wikipedia-style text states these as
    ``X（…），Z`` / ``X是Z`` or ``Y为Z``, so the answer follows X or Y.

    Args:
        q: the analysed question.

    Returns:
        ``(topic, attribute)``, or None when the question is not of that form.
    """
    if q.qword not in ("什么", "啥", "什么样", "什么样的", "是谁", "谁", "哪里", "哪儿", "什么地方", "？", "?"):
        return None
    left = q.left + "是" if q.qword == "是谁" else q.left  # X的母亲是谁: 是 went with the question word
    m = _COPULA_END.search(left)
    if not m or m.start() < 2:
        return None
    subject = left[:m.start()].strip(QUESTION_PUNCT)
    right = q.right.strip(QUESTION_PUNCT)
    if _TRAILERS.fullmatch(right):
        right = ""
    if right and (len(right) > _MAX_TRAILING_ATTRIBUTE_CHARS or "的" in right):
        return None  # X是什么理论的创始人: not a plain attribute
    if right:
        return subject, right
    topic, _, attr = subject.rpartition("的")
    if topic and 1 <= len(attr) <= _MAX_ATTRIBUTE_CHARS:
        return topic, attr
    return subject, ""
