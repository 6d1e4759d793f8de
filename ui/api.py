"""The JSON API's request and answer shapes: ``POST /api/ask`` validation, ``GET /api/health``.

>>> parse_ask_request(b'{"question": "who?", "mode": "bm25"}').mode
<RetrievalMode.BM25: 'bm25'>
>>> parse_ask_request(b'{"question": "who?", "mode": "fuzzy"}')
Traceback (most recent call last):
...
ui.api.RequestError: "mode": unknown retrieval mode 'fuzzy' (choose from hybrid, dense, bm25)
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.choices import RetrievalMode
from rag.config import MAX_QUESTION_CHARS, check_kb_name
from rag.errors import SettingsError

log = logging.getLogger(__name__)

#: Upper bound for ``top_k`` in API requests.
MAX_TOP_K = 50
#: Earlier questions one request may carry (``serve.max_history`` sets the server's).
MAX_HISTORY = 20


class RequestError(ValueError):
    """A request the API refuses, with its HTTP status."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class AskRequest:
    """A parsed ``POST /api/ask`` body (the question is not yet checked for emptiness)."""

    question: str
    history: tuple[str, ...] = ()
    top_k: int | None = None
    mode: RetrievalMode = RetrievalMode.HYBRID
    kb: str | None = None           # the knowledge base (None: the server's default)


def parse_ask_request(raw: bytes, max_history: int = MAX_HISTORY) -> AskRequest:
    """Validate the body of ``POST /api/ask``.

    Args:
        raw: the request body.
        max_history: earlier questions allowed in ``history``.

    Returns:
        The request.

    Raises:
        RequestError: the body is not a JSON object with the right fields.
    """
    try:
        body = json.loads(raw.decode("utf-8-sig") if raw else "")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RequestError("请求体不是有效的 JSON / request body is not valid JSON", 400) from None
    if not isinstance(body, dict):
        raise RequestError('请求体应为 JSON 对象 / expected a JSON object like {"question": "..."}')
    if "question" not in body:
        raise RequestError('缺少 "question" 字段 / missing field "question"')
    question = body["question"]
    if not isinstance(question, str):
        raise RequestError('"question" 应为字符串 / "question" must be a string')
    history = body.get("history")
    if history is None:
        history = []
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        raise RequestError('"history" 应为字符串列表 / "history" must be a list of strings')
    if len(history) > max_history:
        raise RequestError(f'"history" 最多 {max_history} 条 / "history" may hold at most {max_history} questions')
    if any(len(h) > MAX_QUESTION_CHARS for h in history):
        raise RequestError(f'"history" 中的问题最长 {MAX_QUESTION_CHARS} 字 / a question in "history" is over '
                           f'{MAX_QUESTION_CHARS} characters')
    top_k = body.get("top_k")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int)
                              or not 1 <= top_k <= MAX_TOP_K):
        raise RequestError(f'"top_k" 应为 1–{MAX_TOP_K} 的整数 / "top_k" must be an integer in 1..{MAX_TOP_K}')
    try:
        mode = RetrievalMode.from_str(body.get("mode") or RetrievalMode.HYBRID)
    except SettingsError as exc:
        raise RequestError(f'"mode": {exc}') from None
    return AskRequest(question, tuple(history), top_k, mode, parse_kb(body.get("kb")))


def parse_kb(value: object) -> str | None:
    """A request's knowledge base name, checked (whether it exists is the server's question).

    >>> parse_kb(None), parse_kb("HR")
    (None, 'hr')
    >>> parse_kb(3)
    Traceback (most recent call last):
    ...
    ui.api.RequestError: "kb" 应为知识库名 / "kb" must be a knowledge base name
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RequestError('"kb" 应为知识库名 / "kb" must be a knowledge base name')
    try:
        return check_kb_name(value)
    except SettingsError as exc:
        raise RequestError(f'"kb": {exc}') from None


def health(qa: Any, kbs: Any | None = None) -> dict[str, Any]:
    """The body of ``GET /api/health``.

    Args:
        qa: the question-answering system (index loaded) of the default knowledge base.
        kbs: the server's :class:`rag.kb.KnowledgeBases`: adds ``knowledge_bases``.

    Returns:
        Status, number of chunks and documents, the model name, and the index generation answering
        (a version folder's name, or a Milvus collection: servers sharing a store show when each
        has picked up a rebuild).
    """
    index = qa.index
    generation = getattr(qa, "generation", None)
    out = {"status": "ok", "chunks": len(index.chunks), "documents": len(index.manifest.documents),
           "model": index.manifest.model, "generation": None if generation is None else Path(generation).name,
           "kb": qa.settings.store.kb}
    if kbs is not None:
        out["knowledge_bases"] = kbs.describe()
    return out


def warm_up(qa: Any) -> None:
    """Load the model and run one question through the whole pipeline.

    An up-to-date index is loaded without the model, which would otherwise be
    loaded (seconds) by the first user's question.

    Args:
        qa: the question-answering system.
    """
    t0 = time.perf_counter()
    try:
        qa.ask("人工智能产业规模是多少?")
    except Exception:  # noqa: BLE001 - warming up is an optimisation; a real error shows on the first question
        log.warning("warm-up question failed", exc_info=True)
    log.info("model warmed up in %.1fs", time.perf_counter() - t0)
