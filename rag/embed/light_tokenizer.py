"""The model's tokenizer without loading its 250,002 pieces: the same ids and offsets for a few texts.

Loading the default model's ``tokenizer.json`` takes about two seconds on the laptop this project
targets, whatever else the machine does: ``tokenizers`` builds a trie of every piece of the
Unigram vocabulary. A one-shot ``rag ask`` tokenises one question and a few passages, and spent more
time loading the tokenizer than doing everything else.

A Unigram tokenizer can only use pieces that occur in the text it cuts. So for a handful of texts
:class:`SharedTokenizer` builds a tokenizer whose vocabulary is just those pieces (found in a
memory-mapped table of all pieces and their prefixes, :class:`~rag.text.wordtable.WordTable`, with
their scores), plus ``▁``, the special tokens and the lowest-scoring piece (which sets the penalty
of an unknown character). Everything else is the real ``tokenizer.json``: the normaliser, the
pre-tokeniser, the added tokens and the post-processor, loaded from a copy with the vocabulary cut
out (20 ms). The best path through pieces that occur is the best path through all pieces, so the
tokens, offsets and windows are the full tokenizer's; only the ids are the small vocabulary's, and
are mapped back (``to_ids``). Text that holds an added token's content (``<s>``, ``<mask>``), and
large batches (indexing), use the full tokenizer, loaded once when first needed; so does everything
after 200,000 characters, when a server has answered enough for two seconds to pay.

The light files live beside the ONNX exports (``<model>-onnx/tokenizer-light/``), made once from
``tokenizer.json`` (a few seconds) and made again when that file changes.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.text.wordtable import WordTable

if TYPE_CHECKING:
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

#: Bump when the light files change; files of another version are made again.
VERSION = 1
#: Characters of one call above which the full tokenizer is loaded and used.
LIGHT_CALL_CHARS = 20_000
#: Characters tokenised light, over the process's life, after which the full tokenizer is loaded.
LIGHT_TOTAL_CHARS = 200_000
META = "\u2581"     # "▁", the word-start marker, always in the small vocabulary (the reader masks it)

IdMap = Callable[[Sequence[int]], list[int]]


def _identity(ids: Sequence[int]) -> list[int]:
    return list(ids)


def light_dir(tokenizer_json: Path) -> Path:
    """Where the light files of a model's ``tokenizer.json`` are kept (beside its ONNX exports)."""
    model = tokenizer_json.parent
    return model.with_name(model.name + "-onnx") / "tokenizer-light"


