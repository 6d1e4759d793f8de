"""Every fixed word list of the question and answer rules, each defined once.

Places, organisation suffixes, measure words and units, titles of office,
document nouns, relative dates and the punctuation sets the rules cut text at.
Where two rules need different lists, the variant is a named derivation of the
base list, with a comment saying who takes which and why (the lists were
copies that drifted apart; their users were fitted and measured with the
versions kept here).

>>> sorted(places_in("广东省和深圳市, 以及无锡"))
['广东', '深圳']
>>> "无锡" in FOLLOWUP_PLACES, len(PLACES), len(FOLLOWUP_PLACES)
(True, 68, 92)
>>> bool(ORG_SUFFIX.fullmatch("研究中心")), "克" in MEASURE_WORDS, "条" in MEASURE_WORDS
(True, False, True)
"""

from __future__ import annotations

import re

# --- places -----------------------------------------------------------------------------------

#: Province-level divisions (provinces, autonomous regions, municipalities, SARs, Taiwan), short forms.
PROVINCES = frozenset("北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 "
                      "广东 海南 四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门".split())
#: Provincial capitals, sub-provincial cities and the 雄安 new area.
MAJOR_CITIES = frozenset("深圳 广州 杭州 南京 成都 武汉 西安 苏州 厦门 青岛 大连 宁波 长沙 郑州 合肥 济南 沈阳 哈尔滨 "
                         "长春 福州 昆明 贵阳 南宁 兰州 银川 西宁 乌鲁木齐 拉萨 呼和浩特 太原 石家庄 南昌 海口 雄安".split())
#: The places a policy text is usually about. The answer rules compare these (:func:`places_in`: the
#: place-conflict feature, whose confidence weight was fitted with this list, names in a question that
#: look like places, the paired 、-lists of ``respectively``).
PLACES = PROVINCES | MAJOR_CITIES
#: Other cities that the article corpus names.
OTHER_CITIES = frozenset("无锡 东莞 佛山 三亚 珠海 温州 绍兴 常州 南通 徐州 烟台 泉州 惠州 中山".split())
#: Economic regions spanning several provinces.
REGIONS = frozenset("粤港澳 大湾区 长三角 京津冀 珠三角 成渝".split())
#: Districts and zones inside a city.
DISTRICTS = frozenset("浦东 临港 中关村 亦庄".split())
#: What a follow-up question may swap one place for another with (那无锡呢? 那长三角呢?): the wider list,
#: since a missed place there turns the ellipsis into a topic swap; the answer rules keep :data:`PLACES`.
FOLLOWUP_PLACES = PLACES | OTHER_CITIES | REGIONS | DISTRICTS
#: Words jieba tags as places (``ns``) that do not name one.
NOT_PLACES = frozenset("城市 全国 国家 地区 地方 各地 多地 本市 本省 国内 海外 国际 全球 湾区 沪 省 市 区 县 地".split())
#: The suffix of a place's full form (湖北省, 深圳市, 宁夏回族自治区…).
PLACE_SUFFIX = re.compile(r"(省|市|自治区|特别行政区|地区|区|县|州)$")
#: Characters that end a word naming a place (jieba also tags common nouns ``ns``).
PLACE_ENDINGS = "省市县州国"
#: Question words that ask for one named place (哪个国家, 哪个城市) rather than a location.
PLACE_NAME_QWORD = re.compile(r"国|省|市|城|县|州")


def places_in(text: str, places: frozenset[str] = PLACES) -> set[str]:
    """The place names of a fixed list that a text contains (jieba's place tags are too noisy).

    Args:
        text: any text.
        places: the list (default :data:`PLACES`).

    Returns:
        The short names found (广东省 → 广东).
    """
    return {p for p in places if p in text}


# --- organisations ----------------------------------------------------------------------------

#: Words an organisation's name ends with, in the order a regular expression tries them.
ORG_SUFFIXES = ("委员会", "实验室", "研究院", "研究所", "研究中心", "中心", "平台", "基地", "办公厅", "政府", "大学",
                "学院", "公司", "集团", "部", "局", "厅", "委", "署", "院", "办")
#: :data:`ORG_SUFFIXES` as one group.
ORG_SUFFIX = re.compile("(?:" + "|".join(ORG_SUFFIXES) + ")")
#: Nouns after a question word that ask for an organisation (哪个部门, 什么机构). Not
#: :data:`ORG_SUFFIXES`: 部/院/办/署 alone after 哪/什么 are too ambiguous (哪部分, 什么院子).
ORG_QUESTION_NOUNS = ("部门", "部委", "机构", "单位", "组织", "企业", "公司", "政府", "委员会", "实验室", "中心", "平台",
                      "大学", "学院", "基地", "局", "厅", "委")

# --- documents --------------------------------------------------------------------------------

#: Nouns that name a policy document.
DOCUMENT_NOUNS = ("文件", "政策", "方案", "措施", "意见", "规划", "通知", "办法", "计划", "文")
#: After 什么/哪: a document's title is asked (the answer type ``title``); also names and headings.
TITLE_QUESTION_NOUNS = DOCUMENT_NOUNS + ("名称", "标题", "叫什么")
#: After 该/这份: a noun that may point back to a 《title》 (follow-ups); also kinds of regulation.
DOCUMENT_REFERENCE_NOUNS = DOCUMENT_NOUNS + ("条例", "法规", "纲要", "指南", "行动方案")

# --- numbers ----------------------------------------------------------------------------------

