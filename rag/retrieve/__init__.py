"""Retrieve: ranked passages for a ``Query`` — dense and BM25 searched, then fused.

Holds: ``retriever`` (the ``Retriever`` and the fusions: weighted min-max mix, reciprocal rank).

May import: rag.index, rag.query, rag.embed and below. Not rag.reader, rag.answer or anything above.
"""
