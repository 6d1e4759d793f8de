"""Index: the stored index of one corpus — BM25 keywords, the vector store, the manifest.

Holds: ``bm25`` (the keyword table), ``protocol`` (the ``VectorStore`` seam), ``faiss_store`` (the
FAISS implementation), ``store`` (the on-disk layout: manifest, ``CURRENT`` pointer, atomic
writes), ``build`` (incremental builds: only changed documents are embedded).

May import: rag.embed, rag.ingest, rag.text and below. Not rag.query, rag.retrieve or anything above.
"""
