"""The trained reader without its weights: decoding, the answer step around a fake reader, the
declining curve, weight files and the reader scripts.

Windows with the real tokenizer, training, and the shipped weights answering questions about the
article: ``tests/e2e/test_reader.py``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.bench.declining import Trial, best_mixed, curve, operating_point, without_doc
from rag.reader.decoding import best_spans
from rag.reader.windows import Window
from rag.answer.reader_spans import clean_span
from rag.answer.with_reader import reader_confidence
from rag.types import Chunk, Passage
from tests.helpers import ROOT, load_script, query


def test_best_spans_respects_order_length_and_mask():
    w = Window([0, 9, 2, 2, 5, 6, 7, 2], [0, 0, 0, 0, 1, 1, 1, 0],
               [(0, 0)] * 4 + [(0, 1), (1, 3), (3, 4), (0, 0)], passage=2)
    s = np.array([9, 9, 0, 0, 0, 0, 3, 0.])   # the question tokens may never start a span
    e = np.array([0, 0, 0, 0, 5, 0, 0, 9.])   # an end before the start is not allowed
    spans = best_spans(w, s, e, top_n=3)
    assert spans[0].passage == 2
    assert all(sp.start < sp.end for sp in spans)
    # (6, 4) would score 3 + 5 but ends before it starts; (4, 4) scores 5 in logits
    assert (spans[0].start, spans[0].end) == (0, 1)
    # scores are log-probabilities per window; the margin over no-answer is the logits' one (5 - 9)
    assert spans[0].score < 0 and spans[0].score - spans[0].null_score == pytest.approx(5.0 - 9.0)
    lse = lambda x: np.log(np.exp(x).sum())  # noqa: E731
    assert spans[0].null_score == pytest.approx(9.0 - lse(s) - lse(e))
    assert best_spans(w, s, e, max_tokens=1)[0].end - best_spans(w, s, e, max_tokens=1)[0].start <= 2


def test_spans_of_two_windows_compete_on_probabilities_not_raw_logits():
    """A window whose logits are all high (a confident-looking but flat window) does not beat a
    window that clearly prefers one span."""
    w = Window([0, 9, 2, 2, 5, 6, 2], [0, 0, 0, 0, 1, 1, 0], [(0, 0)] * 4 + [(0, 1), (1, 2), (0, 0)], passage=0)
    flat = best_spans(w, np.array([9, 9, 9, 9, 10, 10, 9.]), np.array([9, 9, 9, 9, 10, 10, 9.]))[0]
    sharp = best_spans(w, np.array([0, 0, 0, 0, 8, 0, 0.]), np.array([0, 0, 0, 0, 8, 0, 0.]))[0]
    assert flat.score < sharp.score      # raw sums: 20 against 16


def test_clean_span_trims_punctuation_and_balances_titles():
    t = "印发《北京市促进通用人工智能创新发展的若干措施》，明确"
    a = t.index("北京")
    assert t[slice(*clean_span(t, a, t.index("》")))] == "《北京市促进通用人工智能创新发展的若干措施》"
    i = t.index("，")
    assert t[slice(*clean_span(t, i - 3, i + 1))] == "措施》"
    assert clean_span("，。", 0, 2)[0] == clean_span("，。", 0, 2)[1]


def test_reader_confidence_moves_with_margin_and_judgement():
    xs = [reader_confidence(0.4, m, center=6.0, weight=0.2, bias=0.0) for m in (-5, 0, 6, 9, 20)]
    assert xs == sorted(xs) and abs(xs[2] - 0.4) < 1e-9
    assert reader_confidence(0.1, 10, 6.0, 0.2, 0.0) < reader_confidence(0.6, 10, 6.0, 0.2, 0.0)
    assert reader_confidence(0.4, 6.0, 6.0, 0.2, -0.5) < 0.4


def test_abstention_curve_and_operating_point():
    trials = [Trial("a", "own", 0.9, 1.0, 1.0), Trial("a", "removed", 0.3, 0, 0),
              Trial("b", "own", 0.4, 0.5, 0.0), Trial("b", "removed", 0.6, 0, 0)]
    pts = curve(trials, [0.0, 0.35, 0.5, 0.7, 1.0])
    assert pts[0]["recall"] == 0.0 and pts[0]["answered_own"] == 1.0
    assert pts[-1]["recall"] == 1.0 and pts[-1]["answered_own"] == 0.0
    assert pts[1] == {**pts[1], "precision": 1.0, "recall": 0.5, "answered_own": 1.0}
    assert operating_point(pts)["threshold"] == 0.35          # the highest that answers >= 95%
    assert best_mixed(pts)["threshold"] == 0.7 == max(pts, key=lambda p: p["mixed_score"])["threshold"]
    assert operating_point(pts, min_answered=1.01) == best_mixed(pts)


def test_without_doc_renumbers():
    ps = [Passage(Chunk(f"{d}#{i}", d, 0, 1, "x"), i + 1, 1.0 - i / 10) for i, d in enumerate("abab")]
    kept = without_doc(ps, "a", 5)
    assert [p.chunk.doc for p in kept] == ["b", "b"] and [p.rank for p in kept] == [1, 2]


def test_cli_refuses_to_train_on_cmrc(capsys):
    from rag.cli import commands as cli

    assert cli.main(["train-reader", "--out", "/nonexistent/x", "--sets", "cmrc"]) == 2
    assert "CMRC" in capsys.readouterr().err


def test_weights_setting_names_one_file_or_an_ensemble(tmp_path):
    from rag.reader.model import ReaderWeightsError
    from rag.reader.predictor import Reader, default_weights, weights_files

    assert default_weights() and all(f.suffix == ".safetensors" for f in default_weights())
    assert weights_files(None) == default_weights()
    assert [f.name for f in weights_files(f"{tmp_path}/a.safetensors,{tmp_path}/b.safetensors")] == \
        ["a.safetensors", "b.safetensors"]
    with pytest.raises(ReaderWeightsError):
        Reader.load(tmp_path / "missing.safetensors")


def test_default_reader_is_one_member_and_the_ensemble_only_where_it_fits_the_budget(tmp_path):
    from rag.config import Settings
    from rag.reader.predictor import default_weights
    from rag.reader.selection import reader_files

    assert len(default_weights()) == 2

    def files(weights: str, bf16: bool) -> tuple:
        s = Settings().with_overrides({"reader.weights": weights, "reader.bf16": bf16})
        return reader_files(s)

    assert files("auto", True) == default_weights()[:1] and files("ensemble", True) == default_weights()
    assert files("auto", False) == files("ensemble", False) == default_weights()[:1]
    assert files(",".join(str(f) for f in default_weights()), False) == default_weights()
    assert Settings.from_env({"RAG_READER_BF16": "1"}).reader.bf16 is True
    assert Settings.from_env({"RAG_READER_BF16": "0"}).reader.bf16 is False


class _FakeReader:
    """Returns one fixed span per call (offsets into passage 0)."""

    def __init__(self, text: str, piece: str, score: float, null: float) -> None:
        from rag.reader.decoding import SpanScore

        a = text.index(piece)
        self.span = SpanScore(0, a, a + len(piece), score, null)

    def read(self, question, passages, top_n=5):
        return [self.span]


DOC = "前言。" * 30 + "2023年，湖北提出到2025年人工智能核心产业规模超过1500亿元。"


def _passage() -> Passage:
    start = DOC.index("2023年")
    return Passage(Chunk("d#1", "d", start, len(DOC), DOC[start:]), rank=1, score=1.0, dense_score=0.9)


def test_reader_answerer_takes_the_reader_span_with_document_offsets():
    from rag.answer.rules import RuleAnswerer
    from rag.config import Settings
    from rag.answer.with_reader import ReaderAnswerer

    p = _passage()
    ra = ReaderAnswerer(_FakeReader(p.chunk.text, "1500亿元", 12.0, 0.0), RuleAnswerer(Settings(), {}), Settings())
    ans = ra.answer(query("湖北人工智能核心产业规模到2025年超过多少?"), [p])
    assert ans.answer == "1500亿元"
    assert DOC[ans.answer_span.start:ans.answer_span.end] == ans.answer
    assert DOC[ans.sentence_span.start:ans.sentence_span.end].startswith("2023年")
    assert ans.trace.reader.text == "1500亿元" and ans.trace.rules_answer


def test_reader_answerer_prefers_the_rules_over_a_weak_untyped_reader_span():
    from rag.answer.rules import RuleAnswerer
    from rag.config import Settings
    from rag.answer.with_reader import ReaderAnswerer

    p = _passage()
    ra = ReaderAnswerer(_FakeReader(p.chunk.text, "湖北提出", 1.0, 4.0), RuleAnswerer(Settings(), {}), Settings())
    ans = ra.answer(query("湖北人工智能核心产业规模到2025年超过多少?"), [p])
    assert ans.trace.picked == "rules" and ans.answer == "1500亿元"
    assert DOC[ans.answer_span.start:ans.answer_span.end] == ans.answer


def test_reader_answerer_keeps_a_sure_reader_span_with_the_rules_confidence():
    """A reader that finds an answer (score above its no-answer score) keeps its span even when
    the rules are more confident in theirs; their confidence still counts against declining."""
    from rag.answer.rules import RuleAnswerer
    from rag.config import Settings
    from rag.answer.with_reader import ReaderAnswerer

    p = _passage()
    s = Settings().with_overrides({"reader.bias": -4.0})   # a reader span less trusted than the rules' typed number
    ra = ReaderAnswerer(_FakeReader(p.chunk.text, "2023年", 7.0, 3.0), RuleAnswerer(s, {}), s)
    ans = ra.answer(query("湖北人工智能核心产业规模到2025年超过多少?"), [p])
    assert ans.trace.picked == "reader" and ans.answer == "2023年"
    assert ans.confidence >= ans.trace.rules_confidence > ans.trace.reader.confidence
    assert DOC[ans.answer_span.start:ans.answer_span.end] == "2023年"


def test_the_rules_reshape_a_reader_span_only_with_what_the_question_names():
    """Settings.reader.shape "named": the rules' fuller span wins when the question names what it adds, or it
    completes a coordination the reader cut; a full date for 哪一年 does not ("all" allowed it)."""
    from rag.query.question import analyze
    from rag.answer.shaping import rules_know_better
    from rag.types import Answer, Span

    text = "北京市经济和信息化局印发方案。该站于1994年5月30日启用，提供战略路线和前沿技术咨询。"
    p = Passage(Chunk("d#0", "d", 0, len(text), text), rank=1, score=1.0)

    def reshaped(question: str, reader_piece: str, rules_piece: str, shape: str = "named") -> bool:
        ra = text.index(rules_piece)
        a = text.index(reader_piece, ra)
        rule = Answer(question, rules_piece, 0.9, Span("d", ra, ra + len(rules_piece)),
                      features={"typed": 1.0})
        return rules_know_better(analyze(question), rule, p, a, a + len(reader_piece), shape)

    assert reshaped("北京市哪个部门印发了方案?", "经济和信息化局", "北京市经济和信息化局")
    assert reshaped("该站提供什么?", "前沿技术咨询", "战略路线和前沿技术咨询")
    assert not reshaped("该站哪一年启用?", "1994年", "1994年5月30日")
    assert reshaped("该站哪一年启用?", "1994年", "1994年5月30日", shape="all")
    assert not reshaped("北京市哪个部门印发了方案?", "经济和信息化局", "北京市经济和信息化局", shape="off")
    assert not reshaped("北京市哪个部门印发了方案?", "经济和信息化局", "北京市经济和信息化局", shape="lists")


def test_a_list_replaces_the_readers_span_when_asked_for_or_when_it_holds_it():
    """哪些 asks for several items: the rules' list wins wherever it stands. A list guessed from 包括
    must hold the reader's span: a list in another sentence answers something else."""
    from rag.query.question import analyze
    from rag.answer.shaping import rules_know_better
    from rag.types import Answer, Span

    text = "BSkyB的体育内容包括英超联赛。它提供电影、娱乐和新闻。重点支持制造、医疗、教育等领域。"
    p = Passage(Chunk("d#0", "d", 0, len(text), text), rank=1, score=1.0)

    def replaced(question: str, reader_piece: str, rules_piece: str, anywhere: bool = True) -> bool:
        ra, a = text.index(rules_piece), text.index(reader_piece)
        rule = Answer(question, rules_piece, 0.9, Span("d", ra, ra + len(rules_piece)),
                      features={"typed": 1.0})
        return rules_know_better(analyze(question), rule, p, a, a + len(reader_piece), "named", anywhere)

    assert analyze("BSkyB的体育内容包括什么?").qtype == "list"
    assert not replaced("BSkyB的体育内容包括什么?", "英超联赛", "电影、娱乐和新闻")
    assert replaced("它提供的内容包括什么?", "娱乐", "电影、娱乐和新闻")
    assert replaced("重点支持哪些领域?", "英超联赛", "制造、医疗、教育")
    # reader.lists_anywhere=false: a 哪些 list, too, must hold the reader's span
    assert not replaced("重点支持哪些领域?", "英超联赛", "制造、医疗、教育", anywhere=False)
    assert replaced("重点支持哪些领域?", "医疗", "制造、医疗、教育", anywhere=False)


