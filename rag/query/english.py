"""English (Latin-script) questions over Chinese documents: the answer type and the names they spell.

The Chinese question analysis sees nothing in ``How large should Hubei's AI
industry be by 2025?``. Two things still come from the question itself: the
English question word fixes the answer type (how many → number, when → date,
who → person, …), and a capitalised word that spells the pinyin of an indexed
Chinese term (``Hubei`` → 湖北, ``Baidu`` → 百度) becomes a keyword.

>>> english_qtype("How large should Hubei's AI industry be by 2025?")
'number'
>>> english_qtype("Who is Baidu's chief technology officer?")
'person'
>>> NameMatcher(["湖北", "产业"]).names("How large should Hubei's AI industry be by 2025?")
['湖北']
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable

log = logging.getLogger(__name__)

_EN_TYPES: list[tuple[str, str]] = [
    (r"\bwhen\b|\b(what|which) (year|years|date|month|time|period)\b|\bsince when\b", "date"),
    (r"\bhow (much|many|large|big|high|long|far|fast|old)\b|\bwhat (percentage|share|proportion|amount|number|"
     r"size|scale|total|ratio|rate)\b|\bup to\b|\bat most\b|\bmaximum\b|\bminimum\b", "number"),
    (r"\bwho\b|\bwhose\b|\bwhich person\b|\bwhom\b", "person"),
    (r"\bwhere\b|\bwhich (province|city|region|place|country|provinces|cities|regions|places|countries)\b",
     "place"),
    (r"\b(what|which) (fields|areas|sectors|aspects|industries|problems|issues|domains|measures|technologies|"
     r"scenarios|applications)\b", "list"),
    (r"\b(what|which) (document|policy|plan|regulation|opinion|title|documents|policies|plans)\b|\bcalled\b|"
     r"\bname of the\b", "title"),
    (r"\b(what|which) (department|agency|organi[sz]ation|institution|body|company|university|bureau|government|"
     r"committee|cent(er|re)|laboratory|lab|institute|authority)\b", "org"),
]
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_CJK_TERM = re.compile(r"[\u4e00-\u9fff]{2,6}")
#: Index terms of at most this many characters are matched by their pinyin (names, not phrases) ...
_MAX_TERM_CHARS = 4
#: ... when their pinyin has at least this many letters (shorter keys match English words by chance).
_MIN_KEY_LETTERS = 4


def english_qtype(question: str) -> str:
    """The expected answer type of an English question.

    Args:
        question: the question.

    Returns:
        ``number``, ``date``, ``person``, ``place``, ``list``, ``title``, ``org`` or ``what``.
    """
    q = question.lower()
    for pattern, qtype in _EN_TYPES:
        if re.search(pattern, q):
            return qtype
    return "what"


@functools.lru_cache(maxsize=1)
def _pinyin():
    try:
        from pypinyin import lazy_pinyin
    except ImportError:  # pragma: no cover - pypinyin is a pinned dependency
        log.warning("pypinyin is not installed: names in English questions are not matched")
        return None
    return lazy_pinyin


def pinyin_key(term: str) -> str:
    """The toneless pinyin of a Chinese term, run together: 湖北 → ``hubei``.

    Args:
        term: Chinese characters.

    Returns:
        The key ('' when pypinyin is unavailable).
    """
    lp = _pinyin()
    return "".join(lp(term)).lower() if lp else ""


class NameMatcher:
    """Finds the Chinese terms of an index that a question spells in pinyin."""

    def __init__(self, vocab: Iterable[str]):
        self._vocab = list(vocab)
        self._by_key: dict[str, list[str]] | None = None

    def _keys(self) -> dict[str, list[str]]:
        if self._by_key is None:
            by_key: dict[str, list[str]] = {}
            for term in self._vocab:
                if _CJK_TERM.fullmatch(term) and len(term) <= _MAX_TERM_CHARS:
                    key = pinyin_key(term)
                    if len(key) >= _MIN_KEY_LETTERS:
                        by_key.setdefault(key, []).append(term)
            self._by_key = by_key
        return self._by_key

    def names(self, question: str) -> list[str]:
        """Chinese terms whose pinyin a capitalised word (or two joined) of the question spells.

        Args:
            question: an English question.

        Returns:
            The terms, in question order, without repeats.
        """
        keys = self._keys()
        words = [(m.group(), m.start()) for m in _WORD.finditer(question)]
        words = [(re.sub(r"'s$", "", w), p) for w, p in words]
        out: list[str] = []
        for n, (w, _) in enumerate(words):
            if not w[:1].isupper():
                continue
            cands = [w.lower()]
            if n + 1 < len(words) and words[n + 1][0][:1].isupper():
                cands.insert(0, (w + words[n + 1][0]).lower())  # Wang Haifeng → wanghaifeng
            for c in cands:
                if c in keys:
                    out.extend(keys[c])
                    break
        return list(dict.fromkeys(out))
