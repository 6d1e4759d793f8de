"""Follow-up questions: the rewrite rules (no model).

The article dialogues and the API, with the real model: ``tests/e2e/test_followup.py``.
"""

from __future__ import annotations

import pytest

from rag.query.followup import resolve_history, rewrite
from rag.query.reference import subject
from rag.query.terms import kind_of, terms

CHENGDU = "成都每年发放的算力券总额不超过多少?"


# --- rewrite(): follow-ups -------------------------------------------------------------------

@pytest.mark.parametrize("history,question,expected", [
    # ellipsis: the new entity replaces the old one of the same kind, the frame stays
    ([CHENGDU], "那宁夏呢?", "宁夏每年发放的算力券总额不超过多少?"),
    (["成都每年发放多少算力券?"], "那宁夏呢?", "宁夏每年发放多少算力券?"),
    (["上海推动大模型发展的政策文件叫什么?"], "那湖北的呢?", "湖北推动大模型发展的政策文件叫什么?"),
    ([CHENGDU], "北京市呢", "北京市每年发放的算力券总额不超过多少?"),
    (["王海峰认为人工智能已进入什么阶段?"], "那陈亮呢?", "陈亮认为人工智能已进入什么阶段?"),
    # ellipsis with a plain noun phrase: it replaces the topic in front of the question word
    (["湖北提出2025年人工智能产业规模要超过多少?"], "那重大标志性成果呢?", "湖北提出2025年重大标志性成果多少?"),
    # pronouns
    (["百度首席技术官是谁?"], "他还担任哪个机构的主任?", "百度首席技术官还担任哪个机构的主任?"),
    (["谁是百度的首席技术官?"], "他还担任什么职务?", "百度的首席技术官还担任什么职务?"),
    (["西南政法大学人工智能法学院院长是谁?"], "他认为大模型走向实践还需解决哪些关键性问题?",
     "西南政法大学人工智能法学院院长认为大模型走向实践还需解决哪些关键性问题?"),
    (["上海的《措施》一共提出了多少条产业发展指南?"], "它聚焦的是哪几个方面?", "上海的《措施》聚焦的是哪几个方面?"),
    (["上海的《措施》一共提出了多少条产业发展指南?"], "其主要内容是什么?", "上海的《措施》主要内容是什么?"),
    (["哪个部门今年10月出台了人工智能算力券实施方案?"], "这份方案覆盖哪几年?", "人工智能算力券实施方案覆盖哪几年?"),
    (["广东经济总量连续多少年居全国首位?"], "这话是谁说的?", "广东经济总量连续居全国首位是谁说的?"),
    # no subject of its own
    (["哪个部门今年10月出台了人工智能算力券实施方案?"], "覆盖哪几年?", "人工智能算力券实施方案覆盖哪几年?"),
    (["上海的《措施》一共提出了多少条产业发展指南?"], "还提出了什么?", "上海的《措施》还提出了什么?"),
])
def test_followups_are_rewritten(history, question, expected):
    r = rewrite(question, history)
    assert r.is_followup, r
    assert r.question == expected
    assert r.kind in ("ellipsis", "pronoun", "no_subject")
    assert r.reason


def test_demonstrative_with_a_noun_points_to_the_phrase_with_that_noun():
    r = rewrite("该文件要带动提升哪些领域的发展水平?", ["广东省人民政府最近发布了什么人工智能文件?"])
    assert r.is_followup and r.kind == "pronoun"
    assert "人工智能文件要带动提升哪些领域的发展水平" in r.question and "广东" in r.question
    # the thing the previous question asked about: described by that question as a statement
    r = rewrite("该机构将为产业发展提供什么?", ["福建计划成立什么机构开展前瞻性、战略性问题研究?"])
    assert r.question.startswith("福建") and "前瞻性、战略性问题研究" in r.question
    assert r.question.endswith("将为产业发展提供什么?") and "什么机构" not in r.question


@pytest.mark.parametrize("history,question", [
    # a full question with its own subject and question word is a fresh topic
    ([CHENGDU], "湖北人工智能产业规模到2025年超过多少?"),
    ([CHENGDU], "谁是百度的首席技术官?"),
    ([CHENGDU], "那湖北人工智能产业规模是多少?"),            # 那 as an opener, then a whole question
    ([CHENGDU], "此次广东印发的文件叫什么?"),                 # 此次 is not a pronoun
    ([CHENGDU], "其他地区有哪些政策?"),                       # nor is 其他
    (["上海的《措施》一共提出了多少条产业发展指南?"], "王海峰说了什么?"),
    (["百度首席技术官是谁?"], "福建计划成立什么机构开展前瞻性、战略性问题研究?"),
    (["百度首席技术官是谁?"], "王海峰说他所在的中心是什么?"),  # the pronoun points inside the question
    ([], "那宁夏呢?"),                                         # nothing to carry over
    (None, "它聚焦的是哪几个方面?"),
])
def test_fresh_topics_do_not_inherit(history, question):
    r = rewrite(question, history)
    assert not r.is_followup, r
    assert r.question == question
    assert r.kind == ""


def test_history_is_resolved_in_turn():
    history = [CHENGDU, "那宁夏呢?"]
    assert resolve_history(history) == "宁夏每年发放的算力券总额不超过多少?"
    assert rewrite("那北京呢?", history).question == "北京每年发放的算力券总额不超过多少?"
    # a fresh topic in between resets the frame
    history = [CHENGDU, "百度首席技术官是谁?"]
    assert rewrite("他还担任哪个机构的主任?", history).question == "百度首席技术官还担任哪个机构的主任?"
    # blank entries are ignored
    assert rewrite("那宁夏呢?", ["", CHENGDU, "  "]).question == "宁夏每年发放的算力券总额不超过多少?"


def test_traditional_followups_are_read_folded():
    r = rewrite("那寧夏呢?", [CHENGDU])
    assert r.is_followup and r.question == "寧夏每年發放的算力券總額不超過多少?"   # shown as typed
    r = rewrite("那宁夏呢?", ["成都每年發放的算力券總額不超過多少?"])
    assert r.question == "宁夏每年发放的算力券总额不超过多少?"
    r = rewrite("這份方案覆蓋哪幾年?", ["哪个部门今年10月出台了人工智能算力券实施方案?"])
    assert r.kind == "pronoun" and r.question == "人工智能算力券實施方案覆蓋哪幾年?"
    assert not rewrite("What about Ningxia?", [CHENGDU]).is_followup


def test_terms_subject_and_kinds():
    found = terms("广东省人民政府最近发布了《实施意见》,王海峰说")
    assert [(t.text, t.kind) for t in found] == [("广东省", "place"), ("人民政府", "org"),
                                                 ("《实施意见》", "title"), ("王海峰", "person")]
    assert kind_of("宁夏") == "place" and kind_of("深圳市") == "place" and kind_of("《措施》") == "title"
    assert kind_of("重大标志性成果") == "np"
    assert subject("上海的《措施》一共提出了多少条产业发展指南?") == "上海的《措施》"
    assert subject("百度首席技术官是谁?") == "百度首席技术官"
    assert subject("哪个部门今年10月出台了人工智能算力券实施方案?") == "人工智能算力券实施方案"