def test_trim_particles_drops_edge_function_words_only():
    from rag.answer.reader_spans import trim_particles

    t = "该公约于1789年的夏天在中国北京签订，目的是和平。"
    for piece, want in (("1789年的", "1789年"), ("于1789年", "1789年"), ("在中国北京", "中国北京"),
                        ("目的", "目的"), ("的", "的"), ("夏天", "夏天")):
        a = t.index(piece)
        x, y = trim_particles(t, a, a + len(piece))
        assert t[x:y] == want


def test_reader_answerer_declines_below_its_threshold():
    from rag.answer.rules import RuleAnswerer
    from rag.config import Settings
    from rag.answer.with_reader import ReaderAnswerer

    p = _passage()
    s = Settings().with_overrides({"reader.min_confidence": 0.999})
    ra = ReaderAnswerer(_FakeReader(p.chunk.text, "1500亿元", 12.0, 0.0), RuleAnswerer(s, {}), s)
    ans = ra.answer(query("湖北人工智能核心产业规模到2025年超过多少?"), [p])
    assert ans.answer is None and ans.answer_span is None and ans.withheld == "1500亿元"
    assert ans.citations and DOC[ans.citations[0].start:ans.citations[0].end] == ans.citations[0].text


def test_cli_train_reader_explains_missing_teachers_and_gpu(capsys, tmp_path):
    from rag.cli import commands as cli

    assert cli.main(["train-reader", "--out", str(tmp_path / "r"), "--teachers", str(tmp_path / "no.safetensors")]) == 2
    assert "teacher" in capsys.readouterr().err
    assert cli.main(["train-reader", "--out", str(tmp_path / "r"), "--init", str(tmp_path / "no.safetensors")]) == 2
    assert "--init weights not found" in capsys.readouterr().err
    import torch

    if not torch.cuda.is_available():
        assert cli.main(["train-reader", "--out", str(tmp_path / "r"), "--device", "cuda"]) == 2
        err = capsys.readouterr().err
        assert "cuda" in err.lower() and "Traceback" not in err


