"""Question analysis, span extraction and metrics (no model needed).

The article end to end, with the real model: ``tests/e2e/test_answers.py``.
"""

import pytest

from rag.answer.extraction import extract_span
from rag.bench.metrics import contains_gold, exact_match, f1_score, tokens
from rag.query.question import QuestionError, analyze, validate


@pytest.mark.parametrize("question,qtype", [
    ("湖北人工智能产业规模到2025年要超过多少?", "number"),
    ("福建的人工智能产业政策一共有几条措施?", "number"),
    ("谁是百度的首席技术官?", "person"),
    ("《措施》重点支持在哪些领域构建示范应用场景?", "list"),
    ("北京的算力券方案是何时出台的?", "date"),
    ("福建省人民政府办公厅印发了什么文件?", "title"),
    ("北京市哪个部门出台了人工智能算力券实施方案?", "org"),
    ("文中哪个省份的GDP已连续34年全国第一?", "place"),
    ("王海峰认为人工智能已进入什么阶段?", "what"),
    ("算力券实施方案覆盖哪几年?", "date"),          # years, not a list of things
    ("哪几个城市发放算力券?", "list"),
])
def test_question_types(question, qtype):
    assert analyze(question).qtype == qtype


SENT_BEIJING = "例如,北京市经济和信息化局于今年10月出台《人工智能算力券实施方案(2023-2025年)》;"
SENT_SH = ("在推进大模型创新应用方面,《措施》指出重点支持在智能制造、生物医药、集成电路、自动驾驶、机器人、"
           "数字政府等领域构建示范应用场景,打造标杆性大模型产品和服务;")


@pytest.mark.parametrize("question,sentence,expected", [
    ("湖北人工智能产业规模要超过多少?", "湖北人工智能产业规模超过1500亿元,在智能芯片等重点领域取得重大标志性成果100项以上。",
     "1500亿元"),
    ("湖北要取得多少项重大标志性成果?", "湖北人工智能产业规模超过1500亿元,在智能芯片等重点领域取得重大标志性成果100项以上。",
     "100项以上"),
    ("谁是百度的首席技术官?", "“人工智能已进入工业大生产阶段。”百度首席技术官、深度学习技术及应用国家工程研究中心主任王海峰说。",
     "王海峰"),
    ("《措施》重点支持在哪些领域构建示范应用场景?", SENT_SH, "智能制造、生物医药、集成电路、自动驾驶、机器人、数字政府"),
    ("北京的人工智能算力券实施方案是何时出台的?", SENT_BEIJING, "今年10月"),
    ("北京市经济和信息化局出台了什么方案?", SENT_BEIJING, "《人工智能算力券实施方案(2023-2025年)》"),
    ("广东要统筹建设什么平台?", "联合龙头企业组建政务大模型联合实验室,统筹建设数字政府人工智能运行平台,常态化发布人工智能场景清单。",
     "数字政府人工智能运行平台"),
    ("广东将在哪里建立数据流通规则体系?", "广东率先提出探索打造“粤港澳大湾区数据特区”,将在湾区内建立数据流通规则体系、完善运营机制。",
     "湾区内"),
])
def test_extract_minimal_span(question, sentence, expected):
    span = extract_span(analyze(question), sentence)
    assert span is not None
    assert sentence[span[0]:span[1]] == expected


def test_number_question_with_unit_rejects_other_units():
    # 多少家 asks for a count of companies: 三年 is not an answer.
    sent = "湖北省人民政府出台的《湖北省推进人工智能产业发展三年行动方案》也强调推进试点工作。"
    assert extract_span(analyze("湖北计划培育多少家人工智能企业?"), sent) is None


@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_empty_question_is_refused(bad):
    with pytest.raises(QuestionError, match="empty"):
        validate(bad)


def test_overlong_question_is_refused():
    with pytest.raises(QuestionError, match="too long"):
        validate("问" * 1001)
    assert validate(" 问题 ") == "问题"


def test_cmrc_metric_hand_made_cases():
    assert tokens("Hello, 世界 2025年!") == ["hello", "世", "界", "2025", "年"]
    assert exact_match("“1500亿元”。", ["1500亿元"]) == 1.0
    assert exact_match("1500亿", ["1500亿元"]) == 0.0
    assert exact_match(None, ["x"]) == 0.0
    # LCS F1: pred 超过1500亿元 (5 tokens), gold 1500亿元 (3): lcs 3 -> P .6 R 1 -> F1 .75
    assert f1_score("超过1500亿元", ["1500亿元"]) == pytest.approx(0.75)
    # Best over golds; a latin run is one token.
    assert f1_score("GPT4 模型", ["gpt4", "完全不同"]) == pytest.approx(2 * (1 / 3) / (1 + 1 / 3))
    # Longest common *substring*, not subsequence.
    assert f1_score("甲乙丙丁", ["甲丙"]) == pytest.approx(2 * 0.25 * 0.5 / 0.75)
    assert f1_score("", ["a"]) == 0.0
    assert contains_gold("答案是：1500 亿元。", ["1500亿元"])


