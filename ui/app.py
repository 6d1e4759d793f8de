"""The Gradio chat in front of a :class:`~rag.pipeline.QASystem`.

One page: a chat (messages-style ``gr.Chatbot``) on the left, the sources
panel of the latest answer on the right (below it at phone width), example
questions, a clear button and a slider for how many passages to show. Above
the sources, a documents panel (given a :class:`rag.library.Library`): drop or
choose files, watch each file's progress while it is indexed in the background
(a ``gr.Timer`` polls the job once a second, and only while one runs), see the
indexed documents and delete one.

API: the page's own events are all ``api_visibility="private"`` (the browser
still calls them; ``gradio_client`` and ``view_api()`` do not see them). The one
public endpoint is ``/answer`` (``question``, ``history``?, ``top_k``?), which
returns the same JSON as ``POST /api/ask``.

The page is fully offline: the theme uses system fonts only (a
``GoogleFont`` would make the browser call a font service), and
``GRADIO_ANALYTICS_ENABLED`` is switched off before Gradio is imported.

Usage (what :func:`ui.server.create_app` does)::

    app = FastAPI()
    mount_ui(app, qa)          # the chat at "/"
"""

from __future__ import annotations

import json
import logging
import os
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.query.question import QuestionError
from ui.api import RequestError, parse_ask_request
from ui.auth import Scope
from ui.documents import render_library, render_progress
from ui.render import esc, render_error, render_question, render_reply, render_sources

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
CSS_PATH = STATIC / "app.css"
HEAD_PATH = STATIC / "head.html"

#: Questions about the shipped article, shown as buttons.
EXAMPLES = (
    "湖北人工智能产业规模到2025年超过多少?",
    "谁是百度首席技术官?",
    "成都和宁夏每年发放多少算力券?",
    "广东省科技厅厅长是谁?",
)

#: System fonts only, CJK first: nothing is fetched from a font service.
SANS = ("PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC",
        "WenQuanYi Micro Hei", "ui-sans-serif", "system-ui", "sans-serif")
MONO = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "WenQuanYi Micro Hei Mono", "monospace")

PENDING = '<div class="rag-reply rag-pending">正在查找…</div>'
MAX_PASSAGES = 10
#: Seconds between two looks at a running upload job.
POLL_S = 1.0
#: Every event of the page: callable by the page, invisible to gradio_client and view_api().
PRIVATE = {"api_visibility": "private"}

Message = dict[str, Any]


def _gradio() -> Any:
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import gradio as gr

    return gr


class EventGuard:
    """Wraps the page's event functions so that each first checks who sent it.

    Gradio hands a ``gr.Request`` to a parameter annotated with its class; :meth:`wrap` adds one
    (this module's annotations are strings Gradio cannot resolve), finds the principal from the
    request's token or session cookie (:meth:`ui.auth.AccessControl.of_gradio`) and checks it.
    """

    def __init__(self, access: Any, default_kb: str):
        """
        Args:
            access: the server's :class:`ui.auth.AccessControl`.
            default_kb: the knowledge base of an event that names none.
        """
        self.access = access
        self.default_kb = default_kb

    def principal(self, request: Any) -> Any:
        """The principal of a ``gr.Request`` (None: no valid credential)."""
        return self.access.of_gradio(request)

    def refusal(self, request: Any, scope: Any, kb: str | None) -> str | None:
        """Why the event may not run (one line), or None."""
        from ui.auth import AccessError

        principal = self.principal(request)
        if principal is None:
            return "需要重新登录 / sign in again"
        try:
            principal.require(scope, kb or self.default_kb)
        except AccessError as exc:
            return str(exc)
        return None

    def wrap(self, fn: Callable[..., Any], scope: Any, kb_at: int,
             denied: Callable[[str], Any] | None = None) -> Callable[..., Any]:
        """``fn`` checked for ``scope`` on the knowledge base in its argument ``kb_at``.

        Args:
            fn: the event function (a generator function stays one).
            scope: the :class:`ui.auth.Scope` it needs.
            kb_at: the position of the knowledge base among ``fn``'s arguments.
            denied: the outputs for a refusal, from its message (default: ``gr.Error``, a toast).

        Returns:
            The wrapped function.
        """
        gr = _gradio()

        def check(args: tuple[Any, ...], request: Any) -> str | None:
            kb = args[kb_at] if kb_at < len(args) else None
            return self.refusal(request, scope, kb)

        def refuse(message: str) -> Any:
            if denied is None:
                raise gr.Error(message, print_exception=False)
            return denied(message)

        if inspect.isgeneratorfunction(fn):
            def wrapper(*args: Any) -> Iterator[Any]:
                *rest, request = args
                message = check(tuple(rest), request)
                if message is not None:
                    yield refuse(message)
                    return
                yield from fn(*rest)
        else:
            def wrapper(*args: Any) -> Any:  # type: ignore[misc]
                *rest, request = args
                message = check(tuple(rest), request)
                return refuse(message) if message is not None else fn(*rest)

        return _taking_request(wrapper, inspect.signature(fn), getattr(fn, "__name__", "event"))

    def for_principal(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """An event function without inputs that gets the sender's principal: ``fn(principal)``."""
        def wrapper(request: Any = None) -> Any:
            return fn(self.principal(request))

        return _taking_request(wrapper, inspect.Signature(), getattr(fn, "__name__", "event"))


def _taking_request(wrapper: Callable[..., Any], sig: inspect.Signature, name: str) -> Callable[..., Any]:
    """``wrapper`` (whose last argument is the request) shown to Gradio as ``sig`` + a ``gr.Request``."""
    gr = _gradio()
    request = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                annotation=gr.Request)
    wrapper.__signature__ = sig.replace(parameters=[*sig.parameters.values(), request])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {"request": gr.Request}
    wrapper.__name__ = name
    return wrapper


