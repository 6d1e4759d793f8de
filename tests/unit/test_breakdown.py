"""F1/EM by gold-answer length and by question type (rag/bench/breakdown.py), on made-up questions."""

from __future__ import annotations

import pytest

from tests.helpers import load_script
from rag.bench.breakdown import (LENGTH_BUCKETS, QUESTION_TYPES, breakdown, breakdown_tables, compare_tables,
                                 detail_rows, length_bucket, question_type, report_rows)
from rag.config import Settings


@pytest.mark.parametrize("golds, bucket", [
    (["东海"], "<=10"),
    (["一二三四五六七八九十"], "<=10"),                      # 10 characters: still short
    (["一二三四五六七八九十一"], "11-20"),
    (["一" * 20], "11-20"),
    (["一" * 21], ">20"),
    (["东海", "一" * 30], "<=10"),                         # the first gold answer decides, not the longest
    (["一" * 30, "东海"], ">20"),
    (["  东海  "], "<=10"),                                # white space around it does not count
    ([], "<=10"),
])
def test_length_bucket_by_the_first_gold(golds, bucket):
    assert length_bucket(golds) == bucket


@pytest.mark.parametrize("question, qtype", [
    ("这座桥全长多少米？", "number"),
    ("该公司有几家分店？", "number"),
    ("这本书的作者是谁？", "person"),
    ("比赛在哪里举行？", "place"),
    ("他出生在哪个城市？", "place"),
    ("大桥是哪一年建成的？", "time"),
    ("这项工程什么时候完工？", "time"),
    ("光合作用是什么？", "what-is"),
    ("什么是光合作用？", "what-is"),
    ("所谓碳中和指的是什么？", "what-is"),
    ("碳中和的定义为？", "what-is"),
    ("王海峰是谁？", "what-is"),                             # who a named person is: a description
    ("为什么天空是蓝色的？", "why"),
    ("河水变黄的原因是什么？", "why"),
    ("如何申请这项补贴？", "how"),
    ("这种病毒怎么传播？", "how"),
    ("他们通过什么方式筹集资金？", "how"),
    ("这个计划有哪些目标？", "list"),
    ("展览包括什么内容？", "list"),
    ("他获得了什么奖项？", "other"),
    ("这支球队属于哪个联盟？", "other"),
    ("", "other"),                                          # cannot be asked: empty
    ("问" * 5000, "other"),                                 # nor over-long
])
def test_question_type(question, qtype):
    assert question_type(question) == qtype
    assert qtype in QUESTION_TYPES


def test_question_type_reads_traditional_script_when_folding():
    assert question_type("這座橋是哪一年建成的？", Settings()) == "time"
    assert question_type("什麼是光合作用？", Settings()) == "what-is"
    # Without folding the answer step reads 什麼 as no question word, and so does the report.
    assert question_type("什麼是光合作用？", Settings().with_overrides({"index.fold_scripts": False})) == "other"


def test_breakdown_scores_each_bucket_and_type():
    rows = [("6300公里", ["6300公里"], "长江全长多少公里？"),                    # number, short, right
            (None, ["东海"], "长江最后注入哪里？"),                               # place, short, declined
            ("因为河水含沙量极高", ["因为河水含沙量极高所以河水呈现黄色"], "为什么黄河是黄色的？")]  # why, 11-20
    b = breakdown(rows)
    assert list(b["by_length"]) == list(LENGTH_BUCKETS) and list(b["by_type"]) == list(QUESTION_TYPES)
    assert b["by_length"]["<=10"] == {"n": 2, "f1": 50.0, "em": 50.0}
    assert b["by_length"]["11-20"]["n"] == 1 and b["by_length"]["11-20"]["em"] == 0.0
    assert b["by_length"]["11-20"]["f1"] == pytest.approx(100 * 2 * (9 / 9) * (9 / 17) / (1 + 9 / 17), abs=0.01)
    assert b["by_length"][">20"] == {"n": 0, "f1": None, "em": None}
    assert b["by_type"]["number"] == {"n": 1, "f1": 100.0, "em": 100.0}
    assert b["by_type"]["place"] == {"n": 1, "f1": 0.0, "em": 0.0}
    assert b["by_type"]["why"]["n"] == 1
    assert sum(c["n"] for c in b["by_type"].values()) == 3


def test_detail_rows_and_report_rows():
    details = [{"id": "Q1", "question": "长江全长多少公里？", "golds": ["6300公里"],
                "hybrid": {"answer": "6300公里", "reader_alone": "6300"}, "oracle": {"answer": None}},
               {"id": "Q2", "question": "长江最后注入哪里？", "golds": ["东海"], "hybrid": {"answer": "东海"},
                "oracle": {"answer": "东海"}}]
    assert detail_rows(details, "hybrid") == [("6300公里", ["6300公里"], "长江全长多少公里？"),
                                              ("东海", ["东海"], "长江最后注入哪里？")]
    assert detail_rows(details, "hybrid", "reader_alone") == [("6300", ["6300公里"], "长江全长多少公里？")]
    assert detail_rows(details, "dense") == []
    s = {"modes": {"hybrid": {}, "hybrid:rules": {}}, "oracle": {"em": 1}, "oracle_rows": {},
         "reader_alone": {"hybrid": {}}}
    assert list(report_rows(s)) == ["hybrid", "hybrid:rules", "oracle", "hybrid:alone"]


