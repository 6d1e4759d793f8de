"""The analysed question that flows down through retrieval and answering.

A question is validated, tested for script, folded, resolved against the
conversation and typed once, by :class:`rag.query.analyse.QueryAnalyser`; every
later stage reads this object and never re-derives it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.query.question import Question


@dataclass(frozen=True)
class Query:
    """One question, analysed.

    ``text`` is what retrieval embeds and what an answer is about: the question as typed, or the
    self-contained question a follow-up stands for. ``folded`` is ``text`` in simplified script with
    its length kept (what the Chinese answer step reads); ``keywords`` is what BM25 reads when it
    differs from ``text`` (the script-folded question, or the Chinese names an English question
    spells in pinyin).
    """

    asked: str                          # validated, as typed
    text: str                           # the effective question (follow-up resolved)
    folded: str                         # text folded to simplified, same length (== text when folding is off)
    latin: bool                         # written without Chinese characters: answered cross-lingually
    language: str                       # "zh" or "en"
    analysis: Question                  # question word, answer type and contexts, of ``folded``
    answer_type: str                    # number, date, person, place, org, title, list, why, what
    keywords: str | None = None         # BM25's text when it differs from ``text``
    names: tuple[str, ...] = ()         # Chinese names an English question spells in pinyin
    followup: str | None = None         # "ellipsis", "pronoun" or "no_subject" when resolved from history
    followup_reason: str = ""           # how (for logs and the UI)
    as_typed: "Query | None" = None     # the question as typed, tried when a pronoun rewrite finds nothing

    @property
    def resolved(self) -> str | None:
        """The rewritten question when ``text`` differs from what was asked, else None."""
        return self.text if self.text != self.asked else None