def _pack_module():
    return load_script("pack_reader_base")


def test_pack_for_a_gpu_keeps_4bit_weights_exactly_and_only_the_used_word_rows(tmp_path):
    """Dequantised Q4_0 blocks go back to (scale, level) bit for bit; unpacking zeroes unused word rows."""
    from safetensors.numpy import load_file

    pack = _pack_module()
    rng = np.random.default_rng(0)
    d = rng.uniform(0.001, 0.05, size=(8 * 2,)).astype(np.float16)
    q = rng.integers(-7, 8, size=(16, 32)).astype(np.int8)
    q[np.arange(16), rng.integers(0, 32, 16)] = -8  # Q4_0 puts each block's largest magnitude at -8
    words = (q * d.astype(np.float32)[:, None]).reshape(8, 64)
    assert pack.to_blocks(words) is not None
    assert pack.to_blocks(words + np.float32(1e-3)) is None  # not 4-bit: kept as fp32 instead

    src = tmp_path / "pack"
    src.mkdir()
    ids = np.array([1, 5, 6])
    bd, bq = pack.to_blocks(words[ids])
    ln = rng.normal(size=64).astype(np.float32)
    np.savez_compressed(src / "weights.npz", ids=ids, **{"d:" + pack._WORDS: bd, "q:" + pack._WORDS: bq,
                                                         "f32:ln": ln})
    (src / "shapes.json").write_text(json.dumps({pack._WORDS: [8, 64], "ln": [64]}))
    for f in pack._COPY:
        (src / f).write_text("{}")
    pack.unpack(src, tmp_path / "base")
    state = load_file(str(tmp_path / "base" / "model.safetensors"))
    np.testing.assert_array_equal(state[pack._WORDS][ids], words[ids])
    assert not state[pack._WORDS][[0, 2, 3, 4, 7]].any()
    np.testing.assert_array_equal(state["ln"], ln)


