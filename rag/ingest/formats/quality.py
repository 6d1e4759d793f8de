"""Is a page's text layer usable? Empty (a scan) or garbled (a font without a Unicode map).

:func:`page_problem` says what is wrong with a page's extracted text, or ``None``. Two tests
make text *garbled*:

- **junk characters**: control characters (other than tab and line breaks), private-use
  characters, U+FFFD and pdfminer-style ``(cid:N)`` tokens make up more than
  :data:`MAX_JUNK_SHARE` of the non-space characters;
- **not Chinese**: the text is mostly CJK (at least :data:`MIN_CJK_CHARS` ideographs, and more
  than half of its non-space characters) but fewer than :data:`MIN_COMMON_SHARE` of those
  ideographs are among the :data:`COMMON_SIZE` most common Chinese characters. A font whose
  glyph codes are mapped to the wrong code points yields valid but random ideographs.

The common characters are derived once (cached) from the word frequencies of jieba's bundled
dictionary: each character weighs the summed frequency of the words holding it.

Measured share of ideographs among the 3,000 most common (by hand, 2026-11-30):

=============================================  ==========  =============
text                                           pieces      common share
=============================================  ==========  =============
seed article, 300-character slices             8           0.99 – 1.00
CMRC 2018 train contexts (first 2,000)         2,000       min 0.85, 1st pct 0.92, median 0.99
random code points U+4E00–U+9FFF, 300 chars    200         0.09 – 0.20
random rare characters (outside the 3,000)     200         0.00
=============================================  ==========  =============

so the threshold 0.6 sits far from both (no CMRC context flagged, every scrambled one flagged). Junk characters are 0 in real text and, without a
ToUnicode map, most of a page (pdfium returns the glyph ids as control and ASCII characters).

>>> page_problem("第一章 总则。本办法适用于上海市行政区域内的数据处理活动。") is None
True
>>> page_problem("  \\n "), page_problem("\\x01\\x02\\x03\\x04abc")
('no text layer', 'garbled')
"""

from __future__ import annotations

import functools
import re
from importlib import resources

#: Junk characters above this share of the non-space characters make a page garbled.
MAX_JUNK_SHARE = 0.05
#: Below this share of common characters, a mostly-CJK page is garbled.
MIN_COMMON_SHARE = 0.6
#: How many of the most frequent characters count as common.
COMMON_SIZE = 3000
#: A page needs at least this many ideographs before the common-character test is trusted.
MIN_CJK_CHARS = 20

_CID = re.compile(r"\(cid:\d+\)")


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x3134F or 0xF900 <= o <= 0xFAFF


def _is_junk(ch: str) -> bool:
    o = ord(ch)
    if o < 32:
        return ch not in "\t\n\r\f\v"
    return (0x7F <= o < 0xA0 or 0xE000 <= o <= 0xF8FF or 0xF0000 <= o or o == 0xFFFD)


@functools.lru_cache(maxsize=1)
def common_chars() -> frozenset[str]:
    """The :data:`COMMON_SIZE` most frequent Chinese characters, by jieba's word frequencies.

    Returns:
        The characters (read once from the dictionary bundled with jieba).
    """
    weight: dict[str, int] = {}
    text = (resources.files("jieba") / "dict.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        parts = line.split(" ")
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        freq = int(parts[1])
        for ch in parts[0]:
            if _is_cjk(ch):
                weight[ch] = weight.get(ch, 0) + freq
    ranked = sorted(weight, key=lambda c: -weight[c])
    return frozenset(ranked[:COMMON_SIZE])


def common_share(text: str) -> float | None:
    """The share of the ideographs of ``text`` that are common Chinese characters.

    Args:
        text: any text.

    Returns:
        The share, or None when the text holds no ideograph.
    """
    cjk = [ch for ch in text if _is_cjk(ch)]
    if not cjk:
        return None
    common = common_chars()
    return sum(1 for ch in cjk if ch in common) / len(cjk)


def page_problem(text: str) -> str | None:
    """What makes a page's extracted text unusable, if anything.

    Args:
        text: the page's text as extracted.

    Returns:
        None (fine), ``"no text layer"`` (nothing but whitespace) or ``"garbled"``.
    """
    body = "".join(text.split())
    if not body:
        return "no text layer"
    cids = _CID.findall(body)
    junk = sum(1 for ch in body if _is_junk(ch)) + sum(len(c) for c in cids)
    if junk / len(body) > MAX_JUNK_SHARE:
        return "garbled"
    cjk = [ch for ch in body if _is_cjk(ch)]
    if len(cjk) >= MIN_CJK_CHARS and len(cjk) > len(body) / 2:
        common = common_chars()
        if sum(1 for ch in cjk if ch in common) / len(cjk) < MIN_COMMON_SHARE:
            return "garbled"
    return None


__all__ = ["COMMON_SIZE", "MAX_JUNK_SHARE", "MIN_CJK_CHARS", "MIN_COMMON_SHARE", "common_chars",
           "common_share", "page_problem"]
