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
            return 1.0, json.dumps([{"mode": "hybrid", "recall@1": 0.8861, "recall@5": 0.9873},
                                    {"mode": "dense", "recall@1": 0.85, "recall@5": 0.97},
                                    {"mode": "bm25", "recall@1": 0.5, "recall@5": 0.6}])
        name = cmd[cmd.index("eval") + 1]
        hybrid = {"recall@1": 0.71234, "recall@5": 0.9, "f1": 70.123, "em": 55.0} if name == "cmrc" else \
            {"recall@1": 0.6, "recall@5": 0.85, "f1": 0.0, "em": 0.0}
        dense = {"recall@1": 0.7, "recall@5": 0.88, "f1": 1.0, "em": 1.0}
        which = cmd[cmd.index("--modes") + 1].split(",")
        return 1.0, json.dumps({"modes": {m: {"hybrid": hybrid, "dense": dense}[m] for m in which}}, indent=1)

    monkeypatch.setattr(bench, "_run", fake_run)
    got = bench.measure_quality("onnx-int8", {}, "/data")
    dense = {"recall@1": 70.0, "recall@5": 88.0}
    assert got == {"cmrc": {"recall@1": 71.23, "recall@5": 90.0, "f1": 70.12, "em": 55.0, "dense": dense},
                   "drcd": {"recall@1": 60.0, "recall@5": 85.0, "dense": dense},
                   "article": {"recall@1": 88.61, "recall@5": 98.73, "dense": {"recall@1": 85.0, "recall@5": 97.0}}}
    for cmd in calls:
        assert "embed.runtime=onnx-int8" in cmd and "reader.runtime=onnx-int8" in cmd
    assert "--variants" in calls[-1] and [c[c.index("--modes") + 1] for c in calls[:-1]] == ["hybrid", "hybrid,dense", "dense"]
    # only CMRC's hybrid run reads with the reader; the others measure retrieval
    assert "reader.weights=off" not in calls[0] and all("reader.weights=off" in c for c in calls[1:3])
    lines = bench.table({"torch": {"quality": got}, "onnx-int8": {}})
    assert lines[0] == "| measure | torch | onnx-int8 |"
    assert "| Recall@1 / @5, hybrid: DRCD dev | 60.0 / 85.0 | – |" in lines
    assert "| Recall@1 / @5, dense: article development set | 85.0 / 97.0 | – |" in lines
    assert "| CMRC dev end to end, reader on: F1 / EM | 70.12 / 55.0 | – |" in lines


def test_an_unknown_variant_is_refused_with_the_choices(bench, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--variants", "torch,int4"])
    assert exc.value.code == 2 and "unknown variant 'int4': choose from torch, onnx, onnx-int8, serial, default" in capsys.readouterr().err