def test_the_questions_own_word_before_its_gap_is_not_part_of_the_answer():
    """广东提出建设什么交易平台? read as 建设算力算法交易平台: 建设 is the question's, the platform the answer."""
    from rag.answer.reader_spans import drop_question_echo
    from rag.query.question import analyze

    t = "广东提出建设算力算法交易平台，并打造数据特区。"
    left = analyze("广东提出建设什么交易平台?").left
    assert t[drop_question_echo(t, 4, 14, left):14] == "算力算法交易平台"
    assert drop_question_echo(t, 6, 14, left) == 6                        # the span does not repeat it
    assert drop_question_echo(t, 4, 6, left) == 4                         # nothing would be left
    t2 = "他是建设者协会的会长。"
    assert drop_question_echo(t2, 2, 7, analyze("他是建设什么协会的会长?").left) == 2   # 建设者 is one word
    t3 = "公司位于北京。"
    assert t3[drop_question_echo(t3, 2, 6, analyze("公司位于哪里?").left):6] == "北京"
    assert drop_question_echo(t3, 0, 6, analyze("什么公司位于北京?").left) == 0   # nothing before the gap


def test_a_reporting_frame_is_not_part_of_the_answer():
    """《措施》提出，X: X is what was said; 《措施》 is only the answer when the question asks who said it."""
    from rag.answer.reader_spans import drop_reporting_frame, names_the_source

    t = "《措施》提出，建设国家级大模型测试验证与协同创新中心。"
    a = drop_reporting_frame(t, 0, len(t) - 1)
    assert t[a:len(t) - 1] == "建设国家级大模型测试验证与协同创新中心"
    assert drop_reporting_frame(t, 7, len(t) - 1) == 7                    # no frame: unchanged
    assert drop_reporting_frame("他提出了三点，均获通过", 0, 11) == 0          # the clause is the content
    assert drop_reporting_frame("《措施》提出，", 0, 7) == 0                  # nothing would be left
    assert names_the_source(t, 0, 4, "上海要建设的国家级大模型中心叫什么?")
    assert not names_the_source(t, 0, 4, "哪份文件提出建设国家级中心?")
    assert not names_the_source(t, 7, 26, "上海要建设什么中心?")


