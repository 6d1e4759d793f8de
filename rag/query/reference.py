"""What a follow-up question can point back to: the previous question's subject, its person,
a noun phrase of it, or the question itself as a statement; and the pronoun that points.

>>> subject("上海的《措施》一共提出了多少条产业发展指南?")
'上海的《措施》'
>>> person_ref("百度首席技术官是谁?")
'百度首席技术官'
>>> p = find_pronoun("它聚焦的是哪几个方面"); p.kind, p.start, p.end
('thing', 0, 1)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.query.question import analyze
from rag.query.terms import TITLE, terms, word_spans
from rag.text.lexicon import DOCUMENT_REFERENCE_NOUNS, PHRASE_EDGE, QUESTION_PUNCT

#: Pronouns that point to a person.
PERSON_PRONOUNS = frozenset("他 她 他们 她们 此人 该人 这位 那位 这个人 那个人".split())
#: Pronouns (and demonstratives) that point to a thing; 其他/其中/此次/这样 are other words for jieba.
THING_PRONOUNS = frozenset("它 它们 其 该 此 这 那 这些 那些 这个 那个 本 该项 此项 这项 这份 那份".split())
_DEMONSTRATIVE = re.compile(r"^(这|那|该|此|本)[一份项家位条部种类篇句番段些个届批则]?$")
#: Nouns after a demonstrative that point to the previous statement (这话, 这个说法).
STATEMENT_NOUNS = frozenset("话 说法 观点 表述 论断 句话 番话 段话 判断".split())
_STATEMENT_PRONOUNS = frozenset("这话 此话 那话".split())
#: Document nouns: 该文件 / 这份方案 may point to a 《title》 of the previous question.
_DOC_NOUNS = re.compile("(" + "|".join(DOCUMENT_REFERENCE_NOUNS) + ")$")
#: Part-of-speech tags of the words a noun phrase is made of.
NOUNISH = ("n", "vn", "nz", "ns", "nr", "nt", "j", "b", "eng", "nrt", "nrfg", "an")
#: A pronoun further into the question than this many words points inside it (其 aside).
_MAX_PRONOUN_WORD = 2


def body(question: str) -> str:
    """The question without surrounding white space and end punctuation."""
    return question.strip().rstrip(QUESTION_PUNCT)


def end_punct(question: str) -> str:
    """The question's own end punctuation (what the rewrite ends with)."""
    m = re.search(r"[?？!！。.]+$", question.strip())
    return m.group() if m else ""


def content_words(text: str) -> list[tuple[str, str, int, int]]:
    """:func:`rag.query.terms.word_spans` without the white-space words."""
    return [t for t in word_spans(text) if t[0].strip()]


def is_stop(tok: tuple[str, str, int, int]) -> bool:
    """A word that ends a noun phrase when scanning across it."""
    w, f = tok[0], tok[1]
    if f.startswith(NOUNISH) or f == "a" and len(w) >= 2:
        return False
    if f == "v" and len(w) == 1 and w not in "是有为在叫说":
        return False  # jieba's 算/v 力券/n: a one-character "verb" inside a compound
    if f in ("m",) and re.fullmatch(r"\d+", w):
        return False
    return True


def noun_run_before(toks: list, end_idx: int) -> int:
    """Index of the first token of the noun phrase whose last token is ``toks[end_idx - 1]``."""
    i = end_idx
    while i > 0 and not is_stop(toks[i - 1]):
        i -= 1
    return i


def last_noun_phrase(text: str, toks: list) -> str:
    """The noun phrase that ends ``toks`` ('' when the last word is no noun)."""
    j = len(toks)
    k = noun_run_before(toks, j)
    return text[toks[k][2]:toks[j - 1][3]] if k < j else ""


def subject(question: str) -> str:
    """What a question is about, as a phrase that can stand in for 它/其/该.

    The 《title》 with the name in front of it (``上海的《措施》``); else the
    noun phrase the question opens with (``百度首席技术官``, ``成都``); else the
    last noun phrase (``人工智能算力券实施方案``).

    Args:
        question: a self-contained question.

    Returns:
        The phrase ('' when the question has none).
    """
    text = body(question)
    titles = list(TITLE.finditer(text))
    if titles:
        t = titles[0]
        start = t.start()
        before = text[:start]
        m = re.search(r"([\u4e00-\u9fff]{2,12}?)(的|印发的|发布的|出台的)?$", before)
        if m:
            names = [x for x in terms(before) if x.end == m.end(1) and x.kind in ("place", "org")]
            if names:
                start = names[-1].start
        return text[start:t.end()]
    toks = content_words(text)
    i = 0
    while i < len(toks) and not is_stop(toks[i]):
        i += 1
    lead = text[:toks[i - 1][3]] if i else ""
    if lead and len(lead) >= 2:
        return lead
    return last_noun_phrase(text, toks)


