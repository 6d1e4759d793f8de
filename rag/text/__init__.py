"""Text: script folding (traditional ↔ simplified at unchanged offsets), keyword tokens, sentences, and the one lexicon.

Holds: ``folding`` (OpenCC, same-length folding), ``tokens`` (jieba keyword tokens), ``sentences``
(sentence and heading spans with offsets), ``lexicon`` (places, organisation suffixes, units,
punctuation: each list once).

May import: rag.config, rag.choices, rag.types, rag.errors. No stage below it.
"""