def test_a_name_does_not_answer_what_asks_for_an_organisation_or_a_number():
    """主任王海峰说 read for 哪个机构: the name is passed over, an office or a person question keeps it."""
    from rag.answer.reader_spans import wrong_type_name

    t = "百度首席技术官、深度学习技术及应用国家工程研究中心主任王海峰说。"
    a = t.index("王海峰")
    assert wrong_type_name(t, a, a + 3, "org")
    assert wrong_type_name(t, a, a + 3, "number")
    assert not wrong_type_name(t, a, a + 3, "person")
    assert not wrong_type_name(t, a, a + 3, "place")        # jieba tags 斯洛文尼亚 a name too
    b = t.index("深度学习")
    assert not wrong_type_name(t, b, t.index("主任"), "org")
    assert not wrong_type_name(t, a, a + 2, "org")           # part of a name is not the name


QUOTA = ("例如,北京市经济和信息化局于今年10月出台《人工智能算力券实施方案(2023-2025年)》;上海印发的《措施》提出给予最高10%的"
         "租用补贴;成都、宁夏等地也宣布每年将发放总额不超过1000万元、4000万元的“算力券”支持机构使用相应资源。")


def test_a_reader_span_about_another_place_loses_the_readers_bias():
    """上海 asked, 成都's 1000万元 read with a high margin: the place conflict is weighed again after
    the reader's bias (the answer's clause names 成都 and 宁夏; 上海 only another clause)."""
    import math

    from rag.answer.rules import RuleAnswerer
    from rag.config import Settings
    from rag.answer.with_reader import ReaderAnswerer

    p = Passage(Chunk("d#0", "d", 0, len(QUOTA), QUOTA), rank=1, score=1.0, dense_score=0.9)

    def reader_log_odds(question: str, penalty: float) -> tuple[float, float]:
        s = Settings().with_overrides({"reader.conflict_penalty": penalty})
        ra = ReaderAnswerer(_FakeReader(QUOTA, "1000万元", 11.0, -0.5), RuleAnswerer(s, {}), s)
        r = ra.answer(query(question), [p]).trace.reader
        return math.log(r.confidence / (1 - r.confidence)), r.features["conflict"]

    for place, conflict in (("上海", 1.0), ("北京", 1.0), ("成都", 0.0)):
        q = f"{place}的算力券每年发放总额是多少?"
        (with_, c), (without, _) = reader_log_odds(q, 2.5), reader_log_odds(q, 0.0)
        assert c == conflict and without - with_ == pytest.approx(2.5 * conflict, abs=0.01), place


