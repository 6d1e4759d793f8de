"""Question → :class:`~rag.query.types.Query`, once, before anything is retrieved.

>>> from rag.config import Settings
>>> q = QueryAnalyser(Settings()).analyse("湖北到2025年人工智能产业规模超过多少?")
>>> q.answer_type, q.latin, q.keywords
('number', False, None)
>>> q = QueryAnalyser(Settings()).analyse("那宁夏呢?", history=["成都每年发放多少算力券?"])
>>> q.text, q.followup
('宁夏每年发放多少算力券?', 'ellipsis')
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from rag.config import Settings
from rag.query import followup
from rag.query.english import NameMatcher, english_qtype
from rag.query.question import analyze, validate
from rag.query.types import Query
from rag.text import folding


class QueryAnalyser:
    """Analyses questions against one index's vocabulary (for names spelled in pinyin)."""

    def __init__(self, settings: Settings, vocab: Iterable[str] = ()) -> None:
        self.settings = settings
        self.matcher = NameMatcher(vocab)

    def analyse(self, question: str, history: Sequence[str] | None = None) -> Query:
        """Validate, resolve against the conversation, detect the script, fold and type a question.

        Args:
            question: the question as typed.
            history: earlier questions of the same conversation, oldest first, as typed.

        Returns:
            The query.

        Raises:
            QuestionError: empty or over-long question.
        """
        asked = validate(question)
        rewritten = followup.rewrite(asked, history) if history else None
        if rewritten is None or not rewritten.is_followup:
            return self._plain(asked, asked)
        query = self._plain(asked, rewritten.question)
        as_typed = self._plain(asked, asked) if rewritten.kind == "pronoun" else None
        return replace(query, followup=rewritten.kind, followup_reason=rewritten.reason, as_typed=as_typed)

    def _plain(self, asked: str, text: str) -> Query:
        if folding.is_latin_question(text):
            names = tuple(self.matcher.names(text))
            qtype = english_qtype(text)
            return Query(asked=asked, text=text, folded=text, latin=True, language="en", analysis=analyze(text),
                         answer_type=qtype, keywords=" ".join(names) or None, names=names)
        fold = self.settings.index.fold_scripts
        folded = folding.fold_question(text) if fold else text
        simplified = folding.to_simplified(text) if fold else text
        analysis = analyze(folded)
        return Query(asked=asked, text=text, folded=folded, latin=False, language="zh", analysis=analysis,
                     answer_type=analysis.qtype, keywords=simplified if simplified != text else None)
