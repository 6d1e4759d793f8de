"""The benchmark harness (rag eval) on a tiny hand-made SQuAD file, with a fake encoder."""

from __future__ import annotations

import io
import json

import pytest

from tests.fakes import HashEncoder
from tests.helpers import load_script
from rag.cli import commands as cli
from rag.bench.figures import answer_figures, gold_rank, percentile, retrieval_figures
from rag.bench.run import run_eval
from rag.bench.system import bench_system, cache_key
from rag.config import Settings
from rag.bench.squad import load_squad, parse_squad, resolve
from rag.types import Chunk, Passage

PARAGRAPHS = [
    ("P1", "长江", "长江是中国最长的河流，全长约6300公里，发源于青藏高原的唐古拉山脉。长江流经十一个省级行政区，最后注入东海。"),
    ("P2", "黄河", "黄河是中国第二长河，全长约5464公里。黄河中游流经黄土高原，河水含沙量极高，因此呈现黄色。"),
    ("P3", "泰山", "泰山位于山东省泰安市，主峰玉皇顶海拔1545米。泰山在1987年被列入世界文化与自然双重遗产名录。"),
    ("P4", "西湖", "西湖位于浙江省杭州市西部，湖面面积约6.39平方公里。2011年，杭州西湖文化景观被列入世界遗产名录。"),
    ("P5", "故宫", "故宫位于北京中轴线的中心，是明清两代的皇家宫殿，旧称紫禁城。故宫由明成祖朱棣下令建造，1420年建成。"),
]
QUESTIONS = [  # (qid, paragraph, question, answers)
    ("Q1", "P1", "长江全长约多少公里？", ["6300公里", "约6300公里"]),
    ("Q2", "P1", "长江最后注入哪里？", ["东海"]),
    ("Q3", "P2", "黄河全长约多少公里？", ["约5464公里"]),  # the rules answer 5464公里: EM 0, F1 6/7
    ("Q4", "P3", "泰山主峰玉皇顶海拔多少米？", ["1545米"]),
    ("Q5", "P4", "西湖的湖面面积约多少平方公里？", ["6.39平方公里"]),
    ("Q6", "P5", "故宫是在哪一年建成的？", ["1420年"]),
]


def squad_json() -> dict:
    data = []
    for pid, title, context in PARAGRAPHS:
        qas = [{"id": qid, "question": q,
                "answers": [{"text": a, "answer_start": context.find(a)} for a in answers]}
               for qid, p, q, answers in QUESTIONS if p == pid]
        data.append({"title": title, "id": pid, "paragraphs": [{"id": pid, "context": context, "qas": qas}]})
    return {"version": "toy", "data": data}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Nothing is cached outside the test's tmp folder (the CLI's default cache root). The harness is
    tested with the rules alone; the trained reader's rows are tested in test_reader.py."""
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "rag-cache"))
    monkeypatch.setenv("RAG_READER", "off")


