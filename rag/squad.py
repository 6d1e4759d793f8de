"""Reading SQuAD-v1-format reading-comprehension files (CMRC 2018, DRCD, XQuAD).

A file is ``{"data": [{"title", "paragraphs": [{"context", "qas": [{"id",
"question", "answers": [{"text", "answer_start"}]}]}]}]}``. Every paragraph
becomes one :class:`~rag.types.Document` (id ``"<set>/<paragraph id>"``); a
question's gold document is the paragraph it was written on. The public sets
live outside the repository, in ``<repo>/../shared/bench/`` (see its README);
:func:`resolve` also accepts the short names ``cmrc``, ``drcd`` and ``xquad``.

>>> data = {"data": [{"title": "t", "paragraphs": [{"context": "北京是中国的首都。",
...         "qas": [{"id": "q1", "question": "中国的首都是哪里?", "answers": [{"text": "北京", "answer_start": 0}]}]}]}]}
>>> s = parse_squad(data, name="toy")
>>> s.paragraphs[0].doc, s.questions[0].answers, s.questions[0].doc
('toy/0-0', ('北京',), 'toy/0-0')
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.types import Document

#: Short names for the public sets under the bench data directory.
KNOWN_SETS = {
    "cmrc": "cmrc2018/cmrc2018_dev.json",
    "drcd": "drcd/DRCD_dev.json",
    "xquad": "xquad_zh/xquad.zh.json",
}

_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def default_data_dir() -> Path:
    """Where the public benchmark sets are: ``$RAG_BENCH_DATA``, else ``<repo>/../shared/bench``.

    Returns:
        The directory (it may not exist; callers report that).
    """
    env = os.environ.get("RAG_BENCH_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parent.parent
    return (repo.parent / "shared" / "bench").resolve()


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