SENT_QUOTA = "成都、宁夏等地也宣布每年将发放总额不超过1000万元、4000万元的“算力券”支持机构使用相应资源。"


@pytest.mark.parametrize("question,expected", [
    ("宁夏每年发放的算力券总额上限是多少?", "4000万元"),
    ("成都每年发放多少算力券?", "1000万元"),
    ("哪里宣布每年发放不超过1000万元的算力券?", "成都"),
    ("成都将发放多少算力券?", "1000万元"),  # no unit in the question: 算 of 算力券 is not one
])
def test_respectively_lists_are_aligned(question, expected):
    span = extract_span(analyze(question), SENT_QUOTA)
    assert span is not None and SENT_QUOTA[span[0]:span[1]] == expected


@pytest.mark.parametrize("question", ["深圳将发放多少算力券?", "上海每年发放的算力券总额上限是多少?"])
def test_a_place_the_paired_list_leaves_out_is_a_conflict(question):
    """成都、宁夏…1000万元、4000万元 holds no figure for 深圳 or 上海: the pairing gives no item, and
    the nearest figure, the extractor's candidate, is flagged as another place's."""
    from rag.answer.evidence import place_conflict
    from rag.answer.pairs import respectively

    q = analyze(question)
    span = extract_span(q, SENT_QUOTA)
    assert span is not None and respectively(q, SENT_QUOTA, span) is None
    assert place_conflict(question, SENT_QUOTA, SENT_QUOTA)


def test_name_before_the_anchor_for_issuing_questions():
    sent = "近日福建省人民政府办公厅印发的《福建省促进人工智能产业发展十条措施》提出,推动建立开放性行业大数据训练库。"
    q = analyze("《福建省促进人工智能产业发展十条措施》由谁印发?")
    assert q.qtype == "org"
    span = extract_span(q, sent)
    assert sent[span[0]:span[1]] == "福建省人民政府办公厅"


def test_name_asked_with_jiao_shenme_ends_in_the_head_noun():
    sent = "上海印发的《措施》提出,建设国家级大模型测试验证与协同创新中心,并鼓励大模型创新企业依托中心开展相关测试评估。"
    span = extract_span(analyze("上海要建设的国家级大模型中心叫什么?"), sent)
    assert sent[span[0]:span[1]] == "国家级大模型测试验证与协同创新中心"


def test_confidence_features():
    from rag.text.lexicon import places_in
    from rag.answer.confidence import confidence, deputy_trap

    assert deputy_trap("广东省政务服务数据管理局局长是谁?", "广东省政务服务数据管理局副局长魏文涛表示。")
    assert not deputy_trap("广东省政务服务数据管理局副局长是谁?", "数据管理局副局长魏文涛表示。")
    assert places_in("成都、宁夏等地也宣布") == {"成都", "宁夏"}
    assert places_in("文中哪个省份的GDP全国第一?") == set()
    strong = confidence({"bias": 1, "overlap": 1.0, "bigram": 0.8, "typed": 1.0})
    trap = confidence({"bias": 1, "overlap": 1.0, "bigram": 0.8, "typed": 1.0, "deputy_trap": 1.0})
    assert 0.0 <= trap < 0.21 <= strong <= 1.0


@pytest.mark.parametrize("question,qtype", [
    ("李白为什么离开长安?", "why"),
    ("赵鹏没有出场的原因是什么?", "why"),
    ("AI大模型作为什么样的产品技术从年初火到年尾?", "what"),
    ("张良被封为什么爵位?", "what"),
])
def test_why_questions(question, qtype):
    assert analyze(question).qtype == qtype


@pytest.mark.parametrize("question,sentence,expected", [
    ("他为什么没有出场?", "不过由于伤病困扰,他在2014下半赛季并没有得到出场机会。", "伤病困扰"),
    ("该站为什么叫安贞门站?", "该站因地处安贞门旧址附近而得名。", "地处安贞门旧址附近"),
    ("小明为什么没被处罚?", "老师在会上据理力争,于是校长收回了决定。", "老师在会上据理力争"),
])
def test_why_answers_are_the_cause(question, sentence, expected):
    span = extract_span(analyze(question), sentence)
    assert span is not None and sentence[span[0]:span[1]] == expected