@pytest.fixture()
def squad_file(tmp_path):
    path = tmp_path / "toy_dev.json"
    path.write_text(json.dumps(squad_json(), ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture()
def fake_encoder():
    """Lexical, with cosines in e5's range, so that the confidence model (fitted on e5) answers."""
    return HashEncoder(floor=0.85)


# --------------------------------------------------------------------------- loading

def test_load_squad(squad_file):
    s = load_squad(squad_file)
    assert s.name == "toy_dev"
    assert len(s.paragraphs) == 5 and len(s.questions) == 6
    assert s.paragraphs[0].doc == "toy_dev/P1"
    assert s.questions[0].answers == ("6300公里", "约6300公里")
    assert s.questions[1].doc == "toy_dev/P1" and s.questions[2].doc == "toy_dev/P2"
    assert len(s.sha256) == 64
    assert [d.text for d in s.documents()] == [c for _, _, c in PARAGRAPHS]


def test_parse_squad_quirks():
    """Positional ids when there are none (XQuAD), duplicate and empty answers, -1 starts."""
    data = {"data": [{"title": "t", "paragraphs": [
        {"context": "甲乙丙。", "qas": [
            {"id": "a", "question": "甲？", "answers": [{"text": "甲", "answer_start": 0},
                                                       {"text": "甲", "answer_start": -1},
                                                       {"text": " ", "answer_start": 0}]},
            {"id": "b", "question": "无答案？", "answers": []},
            {"question": "乙？", "answers": [{"text": "乙", "answer_start": 1}]}]},
        {"context": "   ", "qas": []}]}]}
    s = parse_squad(data, name="x")
    assert [p.doc for p in s.paragraphs] == ["x/0-0"]
    assert [(q.qid, q.answers) for q in s.questions] == [("a", ("甲",)), ("0-0-q2", ("乙",))]


def test_parse_squad_rejects_other_json():
    with pytest.raises(ValueError):
        parse_squad({"questions": []})


def test_resolve_short_names(tmp_path):
    assert resolve("cmrc", tmp_path) == tmp_path / "cmrc2018" / "cmrc2018_dev.json"
    assert resolve("drcd/DRCD_dev.json", tmp_path) == tmp_path / "drcd" / "DRCD_dev.json"
    assert resolve(str(tmp_path), "/nowhere") == tmp_path


# --------------------------------------------------------------------------- metrics

def _p(doc: str, rank: int = 1) -> Passage:
    return Passage(Chunk(f"{doc}#0", doc, 0, 1, "x"), rank, 1.0)


def test_gold_rank_and_recall_mrr():
    ranking = [_p("a"), _p("b"), _p("b"), _p("c")]
    assert gold_rank(ranking, "a") == 1
    assert gold_rank(ranking, "b") == 2           # the first chunk of the gold document counts
    assert gold_rank(ranking, "z") is None
    f = retrieval_figures([1, 2, None, 6, 11])
    assert f["recall@1"] == pytest.approx(1 / 5)
    assert f["recall@3"] == pytest.approx(2 / 5)
    assert f["recall@5"] == pytest.approx(2 / 5)
    assert f["recall@10"] == pytest.approx(3 / 5)
    assert f["mrr@10"] == pytest.approx((1 + 1 / 2 + 1 / 6) / 5)   # rank 11 is beyond the MRR depth


def test_answer_figures_best_over_golds():
    f = answer_figures([("6300公里", ["约6300公里", "6300公里"]), ("约6300", ["6300公里"]), (None, ["东海"])])
    assert f["em"] == pytest.approx(100 / 3)
    # second: lcs "6300" = 1 token of 2 predicted (约, 6300) and 1 of 2 gold (6300, 公, 里 -> 3 tokens)
    assert f["f1"] == pytest.approx(100 * (1 + 2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3)) / 3)
    assert f["declined"] == 1 and f["declined_share"] == pytest.approx(1 / 3)


def test_percentile():
    assert percentile([10, 20, 30, 40], 50) == 20
    assert percentile([10, 20, 30, 40], 95) == 40
    assert percentile(list(range(1, 101)), 95) == 95


# --------------------------------------------------------------------------- the run

def test_run_eval_all_modes(squad_file, fake_encoder, tmp_path):
    s = load_squad(squad_file)
    r = run_eval(s, fake_encoder, index_dir=tmp_path / "ix")
    summary = r.summary
    assert set(summary["modes"]) == {"hybrid", "dense", "bm25"}
    assert summary["questions"] == 6 and summary["paragraphs"] == 5
    assert summary["index"]["documents"] == 5 and not summary["index"]["reused"]
    # Every answer is right but Q3's 5464公里 against the gold 约5464公里: EM 5/6; F1 (5 + 6/7) / 6 by
    # the CMRC metric (约 5464 公 里 against 5464 公 里: precision 1, recall 3/4).
    em, f1 = 100 * 5 / 6, 100 * (5 + 6 / 7) / 6
    for mode, row in summary["modes"].items():
        # The questions share their paragraph's words: every retriever finds the gold paragraph first.
        assert row["recall@1"] == 1.0 and row["mrr@10"] == 1.0, mode
        assert row["em"] == pytest.approx(em) and row["f1"] == pytest.approx(f1), mode
        assert row["latency_ms_p50"] <= row["latency_ms_p95"]
    assert summary["oracle"]["em"] == pytest.approx(em) and summary["oracle"]["f1"] == pytest.approx(f1)
    assert summary["peak_rss_mb"] > 0
    assert r.predictions == {"Q1": "6300公里", "Q2": "东海", "Q3": "5464公里", "Q4": "1545米",
                             "Q5": "6.39平方公里", "Q6": "1420年"}
    d = r.details[0]
    assert d["id"] == "Q1" and d["hybrid"]["rank"] == 1 and "oracle" in d
    # Every row carries its F1/EM by gold-answer length and by question type (issue #18): all six gold
    # answers are short; Q2 (哪里) asks a place, Q6 (哪一年) a time, the other four a number.
    for row in [*summary["modes"].values(), summary["oracle"]]:
        assert row["by_length"]["<=10"]["n"] == 6 and row["by_length"][">20"] == {"n": 0, "f1": None, "em": None}
        assert row["by_length"]["<=10"]["f1"] == pytest.approx(f1, abs=0.01)
        assert {t: c["n"] for t, c in row["by_type"].items() if c["n"]} == {"number": 4, "place": 1, "time": 1}
        assert row["by_type"]["place"] == {"n": 1, "f1": 100.0, "em": 100.0}
    assert summary["oracle_rows"]["oracle"] is summary["oracle"]


def test_run_eval_breakdowns_cover_the_rules_and_reader_alone_rows():
    """The ``:rules`` rows and the reader-alone rows get the tables too, from the same details
    (the toy harness runs the rules alone, so these rows are made up here)."""
    from rag.bench.run import _add_breakdowns

    details = [{"id": "Q1", "question": "长江全长多少公里？", "golds": ["6300公里"],
                "hybrid": {"answer": "6300公里", "reader_alone": "6300"}, "hybrid:rules": {"answer": None},
                "oracle": {"answer": "6300公里", "reader_alone": "6300公里"}, "oracle:rules": {"answer": "6300公里"}}]
    parts = {"modes": {"hybrid": {"f1": 100.0}, "hybrid:rules": {"f1": 0.0}},
             "oracle_rows": {"oracle": {"f1": 100.0}, "oracle:rules": {"f1": 100.0}},
             "reader_alone": {"hybrid": {"f1": 57.1}, "oracle": {"f1": 100.0}}, "abstention": {}}
    _add_breakdowns(parts, details, Settings())
    assert parts["modes"]["hybrid:rules"]["by_type"]["number"] == {"n": 1, "f1": 0.0, "em": 0.0}
    assert parts["oracle_rows"]["oracle:rules"]["by_length"]["<=10"]["em"] == 100.0
    assert parts["reader_alone"]["hybrid"]["by_type"]["number"]["em"] == 0.0     # its own span, not the answer
    assert parts["reader_alone"]["oracle"]["by_type"]["number"]["em"] == 100.0
    assert parts["modes"]["hybrid"]["f1"] == 100.0                                  # the old keys are kept


def test_run_eval_limit_indexes_every_paragraph(squad_file, fake_encoder, tmp_path):
    s = load_squad(squad_file)
    r = run_eval(s, fake_encoder, index_dir=tmp_path / "ix", modes=["bm25"], limit=2, oracle=False)
    assert r.summary["questions"] == 2 and r.summary["questions_total"] == 6
    assert r.summary["index"]["documents"] == 5      # retrieval stays honest: all paragraphs are indexed
    assert list(r.predictions) == ["Q1", "Q2"]
    assert r.summary["oracle"] is None and list(r.summary["modes"]) == ["bm25"]


def test_run_eval_reuses_cached_index(squad_file, fake_encoder, tmp_path):
    s = load_squad(squad_file)
    run_eval(s, fake_encoder, modes=["bm25"], limit=1, cache_dir=tmp_path / "cache")
    embedded = sum(fake_encoder.calls)
    r = run_eval(s, fake_encoder, modes=["bm25"], limit=1, cache_dir=tmp_path / "cache")
    assert sum(fake_encoder.calls) == embedded        # nothing embedded again
    assert r.summary["index"]["reused"]
    assert r.summary["index"]["embed_chunks_per_s"] is not None   # the figure of the original build
    folder = tmp_path / "cache" / cache_key(s, Settings(), fake_encoder.name)
    assert (folder / "CURRENT").is_file()
    # Other index settings: another folder.
    assert cache_key(s, Settings().with_overrides({"chunk.chars": 100}), fake_encoder.name) != folder.name


def test_gold_passages_rank_only_the_gold_paragraphs_chunks(squad_file, fake_encoder, tmp_path):
    """The oracle row's passages: the system with the gold paragraph as its whole corpus."""
    s = load_squad(squad_file)
    settings = Settings().with_overrides({"chunk.chars": 30, "chunk.overlap_sentences": 0})
    qa = bench_system(s.documents(), tmp_path / "ix", settings, fake_encoder)
    q = qa.analyse("长江最后注入哪里？")
    ps = qa.retrieve_within(q, "toy_dev/P1")
    assert len(ps) >= 2 and {p.chunk.doc for p in ps} == {"toy_dev/P1"}
    assert [p.rank for p in ps] == list(range(1, len(ps) + 1))
    assert [p.score for p in ps] == sorted((p.score for p in ps), reverse=True)
    text = PARAGRAPHS[0][2]
    assert all(text[p.chunk.start:p.chunk.end] == p.chunk.text for p in ps)
    assert ps[0].chunk.text.find("东海") >= 0   # the keyword side finds the chunk that answers
    assert qa.answer("长江最后注入哪里？", ps).answer == "东海"   # answered from exactly these passages
    assert qa.retrieve_within(q, "toy_dev/none") == []


def test_run_eval_rejects_unknown_mode(squad_file, fake_encoder, tmp_path):
    with pytest.raises(ValueError):
        run_eval(load_squad(squad_file), fake_encoder, index_dir=tmp_path / "ix", modes=["sparse"])


# --------------------------------------------------------------------------- the command

@pytest.fixture()
def fake_model(monkeypatch):
    """``rag eval`` builds its Embedder from the settings: hand it the fake encoder."""
    import rag.embed.encoder

    monkeypatch.setattr(rag.embed.encoder.Embedder, "from_settings", classmethod(lambda cls, s: HashEncoder(floor=0.85)))


def test_cli_eval_json_predictions_limit(squad_file, tmp_path, fake_model):
    out = io.StringIO()
    pred = tmp_path / "pred.json"
    details = tmp_path / "details.jsonl"
    rc = cli.main(["eval", str(squad_file), "--limit", "3", "--json", "--predictions", str(pred),
                   "--details", str(details), "--modes", "bm25,hybrid", "--index", str(tmp_path / "ix")], out=out)
    assert rc == 0
    summary = json.loads(out.getvalue())
    assert summary["questions"] == 3 and list(summary["modes"]) == ["bm25", "hybrid"]
    assert summary["index"]["documents"] == 5
    p = json.loads(pred.read_text(encoding="utf-8"))
    assert p == {"Q1": "6300公里", "Q2": "东海", "Q3": "5464公里"}
    assert summary["modes"]["bm25"]["em"] == pytest.approx(100 * 2 / 3)
    assert summary["modes"]["hybrid"]["by_length"]["<=10"]["n"] == 3 and "by_type" in summary["oracle"]
    rows = [json.loads(line) for line in details.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["Q1", "Q2", "Q3"] and "bm25" in rows[0]


def test_cli_eval_table(squad_file, tmp_path, fake_model):
    out = io.StringIO()
    rc = cli.main(["eval", str(squad_file), "--modes", "dense", "--index", str(tmp_path / "ix")], out=out)
    assert rc == 0
    text = out.getvalue()
    assert "toy_dev: 5 paragraphs" in text and "dense" in text and "oracle" in text
    lines = text.splitlines()
    assert "F1/EM by gold-answer length:" in lines and "F1/EM by question type:" in lines
    assert lines[lines.index("F1/EM by gold-answer length:") + 1].split() == ["n", "dense", "oracle"]
    assert [x.split()[:2] for x in lines if x.startswith(("place ", "time "))] == [["place", "1"], ["time", "1"]]
    assert list((tmp_path / "rag-cache" / "bench" / "embeddings").iterdir())   # the default cache root


def test_cli_eval_data_dir_and_errors(squad_file, tmp_path, fake_model, capsys):
    data = tmp_path / "bench"
    (data / "cmrc2018").mkdir(parents=True)
    (data / "cmrc2018" / "cmrc2018_dev.json").write_text(squad_file.read_text(encoding="utf-8"), encoding="utf-8")
    out = io.StringIO()
    assert cli.main(["eval", "cmrc", "--data", str(data), "--limit", "1", "--modes", "bm25", "--no-oracle",
                     "--cache", str(tmp_path / "cache")], out=out) == 0
    assert "1 of 6 questions" in out.getvalue()
    assert cli.main(["eval", "drcd", "--data", str(data)], out=io.StringIO()) == 2
    assert "benchmark file not found" in capsys.readouterr().err
    assert cli.main(["eval", str(squad_file), "--modes", "sparse"], out=io.StringIO()) == 2
    assert cli.main(["eval", str(squad_file), "--limit", "0"], out=io.StringIO()) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    assert cli.main(["eval", str(bad)], out=io.StringIO()) == 2


def test_embedding_cache_reuses_vectors_across_settings(squad_file, fake_encoder, tmp_path):
    """A rebuild with other keyword settings embeds nothing: vectors are kept by text."""
    s = load_squad(squad_file)
    cache = tmp_path / "emb"
    r1 = run_eval(s, fake_encoder, modes=["bm25"], limit=1, oracle=False, cache_dir=tmp_path / "c",
                  embed_cache=cache)
    embedded = sum(fake_encoder.calls)
    assert embedded == r1.summary["index"]["chunks"] and r1.summary["index"]["embedded_chunks"] == embedded
    r2 = run_eval(s, fake_encoder, Settings.from_env().with_overrides({"index.bm25_k1": 1.2}), modes=["bm25"], limit=1, oracle=False,
                  cache_dir=tmp_path / "c", embed_cache=cache)
    assert not r2.summary["index"]["reused"]          # another index (other settings) ...
    assert sum(fake_encoder.calls) == embedded        # ... without embedding again
    assert r2.summary["index"]["embedded_chunks"] == 0
    assert r2.summary["index"]["from_embedding_cache"] == embedded


def test_embedding_cache_vectors_and_import(fake_encoder, tmp_path):
    from rag.bench.cache import EmbeddingCache

    c = EmbeddingCache(fake_encoder, tmp_path)
    v = c.encode_passages(["长江很长。", "黄河很黄。", "长江很长。"])
    assert v.shape == (3, fake_encoder.dim) and (v[0] == v[2]).all()
    assert fake_encoder.calls == [2] and c.rate() is not None
    again = EmbeddingCache(fake_encoder, tmp_path)    # read back from disk
    assert (again.encode_passages(["黄河很黄。"])[0] == v[1]).all() and fake_encoder.calls == [2]
    assert again.add(["泰山很高。"], fake_encoder.encode_queries(["泰山很高。"])) == 1
    assert EmbeddingCache(fake_encoder, tmp_path).encode_passages(["泰山很高。"]).shape == (1, fake_encoder.dim)
    assert fake_encoder.calls == [2]


def test_cli_eval_set_overrides(squad_file, tmp_path, fake_model):
    out = io.StringIO()
    rc = cli.main(["eval", str(squad_file), "--json", "--modes", "bm25", "--no-oracle", "--set", "index.bm25_k1=1.2",
                   "--set", "retrieval.top_k=3", "--cache", str(tmp_path / "cache")], out=out)
    assert rc == 0
    s = json.loads(out.getvalue())
    assert s["settings"]["bm25_k1"] == 1.2 and s["settings"]["top_k"] == 3
    assert cli.main(["eval", str(squad_file), "--set", "nonsense=1"], out=io.StringIO()) == 2
    assert cli.main(["eval", str(squad_file), "--set", "retrieval.top_k=many"], out=io.StringIO()) == 2


# --------------------------------------------------------------------------- scripts/bench_scale.py

def _bench_scale():
    return load_script("bench_scale")


def test_bench_scale_copies_keep_the_distribution():
    import numpy as np

    bs = _bench_scale()
    rng = np.random.default_rng(0)
    mu = rng.standard_normal(64)
    V = mu / np.linalg.norm(mu) * 3 + rng.standard_normal((400, 64))   # a strong common direction, like e5
    V = (V / np.linalg.norm(V, axis=1, keepdims=True)).astype(np.float32)
    src = rng.integers(0, len(V), 300)
    C = bs.make_copies(V, src, 0.95, rng)
    assert np.allclose(np.linalg.norm(C, axis=1), 1, atol=1e-5)
    assert abs(float(np.mean(np.sum(C * V[src], axis=1))) - 0.95) < 0.03
    other = rng.integers(0, len(V), 300)
    real_pairs = float(np.mean(np.sum(V[src] * V[other], axis=1)))
    assert abs(float(np.mean(np.sum(C * V[other], axis=1))) - real_pairs) < 0.05


def test_bench_scale_one_size(tmp_path, fake_encoder, squad_file):
    """run_size on a tiny pool: a subset size and a size with synthetic copies."""
    import numpy as np

    from rag.ingest.chunking import chunk_document, embedding_text
    from rag.text.tokens import tokenize

    bs = _bench_scale()
    s = load_squad(squad_file)
    rows, texts = [], []
    for d in s.documents():
        for c in chunk_document(d, 40, 0):
            rows.append({"id": c.chunk_id, "doc": c.doc, "start": c.start, "end": c.end, "text": c.text,
                         "heading": c.heading, "tokens": tokenize(embedding_text(c))})
            texts.append(embedding_text(c))
    np.save(tmp_path / "vectors.npy", fake_encoder.encode_passages(texts))
    np.save(tmp_path / "queries.npy", fake_encoder.encode_queries([q.question for q in s.questions]))
    (tmp_path / "chunks.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                           encoding="utf-8")
    (tmp_path / "questions.json").write_text(json.dumps(
        [{"id": q.qid, "question": q.question, "doc": q.doc, "set": s.name} for q in s.questions],
        ensure_ascii=False), encoding="utf-8")
    small = bs.run_size(tmp_path, 3, 10, 0)
    assert small["synthetic"] == 0 and 3 <= small["chunks"] < len(rows) and small["questions"] >= 1
    big = bs.run_size(tmp_path, 200, 10, 0)
    assert big["chunks"] == 200 and big["synthetic"] == 200 - len(rows) and big["questions"] == 6
    for side in ("flat", "hnsw"):
        assert 0 <= big[side]["hybrid"]["recall@5"] <= big[side]["hybrid"]["recall@5_by_source"] <= 1
    assert big["flat"]["bm25"]["recall@5"] > 0.5
    assert 0 < big["hnsw_recall_of_flat_top30"] <= 1 and big["peak_rss_mb"] > 0


def test_cmrc_train_splits_into_a_selection_slice_by_paragraph(tmp_path):
    """cmrc-select (for tuning) and cmrc-train (for training) share no paragraph and cover the file."""
    from rag.bench.squad import load_named

    data = {"data": [{"title": f"t{i}", "paragraphs": [{"id": f"TRAIN_{i}", "context": f"第{i}段：北京是首都。",
                      "qas": [{"id": f"q{i}", "question": "首都是哪里?", "answers": [{"text": "北京", "answer_start": 4}]}]}]}
                     for i in range(400)]}
    (tmp_path / "cmrc2018").mkdir()
    (tmp_path / "cmrc2018" / "cmrc2018_train.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    select, train = load_named("cmrc-select", tmp_path), load_named("cmrc-train", tmp_path)
    held = {p.doc for p in select.paragraphs}
    assert 5 <= len(held) <= 40                           # about 5% of 400
    assert held.isdisjoint(p.doc for p in train.paragraphs)
    assert len(held) + len(train.paragraphs) == 400
    assert {q.doc for q in select.questions} == held and select.sha256 != train.sha256
    assert load_named("cmrc-select", tmp_path).paragraphs == select.paragraphs   # the same slice every time
