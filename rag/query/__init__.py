"""Query: a question analysed once into a frozen :class:`~rag.query.types.Query`.

Holds: ``question`` (validation, question word, expected answer type), ``followup`` (follow-ups
resolved against the conversation) with ``terms`` (the places, people, organisations and 《titles》
a question names) and ``reference`` (what a pronoun or an ellipsis points back to), ``english``
(the answer type of an English question and the Chinese names it spells in pinyin), ``analyse``
(the ``QueryAnalyser`` that builds the ``Query``), ``types`` (the ``Query`` itself).

May import: rag.text and below. Not rag.index, rag.retrieve or anything above.
"""
