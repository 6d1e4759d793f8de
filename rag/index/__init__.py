"""Index: the stored index of one corpus — BM25 keywords, the vector store, the manifest.

Holds: ``bm25`` (the keyword table), ``protocol`` (the ``IndexBackend`` and ``VectorStore`` seams),
``faiss_store`` (the FAISS vectors), ``store`` (the on-disk layout: manifest, ``CURRENT`` pointer,
atomic writes), ``milvus_store`` (the same index in Milvus: generations behind an alias),
``factory`` (``open_store``: the backend ``--store`` names), ``build`` (incremental builds: only changed documents are embedded).

May import: rag.embed, rag.ingest, rag.text and below. Not rag.query, rag.retrieve or anything above.
"""