def theme() -> Any:
    """The page's theme: Gradio's default look with system CJK fonts.

    Returns:
        A ``gr.themes.Default``.
    """
    gr = _gradio()
    return gr.themes.Default(primary_hue="indigo", neutral_hue="slate", font=SANS, font_mono=MONO)


class ChatHandlers:
    """The event functions of the page, bound to one :class:`QASystem`.

    State per browser session is the list of chat messages (HTML, as shown)
    and the list of raw questions asked (the ``history`` of follow-ups).
    """

    def __init__(self, qa: Any, default_top_k: int):
        """
        Args:
            qa: a :class:`~rag.pipeline.QASystem`, or the :class:`rag.kb.KnowledgeBases` to choose from.
            default_top_k: passages shown when the slider gives none.
        """
        self.kbs = knowledge_bases(qa)
        self.default_top_k = default_top_k

    @property
    def qa(self) -> Any:
        """The default knowledge base's system."""
        return self.kbs.system(None)

    def ask(self, question: str | None, top_k: float | None, messages: list[Message] | None,
            questions: list[str] | None, kb: str | None = None) -> Iterator[tuple[Any, ...]]:
        """Answer one question: first show it with a "searching" bubble, then the reply.

        Args:
            question: the text typed (or the example clicked).
            top_k: passages to show (slider value).
            messages: the chat so far (this session's state).
            questions: the raw questions asked so far.
            kb: the knowledge base chosen (None: the server's default).

        Yields:
            ``(textbox value, chatbot messages, messages state, questions state, sources HTML)``.
        """
        gr = _gradio()
        messages = list(messages or [])
        questions = list(questions or [])
        q = (question or "").strip()
        if not q:
            yield gr.update(), messages, messages, questions, gr.update()
            return
        k = int(top_k or self.default_top_k)
        shown = messages + [{"role": "user", "content": render_question(q)},
                            {"role": "assistant", "content": PENDING}]
        yield "", shown, messages, questions, gr.update()
        try:
            qa = self.kbs.system(kb)
            ans = qa.ask(q, top_k=k, history=questions[-5:])
        except (QuestionError, RagError) as exc:    # RagError: a knowledge base gone or without documents
            reply, sources = render_error(str(exc)), gr.update()
        except Exception:  # noqa: BLE001 - the page shows a message; the log has the trace
            log.exception("answering %r failed", q)
            reply, sources = render_error("内部错误, 请稍后再试 / internal error"), gr.update()
        else:
            link_kb = None if qa.settings.store.kb == self.kbs.default else qa.settings.store.kb
            reply, sources = render_reply(ans, qa.document_text), render_sources(ans, k, kb=link_kb)
            questions.append(q)
        messages = shown[:-1] + [{"role": "assistant", "content": reply}]
        yield "", messages, messages, questions, sources

    @staticmethod
    def clear() -> tuple[Any, ...]:
        """Empty the chat, the state and the sources panel.

        Returns:
            ``(textbox, chatbot, messages state, questions state, sources HTML)``.
        """
        return "", [], [], [], render_sources(None)


