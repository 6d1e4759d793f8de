"""Span boundaries people expect (issue #18, item 5), on made-up sentences.

Each case gives a sentence, the span a step found (as the text it covers) and the question; the
answer must be the expected text, taken from the sentence at the adjusted offsets.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from rag.answer.boundaries import ExpectedBoundaries, balance_marks, expected_span, keep_quantity_bound, \
    keep_time_qualifier
from rag.types import Answer, Chunk, Citation, Passage, Span
from tests.helpers import query


def _grown(text: str, found: str, question: str = "", occurrence: int = 0) -> str:
    at = -1
    for _ in range(occurrence + 1):
        at = text.find(found, at + 1)
    assert at >= 0, found
    a, b = expected_span(text, at, at + len(found), question)
    assert 0 <= a < b <= len(text)
    return text[a:b]


# --- dates keep their qualifier --------------------------------------------------------------

@pytest.mark.parametrize("text,found,expected", [
    ("这家工厂去年3月投产，今年扩建。", "3月", "去年3月"),
    ("新规将于明年1月1日起施行。", "1月1日", "明年1月1日"),
    ("该园区今年上半年引进企业40家。", "上半年", "今年上半年"),
    ("项目于2023年5月开工。", "5月", "2023年5月"),
    ("方案要求在2025年底前建成。", "2025年", "2025年底"),
    ("首批试点在6月中旬启动。", "6月", "6月中旬"),
    ("每年3月举办一次论坛。", "3月", "每年3月"),
])
def test_a_date_keeps_its_relative_qualifier_and_its_ending(text: str, found: str, expected: str) -> None:
    assert _grown(text, found, "什么时候?") == expected


@pytest.mark.parametrize("text,found", [
    ("到2023年初步形成产业集群。", "2023年"),      # 初步 is a word, not 年初
    ("最近3年的产值翻了一番。", "3年"),            # 近 belongs to 最近
    ("全市有3家工厂。", "3家"),                   # nothing to add
])
def test_words_that_only_look_like_qualifiers_are_not_taken(text: str, found: str) -> None:
    assert _grown(text, found) == found


# --- quantities keep their bound -------------------------------------------------------------

@pytest.mark.parametrize("text,found,question,expected", [
    ("对研发投入不少于500万元的企业给予补贴。", "500万元", "补贴门槛是多少?", "不少于500万元"),
    ("全省已培育20家以上龙头企业。", "20家", "培育了多少家龙头企业?", "20家以上"),
    ("单个项目奖励不超过300万元。", "300万元", "单个项目奖励多少?", "不超过300万元"),
    ("园区面积约12平方公里。", "12平方公里", "园区面积多大?", "约12平方公里"),
    ("参会人数在2000人左右。", "2000人", "有多少人参会?", "2000人左右"),
    ("产业规模超过1500亿元。", "1500亿元", "产业规模有多大?", "超过1500亿元"),
    ("培训名额为50名以内。", "50名", "培训名额多少?", "50名以内"),
])
def test_a_quantity_keeps_its_bound(text: str, found: str, question: str, expected: str) -> None:
    assert _grown(text, found, question) == expected


@pytest.mark.parametrize("text,found,question", [
    ("每年发放总额不超过1000万元的算力券。", "1000万元", "每年最多发放多少算力券?"),
    ("按规模给予最高10%的补贴。", "10%", "最高给多少补贴?"),
    ("产业规模超过1500亿元。", "1500亿元", "产业规模超过多少?"),
    ("至少有30家企业参与。", "30家", "至少有多少家企业参与?"),
])
def test_a_bound_the_question_asks_for_is_not_repeated(text: str, found: str, question: str) -> None:
    assert _grown(text, found, question) == found


def test_a_bound_already_in_the_span_stays() -> None:
    text = "按规模给予最高10%的补贴。"
    assert _grown(text, "最高10%", "最高给多少补贴?") == "最高10%"


# --- quote and bracket marks: both or neither ------------------------------------------------

@pytest.mark.parametrize("text,found,expected", [
    ("广东提出打造“湾区数据特区”，促进数据流通。", "“湾区数据特", "“湾区数据特区”"),
    ("广东提出打造“湾区数据特区”，促进数据流通。", "数据特区”", "“湾区数据特区”"),
    ("市里印发了《关于促进算力发展的若干措施》。", "《关于促进算力发展", "《关于促进算力发展的若干措施》"),
    ("市里印发了《关于促进算力发展的若干措施》。", "若干措施》", "《关于促进算力发展的若干措施》"),
    ("他说“好”。", "“好”", "“好”"),
    ("报告称「新质生产力」正在形成。", "新质生产力」", "「新质生产力」"),
    ('He called it "the new normal" in 2023.', 'the new normal"', '"the new normal"'),
])
def test_a_lone_mark_takes_in_its_partner(text: str, found: str, expected: str) -> None:
    assert _grown(text, found) == expected


def test_a_partner_out_of_reach_leaves_the_lone_mark_out() -> None:
    title = "关于" + "加快" * 30 + "发展的意见"
    text = f"发布了《{title}》。"
    got = _grown(text, "《关于加快")
    assert got == "关于加快"
    assert got.count("《") == got.count("》") == 0


def test_a_lone_close_mark_in_the_middle_is_cut_off_with_the_shorter_side() -> None:
    text = "“" + "很" * 45 + "好”是他的评价，后来被广泛引用。"
    at = text.find("好”")
    a, b = balance_marks(text, at, text.find("，"))
    assert text[a:b] == "是他的评价"


def test_nested_marks_balance_together() -> None:
    text = "称之为“《若干措施》的升级版”。"
    a, b = balance_marks(text, text.find("若干"), text.find("。"))
    assert text[a:b] == "“《若干措施》的升级版”"


@pytest.mark.parametrize("text", [
    "甲“乙”丙《丁》戊（己）庚「辛」壬『癸』子【丑】寅(卯)辰\"巳\"午",
    "《一》《二》“三”“四”",
])
def test_every_span_comes_back_balanced(text: str) -> None:
    from rag.text.lexicon import MARK_PAIRS

    for a in range(len(text)):
        for b in range(a + 1, len(text) + 1):
            x, y = balance_marks(text, a, b)
            piece = text[x:y]
            for o, c in MARK_PAIRS:
                assert piece.count(o) == piece.count(c), (text[a:b], piece)
            assert piece.count('"') % 2 == 0, (text[a:b], piece)


def test_each_rule_alone() -> None:
    t = "去年3月发布"
    assert keep_time_qualifier(t, 2, 4) == (0, 4)
    t = "20家以上"
    assert keep_quantity_bound(t, 0, 3) == (0, 5)
    t = "《措施》"
    assert balance_marks(t, 0, 3) == (0, 4)


# --- the answerer wrapper ----------------------------------------------------------------------

@dataclass
class _Fixed:
    """An answerer that always answers one span of one passage."""

    start: int
    end: int

    def answer(self, query, passages, top_k=None) -> Answer:
        p = passages[0]
        c = p.chunk
        return Answer(question=query.folded, answer=c.text[self.start:self.end], confidence=0.9,
                      answer_span=Span(c.doc, c.start + self.start, c.start + self.end),
                      citations=(Citation.from_passage(p),),
                      sentence_span=Span(c.doc, c.start + self.start, c.start + self.end), cited_rank=1)


def test_the_wrapper_moves_the_answer_and_its_offsets_together() -> None:
    doc_text = "前言。\n该市去年3月出台政策，对不少于500万元的项目给予奖励。"
    offset = doc_text.find("该市")
    chunk_text = doc_text[offset:]
    chunk = Chunk("d#0", "d", offset, len(doc_text), chunk_text)
    at = chunk_text.find("500万元")
    ans = ExpectedBoundaries(_Fixed(at, at + 5)).answer(query("奖励门槛是多少?"), [Passage(chunk, 1, 1.0)])
    assert ans.answer == "不少于500万元"
    assert doc_text[ans.answer_span.start:ans.answer_span.end] == ans.answer
    assert ans.sentence_span.start <= ans.answer_span.start and ans.answer_span.end <= ans.sentence_span.end


def test_the_wrapper_leaves_a_declined_answer_alone() -> None:
    class _Declines:
        def answer(self, query, passages, top_k=None) -> Answer:
            return Answer(question=query.folded, answer=None, confidence=0.1, answer_span=None, withheld="3月")

    chunk = Chunk("d#0", "d", 0, 6, "去年3月发布")
    ans = ExpectedBoundaries(_Declines()).answer(query("何时发布?"), [Passage(chunk, 1, 1.0)])
    assert ans.answer is None and ans.withheld == "3月"


def test_a_lone_mark_near_the_far_end_is_cut_off_rather_than_grown_over() -> None:
    text = "虚拟电路（缩写为VC），又称为虚电路、虚连接或虚通道。"
    a, b = balance_marks(text, text.find("VC"), text.find("。"))
    assert text[a:b] == "，又称为虚电路、虚连接或虚通道"
    text = "为了纪念阿亚图拉而改现名（“沙希德”是殉教者）。"
    a, b = balance_marks(text, 0, text.find("沙希德") + 3)
    assert text[a:b] == "为了纪念阿亚图拉而改现名"


def test_the_answer_never_starts_or_ends_on_a_clause_mark() -> None:
    text = "虚拟电路（缩写为VC），又称为虚电路、虚连接或虚通道。"
    assert _grown(text, "VC），又称为虚电路、虚连接或虚通道") == "又称为虚电路、虚连接或虚通道"


def test_a_whole_sentence_keeps_its_end_mark() -> None:
    text = "成都、宁夏等地也宣布每年将发放“算力券”。下一句。"
    end = text.find("。") + 1
    assert expected_span(text, 0, end) == (0, end)
