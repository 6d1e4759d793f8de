"""scripts/bench_speed.py without running anything heavy: the quality measure reads ``rag eval`` and
eval_article's JSON, and the table puts each variant's figures in its column."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.helpers import ROOT


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_speed", ROOT / "scripts" / "bench_speed.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quality_reads_each_benchmark_with_the_variants_runtimes(bench, monkeypatch):
    calls = []

    def fake_run(cmd, env, timeout=0):
        calls.append(cmd)
        if "eval_article.py" in " ".join(cmd):
            return 1.0, json.dumps([{"recall@1": 0.8861, "recall@5": 0.9873}])
        name = cmd[cmd.index("eval") + 1]
        hybrid = {"recall@1": 0.71234, "recall@5": 0.9, "f1": 70.123, "em": 55.0} if name == "cmrc" else \
            {"recall@1": 0.6, "recall@5": 0.85, "f1": 0.0, "em": 0.0}
        return 1.0, json.dumps({"modes": {"hybrid": hybrid}}, indent=1)

    monkeypatch.setattr(bench, "_run", fake_run)
    got = bench.measure_quality("onnx-int8", {}, "/data")
    assert got == {"cmrc": {"recall@1": 71.23, "recall@5": 90.0, "f1": 70.12, "em": 55.0},
                   "drcd": {"recall@1": 60.0, "recall@5": 85.0}, "article": {"recall@1": 88.61, "recall@5": 98.73}}
    for cmd in calls:
        assert "embed.runtime=onnx-int8" in cmd and "reader.runtime=onnx-int8" in cmd
    assert "reader.weights=off" in calls[1] and "reader.weights=off" not in calls[0]     # DRCD: retrieval only
    lines = bench.table({"torch": {"quality": got}, "onnx-int8": {}})
    assert lines[0] == "| measure | torch | onnx-int8 |"
    assert "| Recall@1 / @5, hybrid: DRCD dev | 60.0 / 85.0 | – |" in lines
    assert "| CMRC dev end to end, reader on: F1 / EM | 70.12 / 55.0 | – |" in lines


def test_an_unknown_variant_is_refused_with_the_choices(bench, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--variants", "torch,int4"])
    assert exc.value.code == 2 and "unknown variant 'int4': choose from torch, onnx, onnx-int8, default" in capsys.readouterr().err