@pytest.mark.parametrize("question,sentence,expected", [
    # The predicate of the sentence that introduces X, past its bracketed aside and alias clause.
    ("刘建的职业是什么?", "刘建(),中国篮球运动员,司职中锋。", "中国篮球运动员"),
    ("班杰是什么职业?", "班杰(),本名王宏文,台湾男演员兼模特儿。", "台湾男演员兼模特儿"),
    # The value after the attribute the question names.
    ("Bluestone的主要音乐风格是什么?", "Bluestone是挪威的一支摇滚乐队,其主要音乐风格为后朋克,同时受民谣影响。", "后朋克"),
    ("陈文远的字是什么?", "陈文远(),字仲达,江州临川人。", "仲达"),
    ("星海集团的创办人是谁?", "星海集团的创办人为林美玲女士。", "林美玲"),
])
def test_copula_questions(question, sentence, expected):
    span = extract_span(analyze(question), sentence)
    assert span is not None and sentence[span[0]:span[1]] == expected


def test_copula_parts():
    from rag.query.question import copula_parts

    assert copula_parts(analyze("刘建的职业是什么?")) == ("刘建", "职业")
    assert copula_parts(analyze("周明轩是什么职业?")) == ("周明轩", "职业")
    assert copula_parts(analyze("李承泽的母亲是谁?")) == ("李承泽", "母亲")
    assert copula_parts(analyze("湖北人工智能产业规模到2025年要超过多少?")) is None


def test_location_runs_to_the_end_of_its_clause():
    sent = "江南省文物保护中心位于临江市滨河北路18号,是江南省文化厅直属单位。"
    span = extract_span(analyze("江南省文物保护中心位于什么地方?"), sent)
    assert sent[span[0]:span[1]] == "临江市滨河北路18号"


@pytest.mark.parametrize("question,qtype,qword", [
    ("三花酒这个饮料的原料为？", "what", "？"),            # the gap is the end: 原料为 ___
    ("颁布禁酒令其中一个目的是？", "what", "？"),
    ("中国的其他政府补助收入规定于何？", "what", "何"),
    ("反洛可可风格的运动是何人发起的?", "person", "何人"),
    ("布鲁克林篮网的主场位在何处?", "place", "何处"),
    ("消费者文教基金会的成立有何指标?", "what", "有何"),
    ("成年雪豹平均有多重？", "number", "多重"),
    ("小李是怎样把箱子搬上楼的？", "what", "怎样"),
    ("学院座落在上海市内的哪一个区?", "place", "哪一个区"),
    ("哪个区长出席了会议?", "what", "哪个"),                  # 区长 is a person's office, not a district
    ("原料为", "what", ""),                                 # no question mark: a keyword query
    ("那宁夏呢?", "what", ""),                              # an ellipsis names no gap of its own
])
def test_question_words_of_written_chinese(question, qtype, qword):
    q = analyze(question)
    assert (q.qtype, q.qword) == (qtype, qword)


def test_a_gap_at_the_end_is_filled_by_what_follows():
    sent = "三花酒是桂林特产，其原料为优质大米，以漓江水酿成。"
    span = extract_span(analyze("三花酒的原料为？"), sent)
    assert span is not None and sent[span[0]:span[1]] == "优质大米"


def test_lists_of_names_are_not_paired_by_length_alone():
    """Two 、-lists of school names in one sentence are not 'respectively' aligned: the reader's
    杨浦区 stays (it used to become 电视大学, the item in the position of a named one)."""
    from rag.answer.pairs import respectively

    sent = ("有综合性大学复旦大学、同济大学，也有向社会开放的成人高等学校上海电视大学、杨浦区业余大学，"
            "也有民办学校上海济光职业技术学院。")
    a = sent.index("杨浦区")
    q = analyze("上海济光职业技术学院座落在上海市内的哪一个区?")
    assert respectively(q, sent, (a, a + 3)) == (a, a + 3)
    # 分别 says the lists are paired, names or not
    q = analyze("德国获得了什么名次?")
    said, plain = "巴西、德国分别获得冠军、亚军。", "巴西、德国获得冠军、亚军。"
    assert said[slice(*respectively(q, said, (said.index("冠军"), said.index("冠军") + 2)))] == "亚军"
    assert plain[slice(*respectively(q, plain, (plain.index("冠军"), plain.index("冠军") + 2)))] == "冠军"
