"""The light tokenizer on a toy Unigram model: the same tokens as the full one, its files made once
and again when tokenizer.json changes. The real model on real text: tests/e2e/test_light_tokenizer.py."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tokenizers import Tokenizer

from rag.embed.light_tokenizer import SharedTokenizer, light_dir


def toy(folder: Path, pair_score: float = -1.5) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -1.0), ("甲", -2.0), ("乙", -2.0),
             ("甲乙", pair_score), ("丙", -3.0), ("▁甲", -2.5), ("很长的词", -9.0), ("不出现", -5.0)]
    tok = Tokenizer(models.Unigram(vocab, 3, False))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    tok.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>"])
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    return folder / "tokenizer.json"


def test_light_tokens_are_the_full_ones_and_files_follow_the_source(tmp_path):
    path = toy(tmp_path / "m")
    texts = ["甲乙丙丁", "乙 甲乙甲", "丁丁", "丙甲乙乙 甲"]
    shared = SharedTokenizer(path)
    tok, to_ids = shared.for_texts(texts)
    assert shared._full is None                         # the full one was never loaded
    assert tok.token_to_id("不出现") is None                # it never occurs, so it is not there
    assert tok.token_to_id("很长的词") is not None          # the lowest score sets the unknown penalty
    full = SharedTokenizer(path).full
    for t in texts:
        got, want = tok.encode(t), full.encode(t)
        assert to_ids(got.ids) == want.ids and got.offsets == want.offsets and got.tokens == want.tokens
    pair = tok.encode(texts[0], texts[1])
    assert to_ids(pair.ids) == full.encode(texts[0], texts[1]).ids
    assert (light_dir(path) / "record.json").is_file()
    # a new tokenizer.json (甲乙 now scores low, so ▁甲 乙 wins): the light files are made again
    time.sleep(0.01)
    toy(tmp_path / "m", pair_score=-9.0)
    os.utime(path, ns=(time.time_ns() + 10**9,) * 2)
    tok2, to_ids2 = SharedTokenizer(path).for_texts(["甲乙"])
    assert tok2.encode("甲乙").tokens == ["<s>", "▁甲", "乙", "</s>"] == Tokenizer.from_file(str(path)).encode("甲乙").tokens
    assert to_ids2(tok2.encode("甲乙").ids) == [0, 9, 6, 2]
