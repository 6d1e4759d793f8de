"""jieba's dictionary as a file read by memory map, so a process that cuts a few sentences does not
first load 350,000 words.

jieba builds, on first use in each process, a Python dict of every word and every prefix of a word
(``Tokenizer.FREQ``, about 580,000 keys, one to two seconds from its marshal cache), and
``jieba.posseg`` parses its dictionary again into a word → part-of-speech dict (``word_tag_tab``, about
a second more). A question needs a few hundred lookups in them. :class:`WordTable` answers the same
lookups (``in``, ``[]``, ``get``, ``len``) from one file: an open-addressing hash table of CRC-32
slots over the UTF-8 keys, with each key's frequency and tag; opening it maps the file and reads a
header. Each looked-up key is remembered, so a long-running server pays for a word once.

:func:`install` puts the table in place of both dicts in jieba's default tokenizer and in
``jieba.posseg``'s. Cuts are the same, word for word and tag for tag: the table is made from the
same ``dict.txt`` by jieba's own rules (the last of duplicate lines wins, every prefix of a word is
a key with frequency 0, the total counts every line), and the tests compare both on the whole
dictionary and on real text. The file lives in the cache (``<cache>/jieba/words-<sha256 of
dict.txt, 12 digits>.bin``), made once, atomically, in a few seconds.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "dict.txt").write_text("人工 50 n\\n人工智能 80 n\\n智能 60 n\\n人工 70 vn\\n", encoding="utf-8")
>>> t = WordTable.build(d / "dict.txt", d / "words.bin")
>>> t["人工"], t.tag("人工"), t["人工智"], "人工智" in t, "智慧" in t, t.get("智慧", -1), len(t), t.total
(70, 'vn', 0, True, False, -1, 6, 260)
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
import os
import struct
import tempfile
import threading
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAGIC = b"RAGWORDS"
#: Bump when the file layout changes; a file of another version is made again.
VERSION = 1
_HEADER = struct.Struct("<8sIIIQI")     # magic, version, keys, slots, total, length of the JSON meta
_EMPTY = 0xFFFFFFFF
_NO_TAG = 0xFF
#: Keys remembered (hits and misses) before the memo starts again: about 100 MB at most.
_MEMO_LIMIT = 1_000_000


def _read_dictionary(path: Path) -> tuple[dict[str, int], dict[str, str], int]:
    """jieba's ``gen_pfdict`` and ``load_word_tag`` over one file, with their rules."""
    freq: dict[str, int] = {}
    tags: dict[str, str] = {}
    total = 0
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.strip().decode("utf-8")
            if not line:
                continue
            parts = line.split(" ")
            try:
                word, count = parts[0], int(parts[1])
            except (IndexError, ValueError):
                raise ValueError(f"invalid dictionary entry in {path} at line {lineno}: {line}") from None
            freq[word] = count
            total += count
            for i in range(len(word)):
                freq.setdefault(word[:i + 1], 0)
            if len(parts) == 3:
                tags[word] = parts[2]
    return freq, tags, total


class WordTable(Mapping[str, int]):
    """Word (or word prefix) → frequency, and word → part-of-speech tag, from a memory-mapped file.

    Safe to share between threads: the file is read-only and the memo only grows.
    """

    def __init__(self, path: Path | str) -> None:
        """Open a table file (:meth:`build` makes one).

        Raises:
            ValueError: the file is not a table of this version.
        """
        self.path = Path(path)
        with open(self.path, "rb") as fh:
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        magic, version, keys, slots, total, meta_len = _HEADER.unpack_from(self._map, 0)
        if magic != MAGIC or version != VERSION:
            raise ValueError(f"{self.path}: not a word table of version {VERSION}")
        at = _HEADER.size
        self.meta: dict[str, Any] = json.loads(bytes(self._map[at:at + meta_len]).decode("utf-8"))
        at += meta_len
        at += -at % 4
        view = memoryview(self._map)
        self._slots = view[at:at + 4 * slots].cast("I")
        at += 4 * slots
        self._offsets = view[at:at + 4 * (keys + 1)].cast("I")
        at += 4 * (keys + 1)
        self._freqs = view[at:at + 4 * keys].cast("I")
        at += 4 * keys
        self._tags = view[at:at + keys]
        at += keys
        self._blob = view[at:]
        self._len, self._mask, self.total = keys, slots - 1, total
        self._tag_names: list[str] = list(self.meta["tags"])
        self._memo: dict[str, int] = {}     # key → row, or -1 for a miss

    @classmethod
    def build(cls, dictionary: Path | str, dest: Path | str) -> "WordTable":
        """Make a table file from a jieba ``dict.txt`` (written under a temporary name, then renamed).

        Args:
            dictionary: the dictionary (``word freq [tag]`` per line).
            dest: the file to write.

        Returns:
            The opened table.
        """
        dictionary = Path(dictionary)
        freq, tags, total = _read_dictionary(dictionary)
        return cls.write(dest, freq, tags, total, dictionary.name)

    @classmethod
    def write(cls, dest: Path | str, freq: Mapping[str, int], tags: Mapping[str, str], total: int,
              source: str) -> "WordTable":
        """Make a table file of any string → unsigned 32-bit value map (with optional tags).

        Args:
            dest: the file to write (under a temporary name, then renamed).
            freq: the keys and their values.
            tags: a tag for some of the keys.
            total: a number kept in the header (:attr:`total`).
            source: where the keys came from, for the file's metadata.

        Returns:
            The opened table.
        """
        dest = Path(dest)
        keys = sorted(freq)
        encoded = [k.encode("utf-8") for k in keys]
        slots = 1 << max(4, (2 * len(keys) - 1).bit_length())     # load factor at most 1/2
        table = [_EMPTY] * slots
        mask = slots - 1
        for row, key in enumerate(encoded):
            h = zlib.crc32(key) & mask
            while table[h] != _EMPTY:
                h = (h + 1) & mask
            table[h] = row
        tag_names = sorted(set(tags.values()))
        if len(tag_names) >= _NO_TAG:
            raise ValueError(f"{source}: more part-of-speech tags than a table holds")
        tag_of = {t: i for i, t in enumerate(tag_names)}
        offsets, at = [], 0
        for key in encoded:
            offsets.append(at)
            at += len(key)
        offsets.append(at)
        meta = json.dumps({"tags": tag_names, "source": source}).encode("utf-8")
        import array

        parts = [_HEADER.pack(MAGIC, VERSION, len(keys), slots, total, len(meta)), meta,
                 b"\0" * (-(_HEADER.size + len(meta)) % 4),
                 array.array("I", table).tobytes(), array.array("I", offsets).tobytes(),
                 array.array("I", [freq[k] for k in keys]).tobytes(),
                 bytes(tag_of[tags[k]] if k in tags else _NO_TAG for k in keys), b"".join(encoded)]
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                for part in parts:
                    fh.write(part)
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return cls(dest)

    def _row(self, key: str) -> int:
        row = self._memo.get(key)
        if row is not None:
            return row
        raw = key.encode("utf-8")
        h = zlib.crc32(raw) & self._mask
        slots, offsets, blob = self._slots, self._offsets, self._blob
        row = -1
        while True:
            r = slots[h]
            if r == _EMPTY:
                break
            if blob[offsets[r]:offsets[r + 1]] == raw:
                row = r
                break
            h = (h + 1) & self._mask
        if len(self._memo) >= _MEMO_LIMIT:     # indexing a large corpus tries millions of substrings
            self._memo.clear()
        self._memo[key] = row
        return row

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._row(key) >= 0

    def __getitem__(self, key: str) -> int:
        row = self._row(key) if isinstance(key, str) else -1
        if row < 0:
            raise KeyError(key)
        return self._freqs[row]

    def get(self, key: str, default: Any = None) -> Any:    # type: ignore[override]
        """The frequency of ``key``, or ``default`` (jieba calls this in its inner loop)."""
        row = self._row(key) if isinstance(key, str) else -1
        return self._freqs[row] if row >= 0 else default

    def tag(self, word: str, default: str | None = None) -> str | None:
        """The part-of-speech tag the dictionary gives ``word``, or ``default``."""
        row = self._row(word)
        if row < 0 or self._tags[row] == _NO_TAG:
            return default
        return self._tag_names[self._tags[row]]

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[str]:
        for r in range(self._len):
            yield bytes(self._blob[self._offsets[r]:self._offsets[r + 1]]).decode("utf-8")


