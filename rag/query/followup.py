"""Follow-up questions: carry the subject of the conversation over, without a generative model.

A chat question often leans on the one before it::

    成都每年发放的算力券总额不超过多少?   →   那宁夏呢?
    上海的《措施》一共提出了多少条产业发展指南?   →   它聚焦的是哪几个方面?

:func:`rewrite` turns such a question into a self-contained *effective
question* that retrieval and answering use (the user's own text is what the
answer shows). Three kinds of follow-up are recognised, by rules over jieba's
part-of-speech tags and :func:`rag.query.question.analyze`:

* **ellipsis** — ``(那)X(的)呢?``: X replaces the term of the same kind in the
  previous question (place for place, person for person, organisation,
  《title》), keeping that question's frame; a plain noun phrase replaces the
  topic noun phrase in front of the previous question word
  (``湖北…人工智能产业规模要超过多少?`` + ``那重大标志性成果呢?`` →
  ``湖北…重大标志性成果多少?``).
* **pronoun** — 它/其/该/这/那/此/他/她/这些/那些 (with an optional classifier
  and noun: 这份方案, 该机构) at the start or as the subject: replaced by what
  it points to in the previous question — its person (or the description a
  谁-question gives), the noun phrase ending in the same noun, the statement
  itself (这话), or the previous subject.
* **no subject** — a short question with a question word but no noun of its
  own (``覆盖哪几年?``), or one opening with 还/又/也: the previous subject is
  put in front.

Anything else — a full question with its own subject and question word — is a
fresh topic and inherits nothing. Earlier questions are resolved in turn, so a
chain of follow-ups (``那宁夏呢?`` then ``那北京呢?``) keeps its frame. The rules
read script-folded text (traditional questions are read as simplified); a
rewrite of a traditional question is given back in traditional characters.

>>> rewrite("那宁夏呢?", ["成都每年发放的算力券总额不超过多少?"]).question
'宁夏每年发放的算力券总额不超过多少?'
>>> rewrite("湖北人工智能产业规模到2025年超过多少?", ["成都每年发放的算力券总额不超过多少?"]).is_followup
False
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.query.question import analyze
from rag.text.folding import fold_question, to_traditional
from rag.text.tokens import words_with_pos

#: Provinces, autonomous regions, municipalities and large cities, short forms
#: (a full form such as 湖北省 / 北京市 is recognised by its suffix).
PLACES = frozenset("""
北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州
云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门 粤港澳 大湾区 长三角 京津冀 珠三角 成渝
广州 深圳 杭州 南京 苏州 武汉 成都 西安 长沙 郑州 合肥 济南 青岛 厦门 福州 宁波 无锡 东莞 佛山 沈阳 大连 长春
哈尔滨 石家庄 太原 呼和浩特 南宁 昆明 贵阳 拉萨 兰州 西宁 银川 乌鲁木齐 海口 三亚 南昌 珠海 温州 绍兴 常州
南通 徐州 烟台 泉州 惠州 中山 雄安 浦东 临港 中关村 亦庄
""".split())

#: Words tagged ``ns`` that do not name a place.
_NOT_PLACES = frozenset("城市 全国 国家 地区 地方 各地 多地 本市 本省 国内 海外 国际 全球 湾区 沪 省 市 区 县 地".split())
_PLACE_SUFFIX = re.compile(r"(省|市|自治区|特别行政区|地区|区|县|州)$")
_ORG_SUFFIX = re.compile(r"(委员会|实验室|研究院|研究所|中心|平台|基地|办公厅|政府|大学|学院|公司|集团|部|局|厅|委|署|院|办)$")

#: Pronouns that point to a person.
_PERSON_PRONOUNS = frozenset("他 她 他们 她们 此人 该人 这位 那位 这个人 那个人".split())
#: Pronouns (and demonstratives) that point to a thing; 其他/其中/此次/这样 are other words for jieba.
_THING_PRONOUNS = frozenset("它 它们 其 该 此 这 那 这些 那些 这个 那个 本 该项 此项 这项 这份 那份".split())
_DEMONSTRATIVE = re.compile(r"^(这|那|该|此|本)[一份项家位条部种类篇句番段些个届批则]?$")
#: Nouns after a demonstrative that point to the previous statement (这话, 这个说法).
_STATEMENT_NOUNS = frozenset("话 说法 观点 表述 论断 句话 番话 段话 判断".split())
_STATEMENT_PRONOUNS = frozenset("这话 此话 那话".split())
#: Document nouns: 该文件 / 这份方案 may point to a 《title》 of the previous question.
_DOC_NOUNS = re.compile(r"(文件|方案|措施|意见|政策|规划|通知|办法|计划|条例|法规|文|纲要|指南|行动方案)$")

#: Words that only open a follow-up (那宁夏呢? / 那么… / 还有…).
_OPENERS = ("那么", "那", "还有", "而", "另外", "请问", "再问一下", "那请问")
#: Endings of an elliptical question (宁夏呢? / 江苏怎么样?).
_ELLIPSIS_END = re.compile(r"(的)?(呢|怎么样|如何|又如何|又怎样|怎样|情况呢|情况如何|又是多少|呢又)$")
#: A short question opening with these continues the previous subject (还提出了什么?).
_CONTINUERS = ("还", "又", "也", "另外还", "同时")
_PUNCT = "?？!！。.，, \t\r\n"
_NOUNISH = ("n", "vn", "nz", "ns", "nr", "nt", "j", "b", "eng", "nrt", "nrfg", "an")


@dataclass(frozen=True)
class Rewrite:
    """The effective question and why."""

    question: str          # what retrieval and answering use
    is_followup: bool      # whether anything was carried over
    reason: str            # e.g. "ellipsis: 成都 → 宁夏 (place)", "fresh topic"
    kind: str = ""         # "ellipsis", "pronoun", "no_subject", or "" when not a follow-up


@dataclass(frozen=True)
class Term:
    """A named term of a question: ``text`` at ``[start, end)``."""

    text: str
    kind: str              # place, person, org, title
    start: int
    end: int


def _tokens(text: str) -> list[tuple[str, str, int, int]]:
    """``(word, flag, start, end)`` for every jieba word of ``text``."""
    out, pos = [], 0
    for w, f in words_with_pos(text):
        out.append((w, f, pos, pos + len(w)))
        pos += len(w)
    return out


def place_like(word: str) -> bool:
    """Whether a word names a province, city or region.

    Args:
        word: a word.

    Returns:
        True for 宁夏, 湖北省, 深圳市, ….
    """
    if word in _NOT_PLACES:
        return False
    return word in PLACES or (bool(_PLACE_SUFFIX.search(word)) and _PLACE_SUFFIX.sub("", word) in PLACES)


def terms(question: str) -> list[Term]:
    """Places, people, organisations and 《titles》 named in a question, in order.

    Args:
        question: a question.

    Returns:
        The terms; words inside a 《title》 belong to the title only.
    """
    out = [Term(m.group(), "title", m.start(), m.end()) for m in re.finditer(r"《[^《》]+》", question)]
    inside = [(t.start, t.end) for t in out]
    toks = _tokens(question)
    i = 0
    while i < len(toks):
        w, f, s, e = toks[i]
        i += 1
        if any(a <= s < b for a, b in inside) or len(w.strip()) == 0:
            continue
        if place_like(w) or (f == "ns" and len(w) >= 2 and w not in _NOT_PLACES):
            out.append(Term(w, "place", s, e))
        elif f.startswith("nr") and re.fullmatch(r"[\u4e00-\u9fff]+", w):
            # jieba often cuts a name into surname + given name (王 / 海峰).
            if len(w) == 1 and i < len(toks) and 1 <= len(toks[i][0]) <= 2 \
                    and re.fullmatch(r"[\u4e00-\u9fff]+", toks[i][0]):
                w, e = w + toks[i][0], toks[i][3]
                i += 1
            if len(w) >= 2:
                out.append(Term(w, "person", s, e))
        elif f == "nt" and len(w) >= 2:
            out.append(Term(w, "org", s, e))
    return sorted(out, key=lambda t: t.start)


def kind_of(phrase: str) -> str:
    """The kind of a phrase standing alone (the X of ``那X呢?``).

    Args:
        phrase: a short phrase.

    Returns:
        ``place``, ``person``, ``org``, ``title`` or ``np`` (any other noun phrase).
    """
    phrase = phrase.strip()
    if re.fullmatch(r"《[^《》]+》", phrase):
        return "title"
    if place_like(phrase):
        return "place"
    found = terms(phrase)
    if len(found) == 1 and found[0].text == phrase:
        return found[0].kind
    if found and found[0].start == 0 and found[0].kind == "place" and _ORG_SUFFIX.search(phrase):
        return "org"
    return "np"


def _body(question: str) -> str:
    return question.strip().rstrip(_PUNCT)


def _end_punct(question: str) -> str:
    """The question's own end punctuation (what the rewrite ends with)."""
    m = re.search(r"[?？!！。.]+$", question.strip())
    return m.group() if m else ""