#: Units and measure words a number may carry, longest alternatives first (a regular expression tries
#: them in this order: 万亿元 before 亿元 before 亿).
UNITS = ("万亿元", "亿元", "万元", "千元", "元", "亿", "万", "%", "％", "个百分点", "倍", "年", "个月", "月", "日", "天",
         "小时", "分钟", "秒", "周", "岁", "世纪", "条", "项", "家", "个", "所", "种", "类", "位", "名", "人", "次", "台",
         "座", "层", "步", "头", "只", "匹", "场", "届", "部", "首", "本", "张", "辆", "架", "艘", "枚", "间", "支", "队",
         "期", "批", "轮", "集", "季", "代", "号线", "号", "站", "区", "县", "平方公里", "平方米", "平方英里", "公顷",
         "公里", "千米", "公尺", "英尺", "英里", "米", "厘米", "毫米", "吨", "公斤", "千克", "克", "度", "级", "票", "分",
         "球", "册", "GW", "MW", "TB", "PB", "EFLOPS", "PFLOPS", "km", "kg", "m")
#: Measure words that may follow 多少 / 几 in a question (多少条, 几层, 多少亿元): the one-character
#: :data:`UNITS` but the symbols and 克 (多少克算力 is not read as a unit).
MEASURE_WORDS = frozenset(u for u in UNITS if len(u) == 1) - frozenset("%％m克")
#: Units that count things: a number without the asked one is no answer (多少家 → not 3年).
STRICT_UNITS = frozenset("条项家个所种位名人次台座倍年亿万元%")

# --- time -------------------------------------------------------------------------------------

#: Dates relative to the text's own time: no answer to 哪一天, and no part of a name (近日福建省…).
RELATIVE_DATES = frozenset("近日 近期 最近 目前 年初 年底 年尾 今年 去年 明年 前年".split())
#: Words that place a date relative to another time and belong to the answer (去年3月, not 3月), longest first.
TIME_QUALIFIERS = ("上半年", "下半年", "去年", "今年", "明年", "前年", "后年", "当年", "同年", "次年", "翌年", "上年",
                   "本年", "每年", "本月", "上月", "下月", "次月", "当月", "同月", "每月", "本周", "上周", "下周",
                   "当天", "同日", "次日", "当日", "每周")
#: Words after a date that narrow it and belong to it (3月底, 2023年初, 5月中旬), longest first.
TIME_ENDINGS = ("上旬", "中旬", "下旬", "前后", "底", "初", "末")

# --- bounds of a quantity ---------------------------------------------------------------------

#: Words that bound a quantity, by the bound they set: before the number (不少于500万元) or after it
#: (20家以上). A bound is part of the answer unless the question already asks for that bound (最多
#: 发放多少? is answered 1000万元, not 不超过1000万元). Longest first within each group.
BOUNDS_BEFORE = {
    "upper": ("不超过", "不高于", "不多于", "不大于", "最多", "最高", "至多", "不足", "不到", "少于", "低于"),
    "lower": ("不少于", "不低于", "不小于", "至少", "最少", "最低", "超过", "多于", "高于", "逾", "超"),
    "about": ("将近", "接近", "大约", "约", "近"),
}
BOUNDS_AFTER = {
    "upper": ("以下", "以内", "之内"),
    "lower": ("以上", "开外", "有余"),
    "about": ("左右", "上下"),
}
#: Question words that already ask for a bound of that kind.
BOUND_QUESTION_WORDS = {
    "upper": ("最多", "最高", "至多", "上限", "不超过", "封顶", "以下", "以内", "不高于"),
    "lower": ("至少", "最少", "最低", "下限", "不少于", "不低于", "超过", "以上", "多于"),
    "about": ("大约", "大概", "约", "左右", "将近"),
}

# --- people -----------------------------------------------------------------------------------

#: Titles of office that have a deputy (副局长): a question about the 局长 is not answered by the 副局长.
OFFICE_TITLES = ("局长", "厅长", "部长", "院长", "市长", "省长", "主任", "主席", "书记", "总裁", "经理", "校长", "所长",
                 "会长", "社长")
#: How the title right before a speaker's name ends (首席技术官王海峰说, 主任王海峰表示).
SPEAKER_TITLE_ENDINGS = ("长", "官", "任", "员", "师", "授", "家", "者", "书记", "主席", "总裁", "经理", "CEO")
#: Verbs that follow a speaker's name.
SPEECH_VERBS = ("说", "表示", "看来", "指出", "认为", "介绍", "称", "强调")

# --- punctuation ------------------------------------------------------------------------------

#: Marks that end a sentence (full-width and ASCII; the ASCII ``.`` is decided case by case).
SENTENCE_ENDS = "。！？；!?;…"
#: Marks that end a clause of a long sentence, the ellipsis aside: news text lists one place per
#: clause (…北京…；上海…；成都…).
CLAUSE_ENDS = SENTENCE_ENDS.replace("…", "")
#: Commas and colons: they end a clause, not a sentence.
COMMAS_COLONS = "，,：:"
#: Every mark that ends a clause, commas and colons included (not 、, which joins the items of a list).
CLAUSE_MARKS = CLAUSE_ENDS + COMMAS_COLONS
#: Where a too-long sentence may be cut when no sentence end is near: commas, colons and 、.
SOFT_BREAKS = COMMAS_COLONS + "、"
#: Stripped from both ends of a phrase carried from one question into another.
PHRASE_EDGE = "，, "
#: Paired marks an answer holds both or neither of (quotes, title and lenticular brackets, parentheses).
MARK_PAIRS = ("《》", "〈〉", "“”", "‘’", "「」", "『』", "【】", "（）", "()")
#: Marks that are their own partner: an odd count in a span is a lone mark.
SELF_PAIRED_MARKS = "\""
#: What is stripped from both ends of a question: end marks, commas and white space.
QUESTION_PUNCT = "?？!！。.，, \t\r\n"
