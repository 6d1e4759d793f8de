import pytest

from rag.ingest.chunking import chunk_document
from rag.ingest.documents import load_corpus
from rag.text.sentences import heading_text, split_sentences
from rag.types import Document


def texts(text, **kw):
    return [text[s.start:s.end] for s in split_sentences(text, **kw)]


@pytest.mark.parametrize("number", ["1.5元", "10%", "2023-2025年", "2023—2025年", "3.14", "v1.2.3", "1,000万元"])
def test_numbers_are_never_broken(number):
    text = f"价格是{number}。下一句!"
    assert texts(text) == [f"价格是{number}。", "下一句!"]


def test_end_marks_ascii_and_fullwidth_and_line_breaks():
    text = "第一句。第二句！第三句？第四句；第五句…… Fifth. Sixth! 第七句\n第八句"
    assert texts(text) == ["第一句。", "第二句！", "第三句？", "第四句；", "第五句……", "Fifth.", "Sixth!",
                           "第七句", "第八句"]


def test_quoted_speech_stays_with_its_sentence():
    text = "“大模型的兴起。人工智能已进入工业大生产阶段。”王海峰说。随后散会。"
    assert texts(text) == ["“大模型的兴起。人工智能已进入工业大生产阶段。”王海峰说。", "随后散会。"]


def test_closing_quote_after_end_mark_belongs_to_the_sentence():
    assert texts("他说：“好。”然后走了。") == ["他说：“好。”然后走了。"]
    assert texts("“好。”\n下一段。") == ["“好。”", "下一段。"]


def test_long_run_without_punctuation_is_bounded_and_keeps_numbers():
    text = "很" * 50 + "2023—2025年" + "长" * 400
    sents = split_sentences(text, max_chars=60)
    assert all(s.end - s.start <= 60 for s in sents)
    assert "".join(text[s.start:s.end] for s in sents) == text
    assert any("2023—2025年" in text[s.start:s.end] for s in sents)


def test_headings_detected_and_attached():
    text = "导语在前面。\n加速释放大模型应用潜力\n正文第一句。正文第二句。\n## 第二节\n另一段。"
    sents = split_sentences(text)
    assert [(text[s.start:s.end], s.heading) for s in sents] == [
        ("导语在前面。", None), ("正文第一句。", "加速释放大模型应用潜力"),
        ("正文第二句。", "加速释放大模型应用潜力"), ("另一段。", "第二节")]


@pytest.mark.parametrize("line,expected", [
    ("加速释放大模型应用潜力", "加速释放大模型应用潜力"),
    ("提升“根”技术供给能级", "提升“根”技术供给能级"),
    ("# Markdown 标题", "Markdown 标题"),
    ("这是一句话。", None),
    ("在西南政法大学人工智能法学院院长陈亮看来,", None),
    ("- 列表项", None),
    ("这一行很长" * 10, None),
])
def test_heading_text(line, expected):
    assert heading_text(line) == expected


def test_trailing_heading_like_line_is_kept_as_text():
    text = "正文。\n结尾短行"
    assert texts(text) == ["正文。", "结尾短行"]


def test_article_headings_and_offsets(article_text):
    sents = split_sentences(article_text)
    headings = {s.heading for s in sents}
    assert headings == {None, "加速释放大模型应用潜力", "提升“根”技术供给能级", "营造包容审慎的监管环境"}
    for s in sents:
        piece = article_text[s.start:s.end]
        assert piece and piece == piece.strip()


@pytest.mark.parametrize("chunk_chars", [80, 220, 400])
def test_chunks_round_trip_offsets_and_bounds(article_text, chunk_chars):
    doc = Document("article.txt", article_text)
    chunks = chunk_document(doc, chunk_chars=chunk_chars)
    assert chunks
    for c in chunks:
        assert article_text[c.start:c.end] == c.text
        assert c.heading is None or c.heading in article_text
    # Whole-sentence chunks: each starts at a sentence start.
    starts = {s.start for s in split_sentences(article_text)}
    assert all(c.start in starts for c in chunks)
    # Every sentence is inside some chunk.
    for s in split_sentences(article_text):
        assert any(c.start <= s.start and s.end <= c.end for c in chunks)


def test_chunks_overlap_by_one_sentence_within_a_section():
    doc = Document("d.txt", "一一一。二二二。三三三。四四四。五五五。")
    chunks = chunk_document(doc, chunk_chars=9, overlap_sentences=1)
    assert [c.text for c in chunks] == ["一一一。二二二。", "二二二。三三三。", "三三三。四四四。", "四四四。五五五。"]


def test_chunks_do_not_cross_headings():
    doc = Document("d.txt", "标题甲\n甲一。甲二。\n标题乙\n乙一。乙二。")
    chunks = chunk_document(doc, chunk_chars=200)
    assert [(c.text, c.heading) for c in chunks] == [("甲一。甲二。", "标题甲"), ("乙一。乙二。", "标题乙")]


def test_chunk_offsets_for_odd_encodings(tmp_path):
    text = "\r\n导言。\r\n小标题\r\n第一句,含1.5元。第二句!\r\n"
    (tmp_path / "crlf.txt").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (tmp_path / "gbk.txt").write_bytes(text.encode("gbk"))
    for doc in load_corpus(tmp_path):
        for c in chunk_document(doc, chunk_chars=10):
            assert doc.text[c.start:c.end] == c.text