def _strip_openers(body: str) -> str:
    changed = True
    while changed:
        changed = False
        for o in _OPENERS:
            if body.startswith(o) and len(body) > len(o):
                rest = body[len(o):]
                if o == "那" and rest[:1] in "些个么里儿样时":
                    continue  # 那些 / 那个 / 那么 … are words of their own
                body, changed = rest.lstrip("，, "), True
                break
    return body


def _is_stop(tok: tuple[str, str, int, int]) -> bool:
    """A word that ends a noun phrase when scanning across it."""
    w, f = tok[0], tok[1]
    if f.startswith(_NOUNISH) or f == "a" and len(w) >= 2:
        return False
    if f == "v" and len(w) == 1 and w not in "是有为在叫说":
        return False  # jieba's 算/v 力券/n: a one-character "verb" inside a compound
    if f in ("m",) and re.fullmatch(r"\d+", w):
        return False
    return True


def _noun_run_before(toks: list, end_idx: int) -> int:
    """Index of the first token of the noun phrase whose last token is ``toks[end_idx - 1]``."""
    i = end_idx
    while i > 0 and not _is_stop(toks[i - 1]):
        i -= 1
    return i


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
    body = _body(question)
    titles = list(re.finditer(r"《[^《》]+》", body))
    if titles:
        t = titles[0]
        start = t.start()
        before = body[:start]
        m = re.search(r"([\u4e00-\u9fff]{2,12}?)(的|印发的|发布的|出台的)?$", before)
        if m:
            names = [x for x in terms(before) if x.end == m.end(1) and x.kind in ("place", "org")]
            if names:
                start = names[-1].start
        return body[start:t.end()]
    toks = [t for t in _tokens(body) if t[0].strip()]
    i = 0
    while i < len(toks) and not _is_stop(toks[i]):
        i += 1
    lead = body[:toks[i - 1][3]] if i else ""
    if lead and len(lead) >= 2:
        return lead
    j = len(toks)
    k = _noun_run_before(toks, j)
    return body[toks[k][2]:toks[j - 1][3]] if k < j else ""


