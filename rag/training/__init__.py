"""Training: the span reader trained on public reading-comprehension data (``rag train-reader``).

Holds: ``data`` (examples and their train/development split), ``objective`` (labelled windows, the
loss with distillation, the development score), ``train`` (the resumable training loop),
``command`` (the command line).

May import: rag.bench (data sets, metrics), rag.reader's public names and everything below. Not rag.cli.
"""
