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

#: The expected answer type of a question.
QType = str

# Order matters: the first pattern that matches fixes the type.
_QWORDS: list[tuple[str, QType]] = [
    (r"什么时候|何时|哪一年|哪年|哪个月|几月|几号|哪一天|哪天|什么时间|多久|多长时间|几年|何年", "date"),
    (r"哪位|哪个人|是谁|谁", "person"),
    (r"多少|几[个条项家所种类点大倍十百千万亿方]?|多大|多高|多长|多远|多快|比例|百分之几", "number"),
    (r"哪国人|哪个国家(?![级队机部])|哪一个国家|哪国(?![级队])|哪个省|哪个市|哪个城市|哪个地区|哪些地方|哪些省|哪些城市|哪些地区|哪里|哪儿|何地|什么地方|哪个地方|哪地", "place?"),
    (r"哪些|哪几", "list"),
    (r"哪个|哪家|哪份|哪项|哪部|哪一|哪所|哪类|哪种|什么样的?|什么|啥|何种|怎样的|如何|怎么|哪", "what"),
]
_QWORD_RE = re.compile("|".join(f"(?:{p})" for p, _ in _QWORDS))
_ORG_HINT = re.compile(r"(部门|部委|机构|单位|组织|企业|公司|政府|委员会|实验室|中心|平台|大学|学院|基地|局|厅|委)")
_TITLE_HINT = re.compile(r"(文件|政策|方案|措施|意见|规划|通知|办法|计划|文|名称|标题|叫什么)")
_LIST_HINT = re.compile(r"(哪些|哪几|领域|方面|包括|有哪)")
_PLACE_WORDS = re.compile(r"(省|市|城市|地区|地方|地|哪里|哪儿|何地)")
_NUMBER_UNIT_HINT = re.compile(r"(多少|几)(\S?)")
#: Measure words and units that may follow 多少 / 几 (多少条, 几层, 多少亿元).
_MEASURE_WORDS = frozenset("条项家个所种类位名人次台座倍年月日天层步头只匹场届部首本张辆架艘枚间支队期批轮集季代岁周"
                           "元亿万吨米秒分度级票球册号站区县")
_STRIP = "?？!！。.，, \t\r\n"


class QuestionError(ValueError):
    """A question that cannot be asked (empty, or too long)."""


@dataclass(frozen=True)
class Question:
    """A parsed question."""

    text: str
    qtype: QType          # number, date, person, place, org, title, list, what
    qword: str            # the question word found ('' when none)
    left: str             # text before the question word
    right: str            # text after it (trailing punctuation removed)
    unit: str = ""        # the unit right after 多少/几, e.g. 条 in 几条


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
    body = text.rstrip(_STRIP)
    m = _QWORD_RE.search(body)
    if not m:
        return Question(text, _refine("what", "", body, ""), "", body, "")
    qword = m.group(0)
    qtype = next(t for p, t in _QWORDS if re.fullmatch(p, qword))
    left, right = body[:m.start()], body[m.end():]
    unit = ""
    if qtype == "number":
        um = _NUMBER_UNIT_HINT.match(qword + right)
        unit = (qword[1:] if qword.startswith("几") and len(qword) > 1 else um.group(2) if um else "").strip()
        if unit not in _MEASURE_WORDS:
            unit = ""  # 多少算力券: 算 is no unit
    return Question(text, _refine(qtype, qword, left, right), qword, left, right, unit)


def _refine(qtype: QType, qword: str, left: str, right: str) -> QType:
    """Narrow 什么/哪个 questions by the noun they ask about."""
    around = right[:6] + "|" + left[-4:]
    if qtype == "person" and re.match(r"(来)?(印发|发布|出台|制定|主办|批准|颁布|下发|组织|牵头)", right):
        return "org"  # 由谁印发: documents are issued by organisations
    if qtype == "place?":
        if qword == "哪" and not _PLACE_WORDS.search(right[:3]):
            qtype = "what"
        else:
            return "place"
    if qword in ("哪些", "哪几"):
        return "list"
    if qtype in ("what", "list"):
        if (_TITLE_HINT.search(right[:6]) or re.search(r"(全称|名称|名字|标题|题目)(是|为|叫)?$", left)
                or (re.search(r"(叫|称为|名为)$", left) and _TITLE_HINT.search(left[-8:]))) \
                and ("《" not in left):
            return "title"
        if _ORG_HINT.search(right[:6]):
            return "org"
        if qtype == "list" or _LIST_HINT.search(around):
            return "list"
    return qtype
