"""The trained span reader: windows → logits → spans, its network and its weights files.

Import its names from here (:mod:`rag.training` and the scripts do); torch and
transformers load only when a reader is built or loaded.

* reading: :class:`Reader`, :func:`load_cached` (one per process), :class:`SpanScore`, :func:`pad_batch`,
  :func:`bf16_default`;
* windows: :class:`Window`, :func:`make_windows` (transformers), :func:`make_windows_tokenizers` (the same
  windows with ``tokenizers`` alone), :func:`token_span`, :func:`char_span`;
* weights: :data:`WEIGHTS_DIR`, :func:`default_weights`, :func:`weights_files`, :func:`read_meta`;
* the network: :func:`build_net`, :func:`load_net`, :func:`save_net`, :data:`FROZEN`;
* the seam: ``protocol.SpanReader``; which reader the settings choose: ``selection``;
* the reader on ONNX Runtime (``reader.runtime`` onnx / onnx-int8, no torch at question time):
  ``onnx_reader`` (import it from there: it is not loaded with the package).

May import: rag.embed (the base model), rag.text and below. Not rag.retrieve, rag.answer or anything above.
"""

from rag.reader.decoding import SpanScore
from rag.reader.model import FROZEN, read_meta
from rag.reader.model import build as build_net
from rag.reader.model import load as load_net
from rag.reader.model import save as save_net
from rag.reader.predictor import WEIGHTS_DIR, Reader, bf16_default, default_weights, load_cached, pad_batch, weights_files
from rag.reader.windows import Window, char_span, make_windows, make_windows_tokenizers, token_span

__all__ = ["FROZEN", "WEIGHTS_DIR", "Reader", "SpanScore", "Window", "bf16_default", "build_net", "char_span",
           "default_weights", "load_cached", "load_net", "make_windows", "make_windows_tokenizers", "pad_batch",
           "read_meta", "save_net", "token_span", "weights_files"]