def _header(qa: Any, kb: str | None = None) -> str:
    where = f"知识库 {kb} · " if kb else ""
    return (f'<header class="rag-header"><div class="rag-title">中文文档问答</div>'
            f'<div class="rag-subtitle">答案逐字摘自文档, 并标明出处 · 完全离线 · '
            f'<span class="rag-stats">{esc(where + _stats(qa))}</span></div></header>')


def header_of(kbs: Any, kb: str | None) -> str:
    """The page header for the chosen knowledge base (named only when there is a choice)."""
    name = kb or kbs.default
    try:
        qa = kbs.system(name)
    except RagError:
        qa = None
    return _header(qa, name if len(kbs.names()) > 1 else None)


def _stats(qa: Any) -> str:
    if qa is None:
        return ""
    try:
        index = qa.index
        return (f"{len(index.manifest.documents)} 篇文档 · {len(index.chunks)} 个段落 · "
                f"模型 {qa.settings.embed.model_id}")
    except Exception:  # noqa: BLE001 - the header is cosmetic
        log.exception("reading index statistics failed")
        return ""


class DocumentHandlers:
    """The documents panel's event functions, bound to one :class:`rag.library.Library`.

    The job id of this session's latest upload lives in a ``gr.State``; the timer
    that polls it is switched on by an upload and off when the job is finished.
    """

    def __init__(self, kbs: Any):
        """
        Args:
            kbs: the :class:`rag.kb.KnowledgeBases` whose libraries the panel shows (the chosen one's).
        """
        self.kbs = kbs

    def _docs(self, kb: str | None) -> tuple[str, Any]:
        gr = _gradio()
        docs = self.kbs.library(kb).list()
        link_kb = None if not kb or kb == self.kbs.default else kb
        return render_library(docs, kb=link_kb), gr.update(choices=[d.doc for d in docs], value=None)

    def refresh(self, kb: str | None = None) -> tuple[Any, ...]:
        """The document list, the delete dropdown and the header (page load, job done, delete,
        another knowledge base chosen).

        Args:
            kb: the knowledge base chosen (None: the server's default).

        Returns:
            ``(documents HTML, dropdown update, header HTML)``.
        """
        try:
            return (*self._docs(kb), header_of(self.kbs, kb))
        except RagError as exc:         # a knowledge base with no documents yet, or gone
            gr = _gradio()
            return render_error(str(exc)), gr.update(choices=[], value=None), header_of(self.kbs, kb)

    def upload(self, paths: list[str] | str | None, kb: str | None = None) -> tuple[Any, ...]:
        """Start indexing the files just dropped or chosen.

        Args:
            paths: the files Gradio saved (their base names are the names the user gave).
            kb: the knowledge base they go to.

        Returns:
            ``(file input cleared, progress HTML, job id state, timer, message HTML)``.
        """
        from rag.library import Upload

        gr = _gradio()
        if not paths:
            return gr.update(), gr.update(), gr.update(), gr.update(), ""
        if isinstance(paths, str):
            paths = [paths]
        try:
            uploads = [Upload(name=os.path.basename(str(p)), data=Path(p).read_bytes()) for p in paths]
            lib = self.kbs.library(kb)
            lib.check(uploads)
            job = lib.submit(uploads)
        except RagError as exc:
            return None, gr.update(), gr.update(), gr.Timer(active=False), render_error(str(exc))
        except OSError as exc:
            log.warning("reading an uploaded file failed: %s", exc)
            return None, gr.update(), gr.update(), gr.Timer(active=False), render_error("无法读取上传的文件")
        return None, render_progress(job), job.id, gr.Timer(active=True), ""

    def poll(self, job_id: str | None, kb: str | None = None) -> tuple[Any, ...]:
        """One look at this session's job.

        Args:
            job_id: the job of the latest upload.
            kb: the knowledge base chosen.

        Returns:
            ``(progress HTML, documents HTML, dropdown, header HTML, timer)``; the list, the
            dropdown and the header change only once the job is finished.
        """
        gr = _gradio()
        # a job is found in whichever knowledge base took it (the choice may have changed since)
        job = None
        for name in self.kbs.names() if job_id else ():
            job = self.kbs.library(name).job(job_id) if self._made(name) else None
            if job is not None:
                break
        if job is None:
            return gr.update(), gr.update(), gr.update(), gr.update(), gr.Timer(active=False)
        if not job.finished:
            return render_progress(job), gr.update(), gr.update(), gr.update(), gr.Timer(active=True)
        return (render_progress(job), *self.refresh(kb), gr.Timer(active=False))

    def _made(self, name: str) -> bool:
        return self.kbs.has_library(name)

    def delete(self, doc: str | None, kb: str | None = None) -> tuple[Any, ...]:
        """Remove the chosen document (the index is rebuilt without it).

        Args:
            doc: the document id chosen in the dropdown.
            kb: the knowledge base chosen.

        Returns:
            ``(documents HTML, dropdown, header HTML, message HTML)``.
        """
        gr = _gradio()
        if not doc:
            return gr.update(), gr.update(), gr.update(), render_error("请先选择要删除的文档")
        try:
            info = self.kbs.library(kb).remove(doc)
        except RagError as exc:
            return (*self.refresh(kb), render_error(str(exc)))
        return (*self.refresh(kb), f'<div class="rag-doc-msg">已删除 {esc(info.doc)}</div>')


