"""Reading SQuAD-v1-format reading-comprehension files (CMRC 2018, DRCD, XQuAD).

A file is ``{"data": [{"title", "paragraphs": [{"context", "qas": [{"id",
"question", "answers": [{"text", "answer_start"}]}]}]}]}``. Every paragraph
becomes one :class:`~rag.types.Document` (id ``"<set>/<paragraph id>"``); a
question's gold document is the paragraph it was written on. The public sets
live outside the repository, in ``<repo>/../shared/bench/`` (see its README);
:func:`resolve` also accepts the short names ``cmrc``, ``drcd`` and ``xquad``.

CMRC 2018 dev (``cmrc``) is the test set: nothing is tuned on it. Choices are
made on a fixed slice of CMRC 2018 *train* paragraphs, ``cmrc-select``
(:func:`split_paragraphs`); ``cmrc-train`` is the rest of that file, for
training. :func:`load_named` reads either.

>>> data = {"data": [{"title": "t", "paragraphs": [{"context": "北京是中国的首都。",
...         "qas": [{"id": "q1", "question": "中国的首都是哪里?", "answers": [{"text": "北京", "answer_start": 0}]}]}]}]}
>>> s = parse_squad(data, name="toy")
>>> s.paragraphs[0].doc, s.questions[0].answers, s.questions[0].doc
('toy/0-0', ('北京',), 'toy/0-0')
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.config import PathSettings
from rag.types import Document

#: Short names for the public sets under the bench data directory.
KNOWN_SETS = {
    "cmrc": "cmrc2018/cmrc2018_dev.json",
    "drcd": "drcd/DRCD_dev.json",
    "xquad": "xquad_zh/xquad.zh.json",
    "cmrc-train": "cmrc2018/cmrc2018_train.json",
    "cmrc-select": "cmrc2018/cmrc2018_train.json",
}

#: The share of CMRC 2018 train paragraphs held out as the selection set (``cmrc-select``).
SELECTION_SHARE = 0.05
#: Short names that are one part of a file split by :func:`split_paragraphs`: (part, share).
SPLIT_SETS = {"cmrc-select": ("held_out", SELECTION_SHARE), "cmrc-train": ("rest", SELECTION_SHARE)}

_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def default_data_dir() -> Path:
    """Where the public benchmark sets are by default (``PathSettings.bench_data``: ``<repo>/../shared/bench``).

    Returns:
        The directory (it may not exist; callers report that).
    """
    return PathSettings().bench_data


def resolve(spec: str | Path, data_dir: Path | str | None = None) -> Path:
    """The path of a benchmark file.

    Args:
        spec: a short name (``cmrc``, ``drcd``, ``xquad``), a path, or a path
            relative to the data directory (``drcd/DRCD_dev.json``).
        data_dir: the data directory (default :func:`default_data_dir`).

    Returns:
        The path (existence is checked by the caller's loader).
    """
    base = Path(data_dir) if data_dir else default_data_dir()
    s = str(spec)
    if s in KNOWN_SETS:
        return base / KNOWN_SETS[s]
    p = Path(s)
    if p.exists() or p.is_absolute():
        return p
    return base / p


@dataclass(frozen=True)
class Paragraph:
    """One context paragraph: one document of the benchmark corpus."""

    doc: str           # document id, "<set>/<paragraph id>"
    title: str
    context: str

    def document(self) -> Document:
        """As a corpus document."""
        return Document(doc=self.doc, text=self.context)


@dataclass(frozen=True)
class Question:
    """One question with its gold answers and gold paragraph."""

    qid: str
    question: str
    answers: tuple[str, ...]   # distinct, non-empty, file order
    doc: str                   # the gold paragraph's document id


@dataclass(frozen=True)
class SquadSet:
    """A parsed file."""

    name: str
    paragraphs: tuple[Paragraph, ...]
    questions: tuple[Question, ...]
    sha256: str = ""
    path: str = ""

    def documents(self) -> list[Document]:
        """Every paragraph as a document, in file order."""
        return [p.document() for p in self.paragraphs]

    def paragraph(self, doc: str) -> Paragraph:
        """The paragraph with this document id.

        Args:
            doc: the document id.

        Returns:
            The paragraph.
        """
        return self._by_doc()[doc]

    def _by_doc(self) -> dict[str, Paragraph]:
        cache = self.__dict__.get("_by_doc_cache")
        if cache is None:
            cache = {p.doc: p for p in self.paragraphs}
            object.__setattr__(self, "_by_doc_cache", cache)
        return cache


def _safe(s: str) -> str:
    return _UNSAFE.sub("_", s).strip("_") or "x"


def parse_squad(data: dict[str, Any], name: str = "squad", sha256: str = "", path: str = "") -> SquadSet:
    """Parse decoded SQuAD-v1 JSON.

    Paragraph ids come from the file (``paragraphs[].id``, as in CMRC and DRCD)
    or are ``"<article>-<paragraph>"`` positions (XQuAD has none). Answers that
    are empty after stripping are dropped; questions left without an answer are
    skipped. Answer texts are kept as given (``answer_start`` is not needed:
    scoring is by text, best over the gold answers).

    Args:
        data: the decoded JSON object.
        name: the set's name (prefix of document ids).
        sha256: hash of the file, recorded for cache keys.
        path: where it was read from.

    Returns:
        The set.

    Raises:
        ValueError: not SQuAD-shaped.
    """
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError("not a SQuAD file: no top-level \"data\" list")
    paragraphs: list[Paragraph] = []
    questions: list[Question] = []
    seen_docs: set[str] = set()
    seen_q: set[str] = set()
    for a, article in enumerate(data["data"]):
        title = str(article.get("title", ""))
        for n, para in enumerate(article.get("paragraphs", [])):
            context = para.get("context")
            if not isinstance(context, str) or not context.strip():
                continue
            pid = _safe(str(para["id"])) if para.get("id") not in (None, "") else f"{a}-{n}"
            doc = f"{name}/{pid}"
            k = 1
            while doc in seen_docs:   # duplicate paragraph ids: keep them apart
                k += 1
                doc = f"{name}/{pid}~{k}"
            seen_docs.add(doc)
            paragraphs.append(Paragraph(doc=doc, title=title, context=context))
            for m, qa in enumerate(para.get("qas", [])):
                answers: list[str] = []
                for ans in qa.get("answers", []):
                    text = str(ans.get("text", "")).strip()
                    if text and text not in answers:
                        answers.append(text)
                q = str(qa.get("question", "")).strip()
                if not answers or not q:
                    continue
                qid = str(qa.get("id") or f"{pid}-q{m}")
                while qid in seen_q:
                    qid += "'"
                seen_q.add(qid)
                questions.append(Question(qid=qid, question=q, answers=tuple(answers), doc=doc))
    return SquadSet(name=name, paragraphs=tuple(paragraphs), questions=tuple(questions), sha256=sha256, path=path)


def set_name(path: Path) -> str:
    """A short, file-system-safe name for a benchmark file (its stem).

    Args:
        path: the file.

    Returns:
        E.g. ``cmrc2018_dev``.
    """
    return _safe(path.stem)


def load_squad(path: Path | str, name: str | None = None) -> SquadSet:
    """Read and parse a SQuAD-v1 file.

    Args:
        path: the JSON file.
        name: the set's name (default: the file's stem).

    Returns:
        The set, with the file's SHA-256.

    Raises:
        OSError: the file cannot be read.
        ValueError: not JSON or not SQuAD-shaped.
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a UTF-8 JSON file ({exc})") from None
    return parse_squad(data, name=name or set_name(path), sha256=hashlib.sha256(raw).hexdigest(), path=str(path))