def test_the_reader_alone_is_recorded_beside_the_answer_step():
    """trace.reader_alone: the reader's best span before any check, with offsets into its chunk."""
    from rag.answer.rules import RuleAnswerer
    from rag.config import Settings
    from rag.answer.with_reader import ReaderAnswerer

    p = _passage()
    ra = ReaderAnswerer(_FakeReader(p.chunk.text, "湖北提出", 1.0, 4.0), RuleAnswerer(Settings(), {}), Settings())
    ans = ra.answer(query("湖北人工智能核心产业规模到2025年超过多少?"), [p])
    alone = ans.trace.reader_alone
    assert ans.answer == "1500亿元" and alone.text == "湖北提出" and alone.chunk_id == "d#1"
    assert p.chunk.text[alone.start:alone.end] == alone.text


def test_identity_questions_and_titles():
    from rag.query.question import analyze, identity_name
    from rag.answer.reader_spans import title_before

    assert identity_name(analyze("王海峰是谁?")) == "王海峰"
    assert identity_name(analyze("王海峰的职务是什么?")) == "王海峰"
    assert analyze("王海峰是谁?").qtype == "what"
    for q in ("白蛇传奇的导演是谁?", "总统是谁?", "上海是谁?", "王海峰说了什么?", "《措施》由谁印发?"):
        assert identity_name(analyze(q)) == "", q
    assert analyze("白蛇传奇的导演是谁?").qtype == "person"
    t = "据介绍，公司董事长、总经理张三表示。"
    a, b = title_before(t, t.index("总经理"), t.index("张三"), "张三")
    assert t[a:b] == "公司董事长、总经理"
    assert title_before(t, 0, 2, "张三") == (0, 2)             # a clause mark between: unchanged


