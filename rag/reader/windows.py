"""Question + passage → token windows with character offsets, and spans back to characters.

A passage longer than one window is read through overlapping windows (the
tokenizer's ``stride``). Every context token keeps the character range it came
from, so a predicted token span maps back to exact offsets in the passage:
``passage[start:end]`` is the answer, always. Tokens that are only the
sentencepiece word marker ``▁`` carry a borrowed one-character offset, so they
are never a span boundary.

Two makers give the same windows: :func:`make_windows` with a transformers fast
tokenizer (training, the torch reader), and :func:`make_windows_tokenizers` with
the ``tokenizers`` library alone (the ONNX reader, which must not import
transformers). The first is a thin layer over the second's library: the same
truncation settings on the same backend, its overflowing encodings in the same
order (``tests/e2e/test_onnx_reader.py`` compares them).

>>> w = Window(input_ids=[0, 5, 2, 2, 7, 8, 2], context_mask=[0, 0, 0, 0, 1, 1, 0],
...            offsets=[(0, 0)] * 4 + [(0, 2), (2, 3), (0, 0)], passage=0)
>>> token_span(w, 0, 3)
(4, 5)
>>> char_span(w, 4, 5)
(0, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

#: (start, end) character offsets of one token within its passage.
Offset = tuple[int, int]


@dataclass(frozen=True)
class Window:
    """One model input: the question, then one stretch of one passage."""

    input_ids: list[int]
    context_mask: list[int]     # 1 where the token is a usable span boundary in the passage
    offsets: list[Offset]       # character range of each token in the passage ((0, 0) elsewhere)
    passage: int                # index of the passage among those read together


def make_windows(
    tokenizer: Any,
    question: str,
    passages: Sequence[str],
    max_len: int = 256,
    stride: int = 96,
    max_question_chars: int = 96,
) -> list[Window]:
    """Tokenize a question with each passage into overlapping windows.

    Args:
        tokenizer: a fast Hugging Face tokenizer (offsets are needed).
        question: the question.
        passages: the texts to read.
        max_len: tokens per window, special tokens included.
        stride: tokens shared by consecutive windows of one passage.
        max_question_chars: a longer question is cut to this many characters,
            so the passage always keeps most of the window.

    Returns:
        The windows, passage by passage, in reading order.
    """
    question = question[:max_question_chars]
    out: list[Window] = []
    if not passages:
        return out
    enc = tokenizer(
        [question] * len(passages), list(passages),
        truncation="only_second", max_length=max_len, stride=stride,
        return_overflowing_tokens=True, return_offsets_mapping=True,
    )
    marker = tokenizer.convert_tokens_to_ids("▁")
    for i, ids in enumerate(enc["input_ids"]):
        seq = enc.sequence_ids(i)
        offs = enc["offset_mapping"][i]
        mask = [1 if s == 1 and tid != marker and e > b else 0
                for s, tid, (b, e) in zip(seq, ids, offs)]
        offsets = [(b, e) if s == 1 else (0, 0) for s, (b, e) in zip(seq, offs)]
        out.append(Window(list(ids), mask, offsets, int(enc["overflow_to_sample_mapping"][i])))
    return out


def make_windows_tokenizers(
    tokenizer: "Tokenizer",
    question: str,
    passages: Sequence[str],
    max_len: int = 256,
    stride: int = 96,
    max_question_chars: int = 96,
) -> list[Window]:
    """:func:`make_windows` with a ``tokenizers.Tokenizer`` (the model's ``tokenizer.json``), no transformers.

    The tokenizer's own settings are not used or changed (one object, with no truncation or padding
    set, serves the embedding model too): the question and each passage are encoded apart, the
    passage is cut into overlapping pieces by ``Encoding.truncate`` and each piece is joined to the
    question by the tokenizer's post-processor, the steps ``tokenizers`` takes for a pair with
    ``only_second`` truncation from the right, so the windows equal transformers'.

    >>> from tokenizers import Tokenizer, models, pre_tokenizers, processors
    >>> vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "▁": 4, "问": 5, "甲": 6, "乙": 7}
    >>> tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    >>> tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    >>> tok.post_processor = processors.TemplateProcessing(
    ...     single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    >>> wins = make_windows_tokenizers(tok, "问", ["甲乙甲乙甲"], max_len=8, stride=1)
    >>> [(w.input_ids, w.offsets[4:7]) for w in wins]
    [([0, 5, 2, 2, 6, 7, 6, 2], [(0, 1), (1, 2), (2, 3)]), ([0, 5, 2, 2, 6, 7, 6, 2], [(2, 3), (3, 4), (4, 5)])]

    Args:
        tokenizer: the model's tokenizer, from the ``tokenizers`` library (no truncation set).
        question: the question.
        passages: the texts to read.
        max_len: tokens per window, special tokens included.
        stride: tokens shared by consecutive windows of one passage.
        max_question_chars: a longer question is cut to this many characters.

    Returns:
        The windows, passage by passage, in reading order (equal to :func:`make_windows`'s).
    """
    question = question[:max_question_chars]
    if not passages:
        return []
    marker = tokenizer.token_to_id("▁")
    if marker is None:      # as transformers' convert_tokens_to_ids: an unknown token is <unk>
        marker = tokenizer.token_to_id("<unk>")
    q = tokenizer.encode(question, add_special_tokens=False)
    budget = max_len - len(q.ids) - tokenizer.num_special_tokens_to_add(True)
    if budget <= stride:    # the error tokenizers itself raises; 96 characters never come near it
        raise ValueError(f"a question of {len(q.ids)} tokens leaves no room for a window of {max_len}")
    out: list[Window] = []
    for i, p in enumerate(tokenizer.encode_batch(list(passages), add_special_tokens=False)):
        if len(p.ids) > budget:
            p.truncate(budget, stride, "right")
        pair = tokenizer.post_process(q, p)
        # transformers' order: the encoding, then its overflowing windows
        for part in [pair, *(pair.overflowing or [])]:
            out.append(_window(part, marker, i))
    return out


def _window(enc: "Encoding", marker: int | None, passage: int) -> Window:
    ids, seq, offs = enc.ids, enc.sequence_ids, enc.offsets
    mask = [1 if s == 1 and tid != marker and e > b else 0 for s, tid, (b, e) in zip(seq, ids, offs)]
    offsets = [(b, e) if s == 1 else (0, 0) for s, (b, e) in zip(seq, offs)]
    return Window(list(ids), mask, offsets, passage)


def token_span(window: Window, start: int, end: int) -> tuple[int, int] | None:
    """The tokens of a window that cover a character span of its passage.

    Args:
        window: the window.
        start: first character of the answer in the passage.
        end: one past its last character.

    Returns:
        (first token, last token), or None when the span is not wholly inside
        the window.
    """
    inside = [i for i, (m, (b, e)) in enumerate(zip(window.context_mask, window.offsets))
              if m and b < end and e > start]
    if not inside:
        return None
    first, last = inside[0], inside[-1]
    if window.offsets[first][0] > start or window.offsets[last][1] < end:
        return None
    return first, last


def char_span(window: Window, first: int, last: int) -> Offset:
    """Character offsets in the passage of a token span.

    Args:
        window: the window.
        first: first token.
        last: last token (inclusive).

    Returns:
        (start, end) so that ``passage[start:end]`` is the span's text.
    """
    return window.offsets[first][0], window.offsets[last][1]
