"""The ``rag`` command end to end on the shipped article, with the real default model.

Errors that need no model: ``tests/unit/test_cli.py``.
"""

import json
import shutil
import subprocess
import sys

import pytest

from tests.helpers import ARTICLE, ROOT
from rag.cli.commands import main


@pytest.fixture(scope="module")
def workdir(store_qa):
    """A corpus and the options naming its index, already indexed by the session fixture (same model):
    FAISS files, then a Milvus server (every test here runs on both)."""
    if store_qa.settings.store.uri == "faiss":
        return store_qa.corpus_dir, ["--index", str(store_qa.store.root)]
    return store_qa.corpus_dir, ["--store", store_qa.settings.store.uri, "--kb", store_qa.settings.store.kb]


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def dirs(workdir):
    corpus, where = workdir
    return ["--corpus", str(corpus), *where]


def check_offsets(obj, text):
    for c in obj["citations"]:
        assert text[c["start"]:c["end"]] == c["text"]
    if obj["answer"] is not None:
        s = obj["answer_span"]
        assert text[s["start"]:s["end"]] == obj["answer"]
        assert obj["citations"][0]["start"] <= s["start"] and s["end"] <= obj["citations"][0]["end"]


@pytest.mark.parametrize("question,gold", [
    ("湖北人工智能产业规模到2025年超过多少?", "1500亿元"),
    ("谁是百度的首席技术官?", "王海峰"),
    ("广东省科技厅厅长是谁?", "王月琴"),
    ("成都每年发放的算力券总额不超过多少?", "1000万元"),
    ("上海对大模型研发主体给予最高多少的租用补贴?", "10%"),
])
def test_ask_json_answers_with_exact_offsets(workdir, capsys, article_text, question, gold):
    code, out, _ = run(["ask", question, "--json", *dirs(workdir)], capsys)
    assert code == 0
    obj = json.loads(out)
    assert obj["question"] == question
    assert gold in obj["answer"] and len(obj["answer"]) <= 3 * len(gold)  # a span, not a sentence
    assert 0.0 <= obj["confidence"] <= 1.0
    assert obj["answer_span"]["doc"] == "article.txt"
    assert gold in obj["citations"][0]["text"]
    assert [c["rank"] for c in obj["citations"]] == list(range(1, len(obj["citations"]) + 1))
    check_offsets(obj, article_text)


def test_unanswerable_question_is_declined_with_passages(workdir, capsys, article_text):
    code, out, _ = run(["ask", "浙江省出台了什么人工智能大模型政策?", "--json", *dirs(workdir)], capsys)
    obj = json.loads(out)
    assert code == 0 and obj["answer"] is None and obj["answer_span"] is None
    assert obj["citations"]
    check_offsets(obj, article_text)
    code, out, _ = run(["ask", "浙江省出台了什么人工智能大模型政策?", *dirs(workdir)], capsys)
    assert "未找到" in out and "[1]" in out


def test_human_output_marks_the_span(workdir, capsys):
    code, out, _ = run(["ask", "湖北人工智能产业规模到2025年超过多少?", *dirs(workdir)], capsys)
    assert code == 0
    assert "答案: 1500亿元" in out and "【1500亿元】" in out and "article.txt" in out


def test_top_k_limits_citations(workdir, capsys):
    code, out, _ = run(["ask", "算力券", "--json", "--top-k", "2", *dirs(workdir)], capsys)
    assert code == 0 and len(json.loads(out)["citations"]) == 2


def test_batch_keeps_order_echoes_ids_and_survives_bad_lines(workdir, capsys, tmp_path, article_text):
    batch = tmp_path / "q.jsonl"
    batch.write_text("\n".join([
        json.dumps({"id": "a", "question": "谁是百度的首席技术官?"}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": 7, "question": "   "}),
        json.dumps({"id": "c"}),
        json.dumps({"id": "d", "question": "湖北人工智能产业规模到2025年超过多少?"}, ensure_ascii=False),
    ]), encoding="utf-8")
    code, out, _ = run(["ask", "--batch", str(batch), "--json", *dirs(workdir)], capsys)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r.get("id") for r in rows] == ["a", None, 7, "c", "d"]
    assert "王海峰" in rows[0]["answer"] and "1500亿元" in rows[4]["answer"]
    assert all("error" in r for r in rows[1:4])
    for r in (rows[0], rows[4]):
        check_offsets(r, article_text)