def statement(question: str) -> str:
    """The previous question as a statement: its question word dropped (for 这话 / 这个说法).

    Args:
        question: a question.

    Returns:
        ``广东经济总量连续居全国首位`` for ``广东经济总量连续多少年居全国首位?``: a number's
        measure word goes with it (连续年 is no phrase).
    """
    q = analyze(_body(question))
    if not q.qword:
        return _body(question)
    right = q.right[len(q.unit):] if q.unit and q.right.startswith(q.unit) else q.right
    return (q.left + right).strip("，, ")


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
    q = analyze(_body(question))
    if q.qtype == "person" and q.qword:
        desc = (q.left.rstrip("是为") + q.right.lstrip("是为")).strip("，, ")
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
    body = _body(question)
    if _DOC_NOUNS.search(noun) and "《" in body:
        return subject(body) if "《" in subject(body) else re.search(r"《[^《》]+》", body).group()
    toks = [t for t in _tokens(body) if t[0].strip()]
    hits = [n for n, t in enumerate(toks) if t[0].endswith(noun) and "《" not in t[0]]
    if not hits:
        return ""
    j = hits[-1] + 1
    k = _noun_run_before(toks, j)
    q = analyze(body)
    if q.qword and k == j - 1 and k > 0 and body[toks[k - 1][2]:toks[k - 1][3]] == q.qword:
        # 福建计划成立什么机构开展…研究? → 该机构 is the thing asked about: the question as a
        # statement describes it (福建计划成立机构开展…研究).
        return statement(body)
    phrase = body[toks[k][2]:toks[j - 1][3]]
    places = [t.text for t in terms(body) if t.kind == "place" and t.text not in phrase]
    return "".join(dict.fromkeys(places)) + phrase


