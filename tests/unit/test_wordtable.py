"""jieba's dictionary from the memory-mapped word table gives jieba's own cuts: the whole
dictionary entry by entry, and real text cut in every mode in two processes (stock and table)."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag.text.wordtable import WordTable, table_for
from tests.helpers import ARTICLE, ROOT

DICT = Path(str(resources.files("jieba") / "dict.txt"))


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> WordTable:
    return table_for(DICT, tmp_path_factory.mktemp("cache"))


def test_every_entry_frequency_tag_and_the_total_are_jiebas(table):
    import jieba
    from jieba.posseg import POSTokenizer

    own = jieba.Tokenizer()             # a private tokenizer: the process-wide one is not touched
    own.initialize()
    assert len(table) == len(own.FREQ) and table.total == own.total
    assert all(table.get(k) == v for k, v in own.FREQ.items())
    tags = SimpleNamespace()
    POSTokenizer.load_word_tag(tags, open(DICT, "rb"))       # posseg's own parse
    assert all(table.tag(w) == t for w, t in tags.word_tag_tab.items())
    assert sum(table.tag(k) is not None for k in own.FREQ) == len(tags.word_tag_tab)
    for missing in ("", "不是一个词的字符串", "a", "😀"):
        assert missing not in table and table.get(missing, -1) == -1 and table.tag(missing) is None
    with pytest.raises(KeyError):
        table["不是一个词的字符串"]


def test_a_broken_or_foreign_file_is_made_again(tmp_path):
    dictionary = tmp_path / "dict.txt"
    dictionary.write_text("人工 50 n\n智能 60 n\n", encoding="utf-8")
    first = table_for(dictionary, tmp_path)
    path = first.path
    assert path.parent == tmp_path / "jieba" and first["智能"] == 60
    path.write_bytes(b"not a table")
    assert table_for(dictionary, tmp_path)["人工"] == 50
    dictionary.write_text("人工 5 n\n", encoding="utf-8")       # another dictionary: another file
    assert table_for(dictionary, tmp_path)["人工"] == 5 and table_for(dictionary, tmp_path).path != path


CUTS = r"""
import hashlib, json, logging, sys
from pathlib import Path
import jieba
jieba.setLogLevel(logging.WARNING)
if sys.argv[1] == "table":
    from rag.text.wordtable import install
    assert install(Path(sys.argv[2])) is not None
else:
    jieba.initialize()
import jieba.posseg as pseg
texts = Path(sys.argv[3]).read_text(encoding="utf-8").split("\n") + [
    "湖北的人工智能产业规模是多少?", "成都和宁夏每年发放多少算力券?", "王海峰是百度首席技术官", "GDP增长5.2%，CPU与AI v2.0",
    "漢字繁體與简体混排", "😀 表情", "", " ", "去年3月至2025年底，不少于500万元、20家以上"]
out = [[list(jieba.cut(t)), list(jieba.cut(t, HMM=False)), list(jieba.cut_for_search(t)),
        list(jieba.cut(t, cut_all=True)), [tuple(p) for p in pseg.cut(t)], [tuple(p) for p in pseg.cut(t, HMM=False)]]
       for t in texts]
print(len(texts), hashlib.sha256(json.dumps(out, ensure_ascii=False).encode()).hexdigest())
"""


def test_cuts_and_tags_of_real_text_are_jiebas_own(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    got = {}
    for mode in ("stock", "table"):
        r = subprocess.run([sys.executable, "-c", CUTS, mode, str(tmp_path), str(ARTICLE)], capture_output=True,
                           text=True, cwd=ROOT, env=env, timeout=300)
        assert r.returncode == 0, r.stderr
        got[mode] = r.stdout.split()
    assert got["stock"] == got["table"] and int(got["stock"][0]) > 20