def test_tables_and_comparison():
    old = {"f1": 50.0, "em": 40.0, **breakdown([("东海", ["东海"], "长江最后注入哪里？"),
                                               (None, ["一" * 25], "什么是光合作用？")])}
    new = {"f1": 75.0, "em": 50.0, **breakdown([("东海", ["东海"], "长江最后注入哪里？"),
                                               ("一" * 25, ["一" * 25], "什么是光合作用？")])}
    lines = breakdown_tables({"hybrid": old, "oracle": new, "no tables": {"f1": 1.0}})
    assert lines[0] == "F1/EM by gold-answer length:" and "no tables" not in lines[1]
    assert lines[1].split() == ["n", "hybrid", "oracle"]
    assert lines[4].split() == [">20", "1", "0.0/0.0", "100.0/100.0"]
    assert "F1/EM by question type:" in lines and any(x.split()[:2] == ["other", "0"] for x in lines)
    assert breakdown_tables({"hybrid": {"f1": 1.0}}) == []
    cmp = compare_tables(old, new, "old", "new")
    assert cmp[1].split() == ["all", "2", "50.0/40.0", "75.0/50.0", "+25.0", "+10.0"]
    assert [x.split() for x in cmp if x.startswith(">20")] == [[">20", "1", "0.0/0.0", "100.0/100.0", "+100.0", "+100.0"]]
    assert [x.split() for x in cmp if x.startswith("what-is")] == [["what-is", "1", "0.0/0.0", "100.0/100.0", "+100.0", "+100.0"]]
    assert not any(x.startswith("number") for x in cmp)           # a type neither run saw is left out


def test_compare_readers_script(tmp_path, capsys):
    import json

    script = load_script("compare_readers")
    row = lambda ans: {"f1": 0.0, "em": 0.0, **breakdown([(ans, ["东海"], "长江最后注入哪里？")])}
    for name, ans in (("old", None), ("new", "东海")):
        summary = {"set": "toy", "questions": 1, "settings": {"reader": name},
                   "modes": {"hybrid": row(ans), "hybrid:rules": row(None)}, "oracle": row(ans),
                   "oracle_rows": {"oracle": row(ans)}, "reader_alone": {}}
        (tmp_path / f"{name}.json").write_text(json.dumps(summary), encoding="utf-8")
    assert script.main([str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--names", "old,new"]) == 0
    out = capsys.readouterr().out
    assert "\nhybrid\n" in out and "\noracle\n" in out and "hybrid:rules" not in out    # the default rows
    assert "+100.0" in out
    assert script.main([str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--all"]) == 0
    assert "hybrid:rules" in capsys.readouterr().out
    assert script.main([str(tmp_path / "new.json")]) == 0
    assert "F1/EM by question type:" in capsys.readouterr().out


def test_compare_readers_fills_old_summaries_from_details(tmp_path, capsys):
    import json

    script = load_script("compare_readers")
    (tmp_path / "run.json").write_text(json.dumps({"set": "toy", "questions": 1, "settings": {"fold_scripts": True},
                                                   "modes": {"hybrid": {"f1": 100.0, "em": 100.0}},
                                                   "oracle": None, "oracle_rows": {}, "reader_alone": {}}),
                                       encoding="utf-8")
    (tmp_path / "run.jsonl").write_text(json.dumps({"id": "Q1", "question": "长江最后注入哪里？", "golds": ["东海"],
                                                    "hybrid": {"answer": "东海"}}, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    assert script.main([str(tmp_path / "run.json")]) == 1                   # no tables, no details
    s = script.load_run(tmp_path / "run.json", tmp_path / "run.jsonl")
    assert s["modes"]["hybrid"]["by_type"]["place"] == {"n": 1, "f1": 100.0, "em": 100.0}


def test_best_sentence_baseline_answers_with_the_golds_own_sentence():
    from tests.unit.test_evaluate import squad_json
    from rag.bench.squad import parse_squad

    script = load_script("best_sentence")
    rows = script.best_sentences(parse_squad(squad_json(), name="toy"))
    assert len(rows) == 6
    for answer, golds, _ in rows:
        assert golds[0] in answer and answer.endswith("。") and len(answer) > len(golds[0])
    assert rows[1][0] == "长江流经十一个省级行政区，最后注入东海。"
    assert breakdown(rows)["by_type"]["place"]["em"] == 0.0