@dataclass(frozen=True)
class _Pronoun:
    kind: str     # person, thing, statement
    start: int    # of the pronoun
    end: int      # after the pronoun and the noun it governs (if kept inside the reference)
    noun: str     # the noun after the pronoun ('' when none)


def find_pronoun(body: str) -> _Pronoun | None:
    """The referring pronoun of a question, if it opens the question or is its subject.

    Args:
        body: the question without end punctuation.

    Returns:
        The pronoun, or None (also when a name of the question's own stands before it).
    """
    toks = [t for t in _tokens(body) if t[0].strip()]
    for n, (w, f, s, e) in enumerate(toks):
        kind = ("statement" if w in _STATEMENT_PRONOUNS else "person" if w in _PERSON_PRONOUNS
                else "thing" if (w in _THING_PRONOUNS or _DEMONSTRATIVE.match(w)) and f in ("r", "mq", "rz", "rr")
                else None)
        if kind is None:
            continue
        if w == "那" and n + 1 < len(toks) and not toks[n + 1][1].startswith(("v", "d", "p")):
            continue  # 那湖北… : an opener, not a pronoun
        if any(t.start < s for t in terms(body)):
            return None  # 王海峰说他…: the pronoun points inside the question
        if n > 2 and w != "其":
            return None
        # a classifier or 一 between the demonstrative and its noun: 这/句/话, 这/一/方案
        k = n + 1
        while k < len(toks) and toks[k][1] in ("q", "m") and len(toks[k][0]) == 1:
            k += 1
        noun, end = "", e
        if k < len(toks) and toks[k][1].startswith(("n", "vn")) and kind != "person":
            noun, end = toks[k][0], toks[k][3]
        elif k < len(toks) and toks[k][0] in _STATEMENT_NOUNS:
            noun, end = toks[k][0], toks[k][3]
        if noun in _STATEMENT_NOUNS or (noun == "" and w in ("这话", "此话")):
            kind = "statement"
        return _Pronoun(kind, s, end, noun)
    return None


def _replace_same_kind(prev: str, new: str, kind: str) -> tuple[str, str] | None:
    """``prev`` with its first term of ``kind`` replaced by ``new`` (all occurrences of it)."""
    same = [t for t in terms(prev) if t.kind == kind]
    if kind == "org" and not same:
        same = [t for t in terms(prev) if t.kind == "place"]
    if not same:
        return None
    old = same[0].text
    return prev.replace(old, new), old


def _replace_topic(prev: str, new: str) -> str:
    """``prev`` with the noun phrase in front of its question word replaced by ``new``.

    The verbs between that phrase and the question word go too: they belonged
    to the old phrase (规模要超过多少 → 成果多少).
    """
    body = _body(prev)
    q = analyze(body)
    toks = [t for t in _tokens(body) if t[0].strip()]
    if q.qword:
        qpos = len(q.left)
        j = next((n for n, t in enumerate(toks) if t[2] >= qpos), len(toks))
        i = j
        while i > 0 and _is_stop(toks[i - 1]) and toks[i - 1][1] not in ("x", "uj", "ul"):
            i -= 1  # the verbs and adverbs in front of the question word
        k = _noun_run_before(toks, i)
        if k < i:
            return body[:toks[k][2]] + new + body[qpos:] + _end_punct(prev)
    # No noun phrase before the question word: the last one of the question.
    j = len(toks)
    k = _noun_run_before(toks, j)
    if k < j:
        return body[:toks[k][2]] + new + body[toks[j - 1][3]:] + _end_punct(prev)
    return new + body + _end_punct(prev)


