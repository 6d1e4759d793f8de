"""The ONNX Runtime encoder against the torch reference, with the real model.

The model is converted and exported into a private cache (about a minute: the export imports torch,
the int8 file is quantised from the fp32 one), offline.
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

from rag.config import DEFAULT_MODEL
from rag.embed.encoder import Embedder
from rag.embed.onnx_encoder import FP32_FILE, INT8_FILE, MARKER, OnnxEncoder, ensure_exported
from tests.helpers import ARTICLE, DATA, ROOT

#: The article's paragraphs (33 to 664 characters): 22 Chinese passages of varied length.
PASSAGES = [line.strip() for line in ARTICLE.read_text(encoding="utf-8").splitlines() if line.strip()]
QUERIES = [json.loads(line)["question"] for line in (DATA / "article_qa.jsonl").read_text(encoding="utf-8")
           .splitlines()[:20]]
#: Past the model's 512 tokens: truncated alike by both.
LONG = "。".join(PASSAGES) * 2


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rag-cache")


@pytest.fixture(scope="module")
def torch_encoder(cache_dir: Path) -> Embedder:
    return Embedder(DEFAULT_MODEL, cache_dir=cache_dir)


@pytest.fixture(scope="module")
def reference(torch_encoder: Embedder) -> dict[str, np.ndarray]:
    return {"passages": torch_encoder.encode_passages(PASSAGES + [LONG]),
            "queries": torch_encoder.encode_queries(QUERIES)}


@pytest.fixture(scope="module")
def fp32(cache_dir: Path) -> OnnxEncoder:
    return OnnxEncoder(quantized=False, cache_dir=cache_dir)


@pytest.fixture(scope="module")
def int8(cache_dir: Path) -> OnnxEncoder:
    return OnnxEncoder(quantized=True, cache_dir=cache_dir)


def test_the_export_works_offline_and_is_reused(cache_dir: Path, monkeypatch) -> None:
    from rag.embed import onnx_encoder

    int8_path = ensure_exported(cache_dir, quantized=True)
    folder = int8_path.parent
    made = sorted(p.name for p in folder.iterdir() if ".opt-ort" not in p.name)   # saved optimised graphs aside
    assert made == sorted([FP32_FILE, INT8_FILE, MARKER])   # no temp files
    marker = json.loads((folder / MARKER).read_text())
    assert marker["source_model"] == folder.name.removesuffix("-onnx") and marker["opset"] == onnx_encoder.OPSET
    quantization = marker["files"][INT8_FILE]["quantization"]
    assert quantization["ops"]["MatMulInteger"] == 60 and quantization["matmuls_kept_fp32"] == 12
    # 12 of the 72 weight matrices stay fp32: the int8 file is about half the fp32 one
    assert (folder / INT8_FILE).stat().st_size < (folder / FP32_FILE).stat().st_size / 1.8
    monkeypatch.setattr(onnx_encoder, "export_onnx", lambda *a: pytest.fail("exported twice"))
    monkeypatch.setattr(onnx_encoder, "quantize_onnx", lambda *a: pytest.fail("quantised twice"))
    assert ensure_exported(cache_dir) == folder / FP32_FILE and ensure_exported(cache_dir, True) == int8_path


def test_token_ids_are_those_sentence_transformers_feeds_the_model(fp32: OnnxEncoder, torch_encoder) -> None:
    texts = ["passage: " + t for t in [*PASSAGES[:3], LONG, "", "  前后空格 ", "Ｆｕｌｌ　ｗｉｄｔｈ ﬁ 😀", "a\tb\nc"]]
    features = torch_encoder.st.tokenize(texts)
    ids, mask = features["input_ids"].numpy(), features["attention_mask"].numpy()
    from rag.embed.onnx_export import encode_truncated

    ours = encode_truncated(fp32.tokenizer.full, texts, fp32.max_length)
    assert ours == [row[m == 1].tolist() for row, m in zip(ids, mask)]
    assert len(ours[3]) == 512 and fp32.tokenizer.full.truncation is None     # cut by us: the reader shares it


# int8 on the article's 20 questions: cosine mean 0.995, least 0.989 (0.991 while the word-embedding
# table was int8 too, inside the graph; the mean was the same).
@pytest.mark.parametrize("variant, floor", [("fp32", 0.9999), ("int8", 0.985)])
def test_vectors_match_torch(variant: str, floor: float, request, reference) -> None:
    enc: OnnxEncoder = request.getfixturevalue(variant)
    p = enc.encode_passages(PASSAGES + [LONG])
    q = enc.encode_queries(QUERIES)
    for got, want in ((p, reference["passages"]), (q, reference["queries"])):
        assert got.dtype == np.float32 and got.shape == want.shape == (len(want), 384)
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        cos = (got * want).sum(axis=1)
        assert cos.min() >= floor, (variant, cos.min(), int(cos.argmin()))
    alone = enc.encode_passages([PASSAGES[1]])      # a batch of one: no padding at all
    assert float(alone[0] @ reference["passages"][1]) >= floor
    # What retrieval sees: each query's best passage is torch's. With int8 weights 16 of these 20 keep
    # it on an AVX2 machine (the article's paragraphs are long and alike); whether that costs recall is
    # for a retrieval benchmark to say, so here only a floor.
    same = (q @ p[:-1].T).argmax(axis=1) == (reference["queries"] @ reference["passages"][:-1].T).argmax(axis=1)
    assert same.all() if variant == "fp32" else same.mean() >= 0.7, same


def test_order_is_kept_whatever_the_lengths(int8: OnnxEncoder) -> None:
    texts = PASSAGES[:12]
    together = int8.encode_passages(texts)
    one_by_one = np.concatenate([int8.encode_passages([t]) for t in texts])
    backwards = int8.encode_passages(texts[::-1])
    # int8 runs one text at a time (activations are quantised per run), so batch-mates change nothing
    assert int8.batch_size == 1 and OnnxEncoder(batch_size=16).batch_size == 16
    np.testing.assert_array_equal(together, one_by_one)
    np.testing.assert_array_equal(together, backwards[::-1])
    assert int8.encode_passages([]).shape == int8.encode_queries([]).shape == (0, 384)
    assert int8.name == f"{DEFAULT_MODEL}@onnx-int8+ffn-fp32" and OnnxEncoder().name == f"{DEFAULT_MODEL}@onnx"


@pytest.mark.parametrize("quantized", [True, False])
def test_indexing_runs_in_parallel_with_the_same_vectors(quantized: bool, cache_dir: Path) -> None:
    texts = PASSAGES + [LONG]
    one = OnnxEncoder(quantized=quantized, batch_size=4, cache_dir=cache_dir, workers=1)
    two = OnnxEncoder(quantized=quantized, batch_size=4, cache_dir=cache_dir, workers=2)
    assert one.workers == 1 and two.workers == 2 and OnnxEncoder().workers >= 1
    # one intra-op thread per run instead of several: the same sums, perhaps in another order
    np.testing.assert_allclose(two.encode_passages(texts), one.encode_passages(texts), atol=1e-5)
    np.testing.assert_allclose(two.encode_queries(QUERIES), one.encode_queries(QUERIES), atol=1e-5)


def test_int8_keeps_the_feed_forward_outputs_fp32(cache_dir: Path) -> None:
    import onnx

    graph = onnx.load(str(ensure_exported(cache_dir, quantized=True)), load_external_data=False).graph
    weights = {i.name for i in graph.initializer}
    fp32 = sorted(n.name for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights)
    assert len(fp32) == 12 and all("/output/dense/" in n and "/attention/" not in n for n in fp32), fp32
    assert sum(n.op_type == "MatMulInteger" for n in graph.node) == 60


def test_encoding_imports_no_torch(cache_dir: Path, fp32) -> None:
    ensure_exported(cache_dir, quantized=True)
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from rag.embed.onnx_encoder import OnnxEncoder\n"
        f"enc = OnnxEncoder(quantized=True, cache_dir=Path({str(cache_dir)!r}))\n"
        "assert enc.encode_passages(['算力券是补贴。', '今天天气晴朗。']).shape == (2, 384)\n"
        "assert enc.encode_queries(['什么是算力券？']).shape == (1, 384)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'onnx') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