def test_averaging_reader_files_is_the_mean_of_each_tensor(tmp_path):
    """scripts/average_readers.py: the tensor-wise mean, stored as float16, metadata kept."""
    import importlib.util

    from safetensors.numpy import load_file, save_file

    path = ROOT / "scripts" / "average_readers.py"
    spec = importlib.util.spec_from_file_location("average_readers", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    save_file({"w": np.array([1.0, 2.0], np.float16)}, str(a), {"rag_reader": json.dumps({"epoch": 3})})
    save_file({"w": np.array([3.0, 6.0], np.float16)}, str(b), {"rag_reader": json.dumps({"epoch": 4})})
    tensors, meta = mod.average([a, b])
    assert tensors["w"].dtype == np.float16 and tensors["w"].tolist() == [2.0, 4.0]
    assert json.loads(meta["rag_reader"]) == {"epoch": 3, "soup": {"files": ["a.safetensors", "b.safetensors"],
                                                                   "weights": [0.5, 0.5]}}
    tensors, _ = mod.average([a, b], [0.75, 0.25])
    assert tensors["w"].tolist() == [1.5, 3.0]
    save_file({"v": np.array([1.0], np.float16)}, str(b))
    with pytest.raises(ValueError):
        mod.average([a, b])
    out = tmp_path / "soup.safetensors"
    save_file(mod.average([a, a])[0], str(out))
    assert load_file(str(out))["w"].tolist() == [1.0, 2.0]


def test_each_span_check_can_be_switched_off_and_bad_names_list_the_valid_ones():
    """reader.checks: the rules that change the reader's span, each off on its own for measuring it."""
    from rag.answer.rules import RuleAnswerer
    from rag.answer.with_reader import ReaderAnswerer
    from rag.choices import SpanCheck
    from rag.config import Settings
    from rag.errors import SettingsError

    assert Settings().reader.checks == "all" and Settings().reader.check_set == frozenset(SpanCheck)
    assert Settings.from_pairs(["reader.checks=title,FRAME"]).reader.checks == "frame,title"
    assert Settings.from_pairs(["reader.checks=none"]).reader.check_set == frozenset()
    with pytest.raises(SettingsError, match=r"unknown reader check 'frames' \(choose from particles, frame, echo, source"):
        Settings.from_pairs(["reader.checks=frames"])
    text = "《措施》提出，建设国家级大模型测试验证与协同创新中心。"
    p = Passage(Chunk("d#1", "d", 0, len(text), text), rank=1, score=1.0, dense_score=0.9)
    got = {}
    all_but_echo = "particles,frame,source,type,respectively,title,override"
    all_but_frame_and_echo = "particles,source,type,respectively,title,override"
    for checks in ("all", all_but_echo, all_but_frame_and_echo):
        s = Settings.from_pairs([f"reader.checks={checks}", "reader.min_confidence=0"])
        ra = ReaderAnswerer(_FakeReader(text, text[:-1], 12.0, 0.0), RuleAnswerer(s, {}), s)
        got[checks] = ra.answer(query("上海要建设什么中心?"), [p]).trace.reader.text
    assert got == {"all": "国家级大模型测试验证与协同创新中心",          # the question's 建设 is not the answer
                   all_but_echo: "建设国家级大模型测试验证与协同创新中心",
                   all_but_frame_and_echo: "《措施》提出，建设国家级大模型测试验证与协同创新中心"}
