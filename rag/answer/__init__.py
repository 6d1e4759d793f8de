"""Answer: from a ``Query`` and its passages to one verbatim, cited :class:`~rag.types.Answer`, or a decline.

Holds: ``protocol`` (the ``Answerer`` seam), ``rules`` (the rule-based answerer: sentence scoring,
typed spans), ``extraction`` and its helpers (rule spans by answer type), ``confidence`` (the
logistic evidence model), ``with_reader`` (the trained reader beside the rules), ``reader_spans``
and ``shaping`` (checks of the reader's span; where the rules' fuller span wins),
``crosslingual`` (English questions), ``step`` (routing, script folding, the follow-up fallback).

May import: rag.reader, rag.retrieve, rag.query, rag.text and below. Not rag.pipeline or above.
"""
