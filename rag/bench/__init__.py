"""Bench: benchmarks on public data and the article question sets, through the public API only.

Holds: ``squad`` (SQuAD-format sets and their splits), ``metrics`` (CMRC F1/EM), ``run`` (``rag
eval``'s measurement), ``command`` (its command line), ``figures`` (tables), ``declining`` (the
declining curve), ``cache`` (embeddings kept between runs), ``system`` (a set's cached index),
``qa_set`` (the article question sets).

May import: rag.pipeline and everything below it. Not rag.training or rag.cli.
"""
