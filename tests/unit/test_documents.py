import codecs
import logging

import pytest

from rag.ingest.documents import CorpusError, load_corpus
from rag.ingest.formats.plain import decode_bytes

TEXT = "标题\n上海印发的《措施》提出，给予最高10%的租用补贴。\n"


@pytest.mark.parametrize("encoding,prefix", [
    ("utf-8", b""),
    ("utf-8", codecs.BOM_UTF8),
    ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", codecs.BOM_UTF16_BE),
    ("gbk", b""),
    ("gb18030", b""),
])
def test_decodes_supported_encodings_exactly(tmp_path, encoding, prefix):
    (tmp_path / "doc.txt").write_bytes(prefix + TEXT.encode(encoding))
    [doc] = load_corpus(tmp_path)
    assert doc.text == TEXT  # BOM removed, nothing else changed
    assert doc.doc == "doc.txt"


def test_binary_and_undecodable_files_are_skipped_with_a_warning(tmp_path, caplog):
    (tmp_path / "good.md").write_text("# 标题\n正文。", encoding="utf-8")
    (tmp_path / "image.txt").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "noise.txt").write_bytes(b"\x81\xff\xfe\x80\x81" * 50)
    with caplog.at_level(logging.WARNING):
        docs = load_corpus(tmp_path)
    assert [d.doc for d in docs] == ["good.md"]
    assert "image.txt" in caplog.text and "noise.txt" in caplog.text


def test_recursive_with_posix_ids_and_other_suffixes_ignored(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.TXT").write_text("一。", encoding="utf-8")
    (tmp_path / "a" / "y.md").write_text("二。", encoding="utf-8")
    (tmp_path / "z.pdf").write_bytes(b"%PDF")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "h.txt").write_text("三。", encoding="utf-8")
    assert [d.doc for d in load_corpus(tmp_path)] == ["a/b/x.TXT", "a/y.md"]


def test_missing_and_empty_corpus_raise_clear_errors(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        load_corpus(tmp_path / "nope")
    with pytest.raises(CorpusError, match="no readable"):
        load_corpus(tmp_path)
    (tmp_path / "blank.txt").write_text("  \n", encoding="utf-8")
    with pytest.raises(CorpusError, match="no readable"):
        load_corpus(tmp_path)


def test_decode_bytes_rejects_nul_bytes():
    assert decode_bytes(b"abc\x00def") is None
    assert decode_bytes("中文".encode("utf-8")) == ("中文", "utf-8")
