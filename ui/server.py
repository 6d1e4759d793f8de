"""``rag serve``: the chat page and a JSON API in one local web server.

One process loads the model and the index once (building the index first
if it is missing or stale) and serves:

* ``/``            the Gradio chat (see :mod:`ui.app`);
* ``POST /api/ask`` ``{"question": str, "history"?: [str], "top_k"?: int, "mode"?: "hybrid"|"dense"|"bm25",
  "kb"?: str}`` → exactly :meth:`rag.types.Answer.to_json`;
* ``GET /api/health`` → ``{"status": "ok", "chunks": n, "documents": n, "model": ..., "knowledge_bases": [...]}``;
* ``GET /api/kbs`` → the knowledge bases (``kb``: ``rag serve --kb`` names the default one);
* ``/api/documents`` (upload, list, delete, text, page images) and the viewer ``/view/{doc}``:
  see :mod:`ui.documents`.

Errors are JSON ``{"error": "..."}`` with a 4xx status: 400 for a body that
is not JSON or an empty / over-long question, 422 for a missing or mistyped
field, 404 for an unknown knowledge base. Everything is offline; the server binds 127.0.0.1 unless told
otherwise. Gradio, FastAPI and uvicorn are imported lazily so that
``import rag.cli.commands`` stays cheap.

Example::

    rag serve --port 7860
    curl -s localhost:7860/api/ask -H 'content-type: application/json' \\
         -d '{"question": "谁是百度首席技术官?"}'
"""

# No ``from __future__ import annotations``: FastAPI must see the real ``Request`` class
# in the signature of the handlers defined inside create_app().

import argparse
import logging
import os
import sys
from typing import Any, TextIO

from ui.api import RequestError, health, parse_ask_request, warm_up
from ui.auth import AccessControl, AccessError, Scope, access_for
from ui.documents import add_document_routes
from ui.gate import Gate
from ui.limits import RateLimiter, slow_client_protocol
from ui.net import DEFAULT_HOST, bind, url_of
from ui.security import SecurityHeaders

log = logging.getLogger(__name__)

DEFAULT_PORT = 7860
#: Questions answered at the same time by the API (the model runs on the CPU).
DEFAULT_WORKERS = 2


def serving_overrides(workers: int, overrides: list[str] | None) -> list[str]:
    """The settings a server runs with: one ONNX Runtime thread per model session when questions are
    answered in parallel (the workers are the parallelism), unless the command line says otherwise.

    Measured with ``scripts/load_test.py`` (20 clients, 200 questions, 2 workers, 2 cores, 2026-12-01):
    one thread each answered 9.96 questions/s (p50 under load 1.96 s) against 6.83 (2.90 s) with the
    default of one thread per core in every session; a lone client waits 175 ms instead of 165.

    The same holds for a question's windows: with several workers they are read one run after another
    (``reader.workers=1``), not side by side.

    >>> serving_overrides(2, ["embed.threads=2"])
    ['embed.threads=1', 'reader.threads=1', 'reader.workers=1', 'embed.threads=2']
    >>> serving_overrides(1, None)
    []
    """
    base = ["embed.threads=1", "reader.threads=1", "reader.workers=1"] if workers > 1 else []
    return base + list(overrides or [])     # later pairs win: the command line's own choice stands