def knowledge_bases(qa: Any) -> Any:
    """``qa`` itself when it is a :class:`rag.kb.KnowledgeBases`, else the knowledge bases around
    a :class:`~rag.pipeline.QASystem` (it answers for its own)."""
    if hasattr(qa, "library") and hasattr(qa, "names"):
        return qa
    from rag.kb import KnowledgeBases

    return KnowledgeBases(qa.settings, first=qa)


def answer_api(qa: Any, guard: EventGuard | None = None) -> Any:
    """The function behind the public ``/answer`` endpoint (same JSON as ``POST /api/ask``).

    Args:
        qa: the question-answering system, or the :class:`rag.kb.KnowledgeBases` served.
        guard: checks the caller's token for ``read`` on the knowledge base (None: open).

    Returns:
        ``answer(question, history=None, top_k=None, kb=None) -> dict``; a bad request raises
        ``gr.Error`` with the API's one-line message.
    """
    kbs = knowledge_bases(qa)

    def answer(question: str, history: list[str] | None = None, top_k: int | None = None,
               kb: str | None = None, request: Any = None) -> dict[str, Any]:
        """Answer one question from the documents: exactly the JSON of POST /api/ask.

        Args:
            question: the question.
            history: earlier questions of the conversation (follow-ups), oldest first.
            top_k: passages to cite (1-50; default from the settings).
            kb: the knowledge base (default: the server's).
        """
        gr = _gradio()
        body = {"question": question, "history": history, "top_k": top_k, "kb": kb}
        try:
            req = parse_ask_request(json.dumps(body, ensure_ascii=False).encode("utf-8"))
            refusal = None if guard is None else guard.refusal(request, Scope.READ, req.kb)
            if refusal is not None:
                raise gr.Error(refusal, print_exception=False)
            system = kbs.system(req.kb)
            return system.ask(req.question, top_k=req.top_k, history=list(req.history), mode=req.mode).to_json()
        except (RequestError, RagError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    # real classes: Gradio reads them for the API's schema and to hand over the request
    gr = _gradio()
    answer.__annotations__ = {"question": str, "history": list[str] | None, "top_k": int | None,
                              "kb": str | None, "request": gr.Request, "return": dict[str, Any]}
    return answer


def build_demo(qa: Any, lib: Any | None = None, kbs: Any | None = None, access: Any | None = None) -> Any:
    """The Gradio Blocks of the chat page.

    Args:
        qa: a :class:`~rag.pipeline.QASystem` (index loaded or loadable): the default knowledge base.
        lib: a :class:`rag.library.Library` over ``qa``: adds the documents panel.
        kbs: the :class:`rag.kb.KnowledgeBases` to choose from (default: ``qa``'s and those beside it);
            the selector shows when there is more than one.
        access: the server's :class:`ui.auth.AccessControl` (None: open). Every event checks the
            sender's scope and knowledge base; the selector offers only the sender's knowledge bases,
            and the upload and delete controls hide from a token without ``write``.

    Returns:
        A ``gr.Blocks`` (not launched).
    """
    gr = _gradio()
    if kbs is None:
        from rag.kb import KnowledgeBases

        kbs = KnowledgeBases(qa.settings, first=qa, first_library=lib)
    default_k = min(int(qa.settings.retrieval.top_k), MAX_PASSAGES)
    handlers = ChatHandlers(kbs, default_k)
    names = kbs.names()
    if access is None:
        from ui.auth import AccessControl

        access = AccessControl()
    guard = EventGuard(access, kbs.default)

    def own_kbs(principal: Any) -> Any:
        mine = [n for n in kbs.names() if principal is not None and principal.may(Scope.READ, n)]
        value = kbs.default if kbs.default in mine else (mine[0] if mine else None)
        return gr.update(choices=mine, value=value, visible=len(mine) > 1)
    with gr.Blocks(title="中文文档问答", analytics_enabled=False) as demo:
        messages = gr.State([])
        questions = gr.State([])
        header = gr.HTML(header_of(kbs, None), js_on_load=None, elem_id="rag-header")
        # one conversation per knowledge base: choosing another clears the chat
        kb = gr.Dropdown(choices=names, value=kbs.default, label="知识库", elem_id="rag-kb",
                         visible=len(names) > 1, allow_custom_value=False, interactive=True)
        with gr.Row(equal_height=False, elem_classes=["rag-main"]):
            with gr.Column(scale=3, min_width=320, elem_classes=["rag-chat-col"]):
                chatbot = gr.Chatbot(
                    label="对话", show_label=False, height=520, elem_id="rag-chat",
                    sanitize_html=True, latex_delimiters=[], feedback_options=None,
                    buttons=["copy"], layout="bubble",
                    placeholder='<div class="rag-placeholder">问一个文档里能找到答案的问题, '
                                '例如下面的示例。</div>')
                with gr.Row(elem_classes=["rag-input-row"]):
                    box = gr.Textbox(placeholder="输入问题, 按回车发送…", show_label=False, lines=1,
                                     max_lines=4, scale=5, min_width=160, elem_id="rag-question",
                                     autofocus=True, submit_btn=False)
                    send = gr.Button("提问", variant="primary", scale=1, min_width=72, elem_id="rag-send")
                gr.HTML('<div class="rag-examples-label">试试这些问题:</div>', js_on_load=None)
                with gr.Row(elem_classes=["rag-examples"]):
                    example_buttons = [gr.Button(q, size="sm", variant="secondary", min_width=0,
                                                 elem_classes=["rag-example"]) for q in EXAMPLES]
                with gr.Row(elem_classes=["rag-controls"]):
                    top_k = gr.Slider(1, MAX_PASSAGES, value=default_k, step=1, label="显示段落数",
                                      min_width=200, scale=3, elem_id="rag-topk")
                    clear = gr.Button("清空对话", variant="secondary", scale=1, min_width=96,
                                      elem_id="rag-clear")
            with gr.Column(scale=2, min_width=300, elem_classes=["rag-sources-col"]):
                if lib is not None:
                    _documents_panel(gr, demo, kbs, header, kb, guard)
                gr.HTML('<div class="rag-panel-title">来源</div>', js_on_load=None)
                sources = gr.HTML(render_sources(None), elem_id="rag-sources", js_on_load=None)

        outputs = [box, chatbot, messages, questions, sources]
        ask = guard.wrap(handlers.ask, Scope.READ, kb_at=4)
        box.submit(ask, [box, top_k, messages, questions, kb], outputs, **PRIVATE)
        send.click(ask, [box, top_k, messages, questions, kb], outputs, **PRIVATE)
        for b in example_buttons:
            b.click(ask, [b, top_k, messages, questions, kb], outputs, **PRIVATE)
        clear.click(handlers.clear, None, outputs, queue=False, **PRIVATE)
        chatbot.clear(handlers.clear, None, outputs, queue=False, **PRIVATE)  # the chatbot's own trash icon
        kb.change(handlers.clear, None, outputs, queue=False, **PRIVATE)
        if lib is None:
            kb.change(lambda name: header_of(kbs, name), [kb], [header], queue=False, **PRIVATE)
        if access.required:         # only the knowledge bases the sender's token allows
            demo.load(guard.for_principal(own_kbs), None, [kb], queue=False, **PRIVATE)
        gr.api(answer_api(kbs, guard), api_name="answer")
    return demo


def _documents_panel(gr: Any, demo: Any, kbs: Any, header: Any, kb: Any, guard: EventGuard) -> None:
    """The documents accordion: upload, progress, the list, delete (inside the current column), of
    the knowledge base chosen in ``kb``; every event checked by ``guard``."""
    docs = DocumentHandlers(kbs)
    lib = kbs.library(None)
    with gr.Accordion("文档 · 添加与管理", open=True, elem_id="rag-documents"):
        files = gr.File(file_count="multiple", label="拖放或选择文件 (PDF、Word、HTML、EPUB、TXT、Markdown)",
                        elem_id="rag-upload")
        message = gr.HTML("", elem_id="rag-doc-msg", js_on_load=None)
        progress = gr.HTML(render_progress(None), elem_id="rag-progress", js_on_load=None)
        doclist = gr.HTML(render_library(lib.list()), elem_id="rag-doclist", js_on_load=None)
        with gr.Row(elem_classes=["rag-delete-row"]):
            chosen = gr.Dropdown(choices=[], value=None, label="选择要删除的文档", scale=3,
                                 min_width=160, elem_id="rag-doc-select", allow_custom_value=False)
            delete = gr.Button("删除", variant="stop", scale=1, min_width=72, elem_id="rag-delete")
        job_id = gr.State(None)
        timer = gr.Timer(POLL_S, active=False)
    # queue=False: polling and starting a job are quick, and must not wait behind questions
    keep = gr.update
    upload = guard.wrap(docs.upload, Scope.WRITE, kb_at=1, denied=lambda m: (
        None, keep(), keep(), gr.Timer(active=False), render_error(m)))
    poll = guard.wrap(docs.poll, Scope.READ, kb_at=1, denied=lambda m: (
        keep(), keep(), keep(), keep(), gr.Timer(active=False)))
    remove = guard.wrap(docs.delete, Scope.WRITE, kb_at=1, denied=lambda m: (keep(), keep(), keep(), render_error(m)))
    refresh = guard.wrap(docs.refresh, Scope.READ, kb_at=0, denied=lambda m: (
        render_error(m), keep(choices=[], value=None), keep()))
    files.upload(upload, [files, kb], [files, progress, job_id, timer, message], queue=False, **PRIVATE)
    timer.tick(poll, [job_id, kb], [progress, doclist, chosen, header, timer], queue=False, **PRIVATE)
    delete.click(remove, [chosen, kb], [doclist, chosen, header, message], concurrency_limit=1, **PRIVATE)
    demo.load(refresh, [kb], [doclist, chosen, header], queue=False, **PRIVATE)
    kb.change(refresh, [kb], [doclist, chosen, header], **PRIVATE)
    if guard.access.required:       # a token without write sees the list, not the controls
        def controls(principal: Any) -> tuple[Any, ...]:
            writer = principal is not None and Scope.WRITE in principal.scopes
            return keep(visible=writer), keep(visible=writer), keep(visible=writer)

        demo.load(guard.for_principal(controls), None, [files, chosen, delete], queue=False, **PRIVATE)


def launch_options() -> dict[str, Any]:
    """The page-level options shared by ``launch()`` and ``mount_gradio_app()``.

    Returns:
        ``theme``, and ``css_paths`` / ``head_paths`` (``ui/static/app.css``, ``head.html``) when present.
    """
    opts: dict[str, Any] = {"theme": theme()}
    for key, path in (("css_paths", CSS_PATH), ("head_paths", HEAD_PATH)):
        if path.is_file():
            opts[key] = [path]
        else:
            log.warning("%s is missing: the page will look plain", path)
    return opts


def mount_ui(app: Any, qa: Any, path: str = "/", lib: Any | None = None, kbs: Any | None = None,
             access: Any | None = None) -> Any:
    """Mount the chat page on a FastAPI app.

    Args:
        app: the FastAPI app (its own routes, added before, take precedence).
        qa: the question-answering system.
        path: where the page lives.
        lib: the :class:`rag.library.Library` of the documents panel (None: no panel).
        kbs: the :class:`rag.kb.KnowledgeBases` to choose from (default: ``qa``'s and those beside it).
        access: the server's :class:`ui.auth.AccessControl` (None: open).

    Returns:
        The app.
    """
    gr = _gradio()
    demo = build_demo(qa, lib, kbs, access)
    # Gradio refuses a larger file before our handler reads it (the library checks again, by content)
    max_file = f"{float(qa.settings.ingest.max_file_mb):g}mb"
    return gr.mount_gradio_app(app, demo, path=path, footer_links=[], run_history=False,
                               show_error=False, ssr_mode=False, mcp_server=False, pwa=False,
                               max_file_size=max_file, **launch_options())
