"""``rag serve``: the chat page and a JSON API in one local web server.

One process loads the model and the index once (building the index first
if it is missing or stale) and serves:

* ``/``            the Gradio chat (see :mod:`ui.app`);
* ``POST /api/ask`` ``{"question": str, "history"?: [str], "top_k"?: int}``
  → exactly :meth:`rag.types.Answer.to_json`;
* ``GET /api/health`` → ``{"status": "ok", "chunks": n, "documents": n, "model": ...}``.

Errors are JSON ``{"error": "..."}`` with a 4xx status: 400 for a body that
is not JSON or an empty / over-long question, 422 for a missing or mistyped
field. Everything is offline; the server binds 127.0.0.1 unless told
otherwise. Gradio, FastAPI and uvicorn are imported lazily so that
``import rag.cli.main`` stays cheap.

Example::

    rag serve --port 7860
    curl -s localhost:7860/api/ask -H 'content-type: application/json' \\
         -d '{"question": "谁是百度首席技术官?"}'
"""

# No ``from __future__ import annotations``: FastAPI must see the real ``Request`` class
# in the signature of the handlers defined inside create_app().

import argparse
import json
import logging
import os
import socket
import sys
import threading
import time
from typing import Any, TextIO

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
#: Upper bound for ``top_k`` in API requests.
MAX_TOP_K = 50
#: Questions answered at the same time by the API (the model runs on the CPU).
DEFAULT_WORKERS = 2


class RequestError(ValueError):
    """A request the API refuses, with its HTTP status."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


def parse_ask_request(raw: bytes) -> tuple[str, list[str], int | None]:
    """Validate the body of ``POST /api/ask``.

    Args:
        raw: the request body.

    Returns:
        ``(question, history, top_k)``; the question is not yet checked for emptiness.

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
    top_k = body.get("top_k")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int)
                              or not 1 <= top_k <= MAX_TOP_K):
        raise RequestError(f'"top_k" 应为 1–{MAX_TOP_K} 的整数 / "top_k" must be an integer in 1..{MAX_TOP_K}')
    return question, history, top_k


def health(qa: Any) -> dict[str, Any]:
    """The body of ``GET /api/health``.

    Args:
        qa: the question-answering system (index loaded).

    Returns:
        Status, number of chunks and documents, and the model name.
    """
    index = qa.index
    return {"status": "ok", "chunks": len(index.chunks), "documents": len(index.manifest.documents),
            "model": index.manifest.model}


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


def create_app(qa: Any, ui: bool = True, workers: int = DEFAULT_WORKERS) -> Any:
    """The web application: JSON API, plus the chat page at ``/``.

    The index is loaded (built if needed) and the model is loaded and run once
    (:func:`warm_up`) here, so that the first request is as fast as the others.

    Args:
        qa: a :class:`~rag.pipeline.QASystem`.
        ui: mount the Gradio chat at ``/``.
        workers: API questions answered concurrently (more wait their turn).

    Returns:
        A FastAPI app, ready for uvicorn or ``fastapi.testclient.TestClient``.
    """
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import anyio
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    from rag.query.question import QuestionError

    qa.ensure_index()
    warm_up(qa)
    limiter = anyio.CapacityLimiter(max(1, workers))
    app = FastAPI(title="rag-zh", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")

    @app.post("/api/ask")
    async def api_ask(request: Request) -> Any:
        """Answer one question; the body is ``{"question", "history"?, "top_k"?}``."""
        try:
            question, history, top_k = parse_ask_request(await request.body())
        except RequestError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)

        def run() -> dict[str, Any]:
            return qa.ask(question, top_k=top_k, history=history).to_json()

        try:
            return await anyio.to_thread.run_sync(run, limiter=limiter)
        except QuestionError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except Exception:  # noqa: BLE001 - one line to the client, the trace to the log
            log.exception("answering %r failed", question)
            return JSONResponse({"error": "internal error"}, status_code=500)

    @app.get("/api/health")
    def api_health() -> dict[str, Any]:
        """Liveness and what is loaded."""
        return health(qa)

    if ui:
        from ui.app import mount_ui

        mount_ui(app, qa, path="/")
    return app


def bind(host: str, port: int) -> socket.socket:
    """Open the listening socket (so a busy port is reported before anything is printed).

    Args:
        host: address to bind.
        port: port (0: any free port).

    Returns:
        The bound socket.

    Raises:
        OSError: the address cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP (not 0): asyncio only sets TCP_NODELAY on such sockets, and
    # without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """The http URL a bound socket serves.

    Args:
        sock: a bound socket.

    Returns:
        e.g. ``http://127.0.0.1:7860/``.
    """
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


class BackgroundServer:
    """A uvicorn server in a daemon thread (tests, load tests).

    Example::

        with BackgroundServer(create_app(qa)) as srv:
            httpx.get(srv.url + "api/health")
    """

    def __init__(self, app: Any, host: str = DEFAULT_HOST, port: int = 0):
        import uvicorn

        self.sock = bind(host, port)
        self.url = url_of(self.sock)
        config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name="rag-serve", daemon=True)

    def start(self, timeout: float = 30.0) -> "BackgroundServer":
        """Start serving and wait until requests are accepted.

        Args:
            timeout: seconds to wait.

        Returns:
            self.

        Raises:
            RuntimeError: the server did not start in time.
        """
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def add_parser(subparsers: Any) -> None:
    """Register ``rag serve``.

    Args:
        subparsers: the ``add_subparsers()`` object of the ``rag`` parser.
    """
    from rag.cli.main import _common

    p = subparsers.add_parser("serve", help="web chat + JSON API on 127.0.0.1",
                              description="网页问答与 JSON API / web chat and JSON API (offline)")
    _common(p)
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default: {DEFAULT_HOST})")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0: any free)")
    p.add_argument("--top-k", type=int, default=None, help="default number of passages to cite")
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                   help=f"API questions answered at once (default: {DEFAULT_WORKERS})")
    p.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    """Load everything, then serve until interrupted.

    Args:
        args: parsed arguments (host, port, corpus, index, model, top_k, workers).
        out: where the URL is printed.

    Returns:
        The exit status.

    Raises:
        UsageError: bad port or address in use.
    """
    from rag.cli.main import make_system
    from rag.errors import UsageError

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be in 0..65535, not {args.port}")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s: anyone who can reach this address can use the service", args.host)
    try:
        qa = make_system(args)
        print("正在加载模型和索引 / loading model and index …", file=sys.stderr, flush=True)
        report = qa.ensure_index(show_progress=sys.stderr.isatty())
        if report is not None:
            print(f"索引已更新 / index built: {report.chunks} chunks", file=sys.stderr, flush=True)
        app = create_app(qa, workers=args.workers)
        import uvicorn

        server = uvicorn.Server(uvicorn.Config(app, log_level="info" if args.verbose else "warning",
                                               timeout_graceful_shutdown=3))
        print(f"正在服务 / serving at {url_of(sock)}  (Ctrl+C 停止 / to stop)", file=out, flush=True)
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0
