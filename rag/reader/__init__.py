"""The trained span reader: windows → logits → spans, its network, data and training.

Import :class:`Reader` from here; torch and transformers load only when a
reader is built.
"""

from rag.reader.decoding import SpanScore
from rag.reader.predictor import Reader, default_weights

__all__ = ["Reader", "SpanScore", "default_weights"]