def _lacks_subject(body: str) -> bool:
    """A short question with a question word and no noun of its own (覆盖哪几年?), or one
    opening with 还/又/也 and naming nothing."""
    if terms(body) or "《" in body:
        return False
    if body.startswith(_CONTINUERS) and len(body) <= 16:
        return True
    q = analyze(body)
    if not q.qword or len(body) > 12:
        return False
    toks = [t for t in _tokens(body) if t[0].strip()]
    qstart, qend = len(q.left), len(q.left) + len(q.qword)
    nouns = [t for t in toks if t[1].startswith(_NOUNISH) and len(t[0]) >= 2 and not (qstart <= t[2] < qend)]
    # the head noun right after the question word (哪个部门) is what is asked, not a subject
    nouns = [t for t in nouns if t[2] != qend]
    return not nouns


def rewrite_one(question: str, prev: str) -> Rewrite:
    """Rewrite ``question`` against one (already self-contained) previous question.

    Args:
        question: the new question.
        prev: the previous question, resolved.

    Returns:
        The rewrite.
    """
    original = question.strip()
    body = _strip_openers(_body(original))
    punct = _end_punct(original) or _end_punct(prev)
    if not body or not prev.strip():
        return Rewrite(original, False, "nothing to carry over")

    # 1. Ellipsis: (那)X(的)呢?
    m = _ELLIPSIS_END.search(body)
    if m and m.start() > 0 and not analyze(body[:m.start()]).qword \
            and body[:m.start()].strip("，, ") not in _PERSON_PRONOUNS | _THING_PRONOUNS:
        new = body[:m.start()].strip("，, ")
        kind = kind_of(new)
        if kind != "np":
            hit = _replace_same_kind(prev, new, kind)
            if hit is not None and hit[1] != new:
                return Rewrite(hit[0], True, f"ellipsis: {hit[1]} → {new} ({kind})", "ellipsis")
        out = _replace_topic(prev, new)
        return Rewrite(out, True, f"ellipsis: topic → {new}", "ellipsis")

    # 2. A pronoun that points back.
    p = find_pronoun(body)
    if p is not None:
        if p.kind == "statement":
            ref = statement(prev)
        elif p.kind == "person":
            ref = person_ref(prev)
        elif p.noun and p.noun not in _STATEMENT_NOUNS:
            ref = phrase_ending_in(prev, p.noun)
            if not ref:
                subj = subject(prev)
                ref = (subj + p.noun) if subj and not subj.endswith(p.noun) else subj
        else:
            ref = subject(prev)
        if ref:
            word = body[p.start:p.end]
            out = body[:p.start] + ref + body[p.end:]
            return Rewrite(out + punct, True, f"pronoun: {word} → {ref}", "pronoun")

    # 3. No subject of its own: put the previous subject in front.
    if _lacks_subject(body):
        subj = subject(prev)
        if subj:
            return Rewrite(subj + body + punct, True, f"no subject: + {subj}", "no_subject")

    return Rewrite(original, False, "fresh topic")


def rewrite(question: str, history: Sequence[str] | None) -> Rewrite:
    """The effective question for ``question`` in a conversation.

    Args:
        question: the new question, as typed.
        history: the earlier questions of the conversation, oldest first, as typed.

    Returns:
        The rewrite; ``question`` unchanged and ``is_followup`` False for a fresh topic
        or without history.
    """
    original = question.strip()
    prev = resolve_history([fold_question(h) for h in history or [] if isinstance(h, str)])
    if not prev:
        return Rewrite(original, False, "no history")
    folded = fold_question(original)
    r = rewrite_one(folded, prev)
    if not r.is_followup:
        return Rewrite(original, False, r.reason)
    if folded != original:  # typed in traditional characters: show the rewrite in them too
        return Rewrite(to_traditional(r.question), True, r.reason, r.kind)
    return r


def resolve_history(history: Sequence[str] | None, limit: int = 5) -> str:
    """The last question of a conversation made self-contained (each resolved against the one before).

    Args:
        history: earlier questions, oldest first.
        limit: how many of the latest to consider.

    Returns:
        The resolved last question, or '' when there is none.
    """
    items = [h.strip() for h in (history or []) if isinstance(h, str) and h.strip()][-limit:]
    prev = ""
    for h in items:
        prev = rewrite_one(h, prev).question if prev else h
    return prev
