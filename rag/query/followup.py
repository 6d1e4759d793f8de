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
from rag.query.reference import NOUNISH, PERSON_PRONOUNS, STATEMENT_NOUNS, THING_PRONOUNS, Pronoun, body, \
    content_words, end_punct, find_pronoun, is_stop, noun_run_before, person_ref, phrase_ending_in, statement, \
    subject
from rag.query.terms import kind_of, terms
from rag.text.folding import fold_question, to_traditional
from rag.text.lexicon import PHRASE_EDGE

#: Old import paths of names that moved to :mod:`rag.query.terms` and :mod:`rag.query.reference`.
__all__ = ["Rewrite", "kind_of", "resolve_history", "rewrite", "rewrite_one", "subject", "terms"]

#: Words that only open a follow-up (那宁夏呢? / 那么… / 还有…).
_OPENERS = ("那么", "那", "还有", "而", "另外", "请问", "再问一下", "那请问")
#: Endings of an elliptical question (宁夏呢? / 江苏怎么样?).
_ELLIPSIS_END = re.compile(r"(的)?(呢|怎么样|如何|又如何|又怎样|怎样|情况呢|情况如何|又是多少|呢又)$")
#: A short question opening with these continues the previous subject (还提出了什么?).
_CONTINUERS = ("还", "又", "也", "另外还", "同时")
#: The longest question opening with a continuer, and the longest with no noun, that lacks a subject.
_MAX_CONTINUER_CHARS, _MAX_SUBJECTLESS_CHARS = 16, 12
#: How many of the latest questions of a conversation are resolved in turn.
HISTORY_LIMIT = 5


@dataclass(frozen=True)
class Rewrite:
    """The effective question and why."""

    question: str          # what retrieval and answering use
    is_followup: bool      # whether anything was carried over
    reason: str            # e.g. "ellipsis: 成都 → 宁夏 (place)", "fresh topic"
    kind: str = ""         # "ellipsis", "pronoun", "no_subject", or "" when not a follow-up


def _strip_openers(text: str) -> str:
    changed = True
    while changed:
        changed = False
        for o in _OPENERS:
            if text.startswith(o) and len(text) > len(o):
                rest = text[len(o):]
                if o == "那" and rest[:1] in "些个么里儿样时":
                    continue  # 那些 / 那个 / 那么 … are words of their own
                text, changed = rest.lstrip(PHRASE_EDGE), True
                break
    return text


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
    text = body(prev)
    q = analyze(text)
    toks = content_words(text)
    if q.qword:
        qpos = len(q.left)
        j = next((n for n, t in enumerate(toks) if t[2] >= qpos), len(toks))
        i = j
        while i > 0 and is_stop(toks[i - 1]) and toks[i - 1][1] not in ("x", "uj", "ul"):
            i -= 1  # the verbs and adverbs in front of the question word
        k = noun_run_before(toks, i)
        if k < i:
            return text[:toks[k][2]] + new + text[qpos:] + end_punct(prev)
    # No noun phrase before the question word: the last one of the question.
    j = len(toks)
    k = noun_run_before(toks, j)
    if k < j:
        return text[:toks[k][2]] + new + text[toks[j - 1][3]:] + end_punct(prev)
    return new + text + end_punct(prev)


def _lacks_subject(text: str) -> bool:
    """A short question with a question word and no noun of its own (覆盖哪几年?), or one
    opening with 还/又/也 and naming nothing."""
    if terms(text) or "《" in text:
        return False
    if text.startswith(_CONTINUERS) and len(text) <= _MAX_CONTINUER_CHARS:
        return True
    q = analyze(text)
    if not q.qword or len(text) > _MAX_SUBJECTLESS_CHARS:
        return False
    qstart, qend = len(q.left), len(q.left) + len(q.qword)
    nouns = [t for t in content_words(text)
             if t[1].startswith(NOUNISH) and len(t[0]) >= 2 and not (qstart <= t[2] < qend)]
    # the head noun right after the question word (哪个部门) is what is asked, not a subject
    nouns = [t for t in nouns if t[2] != qend]
    return not nouns


def _ellipsis(text: str, prev: str) -> Rewrite | None:
    """``(那)X(的)呢?``: X replaces the term of its kind in ``prev``, else the topic before its question word."""
    m = _ELLIPSIS_END.search(text)
    if not (m and m.start() > 0 and not analyze(text[:m.start()]).qword
            and text[:m.start()].strip(PHRASE_EDGE) not in PERSON_PRONOUNS | THING_PRONOUNS):
        return None
    new = text[:m.start()].strip(PHRASE_EDGE)
    kind = kind_of(new)
    if kind != "np":
        hit = _replace_same_kind(prev, new, kind)
        if hit is not None and hit[1] != new:
            return Rewrite(hit[0], True, f"ellipsis: {hit[1]} → {new} ({kind})", "ellipsis")
    out = _replace_topic(prev, new)
    return Rewrite(out, True, f"ellipsis: topic → {new}", "ellipsis")


def _reference(p: Pronoun, prev: str) -> str:
    """What the pronoun ``p`` points to in ``prev`` ('' when nothing)."""
    if p.kind == "statement":
        return statement(prev)
    if p.kind == "person":
        return person_ref(prev)
    if p.noun and p.noun not in STATEMENT_NOUNS:
        ref = phrase_ending_in(prev, p.noun)
        if not ref:
            subj = subject(prev)
            ref = (subj + p.noun) if subj and not subj.endswith(p.noun) else subj
        return ref
    return subject(prev)


def rewrite_one(question: str, prev: str) -> Rewrite:
    """Rewrite ``question`` against one (already self-contained) previous question.

    Args:
        question: the new question.
        prev: the previous question, resolved.

    Returns:
        The rewrite.
    """
    original = question.strip()
    text = _strip_openers(body(original))
    punct = end_punct(original) or end_punct(prev)
    if not text or not prev.strip():
        return Rewrite(original, False, "nothing to carry over")
    # 1. Ellipsis: (那)X(的)呢?
    r = _ellipsis(text, prev)
    if r is not None:
        return r
    # 2. A pronoun that points back.
    p = find_pronoun(text)
    if p is not None:
        ref = _reference(p, prev)
        if ref:
            word = text[p.start:p.end]
            out = text[:p.start] + ref + text[p.end:]
            return Rewrite(out + punct, True, f"pronoun: {word} → {ref}", "pronoun")
    # 3. No subject of its own: put the previous subject in front.
    if _lacks_subject(text):
        subj = subject(prev)
        if subj:
            return Rewrite(subj + text + punct, True, f"no subject: + {subj}", "no_subject")
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


def resolve_history(history: Sequence[str] | None, limit: int = HISTORY_LIMIT) -> str:
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
