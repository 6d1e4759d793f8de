"""Keyword tokens for BM25: jieba in search mode, punctuation and stop-words dropped.

Search mode also emits the shorter words inside long ones (``人工智能`` gives
``人工``, ``智能``, ``人工智能``), so that a question and a passage that cut a
compound differently still share tokens. ASCII is lower-cased.

>>> tokenize("湖北的人工智能产业规模是多少?")
['湖北', '人工', '智能', '人工智能', '产业', '规模']
"""

from __future__ import annotations

import functools
import logging
import re


#: Function words and question words: frequent, so they carry no evidence.
STOPWORDS = frozenset("""
的 了 和 与 及 或 是 在 对 于 把 被 将 为 以 由 从 向 到 也 都 而 并 等 其 之 这 那 该 此 各 个
中 上 下 里 就 还 又 再 很 更 最 所 有 没有 吗 呢 吧 啊 呀 么 么样 怎 怎么 怎样 如何 什么 啥 哪 哪些
哪个 哪里 哪儿 哪家 哪位 哪年 谁 多少 几 几个 何 何时 何地 为什么 为何 是否 是不是 请问 一下 一个
我 你 他 她 它 我们 你们 他们 她们 它们 这个 那个 这些 那些 这里 那里 以及 关于 通过 根据 按照 对于
提出 表示 指出 称 说 年 月 日 多 个 具体 主要 哪方面 方面 哪几 几条 几项 能 会 可以 要 应 需
a an the of to in on for and or is are was were be what who which when where how why do does
""".split())

_WORD = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def _jieba():
    import jieba  # lazy: importing it is cheap, its dictionary is not

    jieba.setLogLevel(logging.WARNING)
    from rag.config import PathSettings, Settings
    from rag.errors import SettingsError
    from rag.text.wordtable import install

    try:
        cache_dir = Settings.from_env().paths.cache_dir     # RAG_CACHE_DIR, as the models' cache
    except SettingsError:       # reported where the settings are used; the table needs only the folder
        cache_dir = PathSettings().cache_dir
    try:
        # jieba's dictionary from a memory-mapped table: a question needs a few hundred of its
        # 500,000 entries, and loading them all took 1-2 s of every `rag ask`.
        install(cache_dir)
    except (OSError, ValueError) as e:   # an unwritable cache: jieba's own loading still works
        log.warning("jieba's word table is unavailable (%s); loading its dictionary instead", e)
    jieba.initialize()
    return jieba


def words(text: str, hmm: bool = True) -> list[str]:
    """jieba's words of a text (accurate mode), covering it in order.

    Args:
        text: any text.
        hmm: let jieba's HMM join characters the dictionary does not know into words.

    Returns:
        The words.
    """
    return _jieba().lcut(text, HMM=hmm)


def is_content_token(tok: str) -> bool:
    """Whether a token counts for keyword matching.

    Args:
        tok: a token.

    Returns:
        False for whitespace, punctuation-only tokens and stop-words.
    """
    return bool(tok.strip()) and bool(_WORD.search(tok)) and tok not in STOPWORDS


def tokenize(text: str, fold: bool = False) -> list[str]:
    """Keyword tokens of a text, in order, with repeats.

    Args:
        text: any text.
        fold: fold traditional Chinese to simplified first (:func:`rag.text.folding.to_simplified`),
            so that both scripts give the same tokens.

    Returns:
        Lower-cased content tokens.
    """
    if fold:
        from rag.text.folding import to_simplified

        text = to_simplified(text)
    jieba = _jieba()
    return [t for t in (w.strip().lower() for w in jieba.cut_for_search(text)) if is_content_token(t)]




def words_with_pos(text: str, hmm: bool = True) -> list[tuple[str, str]]:
    """Words with their part-of-speech tags (jieba.posseg), in order, covering ``text``.

    Args:
        text: a sentence.
        hmm: let jieba's HMM join (and tag) characters the dictionary does not know.

    Returns:
        ``(word, flag)`` pairs whose words concatenate back to ``text``.
    """
    _jieba()
    import jieba.posseg as pseg

    return [(p.word, p.flag) for p in pseg.cut(text, HMM=hmm)]