def create_app(qa: Any, ui: bool = True, workers: int = DEFAULT_WORKERS, lib: Any | None = None,
               kbs: Any | None = None, access: Any | None = None) -> Any:
    """The web application: JSON API, plus the chat page at ``/``.

    The index is loaded (built if needed) and the model is loaded and run once
    (:func:`warm_up`) here, so that the first request is as fast as the others.

    Args:
        qa: a :class:`~rag.pipeline.QASystem`.
        ui: mount the Gradio chat at ``/``.
        workers: API questions answered concurrently (more wait their turn).
        lib: the :class:`rag.library.Library` that adds and removes documents (default: one over ``qa``).
        kbs: the :class:`rag.kb.KnowledgeBases` served (default: ``qa``'s and the others found beside
            it); ``qa`` answers requests that name none.
        access: who may use it, an :class:`ui.auth.AccessControl` (None: open, as on loopback);
            the limits come from ``qa.settings.serve`` (:mod:`ui.gate`).

    Returns:
        A FastAPI app, ready for uvicorn or ``fastapi.testclient.TestClient``.
    """
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import anyio
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from starlette.middleware.cors import CORSMiddleware

    from rag.errors import KnowledgeBaseError, QuestionError, RagError
    from rag.kb import KnowledgeBases

    qa.ensure_index()
    warm_up(qa)
    if kbs is None:
        kbs = KnowledgeBases(qa.settings, first=qa, first_library=lib)
    lib = kbs.library(None)
    access = access if access is not None else AccessControl()
    serve = qa.settings.serve
    limiter = anyio.CapacityLimiter(max(1, workers))
    app = FastAPI(title="rag-zh", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    # Middleware added last runs first: headers on every response (refusals too), then the gate,
    # then CORS. CORS off: no origin is allowed. Without a CORSMiddleware of ours, Gradio installs its
    # own, which echoes any Origin (with credentials) as soon as the server is reached by a name other
    # than localhost, i.e. on a team's address: any site could then read the answers with a visitor's cookies.
    app.add_middleware(CORSMiddleware, allow_origins=[], allow_methods=[], allow_headers=[])
    max_upload = int(float(qa.settings.ingest.max_upload_mb) * 1024 * 1024 * 1.05) + 65536   # + multipart framing
    app.add_middleware(Gate, access=access, default_kb=kbs.default,
                       limiter=RateLimiter(serve.rate_per_minute, serve.rate_burst),
                       max_body=serve.max_body_kb * 1024, max_upload=max_upload, body_timeout=serve.body_timeout_s)
    app.add_middleware(SecurityHeaders)

    def principal_of(request: Request) -> Any:
        return getattr(request.state, "principal", None)

    @app.post("/api/ask")
    async def api_ask(request: Request) -> Any:
        """Answer one question; the body is ``{"question", "history"?, "top_k"?, "mode"?, "kb"?}``."""
        try:
            req = parse_ask_request(await request.body(), max_history=serve.max_history)
            principal_of(request).require(Scope.READ, req.kb or kbs.default)
        except RequestError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except AccessError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)

        def run() -> dict[str, Any]:
            system = kbs.system(req.kb)
            return system.ask(req.question, top_k=req.top_k, history=list(req.history), mode=req.mode).to_json()

        try:
            return await anyio.to_thread.run_sync(run, limiter=limiter)
        except QuestionError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except KnowledgeBaseError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        except RagError as exc:     # a knowledge base without documents, a store that does not answer
            return JSONResponse({"error": str(exc)}, status_code=409)
        except Exception:  # noqa: BLE001 - one line to the client, the trace to the log
            log.exception("answering %r failed", req.question)
            return JSONResponse({"error": "internal error"}, status_code=500)

    def visible(principal: Any, described: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [d for d in described if principal.may(Scope.READ, d["name"])]

    @app.get("/api/health")
    def api_health(request: Request) -> dict[str, Any]:
        """Liveness and what is loaded (only ``ok`` for a request without a token, when one is needed)."""
        principal = principal_of(request)
        if principal is None:
            return {"status": "ok"}
        out = health(qa, kbs)
        out["knowledge_bases"] = visible(principal, out["knowledge_bases"])
        return out

    @app.get("/api/kbs")
    def api_kbs(request: Request) -> dict[str, Any]:
        """The knowledge bases a request may name in ``kb`` (those its token allows)."""
        return {"knowledge_bases": visible(principal_of(request), kbs.describe())}

    add_document_routes(app, kbs, qa.settings)

    if ui:
        from ui.app import mount_ui

        mount_ui(app, qa, path="/", lib=lib, kbs=kbs, access=access)
    return app


def add_parser(subparsers: Any) -> None:
    """Register ``rag serve``.

    Args:
        subparsers: the ``add_subparsers()`` object of the ``rag`` parser.
    """
    from rag.cli.commands import add_common_options

    p = subparsers.add_parser("serve", help="web chat + JSON API on 127.0.0.1",
                              description="网页问答与 JSON API / web chat and JSON API (offline)")
    add_common_options(p)
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default: {DEFAULT_HOST})")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0: any free)")
    p.add_argument("--top-k", type=int, default=None, help="default number of passages to cite")
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                   help=f"API questions answered at once (default: {DEFAULT_WORKERS})")
    p.add_argument("--auth-token", default=None,
                   help="a token with every scope, required of every request (default: $RAG_AUTH_TOKEN); "
                        "a non-loopback --host needs this or --auth-file")
    p.add_argument("--auth-file", default=None,
                   help="a token file with scopes and knowledge bases, made by `rag token add` "
                        "(default: $RAG_AUTH_FILE)")
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
    from rag.cli.commands import make_system
    from rag.errors import UsageError

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be in 0..65535, not {args.port}")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    try:
        args.overrides = serving_overrides(args.workers, getattr(args, "overrides", None))
        qa = make_system(args)
        access = access_for(qa.settings, args.host)     # refuses a team address without a token
        if access.required:
            log.info("%d token(s): every request needs one", len(access.entries))
        print("正在加载模型和索引 / loading model and index …", file=sys.stderr, flush=True)
        report = qa.ensure_index(show_progress=sys.stderr.isatty())
        if report is not None:
            print(f"索引已更新 / index built: {report.chunks} chunks", file=sys.stderr, flush=True)
        qa.load_reader()
        app = create_app(qa, workers=args.workers, access=access)
        import uvicorn

        server = uvicorn.Server(uvicorn.Config(app, log_level="info" if args.verbose else "warning",
                                               timeout_graceful_shutdown=3,
                                               http=slow_client_protocol(qa.settings.serve.header_timeout_s)))
        print(f"正在服务 / serving at {url_of(sock)}  (Ctrl+C 停止 / to stop)", file=out, flush=True)
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0