def in_held_out_share(doc: str, share: float) -> bool:
    """Whether a paragraph falls in the held-out share: a stable hash of its id, not its position.

    >>> in_held_out_share("cmrc2018_train/TRAIN_186_QUERY_0", 0.0)
    False

    Args:
        doc: the paragraph's document id.
        share: the held-out share, 0 to 1.

    Returns:
        True for about ``share`` of all ids, the same ones on every machine.
    """
    h = int(hashlib.sha256(doc.encode("utf-8")).hexdigest()[:8], 16)
    return h < share * 0x100000000


def split_paragraphs(sset: SquadSet, share: float = SELECTION_SHARE) -> tuple[SquadSet, SquadSet]:
    """Split a set by paragraph into (rest, held out): no paragraph's questions fall on both sides.

    >>> data = {"data": [{"title": "t", "paragraphs": [{"id": f"p{i}", "context": "北京是首都。",
    ...         "qas": [{"id": f"q{i}", "question": "首都是哪里?", "answers": [{"text": "北京"}]}]}
    ...         for i in range(40)]}]}
    >>> rest, held = split_paragraphs(parse_squad(data, name="toy"), 0.25)
    >>> len(rest.paragraphs) + len(held.paragraphs), {q.doc for q in held.questions} <= {p.doc for p in held.paragraphs}
    (40, True)

    Args:
        sset: the set.
        share: the held-out share of paragraphs.

    Returns:
        The two sets, named ``<name>-rest`` and ``<name>-held_out``.
    """
    held = {p.doc for p in sset.paragraphs if in_held_out_share(p.doc, share)}

    def part(keep: bool, suffix: str) -> SquadSet:
        return SquadSet(name=f"{sset.name}-{suffix}", paragraphs=tuple(p for p in sset.paragraphs if (p.doc in held) == keep),
                        questions=tuple(q for q in sset.questions if (q.doc in held) == keep),
                        sha256=f"{sset.sha256}:{suffix}:{share}", path=sset.path)

    return part(False, "rest"), part(True, "held_out")


def load_named(spec: str | Path, data_dir: Path | str | None = None) -> SquadSet:
    """Read a set by short name or path; ``cmrc-select`` and ``cmrc-train`` are the two parts of
    CMRC 2018 train (:data:`SPLIT_SETS`).

    Args:
        spec: as for :func:`resolve`.
        data_dir: the data directory.

    Returns:
        The set (for a split name, only its part).

    Raises:
        OSError: the file cannot be read.
        ValueError: not JSON or not SQuAD-shaped.
    """
    sset = load_squad(resolve(spec, data_dir))
    if str(spec) in SPLIT_SETS:
        part, share = SPLIT_SETS[str(spec)]
        rest, held = split_paragraphs(sset, share)
        return held if part == "held_out" else rest
    return sset