def _source_stamp(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def build_light(tokenizer_json: Path, folder: Path) -> None:
    """Write the light files of a ``tokenizer.json``: the pieces table, their scores, the copy without
    vocabulary and the record (written last: a folder without it is incomplete).

    Args:
        tokenizer_json: the full tokenizer file (a Unigram model).
        folder: where to write.

    Raises:
        ValueError: the tokenizer is not a Unigram one.
    """
    spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    model = spec.get("model") or {}
    if model.get("type") != "Unigram" or model.get("byte_fallback"):
        raise ValueError(f"{tokenizer_json}: not a Unigram tokenizer without byte fallback")
    vocab = [(str(p), float(s)) for p, s in model["vocab"]]
    unk_id = int(model["unk_id"])
    keys: dict[str, int] = {}
    for i, (piece, _) in enumerate(vocab):
        for j in range(1, len(piece)):
            keys.setdefault(piece[:j], 0)       # prefixes: a lookup stops at the first miss
        keys[piece] = i + 1
    folder.mkdir(parents=True, exist_ok=True)
    # Every file is written under a temporary name and renamed, and the record last: two processes
    # making the files at once each leave whole files, and a reader trusts only a current record.
    WordTable.write(folder / "pieces.bin", keys, {}, len(vocab), tokenizer_json.name)
    scores = np.array([s for _, s in vocab], dtype=np.float64)
    _replace(folder / "scores.npy", lambda fh: np.save(fh, scores))
    light = dict(spec)
    specials = sorted({unk_id, *(t["id"] for t in spec.get("added_tokens", []) if t["id"] < len(vocab))})
    light["model"] = {**model, "vocab": [list(vocab[i]) for i in specials]}
    _replace(folder / "light.json", lambda fh: fh.write(json.dumps(light, ensure_ascii=False).encode("utf-8")))
    record = {"version": VERSION, "source": _source_stamp(tokenizer_json), "unk_id": unk_id,
              "specials": specials, "min_id": int(scores.argmin()), "min_piece": vocab[int(scores.argmin())][0],
              "max_piece": max(len(p) for p, _ in vocab),
              "added": sorted(t["content"] for t in spec.get("added_tokens", []))}
    _replace(folder / "record.json", lambda fh: fh.write(json.dumps(record).encode("utf-8")))


def _replace(dest: Path, write: Callable[[Any], Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)


class SharedTokenizer:
    """The model's tokenizer for the ONNX runtimes, light for a few texts and full for many.

    ``for_texts(texts)`` gives a ``tokenizers.Tokenizer`` that cuts those texts exactly as the full
    one does, and the map from its ids to the model's. It never changes a tokenizer's settings, so
    one object serves every thread.
    """

    def __init__(self, tokenizer_json: Path | str) -> None:
        """Remember the file; load nothing yet."""
        self.path = Path(tokenizer_json)
        self._full: Tokenizer | None = None
        self._light: tuple[str, WordTable, np.ndarray, dict[str, Any]] | None = None
        self._local = threading.local()
        self._lock = threading.Lock()
        self._light_chars = 0

    @property
    def full(self) -> "Tokenizer":
        """The whole tokenizer (loaded on first use, about two seconds)."""
        if self._full is None:
            with self._lock:
                if self._full is None:
                    from rag.embed.onnx_export import load_tokenizer

                    self._full = load_tokenizer(str(self.path))
        return self._full

    def _light_files(self) -> tuple[str, WordTable, np.ndarray, dict[str, Any]] | None:
        if self._light is None:
            with self._lock:
                if self._light is None:
                    self._light = self._open_light()
        return self._light or None

    def _open_light(self) -> Any:
        folder = light_dir(self.path)
        try:
            record = json.loads((folder / "record.json").read_text(encoding="utf-8"))
            current = record.get("version") == VERSION and record.get("source") == _source_stamp(self.path)
        except (OSError, ValueError):
            current = False
        try:
            if not current:
                log.info("making the light tokenizer files in %s, once", folder)
                build_light(self.path, folder)
                record = json.loads((folder / "record.json").read_text(encoding="utf-8"))
            spec = (folder / "light.json").read_text(encoding="utf-8")
            kept = json.loads(spec)["model"]["vocab"]       # the specials' own (piece, score), parsed once
            record["special_pieces"] = {i: (p, s) for i, (p, s) in zip(record["specials"], kept)}
            return spec, WordTable(folder / "pieces.bin"), np.load(folder / "scores.npy", mmap_mode="r"), record
        except (OSError, ValueError) as e:      # unwritable cache, foreign tokenizer: the full one works
            log.warning("no light tokenizer (%s): loading the full one", e)
            return False

    def for_texts(self, texts: Sequence[str]) -> tuple["Tokenizer", IdMap]:
        """A tokenizer for these texts and the map from its ids to the model's.

        Args:
            texts: every text the caller will encode with it (pairs: both sides).

        Returns:
            ``(tokenizer, to_ids)``: encode with the tokenizer as with the full one (no truncation or
            padding is set), then ``to_ids(encoding.ids)``.
        """
        chars = sum(len(t) for t in texts)
        if self._full is not None or chars > LIGHT_CALL_CHARS or self._light_chars > LIGHT_TOTAL_CHARS:
            return self.full, _identity
        light = self._light_files()
        if light is None:
            return self.full, _identity
        spec, table, scores, record = light
        if any(a in t for a in record["added"] for t in texts):
            return self.full, _identity
        tok = getattr(self._local, "tok", None)
        if tok is None:
            from tokenizers import Tokenizer

            tok = self._local.tok = Tokenizer.from_str(spec)
        pieces: dict[str, int] = {}
        max_piece = int(record["max_piece"])
        for text in texts:
            normal = tok.normalizer.normalize_str(text) if tok.normalizer is not None else text
            splits = tok.pre_tokenizer.pre_tokenize_str(normal) if tok.pre_tokenizer is not None else [(normal, None)]
            for word, _ in splits:
                for i in range(len(word)):
                    for j in range(i + 1, min(len(word), i + max_piece) + 1):
                        v = table.get(word[i:j])
                        if v is None:
                            break
                        if v:
                            pieces[word[i:j]] = v - 1
        ids = list(record["specials"])
        v = table.get(META)
        extra = {META: v - 1} if v else {}
        extra[record["min_piece"]] = int(record["min_id"])     # the lowest score sets the unknown penalty
        for piece, row in extra.items():
            pieces.setdefault(piece, row)
        special = record["special_pieces"]
        seen = set(ids)
        vocab = [special[i] for i in ids]
        for piece, row in pieces.items():
            if row not in seen:
                seen.add(row)
                ids.append(row)
                vocab.append((piece, float(scores[row])))
        from tokenizers import models

        # This thread's own copy gets the model of this call.
        tok.model = models.Unigram(vocab, ids.index(int(record["unk_id"])), False)
        self._light_chars += chars
        real = ids

        def to_ids(small_ids: Sequence[int]) -> list[int]:
            # The post-processor's <s> and </s> are specials, placed first, so they map to themselves.
            return [real[i] for i in small_ids]

        return tok, to_ids


@functools.lru_cache(maxsize=None)
def shared_tokenizer(path: str) -> SharedTokenizer:
    """The :class:`SharedTokenizer` of a ``tokenizer.json``, one per process (the encoder's and the reader's)."""
    return SharedTokenizer(path)


__all__ = ["LIGHT_CALL_CHARS", "LIGHT_TOTAL_CHARS", "SharedTokenizer", "build_light", "light_dir",
           "shared_tokenizer"]
