"""Answer: from a ``Query`` and its passages to one verbatim, cited :class:`~rag.types.Answer`, or a decline.

Holds: ``protocol`` (the ``Answerer`` seam), ``rules`` (the rule-based answerer), ``scoring``
(sentences of the passages and their scores), ``extraction`` (the rules' span in a sentence) and its
helpers ``clauses`` (spans, clause bounds, trimming), ``align`` (question-to-sentence alignment, head
noun), ``typed`` (numbers, dates, 《titles》, lists by answer type), ``names`` (people, organisations,
places), ``pairs`` (paired 、-lists, 分别), ``statements`` (causes, copula values); ``evidence`` (the
named features) and ``confidence`` (the logistic model over them), ``with_reader`` (the trained
reader beside the rules), ``reader_spans`` and ``shaping`` (checks of the reader's span; where the
rules' fuller span wins), ``crosslingual`` (English questions), ``step`` (routing, script folding,
the follow-up fallback).

May import: rag.reader, rag.retrieve, rag.query, rag.text and below. Not rag.pipeline or above.
"""