def test_search_json(workdir, capsys, article_text):
    code, out, _ = run(["search", "算力券", "--json", *dirs(workdir)], capsys)
    obj = json.loads(out)
    assert code == 0 and obj["results"]
    assert "算力券" in obj["results"][0]["text"]
    for c in obj["results"]:
        assert article_text[c["start"]:c["end"]] == c["text"]


@pytest.mark.parametrize("args,needle", [
    (["ask", ""], "empty"),
    (["ask", "   "], "empty"),
    (["ask", "问" * 1001], "too long"),
    (["ask"], "empty"),
])
def test_bad_questions_exit_2_with_one_line(workdir, capsys, args, needle):
    code, out, err = run([*args, *dirs(workdir)], capsys)
    assert code == 2 and needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_index_command_reports_up_to_date_and_incremental(tmp_path, capsys, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ARTICLE, corpus / "article.txt")
    idx = tmp_path / "index"
    args = ["index", "--corpus", str(corpus), "--index", str(idx)]
    code, out, _ = run(args, capsys)
    assert code == 0 and "index written" in out
    code, out, _ = run(args, capsys)
    assert code == 0 and "up to date" in out
    (corpus / "extra.md").write_text("# 补充\n深圳将发放5亿元算力券。", encoding="utf-8")
    code, out, _ = run(args, capsys)
    assert code == 0 and "+1 added" in out and "1 embedded" in out
    code, out, _ = run(["ask", "深圳将发放多少算力券?", "--json", "--corpus", str(corpus), "--index", str(idx)], capsys)
    obj = json.loads(out)
    assert obj["answer"] == "5亿元" and obj["answer_span"]["doc"] == "extra.md"


def test_console_script_runs_as_a_subprocess(workdir):
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "", *dirs(workdir)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_search_loads_no_reader_and_ask_loads_it(workdir):
    """Loading the reader costs seconds that `rag search` never uses: only a question read by it loads it."""
    probe = ("import sys\n"
             "from rag.cli.commands import main\n"
             "code = main(sys.argv[1:])\n"
             "from rag.reader import onnx_reader, predictor\n"
             "n = predictor.load_cached.cache_info().currsize + onnx_reader.load_cached.cache_info().currsize\n"
             "print('READER-LOADED', n > 0, 'TORCH', 'torch' in sys.modules)\n"
             "sys.exit(code)\n")
    loaded = {}
    for cmd, query in (("search", "算力券"), ("ask", "湖北人工智能产业规模到2025年超过多少?")):
        r = subprocess.run([sys.executable, "-c", probe, cmd, query, "--json", *dirs(workdir)],
                           capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert r.returncode == 0, r.stderr
        loaded[cmd] = r.stdout.strip().splitlines()[-1]
    # and on the default runtimes (ONNX) neither imports torch
    assert loaded == {"search": "READER-LOADED False TORCH False", "ask": "READER-LOADED True TORCH False"}


def test_bare_follow_up_without_history_returns_the_whole_sentence(workdir, capsys, article_text):
    """那宁夏呢? alone names no gap to fill: the answer is the whole sentence about 宁夏 (confidence 0.45,
    above the 0.26 threshold), never a cut-off fragment, and that sentence is cited first."""
    code, out, _ = run(["ask", "那宁夏呢?", "--json", *dirs(workdir)], capsys)
    obj = json.loads(out)
    assert code == 0
    assert obj["answer"].startswith("成都、宁夏") and obj["answer"].endswith("。")
    s = obj["sentence_span"]
    assert (obj["answer_span"]["start"], obj["answer_span"]["end"]) == (s["start"], s["end"])
    assert obj["answer"] in obj["citations"][0]["text"]
    check_offsets(obj, article_text)


def test_python_dash_m_gives_the_same_one_line_errors(tmp_path):
    """`python -m rag.cli` (how scripts/bench_all.sh calls it) reports a person's error, not an internal one."""
    r = subprocess.run([sys.executable, "-m", "rag.cli", "eval", "cmrc", "--data", str(tmp_path)],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("rag: benchmark file not found") and "internal error" not in r.stderr