def statement(question: str) -> str:
    """The previous question as a statement: its question word dropped (for 这话 / 这个说法).

    Args:
        question: a question.

    Returns:
        ``广东经济总量连续居全国首位`` for ``广东经济总量连续多少年居全国首位?``: a number's
        measure word goes with it (连续年 is no phrase).
    """
    q = analyze(body(question))
    if not q.qword:
        return body(question)
    right = q.right[len(q.unit):] if q.unit and q.right.startswith(q.unit) else q.right
    return (q.left + right).strip(PHRASE_EDGE)


def person_ref(question: str) -> str:
    """Who 他/她 points to after ``question``: a name in it, or the description its 谁 asks about.

    Args:
        question: the previous question.

    Returns:
        A name (``王海峰``) or a description (``百度首席技术官``), or the subject.
    """
    people = [t for t in terms(question) if t.kind == "person"]
    if people:
        return people[0].text
    q = analyze(body(question))
    if q.qtype == "person" and q.qword:
        desc = (q.left.rstrip("是为") + q.right.lstrip("是为")).strip(PHRASE_EDGE)
        desc = re.sub(r"^(请问)", "", desc)
        if desc:
            return desc
    return subject(question)


def phrase_ending_in(question: str, noun: str) -> str:
    """The noun phrase of ``question`` that ends in ``noun`` (for 该文件 / 这份方案 / 该机构).

    A 《title》 stands for a document noun. A phrase that is only the noun
    (``什么机构``: the thing asked about) gets the places of the question in
    front (``福建机构``).

    Args:
        question: the previous question.
        noun: the noun after the demonstrative.

    Returns:
        The phrase, or '' when the question has no such noun.
    """
    text = body(question)
    if _DOC_NOUNS.search(noun) and "《" in text:
        return subject(text) if "《" in subject(text) else TITLE.search(text).group()
    toks = content_words(text)
    hits = [n for n, t in enumerate(toks) if t[0].endswith(noun) and "《" not in t[0]]
    if not hits:
        return ""
    j = hits[-1] + 1
    k = noun_run_before(toks, j)
    q = analyze(text)
    if q.qword and k == j - 1 and k > 0 and text[toks[k - 1][2]:toks[k - 1][3]] == q.qword:
        # 福建计划成立什么机构开展…研究? → 该机构 is the thing asked about: the question as a
        # statement describes it (福建计划成立机构开展…研究).
        return statement(text)
    phrase = text[toks[k][2]:toks[j - 1][3]]
    places = [t.text for t in terms(text) if t.kind == "place" and t.text not in phrase]
    return "".join(dict.fromkeys(places)) + phrase


@dataclass(frozen=True)
class Pronoun:
    """A pronoun that points back, and the noun it governs."""

    kind: str     # person, thing, statement
    start: int    # of the pronoun
    end: int      # after the pronoun and the noun it governs (if kept inside the reference)
    noun: str     # the noun after the pronoun ('' when none)


def _pronoun_kind(w: str, f: str) -> str | None:
    if w in _STATEMENT_PRONOUNS:
        return "statement"
    if w in PERSON_PRONOUNS:
        return "person"
    if (w in THING_PRONOUNS or _DEMONSTRATIVE.match(w)) and f in ("r", "mq", "rz", "rr"):
        return "thing"
    return None


def find_pronoun(text: str) -> Pronoun | None:
    """The referring pronoun of a question, if it opens the question or is its subject.

    Args:
        text: the question without end punctuation.

    Returns:
        The pronoun, or None (also when a name of the question's own stands before it).
    """
    toks = content_words(text)
    for n, (w, f, s, e) in enumerate(toks):
        kind = _pronoun_kind(w, f)
        if kind is None:
            continue
        if w == "那" and n + 1 < len(toks) and not toks[n + 1][1].startswith(("v", "d", "p")):
            continue  # 那湖北… : an opener, not a pronoun
        if any(t.start < s for t in terms(text)):
            return None  # 王海峰说他…: the pronoun points inside the question
        if n > _MAX_PRONOUN_WORD and w != "其":
            return None
        # a classifier or 一 between the demonstrative and its noun: 这/句/话, 这/一/方案
        k = n + 1
        while k < len(toks) and toks[k][1] in ("q", "m") and len(toks[k][0]) == 1:
            k += 1
        noun, end = "", e
        if k < len(toks) and toks[k][1].startswith(("n", "vn")) and kind != "person":
            noun, end = toks[k][0], toks[k][3]
        elif k < len(toks) and toks[k][0] in STATEMENT_NOUNS:
            noun, end = toks[k][0], toks[k][3]
        if noun in STATEMENT_NOUNS or (noun == "" and w in ("这话", "此话")):
            kind = "statement"
        return Pronoun(kind, s, end, noun)
    return None
