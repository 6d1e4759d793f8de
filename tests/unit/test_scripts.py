"""Traditional/simplified folding and English questions, without a model.

Folding in an index, and retrieval and answers across scripts and languages (the
shipped reader, and the real model): ``tests/e2e/test_scripts.py``.
"""

from __future__ import annotations

from rag.answer.step import folded_view, restore_answer
from rag.query.english import NameMatcher, english_qtype
from rag.text.folding import fold_aligned, fold_question, has_cjk, is_latin_question, \
    to_simplified
from rag.text.tokens import tokenize
from rag.types import Answer, Chunk, Citation, Passage, Span

HUBEI = "湖北人工智能产业规模到2025年超过多少?"


def s2t(text: str) -> str:
    import opencc

    return opencc.OpenCC("s2t").convert(text)


# --- folding, no model ---------------------------------------------------------------------------

def test_folding_maps_traditional_to_simplified_and_keeps_length():
    assert to_simplified("湖北人工智慧產業規模") == "湖北人工智慧产业规模"
    assert to_simplified(HUBEI) == HUBEI                      # simplified text is left alone
    assert to_simplified("How large?") == "How large?"
    text = s2t("成都、宁夏等地也宣布每年将发放总额不超过1000万元、4000万元的“算力券”支持机构使用相应资源。")
    assert text != to_simplified(text) and len(fold_aligned(text)) == len(text)
    assert fold_aligned("網際網路") == "网际网路"                  # char by char: same length
    assert fold_question("這是甚麼文件?") == "这是什么文件?"
    assert has_cjk("AI大模型") and not has_cjk("AI model")
    assert is_latin_question("Who is Baidu's CTO?") and not is_latin_question("2025?") \
        and not is_latin_question("谁是CTO?")


def test_keyword_tokens_are_the_same_in_both_scripts():
    simp = "湖北人工智能产业规模超过1500亿元,在智能芯片、多模态大模型等重点领域取得重大标志性成果。"
    trad = s2t(simp)
    assert trad != simp
    assert tokenize(trad, fold=True) == tokenize(simp, fold=True) == tokenize(simp)
    assert tokenize(trad) != tokenize(simp)                    # without folding they differ


def test_folded_view_and_restore_keep_the_original_text():
    doc = s2t("标题\n湖北人工智能产业规模超过1500亿元。")
    start = doc.index("\n") + 1
    chunk = Chunk("t.txt#0", "t.txt", start, len(doc), doc[start:], heading=doc[:start - 1])
    view, originals = folded_view([Passage(chunk, 1, 1.0)])
    assert view[0].chunk.text == "湖北人工智能产业规模超过1500亿元。" and originals == {"t.txt#0": chunk}
    a0 = view[0].chunk.text.index("1500")
    folded = Answer("q", "1500亿元", 0.9, Span("t.txt", start + a0, start + a0 + 6),
                    (Citation.from_passage(view[0]),), Span("t.txt", start, len(doc)), 1)
    ans = restore_answer(folded, originals)
    assert ans.answer == "1500億元" == doc[ans.answer_span.start:ans.answer_span.end]
    assert ans.citations[0].text == doc[start:] and ans.citations[0].heading == chunk.heading
    same = [Passage(Chunk("s#0", "s", 0, 3, "简体字"), 1, 1.0)]
    assert folded_view(same) == (same, {})


def test_english_question_types_and_pinyin_names():
    assert english_qtype("How large should Hubei's AI industry be by 2025?") == "number"
    assert english_qtype("When did Beijing issue the plan?") == "date"
    assert english_qtype("Who is Baidu's chief technology officer?") == "person"
    assert english_qtype("Which fields will the opinions drive?") == "list"
    assert english_qtype("What does it say?") == "what"
    m = NameMatcher(["湖北", "百度", "宁夏", "王海峰", "产业", "规模"])
    assert m.names("How large should Hubei's AI industry be?") == ["湖北"]
    assert m.names("Did Wang Haifeng of Baidu say so?") == ["王海峰", "百度"]
    assert m.names("how large is the industry?") == []
