"""Ingest: a corpus folder → decoded documents → chunks of whole sentences with offsets.

Holds: ``documents`` (finding and decoding files; the text that offsets point into), ``chunking``
(sentence-aligned chunks; the text that is embedded).

May import: rag.text and below (rag.config, rag.choices, rag.types, rag.errors).
"""