class TagView(Mapping[str, str]):
    """The tags of a :class:`WordTable` as the ``word_tag_tab`` dict ``jieba.posseg`` reads."""

    def __init__(self, table: WordTable) -> None:
        self.table = table

    def get(self, word: str, default: Any = None) -> Any:   # type: ignore[override]
        """The tag of ``word``, or ``default`` (posseg's only use)."""
        return self.table.tag(word, default)

    def __getitem__(self, word: str) -> str:
        tag = self.table.tag(word)
        if tag is None:
            raise KeyError(word)
        return tag

    def __iter__(self) -> Iterator[str]:
        return (w for w in self.table if self.table.tag(w) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def update(self, other: Mapping[str, str]) -> None:
        """jieba's user dictionary would add tags here; the library never loads one."""
        if other:
            raise NotImplementedError("a word table is read-only: user dictionaries are not supported")


def file_sha256(path: Path) -> str:
    """The sha256 of a file, in hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def table_for(dictionary: Path, cache_dir: Path) -> WordTable:
    """The table of a dictionary file, made first if the cache has none (or a broken one).

    Args:
        dictionary: jieba's ``dict.txt``.
        cache_dir: the cache root.

    Returns:
        The opened table.
    """
    dest = cache_dir / "jieba" / f"words-{file_sha256(dictionary)[:12]}.bin"
    try:
        return WordTable(dest)
    except (OSError, ValueError, struct.error):
        pass
    log.info("indexing jieba's dictionary into %s, once", dest)
    return WordTable.build(dictionary, dest)


_installed: WordTable | None = None
_lock = threading.Lock()


def install(cache_dir: Path) -> WordTable | None:
    """Make jieba's default tokenizer and ``jieba.posseg`` read the table of jieba's own dictionary.

    Call before anything else in the process uses jieba (it replaces ``jieba.initialize``); later
    calls return the installed table.

    Args:
        cache_dir: the cache root, where the table file is kept.

    Returns:
        The table, or None when jieba had loaded its own dicts already (they give the same cuts).
    """
    global _installed
    with _lock:
        if _installed is not None:
            return _installed
        import io

        import jieba

        from importlib import resources

        dt = jieba.dt
        if dt.initialized or dt.dictionary != jieba.DEFAULT_DICT:
            return None             # jieba's own dicts are loaded already, or another dictionary is in use
        with resources.as_file(resources.files("jieba") / jieba.DEFAULT_DICT_NAME) as dictionary:
            table = table_for(Path(dictionary), cache_dir)
        with dt.lock:
            dt.FREQ, dt.total, dt.initialized = table, table.total, True
        # jieba.posseg parses the dictionary when it is imported; give it nothing to parse, then the table.
        dt.get_dict_file = lambda: io.BytesIO(b"")      # type: ignore[method-assign]
        try:
            import jieba.posseg as pseg
        finally:
            del dt.get_dict_file
        pseg.dt.word_tag_tab = TagView(table)
        _installed = table
        return table


__all__ = ["TagView", "WordTable", "install", "table_for"]
