"""Bench: benchmarks on public data and the article question sets, through the public API only.

Holds: ``squad`` (SQuAD-format sets and their splits), ``metrics`` (CMRC F1/EM), ``run`` (``rag
eval``'s measurement: :func:`~rag.bench.run.run_eval`), ``asking`` (its per-question loop),
``oracle`` (the gold-paragraph rows), ``abstention`` (the declining-curve rows), ``command`` (its
command line), ``figures`` (figures and tables), ``breakdown`` (F1/EM by
gold-answer length and by question type), ``declining`` (the declining curve's arithmetic),
``cache`` (embeddings kept between runs), ``system`` (the systems under test and a set's cached
index), ``qa_set`` (the article question sets), ``regression`` (the 200-question CMRC subset).

May import: rag.pipeline and everything below it. Not rag.training or rag.cli.
"""
