"""The shared ONNX helpers on a tiny real graph: a session's optimised graph is saved once and
reused, made again when the model file changes or the saved one is broken, and never needed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from rag.embed import onnx_export
from rag.embed.onnx_export import load_session, word_vectors


def tiny_model(path: Path, scale: float) -> Path:
    """y = (x @ W) + 0: a graph with something for the optimiser to fold."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array((np.eye(4) * scale).astype(np.float32), "W")
    zero = numpy_helper.from_array(np.zeros(4, np.float32), "Z")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Add", ["h", "Z"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])], [w, zero])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def run(path: Path) -> np.ndarray:
    load_session.cache_clear()          # as a new process would
    return load_session(str(path)).run(None, {"x": np.ones((1, 4), np.float32)})[0]


def saved(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".opt-ort" in p.name)


def test_the_optimised_graph_is_saved_once_and_used_until_the_model_changes(tmp_path):
    model = tiny_model(tmp_path / "m.onnx", 2.0)
    assert run(model).tolist() == [[2.0] * 4] and len(saved(tmp_path)) == 1
    opt = tmp_path / saved(tmp_path)[0]
    first = opt.stat().st_mtime_ns
    assert run(model).tolist() == [[2.0] * 4] and opt.stat().st_mtime_ns == first     # reused
    time.sleep(0.01)
    tiny_model(model, 3.0)                                                          # a new export
    assert run(model).tolist() == [[3.0] * 4] and opt.stat().st_mtime_ns > first   # optimised again
    opt.write_bytes(b"broken")
    os.utime(opt, ns=(time.time_ns() + 10**9,) * 2)                                 # newer, but unreadable
    assert run(model).tolist() == [[3.0] * 4] and opt.stat().st_size > 6
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]            # no temporary files


def test_a_folder_that_cannot_be_written_still_gets_a_session(tmp_path, monkeypatch):
    model = tiny_model(tmp_path / "m.onnx", 2.0)

    def read_only(*args, **kwargs):     # what mkstemp raises in a read-only cache (root ignores chmod)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(onnx_export.tempfile, "mkstemp", read_only)
    assert run(model).tolist() == [[2.0] * 4] and saved(tmp_path) == []


def test_word_vectors_are_the_safetensors_matrix_memory_mapped(tmp_path):
    from safetensors.numpy import save_file

    table = np.arange(30, dtype=np.float32).reshape(10, 3)
    save_file({"embeddings.word_embeddings.weight": table, "other": np.ones(2, np.float32)},
              str(tmp_path / "model.safetensors"))
    got = word_vectors(tmp_path)
    assert isinstance(got, np.memmap) and not got.flags.writeable and got.shape == (10, 3)
    assert (onnx_export.embed_batch(got, np.array([[2, 0], [9, 9]])) == table[[[2, 0], [9, 9]]]).all()
    word_vectors.cache_clear()
    save_file({"embeddings.word_embeddings.weight": table.astype(np.float16)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(ValueError, match="no float32 embeddings.word_embeddings.weight"):
        word_vectors(tmp_path)
    word_vectors.cache_clear()


def two_matmuls(path: Path, w1: np.ndarray, w2: np.ndarray) -> Path:
    """y = (x @ W1) @ W2 on ``[batch, tokens, k]``, the second named like an answer head."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W1"], ["h"], name="/layer.0/dense/MatMul"),
         helper.make_node("MatMul", ["h", "W2"], ["y"], name="/head/MatMul")], "two",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "t", w1.shape[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "t", w2.shape[1]])],
        [numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(w2, "W2")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_per_token_int8_is_close_to_fp32_and_independent_of_the_batch(tmp_path):
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(size=(16, 8)).astype(np.float32), rng.normal(size=(8, 2)).astype(np.float32)
    src = two_matmuls(tmp_path / "fp32.onnx", w1, w2)
    info = onnx_export.quantize_per_token(src, tmp_path / "int8.onnx")
    assert info["quantization"]["ops"] == {"MatMulInteger": 1, "QuantizeLinear": 1}
    assert info["quantization"]["matmuls_kept_fp32"] == 1           # the head
    x = rng.normal(size=(3, 5, 16)).astype(np.float32)
    x[1, 2] *= 60                                                    # one token with outliers
    x[2, 4] = 0                                                      # a row of zeros: no division by zero
    session = load_session(str(tmp_path / "int8.onnx"))
    got = session.run(None, {"x": x})[0]
    want = (x @ w1) @ w2
    assert got.shape == want.shape and np.isfinite(got).all()
    # every token keeps its own scale: the outlier token does not coarsen the others
    others = np.ones((3, 5), bool)
    others[1, 2] = False
    assert np.abs(got - want)[others].max() < 0.05 * np.abs(want).max()
    np.testing.assert_allclose(got[2, 4], 0, atol=1e-6)
    for i in range(3):
        np.testing.assert_allclose(session.run(None, {"x": x[i:i + 1]})[0][0], got[i], rtol=0, atol=1e-5)
    everything = onnx_export.quantize_per_token(src, tmp_path / "all.onnx", keep_fp32=())
    assert everything["quantization"]["ops"]["MatMulInteger"] == 2
