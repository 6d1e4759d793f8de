"""The Gradio chat in front of a :class:`~rag.pipeline.QASystem`.

One page: a chat (messages-style ``gr.Chatbot``) on the left, the sources
panel of the latest answer on the right (below it at phone width), example
questions, a clear button and a slider for how many passages to show.

The page is fully offline: the theme uses system fonts only (a
``GoogleFont`` would make the browser call a font service), and
``GRADIO_ANALYTICS_ENABLED`` is switched off before Gradio is imported.

Usage (what :func:`ui.server.create_app` does)::

    app = FastAPI()
    mount_ui(app, qa)          # the chat at "/"
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.query.question import QuestionError
from ui.render import render_error, render_question, render_reply, render_sources

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

Message = dict[str, Any]


def _gradio() -> Any:
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import gradio as gr

    return gr


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
        self.qa = qa
        self.default_top_k = default_top_k

    def ask(self, question: str | None, top_k: float | None, messages: list[Message] | None,
            questions: list[str] | None) -> Iterator[tuple[Any, ...]]:
        """Answer one question: first show it with a "searching" bubble, then the reply.

        Args:
            question: the text typed (or the example clicked).
            top_k: passages to show (slider value).
            messages: the chat so far (this session's state).
            questions: the raw questions asked so far.

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
            ans = self.qa.ask(q, top_k=k, history=questions[-5:])
        except QuestionError as exc:
            reply, sources = render_error(str(exc)), gr.update()
        except Exception:  # noqa: BLE001 - the page shows a message; the log has the trace
            log.exception("answering %r failed", q)
            reply, sources = render_error("内部错误, 请稍后再试 / internal error"), gr.update()
        else:
            reply, sources = render_reply(ans, self.qa.document_text), render_sources(ans, k)
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


def _stats(qa: Any) -> str:
    try:
        index = qa.index
        return (f"{len(index.manifest.documents)} 篇文档 · {len(index.chunks)} 个段落 · "
                f"模型 {qa.settings.embed.model}")
    except Exception:  # noqa: BLE001 - the header is cosmetic
        log.exception("reading index statistics failed")
        return ""


def build_demo(qa: Any) -> Any:
    """The Gradio Blocks of the chat page.

    Args:
        qa: a :class:`~rag.pipeline.QASystem` (index loaded or loadable).

    Returns:
        A ``gr.Blocks`` (not launched).
    """
    gr = _gradio()
    default_k = min(int(qa.settings.retrieval.top_k), MAX_PASSAGES)
    handlers = ChatHandlers(qa, default_k)
    with gr.Blocks(title="中文文档问答", analytics_enabled=False) as demo:
        messages = gr.State([])
        questions = gr.State([])
        gr.HTML(f'<header class="rag-header"><div class="rag-title">中文文档问答</div>'
                f'<div class="rag-subtitle">答案逐字摘自文档, 并标明出处 · 完全离线 · '
                f'<span class="rag-stats">{_stats(qa)}</span></div></header>',
                js_on_load=None)
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
                gr.HTML('<div class="rag-panel-title">来源</div>', js_on_load=None)
                sources = gr.HTML(render_sources(None), elem_id="rag-sources", js_on_load=None)

        outputs = [box, chatbot, messages, questions, sources]
        box.submit(handlers.ask, [box, top_k, messages, questions], outputs)
        send.click(handlers.ask, [box, top_k, messages, questions], outputs)
        for b in example_buttons:
            b.click(handlers.ask, [b, top_k, messages, questions], outputs)
        clear.click(handlers.clear, None, outputs, queue=False)
        chatbot.clear(handlers.clear, None, outputs, queue=False)  # the chatbot's own trash icon
    return demo


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


def mount_ui(app: Any, qa: Any, path: str = "/") -> Any:
    """Mount the chat page on a FastAPI app.

    Args:
        app: the FastAPI app (its own routes, added before, take precedence).
        qa: the question-answering system.
        path: where the page lives.

    Returns:
        The app.
    """
    gr = _gradio()
    demo = build_demo(qa)
    return gr.mount_gradio_app(app, demo, path=path, footer_links=[], run_history=False,
                               show_error=False, ssr_mode=False, mcp_server=False, pwa=False,
                               **launch_options())
